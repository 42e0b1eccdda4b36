// The Kafka record -> Iggy message mapping and the commit bookkeeping, without a broker.

#include "connectors/kafka/record.h"

#include <gtest/gtest.h>

#include <cstring>
#include <set>

#include "connectors/kafka/commit_tracker.h"

namespace trib::connectors::kafka {
namespace {

record_view sample() {
    record_view r;
    r.topic = "orders";
    r.partition = 2;
    r.offset = 41;
    r.key = "customer-7";
    r.value = "{\"total\":3}";
    r.timestamp_ms = 1'700'000'000'123;
    r.headers = {{"trace", "abc"}, {"bin", std::string_view("\xff\x00\x01", 3)}};
    return r;
}

std::int64_t le_int(const std::string& v) {
    std::uint64_t x = 0;
    for (std::size_t i = 0; i < v.size(); ++i)
        x |= static_cast<std::uint64_t>(static_cast<unsigned char>(v[i])) << (8 * i);
    if (v.size() == 4)
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(x));
    return static_cast<std::int64_t>(x);
}

TEST(kafka_record, given_a_record_should_map_payload_key_headers_timestamp_and_metadata) {
    auto r = sample();
    auto m = map_record(r, "cluster-A", mapping_options{});
    ASSERT_EQ(m.what, mapped::kind::message);
    EXPECT_EQ(m.msg.payload, "{\"total\":3}");
    EXPECT_EQ(m.msg.payload.data(), r.value->data());  // a view, not a copy
    EXPECT_EQ(m.msg.key, "customer-7");
    EXPECT_EQ(m.msg.origin_timestamp_us, 1'700'000'000'123'000u);
    ASSERT_NE(m.msg.find_header("trace"), nullptr);
    EXPECT_EQ(m.msg.find_header("trace")->kind, value_kind::string);
    EXPECT_EQ(m.msg.find_header("trace")->value, "abc");
    ASSERT_NE(m.msg.find_header("bin"), nullptr);
    EXPECT_EQ(m.msg.find_header("bin")->kind, value_kind::raw);
    EXPECT_EQ(m.msg.find_header("bin")->value, std::string("\xff\x00\x01", 3));
    EXPECT_EQ(m.msg.find_header("kafka.topic")->value, "orders");
    EXPECT_EQ(m.msg.find_header("kafka.partition")->kind, value_kind::int32);
    EXPECT_EQ(le_int(m.msg.find_header("kafka.partition")->value), 2);
    EXPECT_EQ(m.msg.find_header("kafka.offset")->kind, value_kind::int64);
    EXPECT_EQ(le_int(m.msg.find_header("kafka.offset")->value), 41);
    EXPECT_EQ(m.msg.find_header("kafka.key")->value, "customer-7");
    EXPECT_EQ(m.msg.id, record_id("cluster-A", "orders", 2, 41));
}

TEST(kafka_record, given_the_same_coordinates_should_give_the_same_id_and_other_ids_otherwise) {
    std::set<std::pair<std::uint64_t, std::uint64_t>> ids;
    for (std::string cluster : {"c1", "c2"})
        for (std::string topic : {"a", "ab", "b"})
            for (int p = 0; p < 3; ++p)
                for (std::int64_t o = 0; o < 50; ++o) {
                    auto id = record_id(cluster, topic, p, o);
                    EXPECT_FALSE(id.is_zero());
                    ids.insert({id.hi, id.lo});
                    EXPECT_EQ(id, record_id(cluster, topic, p, o));
                }
    EXPECT_EQ(ids.size(), 2u * 3u * 3u * 50u);
    // Field boundaries count: ("ab","c") is not ("a","bc").
    EXPECT_NE(record_id("ab", "c", 0, 0), record_id("a", "bc", 0, 0));
}

TEST(kafka_record, given_key_none_or_no_metadata_should_leave_them_out) {
    mapping_options o;
    o.partition_by_key = false;
    o.metadata_headers = false;
    o.key_header = false;
    auto m = map_record(sample(), "c", o);
    ASSERT_EQ(m.what, mapped::kind::message);
    EXPECT_TRUE(m.msg.key.empty());
    EXPECT_EQ(m.msg.headers.size(), 2u);
    EXPECT_EQ(m.msg.find_header("kafka.topic"), nullptr);
}

TEST(kafka_record, given_a_tombstone_should_reject_or_skip_it_as_told) {
    auto r = sample();
    r.value.reset();
    auto m = map_record(r, "c", mapping_options{});
    ASSERT_EQ(m.what, mapped::kind::rejected);
    EXPECT_NE(m.why.message().find("tombstone"), std::string::npos);
    EXPECT_NE(m.why.message().find("orders/2@41"), std::string::npos);
    mapping_options skip;
    skip.empty_values = unfit_policy::skip;
    EXPECT_EQ(map_record(r, "c", skip).what, mapped::kind::skipped);
    r.value = "";
    EXPECT_EQ(map_record(r, "c", mapping_options{}).what, mapped::kind::rejected);
}

TEST(kafka_record, given_headers_iggy_cannot_carry_should_reject_or_drop_them) {
    const std::string long_value(256, 'x');
    const std::string long_key(300, 'k');
    for (auto bad : std::vector<std::pair<std::string_view, std::optional<std::string_view>>>{
             {"", "v"},
             {"null", std::nullopt},
             {"empty", ""},
             {"long", long_value},
             {long_key, "v"},
             {"kafka.offset", "7"}}) {
        auto r = sample();
        r.headers.push_back(bad);
        auto m = map_record(r, "c", mapping_options{});
        EXPECT_EQ(m.what, mapped::kind::rejected) << bad.first.size();
        mapping_options skip;
        skip.unfit_headers = unfit_policy::skip;
        auto s = map_record(r, "c", skip);
        ASSERT_EQ(s.what, mapped::kind::message);
        EXPECT_EQ(s.msg.headers.size(), 2u + 4u);  // trace, bin, and the four kafka.* headers
    }
    // A repeated name: the first value wins.
    auto r = sample();
    r.headers.push_back({"trace", "second"});
    auto m = map_record(r, "c", mapping_options{});
    ASSERT_EQ(m.what, mapped::kind::message);
    EXPECT_EQ(m.msg.find_header("trace")->value, "abc");
    // A key too long for kafka.key still partitions.
    r = sample();
    r.key = long_key;
    EXPECT_EQ(map_record(r, "c", mapping_options{}).what, mapped::kind::rejected);
    mapping_options skip;
    skip.unfit_headers = unfit_policy::skip;
    auto s = map_record(r, "c", skip);
    ASSERT_EQ(s.what, mapped::kind::message);
    EXPECT_EQ(s.msg.key, long_key);
    EXPECT_EQ(s.msg.find_header("kafka.key"), nullptr);
}

TEST(kafka_record, given_utf8_edge_cases_should_tell_valid_from_invalid) {
    EXPECT_TRUE(valid_utf8("plain"));
    EXPECT_TRUE(valid_utf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
    EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate
    EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    EXPECT_FALSE(valid_utf8("\xe2\x82"));          // truncated
}

topic_partition tp(std::int32_t p) {
    return {"t", p};
}

TEST(kafka_commit_tracker, given_acks_in_order_should_commit_the_offset_after_each_batch) {
    commit_tracker t;
    t.assign(tp(0));
    t.add(1, {{tp(0), 0, 10}});
    t.add(2, {{tp(0), 10, 20}});
    auto a = t.ack(1);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].offset, 10);
    t.committed(tp(0), 10);
    a = t.ack(2);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].offset, 20);
    EXPECT_EQ(t.in_flight(), 0u);
}

