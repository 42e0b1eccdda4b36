// Replays the real frames in tests/data/iggy-wire-captures (the official Python SDK 0.9.0 against a
// real Iggy 0.9 server) through the codec: every request body decodes and re-encodes to the same
// bytes, every reply decodes with the decoder of its request, and decoded values agree with what
// the SDK reported (tour-steps.txt, groups-steps.txt).

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "iggy/test_util.h"
#include "iggy/wire/header.h"
#include "iggy/wire/requests.h"
#include "iggy/wire/responses.h"
#include "iggy/wire_captures.h"

namespace trib::iggy {
namespace {

using test::captured;
using test::captures_dir;
using test::load_captures;

bytes reencode(const any_request& req) {
    bytes out;
    writer w(out);
    std::visit([&](const auto& r) { r.encode(w); }, req);
    return out;
}

// What each reply decoded to, by sequence number, for the value checks.
struct replay {
    std::map<int, bytes_view> payload;  // successful replies
    std::map<int, std::uint32_t> error_code;
    std::map<int, std::uint8_t> eviction;
    std::map<int, std::uint32_t> request_code;  // the code each reply answers
    int requests = 0, replies = 0;
};

replay run(const std::vector<captured>& frames) {
    replay out;
    std::map<int, std::uint32_t> last_code;  // per connection: lockstep
    for (const auto& c : frames) {
        SCOPED_TRACE("seq " + std::to_string(c.seq));
        if (c.c2s) {
            auto prefix = read_frame_prefix(c.frame);
            EXPECT_TRUE(prefix);
            EXPECT_EQ(prefix->size, c.frame.size());
            auto h = request_header::decode(c.frame);
            EXPECT_TRUE(h) << h.error().to_string();
            if (!h)
                continue;
            EXPECT_TRUE(h->validate()) << h->validate().error().to_string();
            // The header re-encodes to the same 256 bytes.
            bytes hb(header_size);
            h->encode(hb.data());
            EXPECT_EQ(hb, bytes(c.frame.begin(), c.frame.begin() + header_size));
            auto code = h->command();
            EXPECT_TRUE(code);
            bytes_view body = bytes_view(c.frame).subspan(header_size);
            auto req = decode_request(*code, body);
            EXPECT_TRUE(req) << command_name(*code) << ": " << req.error().to_string();
            if (req) {
                EXPECT_EQ(reencode(*req), bytes(body.begin(), body.end())) << command_name(*code);
                if (auto* s = std::get_if<send_messages_request>(&*req)) {
                    // The SDK's batches pass the server's admission checks, checksums included.
                    auto checked = send_messages_request::decode(body, true);
                    EXPECT_TRUE(checked) << checked.error().to_string();
                    EXPECT_GE(s->messages_count, 1u);
                }
                if (h->request_checksum.lo != 0) {
                    EXPECT_EQ(h->request_checksum, body_checksum(body));
                }
            }
            last_code[c.conn] = *code;
            ++out.requests;
            continue;
        }
        auto f = decode_server_frame(c.frame);
        EXPECT_TRUE(f) << f.error().to_string();
        if (!f)
            continue;
        ++out.replies;
        out.request_code[c.seq] = last_code[c.conn];
        if (f->kind == frame_command::eviction) {
            out.eviction[c.seq] = f->eviction.reason;
            continue;
        }
        auto payload = reply_payload(f->reply, f->body);
        if (!payload) {
            out.error_code[c.seq] = static_cast<std::uint32_t>(payload.error().vendor_code());
            continue;
        }
        out.payload[c.seq] = *payload;
        auto st = decode_reply_payload(last_code[c.conn], *payload);
        EXPECT_TRUE(st) << command_name(last_code[c.conn]) << ": " << st.error().to_string();
    }
    return out;
}

class captures : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!std::filesystem::exists(captures_dir() / "tour.jsonl"))
            GTEST_FAIL() << "captures not found at " << captures_dir();
    }
};

