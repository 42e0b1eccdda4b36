// The pure part of the NATS connector: subject template, headers both ways, message ids. No
// server.

#include "connectors/nats/mapping.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/message_id.h"

namespace trib::connectors::nats {
namespace {

header str(std::string k, std::string v) {
    return header{std::move(k), value_kind::string, std::move(v)};
}

header u32(std::string k, std::uint32_t v) {
    std::string le(4, '\0');
    std::memcpy(le.data(), &v, 4);  // little-endian host (x86-64)
    return header{std::move(k), value_kind::uint32, le};
}

struct batch_fixture {
    message_batch mb;
    sink_batch b;
    batch_fixture() {
        b.stream = "shop";
        b.topic = "orders";
        b.partition = 3;
        b.messages = &mb;
    }
};

TEST(nats_subject, given_placeholders_should_render_stream_topic_partition_header_and_field) {
    auto t = parse_subject("out.{stream}.{topic}.{partition}.{header:region}.{field:a.b}");
    ASSERT_TRUE(t) << t.error().message();
    EXPECT_TRUE(t->needs_payload());
    batch_fixture f;
    message m;
    m.payload = R"({"a":{"b":42}})";
    m.headers = {str("region", "eu")};
    auto s = render_subject(*t, f.b, m);
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(*s, "out.shop.orders.3.eu.42");
}

TEST(nats_subject, given_doubled_braces_should_keep_literal_braces) {
    auto t = parse_subject("a.{{x}}");
    ASSERT_TRUE(t) << t.error().message();
    batch_fixture f;
    message m;
    auto s = render_subject(*t, f.b, m);
    ASSERT_TRUE(s);
    EXPECT_EQ(*s, "a.{x}");
}

TEST(nats_subject, given_bad_templates_should_name_the_problem) {
    auto unknown = parse_subject("a.{nope}");
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message().find("{nope}"), std::string::npos);
    EXPECT_FALSE(parse_subject("a.{stream"));
    EXPECT_FALSE(parse_subject("a}"));
    EXPECT_FALSE(parse_subject(""));
    // A literal subject is checked at once: wildcards and empty tokens cannot be published to.
    EXPECT_FALSE(parse_subject("a.*"));
    EXPECT_FALSE(parse_subject("a..b"));
    EXPECT_FALSE(parse_subject("a b"));
    EXPECT_TRUE(parse_subject("a.b-c_d"));
}

TEST(nats_subject, given_a_message_without_the_header_or_field_should_fail_that_message) {
    batch_fixture f;
    message m;
    m.payload = "not json";
    auto h = render_subject(*parse_subject("x.{header:h}"), f.b, m);
    ASSERT_FALSE(h);
    EXPECT_EQ(h.error().retry(), retry_class::fatal);
    EXPECT_NE(h.error().message().find("'h'"), std::string::npos);
    auto j = render_subject(*parse_subject("x.{field:a}"), f.b, m);
    ASSERT_FALSE(j);
    EXPECT_NE(j.error().message().find("not JSON"), std::string::npos);
    m.payload = R"({"a":{"b":1}})";
    EXPECT_FALSE(render_subject(*parse_subject("x.{field:a}"), f.b, m));  // an object
    m.headers = {str("h", "has space")};
    EXPECT_FALSE(render_subject(*parse_subject("x.{header:h}"), f.b, m));
    m.headers = {str("h", "")};
    EXPECT_FALSE(render_subject(*parse_subject("x.{header:h}"), f.b, m));  // x.
}

TEST(nats_subject, given_subscribe_filters_should_allow_wildcards_in_place) {
    EXPECT_TRUE(check_subscribe_subject("a.*.c"));
    EXPECT_TRUE(check_subscribe_subject("a.>"));
    EXPECT_FALSE(check_subscribe_subject("a.>.c"));
    EXPECT_FALSE(check_publish_subject("a.>"));
    EXPECT_FALSE(check_subscribe_subject(std::string(5000, 'a')));
}

TEST(nats_headers_out, given_iggy_headers_should_render_text_and_add_the_msg_id) {
    message m;
    m.id = message_id{0x1122334455667788ull, 0x99aabbccddeeff00ull};
    m.headers = {str("a", "x"),
                 u32("n", 7),
                 header{"raw", value_kind::raw, "\x01\x02"},
                 header{"flag", value_kind::boolean, std::string(1, '\1')},
                 str(std::string(subject_header), "dropped"),
                 str("Nats-Msg-Id", "theirs"),
                 str("skip.me", "1")};
    header_out_options o;
    o.exclude = {"skip.*"};
    auto h = nats_headers(o, m, true);
    ASSERT_TRUE(h) << h.error().message();
    std::vector<std::pair<std::string, std::string>> want = {
        {"a", "x"}, {"n", "7"}, {"raw", "AQI="}, {"flag", "true"}, {"Nats-Msg-Id", to_hex(m.id)}};
    EXPECT_EQ(*h, want);
    EXPECT_EQ(to_hex(m.id), "99aabbccddeeff001122334455667788");
}

TEST(nats_headers_out, given_core_mode_should_keep_a_users_msg_id_header_and_add_none) {
    message m;
    m.headers = {str("Nats-Msg-Id", "theirs")};
    auto h = nats_headers({}, m, false);
    ASSERT_TRUE(h);
    ASSERT_EQ(h->size(), 1u);
    EXPECT_EQ((*h)[0].second, "theirs");
    header_out_options none;
    none.include = false;
    EXPECT_TRUE(nats_headers(none, m, false)->empty());
}

TEST(nats_headers_out, given_headers_nats_cannot_carry_should_fail_the_message) {
    message m;
    m.headers = {str("bad:name", "v")};
    EXPECT_FALSE(nats_headers({}, m, true));
    m.headers = {str("bad name", "v")};
    EXPECT_FALSE(nats_headers({}, m, true));
    m.headers = {str("ok", "line\r\nInjected: yes")};
    auto e = nats_headers({}, m, true);
    ASSERT_FALSE(e);
    EXPECT_NE(e.error().message().find("CR, LF"), std::string::npos);
    m.headers = {str("ok", std::string("nul\0x", 5))};
    EXPECT_FALSE(nats_headers({}, m, true));
}

TEST(nats_headers_in, given_nats_headers_should_make_string_headers_and_metadata) {
    std::vector<nats_header> in = {{"a", {"1"}}, {"multi", {"x", "y"}}, {"a", {"second"}}};
    auto h = iggy_headers(in, "orders.eu", "ORDERS", 258, true, unfit_policy::reject);
    ASSERT_TRUE(h) << h.error().message();
    ASSERT_EQ(h->size(), 5u);
    EXPECT_EQ((*h)[0], str("a", "1"));  // a repeated name: the first wins
    EXPECT_EQ((*h)[1], str("multi", "x, y"));
    EXPECT_EQ((*h)[2], str("nats.subject", "orders.eu"));
    EXPECT_EQ((*h)[3], str("nats.stream", "ORDERS"));
    EXPECT_EQ((*h)[4].kind, value_kind::uint64);
    EXPECT_EQ((*h)[4].value, std::string("\x02\x01\0\0\0\0\0\0", 8));
    auto core = iggy_headers({}, "s", "", 0, true, unfit_policy::reject);
    ASSERT_TRUE(core);
    ASSERT_EQ(core->size(), 1u);  // no stream, no sequence
    EXPECT_TRUE(iggy_headers(in, "s", "S", 1, false, unfit_policy::reject)->size() == 2u);
}

TEST(nats_headers_in, given_unfit_headers_should_reject_or_skip_by_policy) {
    const std::string big(256, 'v');
    std::vector<nats_header> in = {{"big", {big}}, {"ok", {"1"}}, {"empty", {""}}};
    auto r = iggy_headers(in, "s", "", 0, false, unfit_policy::reject);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("'big'"), std::string::npos);
    EXPECT_EQ(r.error().retry(), retry_class::fatal);
    auto s = iggy_headers(in, "s", "", 0, false, unfit_policy::skip);
    ASSERT_TRUE(s);
    ASSERT_EQ(s->size(), 1u);
    EXPECT_EQ((*s)[0].key, "ok");
}

TEST(nats_ids, given_the_same_stream_and_sequence_should_give_the_same_nonzero_id) {
    const auto a = jetstream_message_id("ORDERS", 7);
    EXPECT_EQ(a, jetstream_message_id("ORDERS", 7));
    EXPECT_FALSE(a.is_zero());
    EXPECT_NE(a, jetstream_message_id("ORDERS", 8));
    EXPECT_NE(a, jetstream_message_id("ORDERS2", 7));
    // The layout of core/message_id.h with the domain "nats".
    EXPECT_EQ(a, message_id_builder("nats").add("ORDERS").add_u64(7).finish());
}

}  // namespace
}  // namespace trib::connectors::nats
