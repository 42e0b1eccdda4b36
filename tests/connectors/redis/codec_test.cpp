// The Redis connector's pure parts without a server: URLs, key templates, the commands the sink
// sends, stream entries (RESP bytes read by hiredis' reader) turned into messages, and the
// error classes of Redis' error replies.

#include "connectors/redis/codec.h"

#include <gtest/gtest.h>

#include "connectors/redis/client.h"
#include "connectors/redis/errors.h"
#include "core/message_id.h"

namespace trib::connectors::redis {
namespace {

struct reader_reply {
    redisReply* r = nullptr;
    ~reader_reply() {
        if (r != nullptr)
            freeReplyObject(r);
    }
};

// Parses RESP bytes with hiredis' reader (as the connection does).
void parse_resp(const std::string& bytes, reader_reply& out) {
    redisReader* rd = redisReaderCreate();
    ASSERT_EQ(redisReaderFeed(rd, bytes.data(), bytes.size()), REDIS_OK);
    void* r = nullptr;
    ASSERT_EQ(redisReaderGetReply(rd, &r), REDIS_OK);
    redisReaderFree(rd);
    ASSERT_NE(r, nullptr);
    out.r = static_cast<redisReply*>(r);
}

std::string bulk(const std::string& s) {
    return "$" + std::to_string(s.size()) + "\r\n" + s + "\r\n";
}

message_batch one(std::string payload, std::uint64_t offset = 7) {
    message_batch b;
    message m;
    m.payload = b.own(std::move(payload));
    m.offset = offset;
    m.id = {0x1111, 0x2222};
    m.timestamp_us = 1700000000000000;
    m.headers.push_back({"h1", value_kind::string, "v1"});
    b.messages.push_back(std::move(m));
    return b;
}

sink_batch view(const message_batch& b, std::uint32_t partition = 2) {
    sink_batch s;
    s.stream = "shop";
    s.topic = "orders";
    s.partition = partition;
    s.messages = &b;
    return s;
}

TEST(redis_url, given_full_url_should_read_every_part) {
    auto ep = parse_url("redis://app:p%40ss@cache.example:6380/3");
    ASSERT_TRUE(ep) << ep.error().message();
    EXPECT_EQ(ep->host, "cache.example");
    EXPECT_EQ(ep->port, 6380);
    EXPECT_EQ(ep->username, "app");
    EXPECT_EQ(ep->password, "p@ss");
    EXPECT_EQ(ep->database, 3);
    EXPECT_FALSE(ep->tls);
    auto only_pw = parse_url("redis://:secret@[::1]");
    ASSERT_TRUE(only_pw);
    EXPECT_EQ(only_pw->host, "::1");
    EXPECT_EQ(only_pw->port, 6379);
    EXPECT_EQ(only_pw->username, "");
    EXPECT_EQ(only_pw->password, "secret");
    auto unix_url = parse_url("unix:///run/redis.sock?db=2");
    ASSERT_TRUE(unix_url);
    EXPECT_EQ(unix_url->unix_path, "/run/redis.sock");
    EXPECT_EQ(unix_url->database, 2);
    EXPECT_TRUE(parse_url("rediss://h:1")->tls);
}

TEST(redis_url, given_bad_urls_should_refuse_them) {
    for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:70000", "redis://h/x",
                            "redis://h/-1", "unix://relative", "redis://[::1", "redis://u:%zz@h"}) {
        auto ep = parse_url(bad);
        EXPECT_FALSE(ep) << bad;
        if (!ep) {
            EXPECT_NE(ep.error().message().find("connection_url"), std::string::npos);
        }
    }
}

TEST(redis_template, given_placeholders_should_render_message_values) {
    auto t = parse_template("{stream}:{topic}:{partition}:{offset}:{header:h1}:{{x}}");
    ASSERT_TRUE(t) << t.error().message();
    auto b = one("{}");
    render_input in{"shop", "orders", 2, &b.messages[0], nullptr};
    auto s = render(*t, in);
    ASSERT_TRUE(s);
    EXPECT_EQ(*s, "shop:orders:2:7:v1:{x}");
    auto id = parse_template("{id}");
    ASSERT_TRUE(id);
    EXPECT_EQ(*render(*id, in), to_hex(b.messages[0].id));
}

TEST(redis_template, given_unknown_or_unclosed_placeholders_should_refuse) {
    EXPECT_FALSE(parse_template("a{nope}"));
    EXPECT_FALSE(parse_template("a{stream"));
    EXPECT_FALSE(parse_template("a}b"));
    EXPECT_FALSE(parse_template(""));
    EXPECT_FALSE(parse_template("{field:}"));
}

