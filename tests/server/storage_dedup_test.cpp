// Message de-duplication (issue 27): the window alone with time as an input, then inside a
// partition_log on real files: duplicates dropped in and across batches, id 0, the rebuild from
// the log tail on open (what it loads and how much it reads), expiry at open, purge.

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "harness/peer.h"
#include "iggy/wire/batch.h"
#include "server/dedup_test_util.h"
#include "server/storage/message_deduplicator.h"
#include "server/storage/partition_log.h"

namespace trib::server::storage {
namespace {

namespace fs = std::filesystem;
using test::batch_with_ids;
using test::id_of;
using namespace std::chrono_literals;

constexpr std::uint64_t sec = 1'000'000;

// ---- the window alone ----

TEST(message_deduplicator, given_a_seen_id_should_report_a_duplicate_until_it_expires) {
    message_deduplicator d({true, 100, 10 * sec});
    const std::uint64_t t0 = 1'000 * sec;
    EXPECT_TRUE(d.try_insert(id_of(7), t0));
    EXPECT_FALSE(d.try_insert(id_of(7), t0)) << "the same id at once";
    d.expire(t0 + 10 * sec - 1);
    EXPECT_FALSE(d.try_insert(id_of(7), t0 + 10 * sec - 1)) << "1 µs before the expiry";
    d.expire(t0 + 10 * sec);
    EXPECT_TRUE(d.try_insert(id_of(7), t0 + 10 * sec)) << "expired: stored again";
    EXPECT_EQ(d.size(), 1u);
}

TEST(message_deduplicator, given_a_duplicate_should_not_extend_the_original_expiry) {
    message_deduplicator d({true, 100, 10 * sec});
    EXPECT_TRUE(d.try_insert(id_of(1), 0));
    d.expire(9 * sec);
    EXPECT_FALSE(d.try_insert(id_of(1), 9 * sec));
    d.expire(10 * sec);
    EXPECT_TRUE(d.try_insert(id_of(1), 10 * sec)) << "expiry counts from the first append";
}

TEST(message_deduplicator, given_id_zero_should_never_deduplicate_nor_remember_it) {
    message_deduplicator d({true, 100, 0});
    for (int i = 0; i < 5; ++i)
        EXPECT_TRUE(d.try_insert(id_of(0), 1));
    EXPECT_EQ(d.size(), 0u);
    EXPECT_FALSE(d.contains(id_of(0)));
}

TEST(message_deduplicator, given_max_entries_should_evict_the_oldest_first) {
    message_deduplicator d({true, 3, 0});
    for (std::uint64_t i = 1; i <= 3; ++i)
        EXPECT_TRUE(d.try_insert(id_of(i), i));
    EXPECT_FALSE(d.try_insert(id_of(1), 4)) << "a duplicate does not refresh id 1";
    EXPECT_TRUE(d.try_insert(id_of(4), 5));  // evicts 1, the oldest
    EXPECT_EQ(d.size(), 3u);
    EXPECT_EQ(d.evicted(), 1u);
    EXPECT_FALSE(d.contains(id_of(1)));
    for (std::uint64_t i = 2; i <= 4; ++i)
        EXPECT_TRUE(d.contains(id_of(i))) << i;
    EXPECT_TRUE(d.try_insert(id_of(1), 6)) << "evicted ids are new again";
    EXPECT_FALSE(d.contains(id_of(2)));
}

TEST(message_deduplicator, given_no_count_limit_should_keep_ids_until_expiry) {
    message_deduplicator d({true, 0, 5 * sec});
    for (std::uint64_t i = 1; i <= 20000; ++i)
        ASSERT_TRUE(d.try_insert(id_of(i), sec));
    EXPECT_EQ(d.size(), 20000u);
    d.expire(6 * sec);
    EXPECT_EQ(d.size(), 0u);
}

TEST(message_deduplicator, given_an_undo_should_forget_the_last_ids_only) {
    message_deduplicator d({true, 100, 0});
    for (std::uint64_t i = 1; i <= 5; ++i)
        EXPECT_TRUE(d.try_insert(id_of(i), i));
    d.undo_last(2);
    EXPECT_TRUE(d.contains(id_of(3)));
    EXPECT_FALSE(d.contains(id_of(4)));
    EXPECT_FALSE(d.contains(id_of(5)));
    EXPECT_EQ(d.size(), 3u);
}

TEST(message_deduplicator, given_neither_a_count_limit_nor_an_expiry_should_be_refused) {
    EXPECT_FALSE(validate({true, 0, 0}).has_value());
    EXPECT_TRUE(validate({false, 0, 0}).has_value()) << "off: nothing to bound";
    EXPECT_TRUE(validate({true, 0, 1}).has_value());
    EXPECT_TRUE(validate({true, 1, 0}).has_value());
}

// ---- inside a partition log ----

log_options dedup_log(std::uint64_t max_entries = 10000, std::uint64_t expiry_us = 60 * sec) {
    log_options o;
    o.partition_id = 3;
    o.segment_size = 4096;  // several segments, so the rebuild crosses segment files
    o.fsync = fsync_policy::never;
    o.dedup = {true, max_entries, expiry_us};
    return o;
}

// Appends a batch of these ids (the log stamps the caller's buffer, so it needs a named one).
result<append_result> append_ids(partition_log& log, const std::vector<std::uint64_t>& ids,
                                 append_sync sync = append_sync::policy) {
    auto b = batch_with_ids(ids);
    return log.append(b, sync);
}

std::unique_ptr<partition_log> open_log(const fs::path& dir, const log_options& o) {
    auto r = partition_log::open(dir, o);
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().to_string());
    return r ? std::move(r).value() : nullptr;
}

// Every stored message: offset -> (id low half, payload). Checks both checksums of each batch.
std::map<std::uint64_t, std::pair<std::uint64_t, std::string>> stored(const partition_log& log) {
    std::map<std::uint64_t, std::pair<std::uint64_t, std::string>> out;
    auto r = log.read_first(UINT32_MAX);
    EXPECT_TRUE(r.has_value());
    if (!r)
        return out;
    for (const auto& b : r->batches) {
        EXPECT_TRUE(iggy::validate_batch(b.data, true).has_value()) << "batch " << b.base_offset;
        (void)iggy::for_each_frame(b.data, [&](const iggy::frame_view& f) {
            out[b.base_offset + f.offset_delta] = {f.id.lo,
                                                   std::string(f.payload.begin(), f.payload.end())};
        });
    }
    return out;
}

TEST(partition_log_dedup, given_duplicates_inside_a_batch_should_store_the_first_of_each) {
    trib::test::temp_dir dir("trib-dedup");
    auto log = open_log(dir.path() / "p", dedup_log());
    ASSERT_TRUE(log);
    auto b = batch_with_ids({1, 2, 1, 3, 2});
    auto r = log->append(b);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->base_offset, 0u);
    EXPECT_EQ(r->message_count, 3u);
    EXPECT_EQ(r->duplicates, 2u);
    EXPECT_EQ(log->next_offset(), 3u);
    auto all = stored(*log);
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0], std::make_pair(std::uint64_t{1}, std::string("p:0")));
    EXPECT_EQ(all[1], std::make_pair(std::uint64_t{2}, std::string("p:1")));
    EXPECT_EQ(all[2], std::make_pair(std::uint64_t{3}, std::string("p:3")));
}

