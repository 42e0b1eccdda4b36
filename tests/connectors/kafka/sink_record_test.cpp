// The Kafka sink's pure part without a broker: topic templates, key/partition/timestamp
// selection and the header mapping (sink_record.h). sink_test.cpp covers the I/O.

#include "connectors/kafka/sink_record.h"

#include <gtest/gtest.h>

#include <cstring>

namespace trib::connectors::kafka_sink {
namespace {

header hdr(std::string k, value_kind kind, std::string v) {
    return header{std::move(k), kind, std::move(v)};
}

template <class T>
header num(std::string k, value_kind kind, T v) {
    std::string b(sizeof(T), '\0');
    std::memcpy(b.data(), &v, sizeof(T));  // the tests run on little-endian machines
    return hdr(std::move(k), kind, std::move(b));
}

struct fixture {
    message_batch b;
    sink_batch sb;
    fixture(std::string payload, std::vector<header> headers = {}) {
        message m;
        m.payload = b.own(std::move(payload));
        m.offset = 41;
        m.id = {0x0102030405060708ull, 0x1112131415161718ull};
        m.timestamp_us = 1'700'000'000'123'456ull;
        m.origin_timestamp_us = 1'600'000'000'999'000ull;
        m.headers = std::move(headers);
        b.messages.push_back(std::move(m));
        sb.stream = "orders";
        sb.topic = "created";
        sb.partition = 3;
        sb.schema = "json";
        sb.messages = &b;
    }
    const message& msg() const { return b.messages[0]; }
};

record_options opts(std::string_view topic) {
    record_options o;
    auto t = topic_template::parse(topic);
    EXPECT_TRUE(t) << (t ? "" : t.error().message());
    if (t)
        o.topic = std::move(*t);
    return o;
}

TEST(kafka_sink_record, given_placeholders_should_render_stream_topic_partition) {
    fixture f("{}");
    auto r = build_record(opts("{stream}.{topic}-p{partition}"), f.sb, f.msg());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->topic, "orders.created-p3");
}

TEST(kafka_sink_record, given_header_and_field_placeholders_should_render_per_message) {
    fixture f(R"({"tenant":{"id":"acme"},"n":7})", {hdr("region", value_kind::string, "eu")});
    auto t = topic_template::parse("{header:region}_{field:tenant.id}_{field:n}");
    ASSERT_TRUE(t);
    EXPECT_FALSE(t->per_batch());
    EXPECT_TRUE(t->needs_payload());
    auto r = build_record(opts("{header:region}_{field:tenant.id}_{field:n}"), f.sb, f.msg());
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->topic, "eu_acme_7");
}

TEST(kafka_sink_record, given_escaped_braces_should_keep_them_literal) {
    auto t = topic_template::parse("a{{b}}c");
    ASSERT_TRUE(t);
    ASSERT_EQ(t->parts().size(), 1u);
    EXPECT_EQ(t->parts()[0].text, "a{b}c");
    EXPECT_TRUE(t->per_batch());
}

TEST(kafka_sink_record, given_bad_templates_should_name_the_problem) {
    for (std::string_view bad : {"", "{nope}", "x{stream", "x}y", "{header:}", "{field:}"}) {
        auto t = topic_template::parse(bad);
        EXPECT_FALSE(t) << bad;
        if (!t) {
            EXPECT_FALSE(t.error().message().empty());
        }
    }
    auto t = topic_template::parse("{nope}");
    ASSERT_FALSE(t);
    EXPECT_NE(t.error().message().find("{nope}"), std::string::npos) << t.error().message();
}

TEST(kafka_sink_record, given_invalid_rendered_topic_should_reject_the_message) {
    fixture f("{}", {hdr("t", value_kind::string, "has space")});
    auto r = build_record(opts("{header:t}"), f.sb, f.msg());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::invalid_argument);
    EXPECT_EQ(r.error().retry(), retry_class::fatal);
    EXPECT_TRUE(check_topic_name(std::string(249, 'a')));
    EXPECT_FALSE(check_topic_name(std::string(250, 'a')));
    EXPECT_FALSE(check_topic_name(".."));
    EXPECT_FALSE(check_topic_name(std::string("a\0b", 3)));
}