TEST(redis_commands, given_stream_mode_should_xadd_payload_metadata_and_headers) {
    sink_layout l;
    l.key = *parse_template("{stream}:{topic}");
    l.max_len = 100;
    auto b = one("hello");
    auto c = commands_for(l, view(b), b.messages[0]);
    ASSERT_TRUE(c) << c.error().message();
    ASSERT_EQ(c->size(), 1u);
    const command& x = c->front();
    std::vector<std::string> head(x.begin(), x.begin() + 8);
    EXPECT_EQ(head, (std::vector<std::string>{"XADD", "shop:orders", "MAXLEN", "~", "100", "*",
                                              "payload", "hello"}));
    auto field = [&](const std::string& name) -> std::string {
        for (std::size_t i = 6; i + 1 < x.size(); i += 2) {
            if (x[i] == name)
                return x[i + 1];
        }
        return "<absent>";
    };
    EXPECT_EQ(field("iggy_offset"), "7");
    EXPECT_EQ(field("iggy_partition"), "2");
    EXPECT_EQ(field("iggy_message_id"), to_hex(b.messages[0].id));
    EXPECT_EQ(field("header.h1"), "v1");
}

TEST(redis_commands, given_offset_ids_should_derive_the_entry_id_from_offset_and_partition) {
    sink_layout l;
    l.key = *parse_template("{stream}:{topic}:{partition}");
    l.offset_ids = true;
    l.include_metadata = false;
    l.include_headers = false;
    auto b = one("x", 0);
    auto c = commands_for(l, view(b, 0), b.messages[0]);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->front(), (command{"XADD", "shop:orders:0", "0-1", "payload", "x"}));
    EXPECT_EQ(offset_entry_id(41, 3), "41-4");
}

TEST(redis_commands, given_fields_from_payload_should_write_one_field_per_member) {
    sink_layout l;
    l.key = *parse_template("k");
    l.fields_from_payload = true;
    l.include_metadata = false;
    l.include_headers = false;
    auto b = one(R"({"a":1,"b":"two","c":{"d":[1,2]},"e":null})");
    auto c = commands_for(l, view(b), b.messages[0]);
    ASSERT_TRUE(c);
    EXPECT_EQ(c->front(),
              (command{"XADD", "k", "*", "a", "1", "b", "two", "c", R"({"d":[1,2]})", "e", ""}));
    auto bad = one("not json");
    auto r = commands_for(l, view(bad), bad.messages[0]);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().retry(), retry_class::fatal);
}

TEST(redis_commands, given_keyed_modes_should_build_idempotent_commands_with_ttl) {
    auto b = one(R"({"id":"u1","name":"Ann","score":2.5})");
    sink_layout l;
    l.key = *parse_template("user:{field:id}");
    l.ttl = std::chrono::milliseconds(60000);
    l.mode = sink_mode::hash;
    auto h = commands_for(l, view(b), b.messages[0]);
    ASSERT_TRUE(h) << h.error().message();
    EXPECT_EQ((*h)[0], (command{"HSET", "user:u1", "id", "u1", "name", "Ann", "score", "2.5"}));
    EXPECT_EQ((*h)[1], (command{"PEXPIRE", "user:u1", "60000"}));
    l.mode = sink_mode::string;
    auto s = commands_for(l, view(b), b.messages[0]);
    ASSERT_TRUE(s);
    EXPECT_EQ(s->size(), 1u);
    EXPECT_EQ((*s)[0][0], "SET");
    EXPECT_EQ((*s)[0][3], "PX");
    l.mode = sink_mode::zset;
    l.member = *parse_template("{field:name}");
    l.score_field = "score";
    auto z = commands_for(l, view(b), b.messages[0]);
    ASSERT_TRUE(z);
    EXPECT_EQ((*z)[0], (command{"ZADD", "user:u1", "2.5", "Ann"}));
    l.score_field = "name";  // not a number
    EXPECT_FALSE(commands_for(l, view(b), b.messages[0]));
    l.mode = sink_mode::set;
    l.member.reset();
    auto st = commands_for(l, view(b), b.messages[0]);
    ASSERT_TRUE(st);
    EXPECT_EQ((*st)[0], (command{"SADD", "user:u1", std::string(b.messages[0].payload)}));
}

TEST(redis_commands, given_missing_field_should_reject_the_message) {
    sink_layout l;
    l.mode = sink_mode::list;
    l.key = *parse_template("q:{field:tenant}");
    auto b = one(R"({"other":1})");
    auto r = commands_for(l, view(b), b.messages[0]);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message().find("tenant"), std::string::npos);
    l.key = *parse_template("q:{header:absent}");
    EXPECT_FALSE(commands_for(l, view(b), b.messages[0]));
}

