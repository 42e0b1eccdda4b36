// Golden bytes of the protocol doc's worked examples (section 8), a byte vector for every other
// request, and an encode/decode round trip for every reply payload.

#include <gtest/gtest.h>

#include "iggy/test_util.h"
#include "iggy/wire/header.h"
#include "iggy/wire/requests.h"
#include "iggy/wire/responses.h"

namespace trib::iggy {
namespace {

using test::doc_client_id;
using test::from_hex;

template <class T>
bytes enc(const T& v) {
    bytes out;
    writer w(out);
    v.encode(w);
    return out;
}

// Encodes, compares with the expected hex, decodes back (also through the dispatcher).
template <class R>
void check_request(const R& req, std::string_view hex) {
    SCOPED_TRACE(command_name(R::code));
    bytes b = enc(req);
    EXPECT_EQ(test::to_hex(b), test::to_hex(from_hex(hex)));
    auto back = R::decode(b);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_TRUE(*back == req);
    auto any = decode_request(R::code, b);
    ASSERT_TRUE(any) << any.error().to_string();
    EXPECT_TRUE(std::holds_alternative<R>(*any));
    // A strict prefix never decodes to the same request (bodies that end in an options block
    // may decode when cut before it, but then to a different value).
    for (std::size_t n = 0; n < b.size(); ++n) {
        auto t = R::decode(bytes_view(b).first(n));
        if (t) {
            EXPECT_FALSE(*t == req) << "prefix " << n;
        }
    }
}

identifier sid(std::uint32_t n) {
    return identifier::numeric(n);
}

// ---- section 8 ----

TEST(codec, login_register_body_matches_doc_8_2) {
    login_register_request l;
    l.username = "iggy";
    l.password = "iggy";
    check_request(l, "002c0000 07 6370702d73646b 05 302e312e30 04 69676779 04 69676779 00000000");
    bytes frame;
    request_header h;
    h.client = doc_client_id();
    auto out = encode_request_frame(frame, l, h, /*stamp=*/true);
    ASSERT_EQ(out.size(), 288u);
    EXPECT_EQ(out[176], 1);
    EXPECT_EQ(test::to_hex(out.subspan(144, 16)), "e3c887bad356c5000000000000000000");
    auto dl = decode_login(out.subspan(header_size));
    ASSERT_TRUE(dl);
    EXPECT_TRUE(std::holds_alternative<login_register_request>(*dl));
    EXPECT_EQ(login_protocol_version(out.subspan(header_size)).value_or(0), 0x2C00u);
}

TEST(codec, login_with_token) {
    login_register_pat_request l;
    l.token = "tok";
    check_request(l, "002c0000 07 6370702d73646b 05 302e312e30 03 746f6b 00000000");
    auto dl = decode_login(enc(l));
    ASSERT_TRUE(dl);
    EXPECT_TRUE(std::holds_alternative<login_register_pat_request>(*dl));
    EXPECT_FALSE(decode_login(from_hex("002c0000")));
}

TEST(codec, send_messages_matches_doc_8_3) {
    batch_builder b;
    b.add({u128{1, 0}, 1'700'000'000'000'000ULL, as_bytes("hello"), {}});
    bytes batch = b.finish();
    send_messages_request s{sid(1), sid(1), partitioning::balanced(), 0, batch};
    bytes frame;
    request_header h;
    h.client = doc_client_id();
    h.request = 1;
    h.session = 1;
    auto out = encode_request_frame(frame, s, h);
    ASSERT_EQ(out.size(), 587u);
    std::string body_hex = "12000000010401000000010401000000010001000000" + std::string(48, '0') +
                           "00401e18240a0600" + "3501000000000000" + "c30f947c3dc33789" +
                           "01000000" + std::string(408, '0') + "8e5ca59edbbdbfb9" + "01" +
                           std::string(30, '0') + std::string(24, '0') + "05000000" +
                           std::string(16, '0') + "68656c6c6f";
    EXPECT_EQ(test::to_hex(out.subspan(header_size)), body_hex);
    EXPECT_EQ(out[176], 0xa0);
    EXPECT_EQ(load_u32(out.data() + 196), 0u);  // no code: replicated
    EXPECT_EQ(load_u64(out.data() + 184), 1u);
    auto back = send_messages_request::decode(out.subspan(header_size), true);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(back->messages_count, 1u);
    EXPECT_EQ(back->part, partitioning::balanced());
    EXPECT_EQ(back->batch.size(), 309u);
    // The prefix helper writes the same metadata.
    bytes pre;
    writer w(pre);
    encode_send_messages_prefix(w, sid(1), sid(1), partitioning::balanced(), 1);
    EXPECT_EQ(pre.size(), send_messages_prefix_size(sid(1), sid(1), partitioning::balanced()));
    EXPECT_EQ(test::to_hex(pre), body_hex.substr(0, pre.size() * 2));
    // Mismatched count, truncated batch and a corrupted checksum are refused.
    bytes body(out.begin() + header_size, out.end());
    bytes bad = body;
    bad[18] = 2;
    EXPECT_FALSE(send_messages_request::decode(bad));
    EXPECT_FALSE(send_messages_request::decode(bytes_view(body).first(body.size() - 1)));
    bad = body;
    bad.back() ^= 1;
    EXPECT_TRUE(send_messages_request::decode(bad));
    EXPECT_FALSE(send_messages_request::decode(bad, true));
}

TEST(codec, ready_made_bodies_of_doc_8_4) {
    check_request(create_stream_request{"orders", {}}, "06 6f7264657273");
    check_request(
        create_topic_request{
            sid(0), 3, "events", {user_header::u64("message_expiry", 3'600'000'000ULL)}},
        "0104 00000000 03000000 06 6576656e7473 02 0e000000 6d6573736167655f657870697279 0c "
        "08000000 00a493d600000000");
    check_request(poll_messages_request{consumer::plain(sid(1)), sid(0), sid(0), 0u,
                                        polling_strategy::next(), 10, true},
                  "01 0104 01000000 | 0104 00000000 | 0104 00000000 | 01 00000000 | 05 "
                  "0000000000000000 | 0a000000 | 01");
    check_request(store_consumer_offset_request{consumer::plain(sid(1)), sid(0), sid(0), 0u, 41,
                                                ack_level::quorum},
                  "01 0104 01000000 | 0104 00000000 | 0104 00000000 | 01 00000000 | "
                  "2900000000000000 | 01");
}

// ---- a vector for every other request ----

TEST(codec, every_request_has_a_vector) {
    const auto s = identifier::named("s");
    const auto t = identifier::named("t");
    const auto g = identifier::named("g");
    check_request(ping_request{}, "");
    check_request(get_stats_request{}, "");
    check_request(get_cluster_metadata_request{}, "");
    check_request(get_me_request{}, "");
    check_request(get_clients_request{}, "");
    check_request(get_users_request{}, "");
    check_request(logout_request{}, "");
    check_request(get_personal_access_tokens_request{}, "");
    check_request(get_streams_request{}, "");
    EXPECT_FALSE(ping_request::decode(from_hex("00")));
    check_request(get_client_request{7}, "07000000");
    check_request(get_user_request{identifier::named("alice")}, "0205616c696365");
    check_request(create_user_request{"alice", "s3cret-pass", user_status::active, {}, {}},
                  "05616c696365 0b7333637265742d70617373 01 00");
    permissions p;
    p.read_servers = true;
    check_request(create_user_request{"bob", "pw", user_status::inactive, p, {}},
                  "03626f62 027077 02 01 0b000000 00010000000000000000 00");
    check_request(delete_user_request{identifier::named("alice2")}, "0206616c69636532");
    check_request(update_user_request{identifier::named("alice"), "alice2", {}, {}},
                  "0205616c696365 01 06616c69636532 00");
    check_request(update_user_request{sid(1), {}, user_status::inactive, {}},
                  "0104 01000000 00 01 02");
    check_request(update_permissions_request{sid(1), p},
                  "0104 01000000 01 0b000000 0001000000000000000000");
    check_request(update_permissions_request{sid(1), {}}, "0104 01000000 00");
    check_request(
        change_password_request{identifier::named("alice2"), "s3cret-pass", "n3w-pass-123"},
        "0206616c69636532 0b7333637265742d70617373 0c6e33772d706173732d313233");
    check_request(create_personal_access_token_request{"tour-token", 3'600'000'000ULL},
                  "0a746f75722d746f6b656e 00a493d600000000");
    check_request(delete_personal_access_token_request{"tour-token"}, "0a746f75722d746f6b656e");
    check_request(get_stream_request{identifier::named("tour")}, "0204746f7572");
    check_request(update_stream_request{identifier::named("tour"), "tour2", {}},
                  "0204746f7572 05746f757232");
    check_request(delete_stream_request{sid(2)}, "0104 02000000");
    check_request(purge_stream_request{identifier::named("tour2")}, "0205746f757232");
    check_request(get_topic_request{s, t}, "020173 020174");
    check_request(get_topics_request{s}, "020173");
    check_request(
        update_topic_request{s, t, "t2", {user_header::str("compression_algorithm", "gzip")}},
        "020173 020174 027432 02 15000000 636f6d7072657373696f6e5f616c676f726974686d 02 "
        "04000000 677a6970");
    check_request(delete_topic_request{s, t}, "020173 020174");
    check_request(purge_topic_request{s, t}, "020173 020174");
    check_request(create_partitions_request{s, t, 2}, "020173 020174 02000000");
    check_request(delete_partitions_request{s, t, 2}, "020173 020174 02000000");
    check_request(delete_segments_request{s, t, 1, 3}, "020173 020174 01000000 03000000");
    check_request(get_consumer_group_request{s, t, g}, "020173 020174 020167");
    check_request(get_consumer_groups_request{s, t}, "020173 020174");
    check_request(create_consumer_group_request{s, t, "workers"}, "020173 020174 07776f726b657273");
    check_request(delete_consumer_group_request{s, t, g}, "020173 020174 020167");
    check_request(join_consumer_group_request{s, t, g}, "020173 020174 020167");
    check_request(leave_consumer_group_request{s, t, g}, "020173 020174 020167");
    check_request(sync_consumer_group_request{s, t, g}, "020173 020174 020167");
    check_request(get_consumer_offset_request{consumer::group(g), s, t, 2u},
                  "02 020167 020173 020174 01 02000000");
    check_request(get_consumer_offset_request{consumer::plain(sid(3)), s, t, {}},
                  "01 0104 03000000 020173 020174 00 00000000");
    check_request(
        delete_consumer_offset_request{consumer::plain(sid(3)), s, t, 1u, ack_level::no_ack},
        "01 0104 03000000 020173 020174 01 01000000 00");
    for (auto [st, hex] : {std::pair{polling_strategy::offset(5), "01 0500000000000000"},
                           {polling_strategy::timestamp(9), "02 0900000000000000"},
                           {polling_strategy::first(), "03 0000000000000000"},
                           {polling_strategy::last(), "04 0000000000000000"}}) {
        check_request(poll_messages_request{consumer::group(g), s, t, 1u, st, 100, false},
                      std::string("02 020167 020173 020174 01 01000000 ") + hex + " 64000000 00");
    }
    check_request(flush_unsaved_buffer_request{s, t, 1, true}, "020173 020174 01000000 01");
    // Unknown and legacy codes.
    auto unknown = decode_request(7, {});
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().vendor_code(), 3);
    auto legacy = decode_request(cmd::login_user, {});
    ASSERT_FALSE(legacy);
    EXPECT_EQ(legacy.error().vendor_code(), 4);
}

TEST(codec, request_frames_carry_operation_and_code) {
    bytes buf;
    request_header h;
    h.client = {9, 0};
    h.session = 3;
    h.request = 4;
    auto nr = encode_request_frame(buf, get_streams_request{}, h);
    EXPECT_EQ(nr[176], 2);
    EXPECT_EQ(load_u32(nr.data() + 196), cmd::get_streams);
    auto rep = encode_request_frame(buf, create_stream_request{"x", {}}, h);
    EXPECT_EQ(rep[176], 128);
    EXPECT_EQ(load_u32(rep.data() + 196), 0u);
    auto out = encode_request_frame(buf, logout_request{}, h);
    EXPECT_EQ(out[176], 3);
    auto hdr = request_header::decode(out);
    ASSERT_TRUE(hdr);
    EXPECT_EQ(hdr->command().value_or(0), cmd::logout_user);
}

// ---- reply round trips ----

template <class T>
void round_trip(const T& v) {
    bytes b = enc(v);
    auto back = T::decode(b);
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_TRUE(*back == v);
    EXPECT_EQ(enc(*back), b);
    for (std::size_t n = 0; n < b.size(); ++n) {
        auto t = T::decode(bytes_view(b).first(n));
        if (t) {
            EXPECT_FALSE(*t == v) << "prefix " << n << " decoded to the same value";
        }
    }
    bytes longer = b;
    longer.push_back(0);
    auto tr = T::decode(longer);
    if (tr) {
        EXPECT_FALSE(*tr == v) << "a trailing byte was ignored";
    }
}

stream_info sample_stream() {
    return {1, 1'700'000'000'000'000ULL, 1, 100, 3, "orders", {user_header::str("k", "v")}};
}
topic_info sample_topic(std::uint32_t parts) {
    return {2,
            5,
            parts,
            UINT64_MAX,
            2,
            UINT64_MAX,
            300,
            4,
            "events",
            {user_header::str("durability", "persisted")},
            {user_header::u64("segment_size", 1ULL << 30), user_header::boolean("x", true)}};
}

TEST(codec, every_reply_round_trips) {
    round_trip(login_reply{0, 7, 0x2C00, "0.9.0"});
    round_trip(create_stream_reply{sample_stream()});
    auto sd = sample_stream();
    round_trip(stream_details{sd, {sample_topic(2)}});
    round_trip(streams_reply{{sample_stream(), sample_stream()}});
    round_trip(streams_reply{});
    partition_info p0{0, 1, 1, 9, 100, 10}, p1{1, 1, 2, 19, 200, 20};
    round_trip(topic_details{sample_topic(2), {p0, p1}});
    round_trip(topics_reply{{sample_topic(0), sample_topic(0)}});
    round_trip(topics_reply{});
    round_trip(consumer_group_details{{0, 3, 2, "workers"}, {{0, {0, 1}}, {1, {2}}}});
    round_trip(consumer_groups_reply{{{0, 3, 0, "a"}, {1, 3, 1, "b"}}});
    round_trip(sync_consumer_group_reply{2, {0, 1}});
    round_trip(sync_consumer_group_reply{3, {}});
    round_trip(consumer_offset_info{1, 9, 4});
    round_trip(send_messages_reply{{{0, 0, 1, 5}}});
    // No confirmations: `[count=0]` and an empty body both mean "accepted".
    EXPECT_EQ(enc(send_messages_reply{}), from_hex("00000000"));
    EXPECT_TRUE(send_messages_reply::decode({}));
    stats st;
    st.process_id = 7;
    st.cpu_usage = 1.5f;
    st.hostname = "vm";
    st.iggy_server_version = "0.9.0";
    st.iggy_server_semver = 9000;
    st.cache = {{1, 2, 3, 4, 5, 0.5f}};
    st.threads_count = 4;
    st.total_disk_space = 1 << 20;
    round_trip(st);
    round_trip(client_details{{1, 0, 1, "127.0.0.1:5000", 1}, {{0, 0, 2}}});
    round_trip(clients_reply{{{1, 0, 1, "a", 0}, {2, 1, 1, "b", 0}}});
    round_trip(cluster_metadata{"single-node", {{"iggy-node", "127.0.0.1", 8090, 0, 0, 0, 0, 0}}});
    round_trip(user_details{{1, 5, 1, "alice", {}}, {}});
    permissions perms;
    perms.poll_messages = true;
    perms.streams = {{3, true, false, false, false, false, false, {{1, true, true, true, true}}}};
    round_trip(user_details{{1, 5, 1, "alice", {}}, perms});
    round_trip(users_reply{{{0, 0, 1, "iggy", {}}, {1, 5, 2, "alice", {}}}});
    round_trip(raw_personal_access_token{"abc"});
    round_trip(personal_access_tokens_reply{{{"tour-token", 123}, {"other", 0}}});
}

TEST(codec, poll_reply_offsets_timestamps_and_cut_batches) {
    batch_builder b;
    b.add({u128{1, 0}, 1000, as_bytes("a"), {}});
    b.add({u128{2, 0}, 1010, as_bytes("bb"), encode_user_headers({user_header::str("k", "v")})});
    b.add({u128{3, 0}, 1020, as_bytes("ccc"), {}});
    bytes batch = b.finish();
    stamp_batch(batch.data(), batch.size(), 0, 100, 5000);
    bytes cut = cut_batch(batch, 1, 2);  // offsets 101, 102
    poll_reply r;
    r.partition_id = 0;
    r.current_offset = 102;
    r.count = 5;
    r.batches = {batch, cut};
    bytes body = enc(r);
    auto d = poll_reply::decode(body);
    ASSERT_TRUE(d) << d.error().to_string();
    ASSERT_EQ(d->messages.size(), 5u);
    std::uint64_t offsets[] = {100, 101, 102, 101, 102};
    for (std::size_t i = 0; i < 5; ++i) {
        EXPECT_EQ(d->messages[i].offset, offsets[i]);
        EXPECT_EQ(d->messages[i].timestamp, 5000u);
    }
    EXPECT_EQ(d->messages[1].origin_timestamp, 1010u);
    EXPECT_EQ(as_string(d->messages[3].payload), "bb");
    EXPECT_EQ(d->messages[3].id, (u128{2, 0}));
    EXPECT_EQ(enc(*d), body);
    // decode_into reuses and resets.
    poll_reply again;
    again.messages.resize(10);
    ASSERT_TRUE(poll_reply::decode_into(body, again));
    EXPECT_EQ(again.messages.size(), 5u);
    // An empty 16-byte head, the re-sync marker, and malformed variants.
    poll_reply head;
    head.partition_id = resync_partition_id;
    auto e = poll_reply::decode(enc(head));
    ASSERT_TRUE(e);
    EXPECT_TRUE(e->resync_required());
    EXPECT_TRUE(e->messages.empty());
    bytes wrong_count = body;
    wrong_count[12] = 4;
    EXPECT_FALSE(poll_reply::decode(wrong_count));
    for (std::size_t n = 0; n < body.size(); ++n)
        EXPECT_FALSE(poll_reply::decode(bytes_view(body).first(n))) << n;
    bytes reserved = body;
    reserved[16 + 60] = 1;
    EXPECT_FALSE(poll_reply::decode(reserved));
}

TEST(codec, optional_replies) {
    auto none = decode_optional<stream_details>({});
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
    auto some = decode_optional<consumer_offset_info>(enc(consumer_offset_info{0, 1, 1}));
    ASSERT_TRUE(some);
    EXPECT_TRUE(some->has_value());
    EXPECT_TRUE(decode_reply_payload(cmd::join_consumer_group, {}));
    EXPECT_FALSE(decode_reply_payload(cmd::join_consumer_group, from_hex("00")));
}

}  // namespace
}  // namespace trib::iggy
