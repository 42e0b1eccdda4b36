#pragma once
// Reading back what the object-store sources sent in the end-to-end tests (s3 and the other
// stores): every payload carries `"n": <number>`; the census counts the payloads, the distinct n
// of [0, total) and the ones without a usable n.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "harness/peer.h"
#include "iggy/consumer.h"

namespace trib::test {

struct topic_census {
    std::uint64_t lines = 0;
    std::uint64_t distinct = 0;
    std::uint64_t bad = 0;
};

/// Polls stream `test_stream`, topic `test_topic` from its start (consumer "checker") until
/// every n of [0, total) arrived or `alive` turns false (300 s at most), counting into `out`.
inline ::testing::AssertionResult read_topic_census(const iggy::client_options& client,
                                                    std::uint64_t total,
                                                    const std::function<bool()>& alive,
                                                    topic_census& out) {
    iggy::consumer_options co;
    co.client = client;
    co.stream = iggy::identifier::named("test_stream");
    co.topic = iggy::identifier::named("test_topic");
    co.group = "";
    co.consumer_id = iggy::identifier::named("checker");
    co.batch_size = 5000;
    auto c = iggy::consumer_client::create(co);
    if (!c)
        return ::testing::AssertionFailure() << c.error().to_string();
    std::vector<std::uint32_t> counts(total, 0);
    const bool complete = wait_until(
        [&] {
            for (int i = 0; i < 50; ++i) {
                auto b = (*c)->poll();
                if (!b || b->messages.empty())
                    break;
                for (const auto& m : b->messages) {
                    std::string p(reinterpret_cast<const char*>(m.payload.data()),
                                  m.payload.size());
                    const auto at = p.find("\"n\":");
                    const auto n = at == std::string::npos
                                       ? total
                                       : std::strtoull(p.c_str() + at + 4, nullptr, 10);
                    if (n >= total) {
                        ++out.bad;
                        continue;
                    }
                    ++out.lines;
                    if (counts[n]++ == 0)
                        ++out.distinct;
                }
            }
            return out.distinct == total || !alive();
        },
        std::chrono::seconds(300));
    (void)(*c)->close();
    if (!complete)
        return ::testing::AssertionFailure() << out.distinct << " of " << total << " arrived";
    return ::testing::AssertionSuccess();
}

}  // namespace trib::test