TEST(partition_log_dedup, given_a_resent_batch_should_store_only_the_new_messages) {
    trib::test::temp_dir dir("trib-dedup");
    auto log = open_log(dir.path() / "p", dedup_log());
    ASSERT_TRUE(log);
    auto b1 = batch_with_ids({10, 11, 12}, "a");
    ASSERT_TRUE(log->append(b1).has_value());

    auto again = batch_with_ids({10, 11, 12}, "b");
    auto r = log->append(again);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->message_count, 0u);
    EXPECT_EQ(r->duplicates, 3u);
    EXPECT_EQ(r->base_offset, 3u) << "the next offset; nothing was written";

    auto mixed = batch_with_ids({12, 13, 10, 14}, "c");
    r = log->append(mixed);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->base_offset, 3u);
    EXPECT_EQ(r->message_count, 2u);
    EXPECT_EQ(r->duplicates, 2u);

    auto all = stored(*log);
    ASSERT_EQ(all.size(), 5u);
    EXPECT_EQ(all[3], std::make_pair(std::uint64_t{13}, std::string("c:1")));
    EXPECT_EQ(all[4], std::make_pair(std::uint64_t{14}, std::string("c:3")));
    EXPECT_EQ(all[0].second, "a:0") << "the originals are untouched";
}

TEST(partition_log_dedup, given_id_zero_should_store_every_such_message) {
    trib::test::temp_dir dir("trib-dedup");
    auto log = open_log(dir.path() / "p", dedup_log());
    ASSERT_TRUE(log);
    for (int i = 0; i < 2; ++i) {
        auto b = batch_with_ids({0, 5, 0});
        auto r = log->append(b);
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->message_count, i == 0 ? 3u : 2u);
    }
    auto all = stored(*log);
    std::size_t zeros = 0;
    for (const auto& [off, v] : all)
        zeros += v.first == 0;
    EXPECT_EQ(zeros, 4u);
    EXPECT_EQ(all.size(), 5u);
}

TEST(partition_log_dedup, given_dedup_off_should_store_duplicates) {
    trib::test::temp_dir dir("trib-dedup");
    auto o = dedup_log();
    o.dedup.enabled = false;
    auto log = open_log(dir.path() / "p", o);
    ASSERT_TRUE(log);
    for (int i = 0; i < 2; ++i) {
        auto b = batch_with_ids({1, 1});
        auto r = log->append(b);
        ASSERT_TRUE(r.has_value());
        EXPECT_EQ(r->message_count, 2u);
        EXPECT_EQ(r->duplicates, 0u);
    }
    EXPECT_EQ(log->next_offset(), 4u);
}

