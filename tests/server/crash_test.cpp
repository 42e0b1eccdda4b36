// kill -9 of `tributary serve --fsync always` during a sustained write loses no acknowledged
// message: writers on several connections record every acknowledged batch (partition, base
// offset, payloads); the server is killed at a random moment, restarted on the same data dir,
// and every acknowledged message must be read back at its acknowledged offset, byte for byte.
// Explicitly stored consumer offsets (acknowledged) must survive too. At least 10 kill points.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "harness/peer.h"
#include "iggy/wire/batch.h"
#include "iggy/wire/requests.h"
#include "iggy/wire/responses.h"
#include "server/raw_client.h"
#include "server/serve_peer.h"

namespace trib::server {
namespace {

using namespace iggy;
using namespace std::chrono_literals;

struct acked_batch {
    std::uint32_t partition = 0;
    std::uint64_t base_offset = 0;
    std::vector<std::string> payloads;
};

struct ledger {
    std::mutex mu;
    std::vector<acked_batch> batches;
    std::map<std::uint32_t, std::uint64_t> stored_offset;  // partition -> last acked store
};

constexpr std::uint32_t k_partitions = 3;

/// Sends batches until the connection fails; records what the server acknowledged.
void writer_loop(std::uint16_t port, int writer, int round, ledger& led, std::atomic<bool>& stop) {
    test::raw_client c;
    if (!c.connect(port, 5s) || !c.login("iggy", "iggy"))
        return;
    std::mt19937 rng(static_cast<unsigned>(round * 100 + writer));
    for (std::uint64_t n = 0; !stop.load(); ++n) {
        const std::uint32_t partition = static_cast<std::uint32_t>(rng() % k_partitions);
        const std::uint32_t count = 1 + rng() % 20;
        std::vector<std::string> payloads;
        batch_builder b;
        for (std::uint32_t i = 0; i < count; ++i) {
            payloads.push_back("r" + std::to_string(round) + "-w" + std::to_string(writer) + "-" +
                               std::to_string(n) + "-" + std::to_string(i) +
                               std::string(rng() % 300, 'x'));
        }
        for (const auto& p : payloads)
            b.add({random_u128(), 0, as_bytes(p), {}});
        auto batch = b.finish();
        send_messages_request req;
        req.stream = identifier::named("crash");
        req.topic = identifier::named("t");
        req.part = partitioning::partition_id(partition);
        req.batch = batch;
        req.messages_count = count;
        auto reply = c.request(req);
        if (!reply)
            return;  // the server died: this batch is not acknowledged
        auto conf = send_messages_reply::decode(*reply);
        if (!conf || conf->confirmations.size() != 1)
            return;
        {
            std::lock_guard l(led.mu);
            led.batches.push_back({partition, conf->confirmations[0].base_offset, payloads});
        }
        if (n % 7 == 0) {
            // An explicit offset store (consumer 99): acknowledged stores must survive too.
            const std::uint64_t off = conf->confirmations[0].base_offset + count - 1;
            store_consumer_offset_request st{consumer::plain(identifier::numeric(99 + writer)),
                                             identifier::named("crash"),
                                             identifier::named("t"),
                                             partition,
                                             off,
                                             ack_level::quorum};
            auto r = c.request(st);
            if (!r)
                return;
            std::lock_guard l(led.mu);
            auto key = partition * 100 + static_cast<std::uint32_t>(writer);
            led.stored_offset[key] = off;
        }
    }
}

TEST(crash, kill9_loses_no_acknowledged_message_with_fsync_always) {
    auto started = trib::test::peer::start(test::serve_spec({"--fsync", "always"}));
    ASSERT_TRUE(started.has_value()) << started.error().message();
    auto server = std::move(started).value();
    {
        test::raw_client admin;
        ASSERT_TRUE(admin.connect(server->port()).has_value());
        ASSERT_TRUE(admin.login("iggy", "iggy").has_value());
        ASSERT_TRUE(admin.request(create_stream_request{"crash", {}}).has_value());
        create_topic_request ct;
        ct.stream = identifier::named("crash");
        ct.name = "t";
        ct.partitions_count = k_partitions;
        ASSERT_TRUE(admin.request(ct).has_value());
    }

    ledger led;
    std::mt19937 rng(20261125);
    constexpr int k_rounds = 12;
    constexpr int k_writers = 3;
    for (int round = 0; round < k_rounds; ++round) {
        SCOPED_TRACE("round " + std::to_string(round));
        std::atomic<bool> stop{false};
        std::vector<std::thread> writers;
        for (int w = 0; w < k_writers; ++w)
            writers.emplace_back(writer_loop, server->port(), w, round, std::ref(led),
                                 std::ref(stop));
        // A random kill point once writes are flowing.
        const auto before = [&] {
            std::lock_guard l(led.mu);
            return led.batches.size();
        }();
        ASSERT_TRUE(trib::test::wait_until(
            [&] {
                std::lock_guard l(led.mu);
                return led.batches.size() > before + 5;
            },
            30s))
            << "writers made no progress:\n"
            << server->log();
        std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));  // the kill point
        ASSERT_TRUE(server->kill9().has_value());
        stop = true;
        for (auto& t : writers)
            t.join();
        ASSERT_TRUE(server->restart().has_value()) << server->log();