TEST(kafka_sink_record, given_missing_header_or_field_should_reject) {
    fixture f(R"({"a":1})");
    EXPECT_FALSE(build_record(opts("{header:absent}"), f.sb, f.msg()));
    EXPECT_FALSE(build_record(opts("{field:b}"), f.sb, f.msg()));
    EXPECT_FALSE(build_record(opts("{field:a.b}"), f.sb, f.msg()));
    fixture nonjson("not json");
    auto r = build_record(opts("{field:a}"), nonjson.sb, nonjson.msg());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("not JSON"), std::string::npos) << r.error().message();
    fixture obj(R"({"a":{"b":1},"n":null})");
    EXPECT_FALSE(build_record(opts("{field:a}"), obj.sb, obj.msg()));
    EXPECT_FALSE(build_record(opts("{field:n}"), obj.sb, obj.msg()));
}

TEST(kafka_sink_record, given_key_sources_should_pick_the_key) {
    fixture f(R"({"user":{"id":12345}})",
              {hdr("kafka.key", value_kind::raw, std::string("\x00\xffk", 3))});
    auto o = opts("t");
    EXPECT_FALSE(build_record(o, f.sb, f.msg())->key.has_value());

    o.key = key_source::header;
    o.key_name = "kafka.key";
    EXPECT_EQ(build_record(o, f.sb, f.msg())->key, std::string("\x00\xffk", 3));
    o.key_name = "absent";
    EXPECT_FALSE(build_record(o, f.sb, f.msg())->key.has_value()) << "absent header: null key";

    o.key = key_source::field;
    o.key_name = "user.id";
    EXPECT_EQ(build_record(o, f.sb, f.msg())->key, "12345");
    o.key_name = "user.name";
    EXPECT_FALSE(build_record(o, f.sb, f.msg()));

    o.key = key_source::iggy_partition;
    EXPECT_EQ(build_record(o, f.sb, f.msg())->key, "3");
    o.key = key_source::offset;
    EXPECT_EQ(build_record(o, f.sb, f.msg())->key, "41");
    o.key = key_source::message_id;
    EXPECT_EQ(build_record(o, f.sb, f.msg())->key, "11121314151617180102030405060708");
}

TEST(kafka_sink_record, given_empty_key_header_should_keep_an_empty_not_null_key) {
    fixture f("x", {hdr("kafka.key", value_kind::raw, "")});
    auto o = opts("t");
    o.key = key_source::header;
    o.key_name = "kafka.key";
    auto r = build_record(o, f.sb, f.msg());
    ASSERT_TRUE(r);
    ASSERT_TRUE(r->key.has_value());
    EXPECT_EQ(*r->key, "");
}

TEST(kafka_sink_record, given_partition_sources_should_pick_the_partition) {
    fixture f(
        "x", {hdr("kafka.partition", value_kind::string, "2"),
              num<std::int32_t>("p32", value_kind::int32, 5), hdr("bad", value_kind::string, "two"),
              num<std::int64_t>("neg", value_kind::int64, -1)});
    auto o = opts("t");
    EXPECT_EQ(build_record(o, f.sb, f.msg())->partition, -1);
    o.partition = partition_source::iggy_partition;
    EXPECT_EQ(build_record(o, f.sb, f.msg())->partition, 2) << "Iggy partition 3 is Kafka's 2";
    o.partition = partition_source::header;
    EXPECT_EQ(build_record(o, f.sb, f.msg())->partition, 2);
    o.partition_header = "p32";
    EXPECT_EQ(build_record(o, f.sb, f.msg())->partition, 5);
    o.partition_header = "absent";
    EXPECT_EQ(build_record(o, f.sb, f.msg())->partition, -1);
    o.partition_header = "bad";
    EXPECT_FALSE(build_record(o, f.sb, f.msg()));
    o.partition_header = "neg";
    EXPECT_FALSE(build_record(o, f.sb, f.msg()));
}

