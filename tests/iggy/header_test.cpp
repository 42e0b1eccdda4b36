#include "iggy/wire/header.h"

#include <gtest/gtest.h>

#include "iggy/test_util.h"

namespace trib::iggy {
namespace {

using test::doc_client_id;
using test::from_hex;

bytes zeros(std::size_t n) {
    return bytes(n, 0);
}

// iggy-protocol.md 8.1: PING before login.
TEST(header, ping_matches_doc_8_1) {
    bytes frame;
    request_frame_builder b(frame);
    request_header h;
    h.client = doc_client_id();
    h.request = 1;
    h.operation = static_cast<std::uint8_t>(operation::non_replicated);
    h.code = cmd::ping;
    auto out = b.finish(h);
    bytes expected = zeros(256);
    expected[0x30] = 0x00;
    expected[0x31] = 0x01;  // size 256
    expected[0x3c] = 0x05;
    for (int i = 0; i < 16; ++i)
        expected[0x80 + i] = static_cast<std::uint8_t>(i);
    expected[0xa8] = 0x01;  // request 1
    expected[0xb0] = 0x02;  // operation NR
    expected[0xc4] = 0x01;  // code 1 at 196
    EXPECT_EQ(bytes(out.begin(), out.end()), expected);

    auto back = request_header::decode(out);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->client, doc_client_id());
    EXPECT_EQ(back->code, cmd::ping);
    EXPECT_EQ(back->command().value_or(0), cmd::ping);
    EXPECT_TRUE(back->validate());
}

// 8.2: the Register header (the body is covered by the request tests).
TEST(header, register_header_matches_doc_8_2_with_and_without_stamp) {
    bytes body =
        from_hex("002c0000 07 6370702d73646b 05 302e312e30 04 69676779 04 69676779 00000000");
    ASSERT_EQ(body.size(), 32u);
    for (bool stamp : {false, true}) {
        bytes frame;
        request_frame_builder b(frame);
        b.body().raw(body);
        request_header h;
        h.client = doc_client_id();
        h.operation = static_cast<std::uint8_t>(operation::register_session);
        auto out = b.finish(h, stamp);
        ASSERT_EQ(out.size(), 288u);
        EXPECT_EQ(out[0x30], 0x20);
        EXPECT_EQ(out[0x31], 0x01);
        EXPECT_EQ(out[0xb0], 0x01);
        bytes stamp_bytes(out.begin() + 144, out.begin() + 160);
        if (stamp) {
            EXPECT_EQ(stamp_bytes, from_hex("e3c887bad356c500 0000000000000000"));
        } else {
            EXPECT_EQ(stamp_bytes, zeros(16));
        }
        auto back = request_header::decode(out);
        ASSERT_TRUE(back);
        EXPECT_TRUE(back->validate());
        EXPECT_EQ(back->command().value_or(0), cmd::login_register);
    }
}

TEST(header, validate_rejects_what_the_server_drops) {
    request_header h;
    h.operation = static_cast<std::uint8_t>(operation::create_stream);
    h.session = 1;
    h.request = 1;
    EXPECT_FALSE(h.validate());  // client 0
    h.client = {1, 0};
    EXPECT_TRUE(h.validate());
    h.session = 0;
    EXPECT_FALSE(h.validate());
    h.operation = 0;
    EXPECT_FALSE(h.validate());
    h.operation = 99;
    EXPECT_FALSE(h.validate());
    h.operation = static_cast<std::uint8_t>(operation::register_session);
    h.request = 1;
    EXPECT_FALSE(h.validate());
    h.request = 0;
    EXPECT_TRUE(h.validate());
}

TEST(header, reply_round_trip_and_echo) {
    request_header req;
    req.client = doc_client_id();
    req.request = 7;
    req.timestamp = 99;
    req.operation = static_cast<std::uint8_t>(operation::create_stream);
    reply_header r = reply_header::for_request(req);
    r.status = 0;
    r.commit = 5;
    r.op = 12;
    bytes frame;
    reply_frame_builder b(frame);
    b.result_ok();
    b.body().u32(42);
    auto out = b.finish(r);
    EXPECT_EQ(out[60], 8);
    EXPECT_EQ(load_u64(out.data() + 200), 7u);
    EXPECT_EQ(out[208], 128);
    auto f = decode_server_frame(out);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->reply.client, req.client);
    EXPECT_EQ(f->reply.commit, 5u);
    auto payload = reply_payload(f->reply, f->body);
    ASSERT_TRUE(payload);
    ASSERT_EQ(payload->size(), 4u);
    EXPECT_EQ(load_u32(payload->data()), 42u);
}

TEST(header, result_section_rejection_becomes_typed_error) {
    request_header req;
    req.client = {1, 0};
    req.operation = static_cast<std::uint8_t>(operation::create_stream);
    bytes frame;
    reply_frame_builder b(frame);
    b.result_error(code::stream_name_already_exists);
    auto out = b.finish(reply_header::for_request(req));
    auto p = decode_reply(out);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code(), errc::already_exists);
    EXPECT_EQ(p.error().vendor_code(), 1012);
    EXPECT_EQ(p.error().retry(), retry_class::fatal);
}

