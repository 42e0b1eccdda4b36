#include "harness/kill_rounds.h"

#include <cstdio>
#include <random>
#include <set>

namespace trib::test {

::testing::AssertionResult kill_rounds(peer& rt, const kill_rounds_options& o,
                                       std::uint64_t* kills_done) {
    std::uint64_t at_restart = 0;
    for (const auto point : o.points) {
        const bool reached = wait_until(
            [&] {
                const auto p = o.progress();
                return (p >= point && p > at_restart) || p >= o.total || !rt.alive();
            },
            o.deadline);
        if (!reached) {
            return ::testing::AssertionFailure() << "stuck at " << o.progress() << " " << o.what
                                                 << " (next kill at " << point << ")\n"
                                                 << rt.log();
        }
        if (!rt.alive())
            return ::testing::AssertionFailure() << "the runtime ended by itself\n" << rt.log();
        if (auto st = rt.kill9(); !st)
            return ::testing::AssertionFailure() << "kill -9: " << st.error().to_string();
        if (kills_done != nullptr)
            ++*kills_done;
        at_restart = o.progress();
        std::fprintf(stderr, "  kill -9 at %llu %s\n", static_cast<unsigned long long>(at_restart),
                     o.what.c_str());
        if (auto st = rt.restart(); !st) {
            return ::testing::AssertionFailure() << "restart: " << st.error().to_string() << "\n"
                                                 << rt.log();
        }
        if (at_restart >= o.total) {
            std::fprintf(stderr, "  (complete at %llu %s: no more kills)\n",
                         static_cast<unsigned long long>(o.total), o.what.c_str());
            break;
        }
    }
    return ::testing::AssertionSuccess();
}

std::vector<std::uint64_t> kill_points(std::uint64_t seed, std::size_t count, std::uint64_t lo,
                                       std::uint64_t hi) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::uint64_t> d(lo, hi - 1);
    std::set<std::uint64_t> s;
    while (s.size() < count && s.size() < hi - lo)
        s.insert(d(rng));
    return {s.begin(), s.end()};
}

}  // namespace trib::test