TEST(kafka_sink_record, given_timestamp_sources_should_pick_milliseconds) {
    fixture f("x", {num<std::uint64_t>("ts", value_kind::uint64, 1234567ull),
                    hdr("txt", value_kind::string, "99"), hdr("bad", value_kind::string, "-5")});
    auto o = opts("t");
    EXPECT_EQ(build_record(o, f.sb, f.msg())->timestamp_ms, 1'600'000'000'999);
    o.timestamp = timestamp_source::iggy;
    EXPECT_EQ(build_record(o, f.sb, f.msg())->timestamp_ms, 1'700'000'000'123);
    o.timestamp = timestamp_source::none;
    EXPECT_EQ(build_record(o, f.sb, f.msg())->timestamp_ms, 0);
    o.timestamp = timestamp_source::header;
    o.timestamp_header = "ts";
    EXPECT_EQ(build_record(o, f.sb, f.msg())->timestamp_ms, 1234567);
    o.timestamp_header = "txt";
    EXPECT_EQ(build_record(o, f.sb, f.msg())->timestamp_ms, 99);
    o.timestamp_header = "bad";
    EXPECT_FALSE(build_record(o, f.sb, f.msg()));

    fixture no_origin("x");
    no_origin.b.messages[0].origin_timestamp_us = 0;
    o.timestamp = timestamp_source::origin;
    EXPECT_EQ(build_record(o, no_origin.sb, no_origin.msg())->timestamp_ms, 1'700'000'000'123);
}

TEST(kafka_sink_record, given_headers_should_map_values_and_apply_exclusions) {
    fixture f("x", {hdr("s", value_kind::string, "text"),
                    hdr("r", value_kind::raw, std::string("\x01\x00", 2)),
                    hdr("b", value_kind::boolean, std::string(1, '\1')),
                    num<std::int16_t>("i16", value_kind::int16, -300),
                    num<std::uint64_t>("u64", value_kind::uint64, 18446744073709551615ull),
                    num<double>("f", value_kind::float64, 0.5),
                    hdr("u128", value_kind::uint128, std::string(15, '\0') + "\x01"),
                    hdr("kafka.offset", value_kind::string, "9"),
                    hdr("kafka.topic", value_kind::string, "src")});
    auto o = opts("t");
    o.exclude_headers = {"kafka.*", "s"};
    auto r = build_record(o, f.sb, f.msg());
    ASSERT_TRUE(r);
    std::vector<std::pair<std::string, std::string>> got;
    for (auto& [k, v] : r->headers)
        got.emplace_back(std::string(k), v);
    std::vector<std::pair<std::string, std::string>> want = {
        {"r", std::string("\x01\x00", 2)},
        {"b", "true"},
        {"i16", "-300"},
        {"u64", "18446744073709551615"},
        {"f", "0.5"},
        {"u128", "00000000000000000000000000000001"},
    };
    EXPECT_EQ(got, want);
    o.include_headers = false;
    EXPECT_TRUE(build_record(o, f.sb, f.msg())->headers.empty());
}

TEST(kafka_sink_record, given_malformed_numeric_header_should_pass_bytes_and_not_crash) {
    header h = hdr("x", value_kind::int64, "abc");  // 3 bytes, not 8
    EXPECT_EQ(header_bytes(h), "abc");
    EXPECT_FALSE(header_integer(h).has_value());
    EXPECT_FALSE(header_integer(num<std::uint64_t>("u", value_kind::uint64, ~0ull)).has_value());
}

TEST(kafka_sink_record, given_deeply_nested_payload_should_reject_not_crash) {
    std::string deep(100000, '[');
    fixture f(deep);
    EXPECT_FALSE(build_record(opts("{field:a}"), f.sb, f.msg()));
}

}  // namespace
}  // namespace trib::connectors::kafka_sink
