#pragma once
// The kill -9 loop of the crash tests (runtime crash test, S3 and Kafka end-to-end tests): kill the
// runtime at chosen points of a run, restart it, and go on, so that every kill hits a runtime in
// the middle of its work.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "harness/peer.h"

namespace trib::test {

struct kill_rounds_options {
    /// Increasing progress counts at which to kill (kill_points() draws them).
    std::vector<std::uint64_t> points;
    /// The run's progress (lines written, messages stored, records in the topic), polled.
    std::function<std::uint64_t()> progress;
    /// Progress at which the run is complete: waiting stops there, and no more kills follow
    /// (later points may never be reached by a runtime that has nothing left to do).
    std::uint64_t total = std::numeric_limits<std::uint64_t>::max();
    /// How long one round may wait for its point.
    std::chrono::seconds deadline{300};
    /// What progress counts, for the lines on stderr ("lines written").
    std::string what = "messages";
};

/// Kills `rt` with SIGKILL at each point, once its progress reached the point and moved past the
/// count at the last restart, and restarts it. Fails (with the runtime's log) when a round
/// times out, the runtime died by itself or does not restart. `kills_done` counts the kills.
::testing::AssertionResult kill_rounds(peer& rt, const kill_rounds_options& o,
                                       std::uint64_t* kills_done = nullptr);

/// `count` distinct increasing points in [lo, hi), drawn from `seed`.
std::vector<std::uint64_t> kill_points(std::uint64_t seed, std::size_t count, std::uint64_t lo,
                                       std::uint64_t hi);

}  // namespace trib::test