TEST_F(captures, tour_decodes_and_reencodes_and_matches_the_sdk) {
    auto frames = load_captures("tour.jsonl");
    ASSERT_GT(frames.size(), 100u);
    auto r = run(frames);
    EXPECT_EQ(r.requests, r.replies);

    // Rejections the README lists.
    EXPECT_EQ(r.eviction.at(6), static_cast<std::uint8_t>(eviction_reason::invalid_credentials));
    EXPECT_EQ(r.error_code.at(22), code::stream_name_already_exists);
    EXPECT_EQ(r.error_code.at(52), code::resource_not_found);
    EXPECT_EQ(r.error_code.at(66), code::partition_not_found);
    EXPECT_EQ(r.error_code.at(70), code::consumer_group_name_already_exists);
    EXPECT_EQ(r.error_code.at(110), code::stream_id_not_found);

    auto login = login_reply::decode(r.payload.at(8));
    ASSERT_TRUE(login);
    EXPECT_EQ(login->user_id, 0u);
    EXPECT_GT(login->session, 0u);
    EXPECT_EQ(login->server_protocol_version, 0x2C00u);
    EXPECT_EQ(login->server_version, "0.9.0-edge.5");

    auto meta = cluster_metadata::decode(r.payload.at(10));
    ASSERT_TRUE(meta);
    ASSERT_EQ(meta->nodes.size(), 1u);
    EXPECT_EQ(meta->nodes[0].tcp_port, 18090);
    EXPECT_EQ(meta->nodes[0].role, 0);

    // get_stats: Stats(hostname='vm', iggy_server_version='0.9.0-edge.5', streams_count=0, ...)
    auto st = stats::decode(r.payload.at(16));
    ASSERT_TRUE(st);
    EXPECT_EQ(st->hostname, "vm");
    EXPECT_EQ(st->iggy_server_version, "0.9.0-edge.5");
    EXPECT_EQ(st->iggy_server_semver, 9000u);
    EXPECT_EQ(st->streams_count, 0u);
    EXPECT_EQ(st->clients_count, 1u);

    EXPECT_TRUE(r.payload.at(18).empty());  // get_stream_missing: None
    auto created = create_stream_reply::decode(r.payload.at(20));
    ASSERT_TRUE(created);
    EXPECT_EQ(created->stream.name, "tour");
    EXPECT_EQ(created->stream.id, 0u);

    // create_topic (reply op 64): "events" with 3 partitions and derived defaults.
    auto topic = topic_details::decode(r.payload.at(28));
    ASSERT_TRUE(topic);
    EXPECT_EQ(topic->topic.name, "events");
    EXPECT_EQ(topic->partitions.size(), 3u);
    EXPECT_EQ(topic->topic.message_expiry, UINT64_MAX);
    ASSERT_NE(find_option(topic->topic.derived_opts, "segment_size"), nullptr);
    auto gz = topic_details::decode(r.payload.at(30));
    ASSERT_TRUE(gz);
    EXPECT_EQ(gz->topic.compression, 2);
    auto topics = topics_reply::decode(r.payload.at(34));
    ASSERT_TRUE(topics);
    EXPECT_EQ(topics->topics.size(), 2u);

    // send_partition_0 landed at base offset 0 of partition 0; send with headers at partition 1.
    auto sent = send_messages_reply::decode(r.payload.at(42));
    ASSERT_TRUE(sent);
    ASSERT_EQ(sent->confirmations.size(), 1u);
    EXPECT_EQ(sent->confirmations[0].partition_id, 0u);
    EXPECT_EQ(sent->confirmations[0].base_offset, 0u);

    // poll_offset_0: payloads m-0..m-4, b-0 at offsets 0..5, ids 1..5 then a random one.
    auto poll = poll_reply::decode(r.payload.at(54));
    ASSERT_TRUE(poll);
    ASSERT_EQ(poll->messages.size(), 6u);
    EXPECT_EQ(poll->batches.size(), 2u);
    const char* payloads[] = {"m-0", "m-1", "m-2", "m-3", "m-4", "b-0"};
    for (std::size_t i = 0; i < 6; ++i) {
        EXPECT_EQ(as_string(poll->messages[i].payload), payloads[i]);
        EXPECT_EQ(poll->messages[i].offset, i);
    }
    for (std::size_t i = 0; i < 5; ++i)
        EXPECT_EQ(poll->messages[i].id, (u128{i + 1, 0}));
    EXPECT_EQ(to_hex(poll->messages[5].id),
              "4f33e34dd48a098a0343d4dd4527d5c0");  // the SDK printed it in decimal

    // poll_headers_partition_1: kind=order (string), n=7 (uint8).
    auto hp = poll_reply::decode(r.payload.at(56));
    ASSERT_TRUE(hp);
    ASSERT_EQ(hp->messages.size(), 1u);
    auto hdrs = decode_user_headers(hp->messages[0].user_headers);
    ASSERT_TRUE(hdrs);
    ASSERT_EQ(hdrs->size(), 2u);
    EXPECT_EQ((*hdrs)[0].key, "kind");
    EXPECT_EQ((*hdrs)[0].value, "order");
    EXPECT_EQ((*hdrs)[1].key, "n");
    EXPECT_EQ((*hdrs)[1].kind, header_kind::uint8);
    EXPECT_EQ(header_value_to_string((*hdrs)[1]), "7");

    // poll_last (2), poll_next_autocommit (2), poll_next_again (4), poll_timestamp_0 (1).
    for (auto [seq, n] : {std::pair{58, 2u}, {60, 2u}, {62, 4u}, {64, 1u}}) {
        auto p = poll_reply::decode(r.payload.at(seq));
        ASSERT_TRUE(p) << seq;
        EXPECT_EQ(p->messages.size(), n) << seq;
    }

    auto group = consumer_group_details::decode(r.payload.at(74));
    ASSERT_TRUE(group);
    EXPECT_EQ(group->group.name, "workers");
    ASSERT_EQ(group->members.size(), 1u);
    EXPECT_EQ(group->members[0].partitions, (std::vector<std::uint32_t>{0, 1, 2}));

    // group polls: 5, 1, 1 messages.
    for (auto [seq, n] : {std::pair{78, 5u}, {80, 1u}, {82, 1u}}) {
        auto p = poll_reply::decode(r.payload.at(seq));
        ASSERT_TRUE(p) << seq;
        EXPECT_EQ(p->messages.size(), n) << seq;
    }

    auto user = user_details::decode(r.payload.at(88));
    ASSERT_TRUE(user);
    EXPECT_EQ(user->user.username, "alice");
    EXPECT_EQ(user->user.id, 1u);
    EXPECT_FALSE(user->perms);
    auto users = users_reply::decode(r.payload.at(90));
    ASSERT_TRUE(users);
    ASSERT_EQ(users->users.size(), 2u);
    EXPECT_EQ(users->users[0].username, "iggy");

    auto me = client_details::decode(r.payload.at(112));
    ASSERT_TRUE(me);
    EXPECT_EQ(me->client.address, "127.0.0.1:52708");
    EXPECT_EQ(me->client.transport, 1);
}

