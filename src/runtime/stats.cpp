#include "runtime/stats.h"

#include <algorithm>

namespace trib::runtime {

void latency_histogram::observe(std::chrono::microseconds d) {
    const double s = static_cast<double>(d.count()) / 1e6;
    std::size_t i = 0;
    while (i < bounds_s.size() && s > bounds_s[i])
        ++i;
    buckets_[i].fetch_add(1, std::memory_order_relaxed);
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_us_.fetch_add(static_cast<std::uint64_t>(std::max<std::int64_t>(0, d.count())),
                      std::memory_order_relaxed);
}

std::vector<std::uint64_t> latency_histogram::counts() const {
    std::vector<std::uint64_t> out;
    out.reserve(buckets_.size());
    for (const auto& b : buckets_)
        out.push_back(b.load(std::memory_order_relaxed));
    return out;
}

double latency_histogram::quantile_s(double q) const {
    const auto c = counts();
    std::uint64_t total = 0;
    for (auto v : c)
        total += v;
    if (total == 0)
        return 0.0;
    const double target = q * static_cast<double>(total);
    double seen = 0;
    for (std::size_t i = 0; i < c.size(); ++i) {
        const double before = seen;
        seen += static_cast<double>(c[i]);
        if (seen >= target && c[i] > 0) {
            // Linear interpolation inside the bucket.
            const double lo = i == 0 ? 0.0 : bounds_s[i - 1];
            const double hi = i < bounds_s.size() ? bounds_s[i] : bounds_s.back() * 2;
            const double frac = (target - before) / static_cast<double>(c[i]);
            return lo + (hi - lo) * std::clamp(frac, 0.0, 1.0);
        }
    }
    return bounds_s.back();
}

}  // namespace trib::runtime
