#include "runtime/backoff.h"

#include <algorithm>
#include <cmath>

namespace trib::runtime {

backoff::backoff(backoff_settings s, std::uint64_t seed) : s_(s), rng_(seed) {
    if (s_.initial.count() < 1)
        s_.initial = std::chrono::milliseconds(1);
    if (s_.max < s_.initial)
        s_.max = s_.initial;
    if (s_.multiplier < 1.0)
        s_.multiplier = 1.0;
    s_.jitter = std::clamp(s_.jitter, 0.0, 1.0);
}

std::chrono::milliseconds backoff::nominal() const {
    // pow overflows to inf for large attempt counts; min() with max keeps it finite.
    const double d = static_cast<double>(s_.initial.count()) *
                     std::pow(s_.multiplier, static_cast<double>(attempts_));
    const double capped = std::min(d, static_cast<double>(s_.max.count()));
    return std::chrono::milliseconds(static_cast<std::int64_t>(capped));
}

std::chrono::milliseconds backoff::next() {
    const double base = static_cast<double>(nominal().count());
    if (attempts_ < UINT32_MAX)
        ++attempts_;
    if (s_.jitter <= 0.0)
        return std::chrono::milliseconds(static_cast<std::int64_t>(base));
    std::uniform_real_distribution<double> dist(1.0 - s_.jitter, 1.0 + s_.jitter);
    const double d = std::min(base * dist(rng_), static_cast<double>(s_.max.count()));
    return std::chrono::milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(d)));
}

}  // namespace trib::runtime