        // Every acknowledged message is there, at its offset, byte for byte.
        test::raw_client reader;
        ASSERT_TRUE(reader.connect(server->port()).has_value());
        ASSERT_TRUE(reader.login("iggy", "iggy").has_value());
        std::map<std::uint32_t, std::map<std::uint64_t, std::string>> stored;
        for (std::uint32_t p = 0; p < k_partitions; ++p) {
            std::uint64_t next = 0;
            for (;;) {
                poll_messages_request pr{consumer::plain(identifier::numeric(1)),
                                         identifier::named("crash"),
                                         identifier::named("t"),
                                         p,
                                         polling_strategy::offset(next),
                                         5000,
                                         false};
                auto r = reader.request(pr);
                ASSERT_TRUE(r.has_value()) << r.error().message();
                auto polled = poll_reply::decode(*r);
                ASSERT_TRUE(polled.has_value());
                if (polled->messages.empty())
                    break;
                for (const auto& m : polled->messages) {
                    ASSERT_EQ(m.offset, next) << "offsets are contiguous after recovery";
                    stored[p][m.offset] = std::string(as_string(m.payload));
                    ++next;
                }
                for (auto b : polled->batches)
                    ASSERT_TRUE(validate_batch(b).has_value()) << "recovered batch is intact";
            }
        }
        std::lock_guard l(led.mu);
        std::size_t checked = 0;
        for (const auto& b : led.batches) {
            for (std::size_t i = 0; i < b.payloads.size(); ++i) {
                auto it = stored[b.partition].find(b.base_offset + i);
                ASSERT_NE(it, stored[b.partition].end())
                    << "acknowledged message lost: partition " << b.partition << " offset "
                    << b.base_offset + i;
                ASSERT_EQ(it->second, b.payloads[i]);
                ++checked;
            }
        }
        for (const auto& [key, off] : led.stored_offset) {
            auto r = reader.request(get_consumer_offset_request{
                consumer::plain(identifier::numeric(99 + key % 100)), identifier::named("crash"),
                identifier::named("t"), key / 100});
            ASSERT_TRUE(r.has_value());
            auto info = consumer_offset_info::decode(*r);
            ASSERT_TRUE(info.has_value()) << "acknowledged offset store lost";
            // A later store of the same consumer may have been in flight: >= is enough.
            EXPECT_GE(info->stored_offset, off);
        }
        std::printf("round %d: %zu acknowledged messages verified\n", round, checked);
    }
}

}  // namespace
}  // namespace trib::server