TEST(redis_entries, given_xreadgroup_reply_should_give_entries_per_key) {
    std::string resp = "*2\r\n*2\r\n" + bulk("s1") + "*2\r\n*2\r\n" + bulk("1-1") + "*4\r\n" +
                       bulk("payload") + bulk("hi") + bulk("k") + bulk("v") + "*2\r\n" +
                       bulk("1-2") + "*-1\r\n" + "*2\r\n" + bulk("s2") + "*1\r\n*2\r\n" +
                       bulk("5-0") + "*2\r\n" + bulk("a") + bulk("b");
    reader_reply rr;
    parse_resp(resp, rr);
    auto e = entries_of_xread(rr.r);
    ASSERT_TRUE(e) << e.error().message();
    ASSERT_EQ(e->size(), 3u);
    EXPECT_EQ((*e)[0].key, "s1");
    EXPECT_EQ((*e)[0].id, "1-1");
    EXPECT_EQ((*e)[0].fields.size(), 2u);
    EXPECT_TRUE((*e)[1].deleted);
    EXPECT_EQ((*e)[2].key, "s2");

    entry_layout l;
    l.database = 4;
    message_batch b;
    message m = message_of(l, (*e)[0], b);
    EXPECT_EQ(m.payload, "hi");
    ASSERT_NE(m.find_header("k"), nullptr);
    EXPECT_EQ(m.find_header("k")->value, "v");
    EXPECT_EQ(m.find_header("redis_id")->value, "1-1");
    EXPECT_EQ(m.origin_timestamp_us, 1000u);
    message_id_builder ids("redis");
    ids.add_u64(4).add("s1").add("1-1");
    EXPECT_EQ(m.id, ids.finish());
    // Same entry, other database: another id.
    l.database = 0;
    EXPECT_NE(message_of(l, (*e)[0], b).id, m.id);
    // No payload field: a JSON object of the fields.
    message j = message_of(l, (*e)[2], b);
    EXPECT_EQ(j.payload, R"({"a":"b"})");
}

TEST(redis_entries, given_fields_iggy_cannot_hold_as_headers_should_leave_them_out) {
    stream_entry e;
    e.key = "k";
    e.id = "2-0";
    e.fields = {{"payload", "p"},     {"empty", ""},     {"", "no name"},
                {"dup", "first"},     {"dup", "second"}, {"bin", std::string("\xff\xfe", 2)},
                {"redis_id", "spoof"}};
    message_batch b;
    message m = message_of(entry_layout{}, e, b);
    EXPECT_EQ(m.payload, "p");
    EXPECT_EQ(m.find_header("empty"), nullptr);
    EXPECT_EQ(m.find_header(""), nullptr);
    ASSERT_NE(m.find_header("dup"), nullptr);
    EXPECT_EQ(m.find_header("dup")->value, "first");
    ASSERT_NE(m.find_header("bin"), nullptr);
    EXPECT_EQ(m.find_header("bin")->kind, value_kind::raw);
    EXPECT_EQ(m.find_header("redis_id")->value, "2-0");
    EXPECT_EQ(m.headers.size(), 4u);  // redis_key, redis_id, dup, bin
}

TEST(redis_entries, given_xautoclaim_reply_should_give_cursor_and_entries) {
    std::string resp = "*3\r\n" + bulk("9-0") + "*1\r\n*2\r\n" + bulk("3-0") + "*2\r\n" +
                       bulk("payload") + bulk("x") + "*0\r\n";
    reader_reply rr;
    parse_resp(resp, rr);
    std::string next;
    auto e = entries_of_xautoclaim(rr.r, "s", &next);
    ASSERT_TRUE(e) << e.error().message();
    EXPECT_EQ(next, "9-0");
    ASSERT_EQ(e->size(), 1u);
    EXPECT_EQ(e->front().key, "s");
}

TEST(redis_entries, given_malformed_replies_should_return_protocol_errors) {
    for (const std::string& resp : std::vector<std::string>{
             std::string(":1\r\n"), "*1\r\n:1\r\n", "*1\r\n*2\r\n" + bulk("s") + ":3\r\n",
             "*1\r\n*2\r\n" + bulk("s") + "*1\r\n*2\r\n" + bulk("1-0") + "*1\r\n" + bulk("odd"),
             "*1\r\n*2\r\n" + bulk("s") + "*1\r\n*2\r\n:5\r\n*0\r\n"}) {
        reader_reply rr;
        parse_resp(resp, rr);
        auto e = entries_of_xread(rr.r);
        ASSERT_FALSE(e) << resp;
        EXPECT_EQ(e.error().code(), errc::protocol_error);
    }
}

TEST(redis_errors, given_error_replies_should_classify_them) {
    EXPECT_EQ(from_reply_error("WRONGTYPE Operation against a key", "x").retry(),
              retry_class::fatal);
    EXPECT_EQ(from_reply_error("LOADING Redis is loading", "x").retry(), retry_class::retryable);
    EXPECT_EQ(from_reply_error("OOM command not allowed", "x").retry(), retry_class::throttled);
    EXPECT_EQ(from_reply_error("WRONGPASS invalid username-password pair", "x").code(),
              errc::unauthenticated);
    EXPECT_EQ(from_reply_error("NOPERM this user has no permissions", "x").code(),
              errc::permission_denied);
    EXPECT_EQ(from_reply_error("BUSYGROUP Consumer Group name already exists", "x").code(),
              errc::already_exists);
    EXPECT_EQ(from_reply_error("MOVED 3999 127.0.0.1:6381", "x").code(), errc::unimplemented);
    EXPECT_TRUE(is_xadd_id_too_small(
        "ERR The ID specified in XADD is equal or smaller than the target stream top item"));
}

}  // namespace
}  // namespace trib::connectors::redis
