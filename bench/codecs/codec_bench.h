#pragma once
// The measuring loops every bench_codecs_* program shares (bench/codecs/README.md): decode
// (payload bytes -> the codec's record in the arena, arena reset per batch of 1,000) and encode
// (records -> bytes), each repeated over the same records until about `seconds` have passed,
// printed as one JSON object per line.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/codec.h"

namespace trib::bench {

inline constexpr std::size_t codec_batch = 1000;

/// CPU seconds this thread has used: on a shared machine the wall-clock rate moves with the
/// load, the CPU-time rate much less (bench/codecs/README.md).
inline double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

inline void print_codec_result(std::string_view format, std::string_view impl, std::string_view op,
                               std::uint64_t records, std::uint64_t bytes, double seconds,
                               double cpu_seconds = 0) {
    std::printf(
        "{\"format\":\"%.*s\",\"impl\":\"%.*s\",\"op\":\"%.*s\",\"records\":%llu,\"bytes\":%llu,"
        "\"seconds\":%.4f,\"records_per_s\":%.0f,\"mb_per_s\":%.2f",
        static_cast<int>(format.size()), format.data(), static_cast<int>(impl.size()), impl.data(),
        static_cast<int>(op.size()), op.data(), static_cast<unsigned long long>(records),
        static_cast<unsigned long long>(bytes), seconds,
        seconds > 0 ? static_cast<double>(records) / seconds : 0.0,
        seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0.0);
    if (cpu_seconds > 0)
        std::printf(",\"cpu_seconds\":%.4f,\"records_per_cpu_s\":%.0f", cpu_seconds,
                    static_cast<double>(records) / cpu_seconds);
    std::printf("}\n");
    std::fflush(stdout);
}

/// Seconds per measurement from `--seconds N` (default 1).
inline double bench_seconds(int argc, char** argv) {
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--seconds") == 0)
            return std::atof(argv[i + 1]);
    }
    return 1.0;
}

/// Runs `one_batch(first, count)` over the `n` items in batches (round after round) until
/// `seconds` have passed; returns {items done, seconds}.
/// The CPU seconds of the last timed_batches() on this thread.
inline double& last_cpu_seconds() {
    thread_local double s = 0;
    return s;
}

template <typename F>
std::pair<std::uint64_t, double> timed_batches(std::size_t n, double seconds, F&& one_batch) {
    using clk = std::chrono::steady_clock;
    const auto start = clk::now();
    const double cpu_start = thread_cpu_seconds();
    std::uint64_t done = 0;
    double elapsed = 0;
    for (;;) {
        for (std::size_t first = 0; first < n; first += codec_batch) {
            const std::size_t count = std::min(codec_batch, n - first);
            one_batch(first, count);
            done += count;
            elapsed = std::chrono::duration<double>(clk::now() - start).count();
            if (elapsed >= seconds) {
                last_cpu_seconds() = thread_cpu_seconds() - cpu_start;
                return {done, elapsed};
            }
        }
    }
}

/// Decodes `payloads` with `c`; exits on the first payload that does not decode (a bench bug).
inline void bench_decode(const codecs::codec& c, std::string_view format,
                         const std::vector<std::string>& payloads, double seconds) {
    codecs::arena a;
    std::vector<codecs::record> out(codec_batch);
    std::uint64_t bytes = 0;
    auto [done, secs] =
        timed_batches(payloads.size(), seconds, [&](std::size_t first, std::size_t count) {
            a.reset();
            for (std::size_t k = 0; k < count; ++k) {
                const auto& p = payloads[first + k];
                status s = c.decode(p, a, out[k]);
                if (!s) {
                    std::fprintf(stderr, "%.*s decode: %s\n", static_cast<int>(format.size()),
                                 format.data(), s.error().to_string().c_str());
                    std::exit(1);
                }
                bytes += p.size();
            }
        });
    print_codec_result(format, "tributary", "decode", done, bytes, secs, last_cpu_seconds());
}

/// Encodes `records` (kept in their own arena for the whole run) with `c`, one output buffer and
/// one scratch arena (reset) per batch.
inline void bench_encode(const codecs::codec& c, std::string_view format,
                         const std::vector<codecs::record>& records, double seconds,
                         std::string_view impl = "tributary") {
    std::string buf;
    codecs::arena a;
    std::uint64_t bytes = 0;
    auto [done, secs] =
        timed_batches(records.size(), seconds, [&](std::size_t first, std::size_t count) {
            buf.clear();
            a.reset();
            for (std::size_t k = 0; k < count; ++k) {
                status s = c.encode(records[first + k], a, buf);
                if (!s) {
                    std::fprintf(stderr, "%.*s encode: %s\n", static_cast<int>(format.size()),
                                 format.data(), s.error().to_string().c_str());
                    std::exit(1);
                }
            }
            bytes += buf.size();
        });
    print_codec_result(format, impl, "encode", done, bytes, secs, last_cpu_seconds());
}

}  // namespace trib::bench