TEST_F(captures, groups_decode_and_match_the_sdk) {
    auto frames = load_captures("groups.jsonl");
    ASSERT_GT(frames.size(), 100u);
    auto r = run(frames);
    EXPECT_EQ(r.requests, r.replies);

    // get_consumer_offset_p1: partition 1, current 9, stored 4; after delete: empty.
    auto off = consumer_offset_info::decode(r.payload.at(22));
    ASSERT_TRUE(off);
    EXPECT_EQ(off->partition_id, 1u);
    EXPECT_EQ(off->current_offset, 9u);
    EXPECT_EQ(off->stored_offset, 4u);
    EXPECT_TRUE(r.payload.at(28).empty());

    // poll_next_after_store: offsets 5..7 of partition 1 (Next after stored 4, count 3).
    auto p = poll_reply::decode(r.payload.at(24));
    ASSERT_TRUE(p);
    ASSERT_EQ(p->messages.size(), 3u);
    EXPECT_EQ(p->messages[0].offset, 5u);

    // members: [(0, [0, 1]), (1, [2])]; SYNC gave member 1 partition 2 and member 0 [0, 1].
    auto sync1 = sync_consumer_group_reply::decode(r.payload.at(67));
    ASSERT_TRUE(sync1);
    EXPECT_EQ(sync1->partitions, (std::vector<std::uint32_t>{2}));
    auto sync0 = sync_consumer_group_reply::decode(r.payload.at(69));
    ASSERT_TRUE(sync0);
    EXPECT_EQ(sync0->partitions, (std::vector<std::uint32_t>{0, 1}));
    EXPECT_EQ(sync0->generation, sync1->generation);

    // Group offsets 9 on every partition.
    for (auto [seq, part] : {std::pair{110, 0u}, {112, 1u}, {114, 2u}}) {
        auto o = consumer_offset_info::decode(r.payload.at(seq));
        ASSERT_TRUE(o);
        EXPECT_EQ(o->partition_id, part);
        EXPECT_EQ(o->stored_offset, 9u);
    }

    // create_pat and get_pats.
    auto tok = raw_personal_access_token::decode(r.payload.at(120));
    ASSERT_TRUE(tok);
    EXPECT_EQ(tok->token, "ex5wO1TSLgYDouQkcV1y9iRGtLoIzpDZzrkHom2cVEJvFr4qW8ijg5H8VoN+jI/W8Lc=");
    auto pats = personal_access_tokens_reply::decode(r.payload.at(122));
    ASSERT_TRUE(pats);
    ASSERT_EQ(pats->tokens.size(), 1u);
    EXPECT_EQ(pats->tokens[0].name, "tour-token");
    // The token login (seq 123) carries the same token.
    for (const auto& c : frames) {
        if (c.seq != 123)
            continue;
        auto l = decode_login(bytes_view(c.frame).subspan(header_size));
        ASSERT_TRUE(l);
        ASSERT_TRUE(std::holds_alternative<login_register_pat_request>(*l));
        EXPECT_EQ(std::get<login_register_pat_request>(*l).token, tok->token);
    }
}

}  // namespace
}  // namespace trib::iggy