TEST(header, status_and_transients) {
    reply_header r;
    r.operation = static_cast<std::uint8_t>(operation::non_replicated);
    r.status = code::transient_not_accepted;
    auto p = reply_payload(r, {});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().retry(), retry_class::retryable);
    EXPECT_EQ(p.error().vendor_code(), 58);
    r.status = code::partition_not_found;
    p = reply_payload(r, {});
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code(), errc::not_found);
    // A transient inside a result section (Register) is retryable too.
    r.status = 0;
    r.operation = static_cast<std::uint8_t>(operation::register_session);
    bytes body = from_hex("01000000 00000000 39000000");
    p = reply_payload(r, body);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().vendor_code(), 57);
    EXPECT_TRUE(p.error().retryable());
    // Truncated result section: InvalidCommand.
    bytes bad = from_hex("02000000 00000000 39000000");
    p = reply_payload(r, bad);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().vendor_code(), 3);
    // NR and send replies are not result-framed.
    r.operation = static_cast<std::uint8_t>(operation::send_messages);
    bytes send = from_hex("00000000");
    p = reply_payload(r, send);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->size(), 4u);
    // Op 64 (CreateTopic's reply) and 68 are result-framed; 138 is not.
    EXPECT_TRUE(is_result_framed(64, 4));
    EXPECT_TRUE(is_result_framed(68, 4));
    EXPECT_FALSE(is_result_framed(138, 0));
    EXPECT_TRUE(is_result_framed(161, 4));
    EXPECT_FALSE(is_result_framed(1, 0));
}

TEST(header, eviction_maps_reasons_to_codes) {
    eviction_header e;
    e.client = {5, 0};
    e.reason = static_cast<std::uint8_t>(eviction_reason::invalid_credentials);
    bytes frame = encode_eviction(e);
    ASSERT_EQ(frame.size(), 256u);
    EXPECT_EQ(frame[60], 13);
    EXPECT_EQ(frame[255], 9);
    auto p = decode_reply(frame);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().vendor_code(), 42);
    EXPECT_EQ(p.error().code(), errc::unauthenticated);

    EXPECT_EQ(eviction_error_code(13), 30u);
    EXPECT_EQ(eviction_error_code(15), 4u);
    EXPECT_EQ(eviction_error_code(10), 53u);
    EXPECT_EQ(eviction_error_code(1), 40u);
    EXPECT_EQ(eviction_error_code(5), 3u);
    EXPECT_EQ(eviction_error_code(14, 0x2C00, 0x2C00), 14003u);
    EXPECT_EQ(eviction_error_code(14, 0x2C00, 0), 40u);
    EXPECT_EQ(eviction_error_code(14, 0x2000, 0x2C00), 40u);
}

TEST(header, frame_prefix_limits) {
    bytes h(256, 0);
    store_u32(h.data() + 48, 255);
    EXPECT_FALSE(read_frame_prefix(h));
    store_u32(h.data() + 48, max_frame_size + 1);
    EXPECT_FALSE(read_frame_prefix(h));
    store_u32(h.data() + 48, 300);
    h[60] = 8;
    auto p = read_frame_prefix(h);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->body_size, 44u);
    EXPECT_EQ(p->command, 8);
    EXPECT_FALSE(read_frame_prefix(bytes_view(h).first(100)));
    // decode_server_frame: size disagreeing with the buffer, and foreign command bytes.
    EXPECT_FALSE(decode_server_frame(h));
    store_u32(h.data() + 48, 256);
    h[60] = 5;
    EXPECT_FALSE(decode_server_frame(h));
}

TEST(codes, tables) {
    EXPECT_EQ(command_name(cmd::sync_consumer_group), "SYNC_CONSUMER_GROUP");
    EXPECT_EQ(operation_for_command(cmd::create_topic), operation::create_topic);
    EXPECT_EQ(operation_for_command(cmd::poll_messages), operation::non_replicated);
    EXPECT_EQ(operation_for_command(cmd::login_register_with_pat), operation::register_session);
    EXPECT_FALSE(operation_for_command(7));
    EXPECT_EQ(command_for_operation(operation::delete_segments).value_or(0), 503u);
    EXPECT_EQ(command_for_operation(operation::join_consumer_group).value_or(0), 604u);
    EXPECT_FALSE(command_for_operation(operation::non_replicated));
    // Every replicated op maps back to the code that maps to it.
    for (std::uint32_t c :
         {202u, 203u, 204u, 205u, 302u, 303u, 304u, 305u, 402u, 403u, 503u, 602u, 603u,
          604u, 605u, 33u,  34u,  35u,  36u,  37u,  42u,  43u,  101u, 121u, 122u, 39u}) {
        auto op = operation_for_command(c);
        ASSERT_TRUE(op) << c;
        EXPECT_EQ(command_for_operation(*op).value_or(0), c);
    }
    EXPECT_EQ(error_name(5009), "ConsumerGroupPartitionNotOwned");
    EXPECT_EQ(packed_version(protocol_version::v0_11), 0x2C00u);
}

}  // namespace
}  // namespace trib::iggy