TEST(kafka_commit_tracker, given_a_revoke_should_commit_what_is_acked_never_what_is_in_flight) {
    commit_tracker t;
    t.assign(tp(0));
    t.assign(tp(1));
    t.add(1, {{tp(0), 0, 5}, {tp(1), 0, 7}});
    t.add(2, {{tp(0), 5, 9}});
    (void)t.ack(1);  // not committed yet (say the async commit failed)
    auto r = t.revoke({tp(0)});
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].offset, 5);  // batch 2 (5..8) is in flight: its new owner reads it again
    EXPECT_TRUE(t.ack(2).empty());
    EXPECT_FALSE(t.assigned(tp(0)));
    auto u = t.uncommitted();
    ASSERT_EQ(u.size(), 1u);
    EXPECT_EQ(u[0].tp, tp(1));
    EXPECT_EQ(u[0].offset, 7);
}

TEST(kafka_commit_tracker, given_a_nack_should_rewind_and_ignore_later_batches_of_the_partition) {
    commit_tracker t;
    t.assign(tp(0));
    t.add(1, {{tp(0), 0, 5}});
    t.add(2, {{tp(0), 5, 9}});
    t.add(3, {{tp(0), 9, 12}});
    EXPECT_EQ(t.ack(1).at(0).offset, 5);
    t.committed(tp(0), 5);
    auto n = t.nack(2);
    ASSERT_EQ(n.size(), 1u);
    EXPECT_EQ(n[0].offset, 5);
    EXPECT_TRUE(t.ack(3).empty());  // batch 3 is read again after the rewind
    t.add(4, {{tp(0), 5, 12}});
    EXPECT_EQ(t.ack(4).at(0).offset, 12);
}

TEST(kafka_commit_tracker, given_ranges_of_unassigned_partitions_should_ignore_them) {
    commit_tracker t;
    t.assign(tp(0));
    t.add(1, {{tp(0), 0, 3}, {tp(5), 0, 3}});
    auto a = t.ack(1);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].tp, tp(0));
}

}  // namespace
}  // namespace trib::connectors::kafka