TEST(partition_log_dedup, given_a_reopen_should_rebuild_the_window_from_the_log_tail) {
    trib::test::temp_dir dir("trib-dedup");
    const auto p = dir.path() / "p";
    {
        auto log = open_log(p, dedup_log());
        ASSERT_TRUE(log);
        for (std::uint64_t k = 0; k < 40; ++k) {  // ids 1..200, five per batch
            auto b = batch_with_ids({5 * k + 1, 5 * k + 2, 5 * k + 3, 5 * k + 4, 5 * k + 5});
            ASSERT_TRUE(log->append(b).has_value());
        }
        EXPECT_GT(log->stats().segment_count, 2u);
    }
    auto log = open_log(p, dedup_log());
    ASSERT_TRUE(log);
    EXPECT_EQ(log->recovery().dedup_ids_loaded, 200u);
    auto again = batch_with_ids({1, 100, 200, 201});
    auto r = log->append(again);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->message_count, 1u) << "only 201 is new";
    EXPECT_EQ(r->duplicates, 3u);
    EXPECT_EQ(r->base_offset, 200u);
}

TEST(partition_log_dedup, given_max_entries_should_rebuild_only_the_newest_ids_reading_little) {
    trib::test::temp_dir dir("trib-dedup");
    const auto p = dir.path() / "p";
    std::size_t batch_bytes = 0;
    {
        auto log = open_log(p, dedup_log());
        ASSERT_TRUE(log);
        for (std::uint64_t k = 0; k < 100; ++k) {  // ids 1..1000, ten per batch
            std::vector<std::uint64_t> ids;
            for (std::uint64_t i = 1; i <= 10; ++i)
                ids.push_back(10 * k + i);
            auto b = batch_with_ids(ids);
            batch_bytes = std::max(batch_bytes, b.size());
            ASSERT_TRUE(log->append(b).has_value());
        }
    }
    auto log = open_log(p, dedup_log(25));
    ASSERT_TRUE(log);
    EXPECT_EQ(log->recovery().dedup_ids_loaded, 25u);
    // 25 messages span three batches of ten: the cut-off part of the first one is the only
    // extra read.
    EXPECT_LE(log->recovery().dedup_bytes_read, 3 * batch_bytes);
    EXPECT_GT(log->stats().size_bytes, 30 * batch_bytes);
    auto r = append_ids(*log, {975, 990, 1000});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->message_count, 1u) << "975 fell out of the newest 25 (976..1000)";
    EXPECT_EQ(r->duplicates, 2u);
}

TEST(partition_log_dedup, given_an_expired_tail_should_rebuild_an_empty_window) {
    trib::test::temp_dir dir("trib-dedup");
    const auto p = dir.path() / "p";
    std::uint64_t ts = 0;
    {
        auto log = open_log(p, dedup_log(100, 60 * sec));
        ASSERT_TRUE(log);
        auto b = batch_with_ids({1, 2, 3});
        auto r = log->append(b);
        ASSERT_TRUE(r.has_value());
        ts = r->timestamp;
    }
    // Reopen with a 2 ms expiry once 2 ms have passed since the append.
    ASSERT_TRUE(trib::test::wait_until([&] { return iggy::now_micros() >= ts + 2000; }, 5s));
    auto log = open_log(p, dedup_log(100, 2000));
    ASSERT_TRUE(log);
    EXPECT_EQ(log->recovery().dedup_ids_loaded, 0u);
    auto r = append_ids(*log, {1, 2, 3});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->message_count, 3u);
}

TEST(partition_log_dedup, given_a_purge_should_forget_the_window) {
    trib::test::temp_dir dir("trib-dedup");
    auto log = open_log(dir.path() / "p", dedup_log());
    ASSERT_TRUE(log);
    ASSERT_TRUE(append_ids(*log, {1, 2}).has_value());
    ASSERT_TRUE(log->purge().has_value());
    auto r = append_ids(*log, {1, 2});
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->message_count, 2u);
    EXPECT_EQ(r->base_offset, 0u);
}

TEST(partition_log_dedup, given_always_fsync_and_only_duplicates_should_acknowledge) {
    trib::test::temp_dir dir("trib-dedup");
    auto o = dedup_log();
    o.fsync = fsync_policy::always;
    auto log = open_log(dir.path() / "p", o);
    ASSERT_TRUE(log);
    ASSERT_TRUE(append_ids(*log, {1}).has_value());
    auto r = append_ids(*log, {1}, append_sync::durable);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->message_count, 0u);
    EXPECT_EQ(stored(*log).size(), 1u);
}

TEST(partition_log_dedup, given_both_bounds_off_should_refuse_to_open) {
    trib::test::temp_dir dir("trib-dedup");
    auto r = partition_log::open(dir.path() / "p", dedup_log(0, 0));
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("without bound"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace trib::server::storage
