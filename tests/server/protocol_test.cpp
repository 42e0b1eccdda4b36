// Over 1,000 lines: every protocol rule against one in-process broker, in the order of
// iggy-protocol.md; split by area if it grows further.
//
// The embedded server's protocol behaviour, frame by frame (iggy-protocol.md sections 1, 4, 5):
// header validation and silent drops, the pre-login gate and evictions, request-number
// de-duplication, malformed batches, resolution errors, id reuse, consumer-group assignment,
// fencing, rebalancing and stale-member eviction, and a restart that keeps everything.

#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <thread>

#include "harness/peer.h"
#include "iggy/wire/batch.h"
#include "iggy/wire/codes.h"
#include "iggy/wire/header.h"
#include "iggy/wire/requests.h"
#include "iggy/wire/responses.h"
#include "server/raw_client.h"
#include "server/server.h"

namespace trib::server {
namespace {

using namespace iggy;
using test::raw_client;
using namespace std::chrono_literals;

reply_header header_of(const bytes& frame) {
    auto h = reply_header::decode(frame);
    EXPECT_TRUE(h.has_value());
    return h ? *h : reply_header{};
}

std::uint8_t eviction_reason_of(const bytes& frame) {
    EXPECT_EQ(frame.size(), header_size);
    EXPECT_EQ(frame[60], static_cast<std::uint8_t>(frame_command::eviction));
    return frame[255];
}

bytes make_batch(std::uint32_t n, std::string_view prefix = "m",
                 const std::vector<user_header>& headers = {}) {
    batch_builder b;
    std::vector<std::string> payloads;
    auto hb = encode_user_headers(headers);
    for (std::uint32_t i = 0; i < n; ++i)
        payloads.push_back(std::string(prefix) + "-" + std::to_string(i));
    for (std::uint32_t i = 0; i < n; ++i)
        b.add({random_u128(), 0, as_bytes(payloads[i]), hb});
    return b.finish();
}

send_messages_request send_req(const identifier& s, const identifier& t, partitioning p,
                               const bytes& batch) {
    send_messages_request r;
    r.stream = s;
    r.topic = t;
    r.part = std::move(p);
    r.batch = batch;
    r.messages_count = read_batch_header(batch).message_count;
    return r;
}

class protocol : public ::testing::Test {
  protected:
    void start(std::chrono::milliseconds heartbeat = 30s) {
        server_options o;
        o.data_dir = dir_.path() / "data";
        o.address = "127.0.0.1:0";
        o.root_username = "admin";
        o.root_password = "admin-pass";
        o.heartbeat_interval = heartbeat;
        o.segment_size = 64 * 1024;
        auto s = embedded_server::start(o);
        ASSERT_TRUE(s.has_value()) << s.error().message();
        server_ = std::move(s).value();
    }
    void SetUp() override { start(); }

    std::unique_ptr<raw_client> logged_in() {
        auto c = std::make_unique<raw_client>();
        EXPECT_TRUE(c->connect(server_->port()).has_value());
        auto st = c->login("admin", "admin-pass");
        EXPECT_TRUE(st.has_value()) << st.error().message();
        return c;
    }

    /// Creates stream `s` and topic `t` with `parts` partitions.
    void make_topic(raw_client& c, const std::string& s, const std::string& t,
                    std::uint32_t parts) {
        auto r1 = c.request(create_stream_request{s, {}});
        ASSERT_TRUE(r1.has_value()) << r1.error().message();
        create_topic_request ct;
        ct.stream = identifier::named(s);
        ct.partitions_count = parts;
        ct.name = t;
        auto r2 = c.request(ct);
        ASSERT_TRUE(r2.has_value()) << r2.error().message();
    }

    trib::test::temp_dir dir_{"trib-proto"};
    std::unique_ptr<embedded_server> server_;
};

TEST_F(protocol, binds_a_free_port_and_reports_it) {
    EXPECT_NE(server_->port(), 0);
    EXPECT_EQ(server_->address(), "127.0.0.1:" + std::to_string(server_->port()));
    EXPECT_EQ(server_->credentials().username, "admin");
    EXPECT_EQ(server_->credentials().password, "admin-pass");
}

TEST_F(protocol, ping_before_login_and_the_auth_gate) {
    raw_client c;
    ASSERT_TRUE(c.connect(server_->port()).has_value());
    auto pong = c.call(ping_request{});
    ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(header_of(*pong).status, 0u);
    EXPECT_EQ(header_of(*pong).operation, 2);
    EXPECT_EQ(pong->size(), header_size);

    auto streams = c.call(get_streams_request{});
    ASSERT_TRUE(streams.has_value());
    EXPECT_EQ(header_of(*streams).status, code::unauthenticated);

    // A replicated op before login: Eviction(NoSession). The header needs session > 0 to pass
    // validation at all.
    bytes buf;
    request_header h;
    h.client = c.client_id();
    h.session = 7;
    h.request = 1;
    ASSERT_TRUE(
        c.send_frame(encode_request_frame(buf, create_stream_request{"x", {}}, h)).has_value());
    auto ev = c.read_frame();
    ASSERT_TRUE(ev.has_value());
    EXPECT_EQ(eviction_reason_of(*ev), static_cast<std::uint8_t>(eviction_reason::no_session));

    // Legacy login codes: Eviction(MalformedLogin).
    request_header legacy;
    legacy.client = c.client_id();
    legacy.request = 1;
    legacy.operation = static_cast<std::uint8_t>(operation::non_replicated);
    legacy.code = cmd::login_user;
    request_frame_builder lb(buf);
    lb.body().str8("admin");
    ASSERT_TRUE(c.send_frame(lb.finish(legacy)).has_value());
    ev = c.read_frame();
    ASSERT_TRUE(ev.has_value());
    EXPECT_EQ(eviction_reason_of(*ev), static_cast<std::uint8_t>(eviction_reason::malformed_login));

    // Wrong password: Eviction(InvalidCredentials), and the connection stays usable.
    login_register_request bad;
    bad.username = "admin";
    bad.password = "nope";
    ev = c.call(bad);
    ASSERT_TRUE(ev.has_value());
    EXPECT_EQ(eviction_reason_of(*ev),
              static_cast<std::uint8_t>(eviction_reason::invalid_credentials));
    EXPECT_TRUE(c.login("admin", "admin-pass").has_value());
    auto ok_streams = c.call(get_streams_request{});
    ASSERT_TRUE(ok_streams.has_value());
    EXPECT_EQ(header_of(*ok_streams).status, 0u);

    // An unsupported protocol version: Eviction(IncompatibleProtocol) with the server window.
    raw_client old;
    ASSERT_TRUE(old.connect(server_->port()).has_value());
    login_register_request v10;
    v10.protocol = pack_version(0, 10, 0);
    v10.username = "admin";
    v10.password = "admin-pass";
    ev = old.call(v10);
    ASSERT_TRUE(ev.has_value());
    EXPECT_EQ(eviction_reason_of(*ev),
              static_cast<std::uint8_t>(eviction_reason::incompatible_protocol));
    auto eh = eviction_header::decode(*ev);
    ASSERT_TRUE(eh.has_value());
    EXPECT_EQ(eh->server_protocol_version, pack_version(0, 11, 0));
    EXPECT_EQ(eh->server_protocol_version_min, pack_version(0, 11, 0));
}

TEST_F(protocol, nr_code_rules) {
    auto c = logged_in();
    bytes buf;
    auto nr = [&](std::uint32_t code) {
        request_header h;
        h.client = c->client_id();
        h.session = c->session();
        h.request = 1;
        h.operation = static_cast<std::uint8_t>(operation::non_replicated);
        h.code = code;
        request_frame_builder b(buf);
        EXPECT_TRUE(c->send_frame(b.finish(h)).has_value());
        auto f = c->read_frame();
        EXPECT_TRUE(f.has_value());
        return f ? header_of(*f) : reply_header{};
    };
    EXPECT_EQ(nr(9999).status, code::invalid_command);                    // unknown code
    EXPECT_EQ(nr(cmd::create_stream).status, code::feature_unavailable);  // replicated as NR
    EXPECT_EQ(nr(cmd::logout_user).status, 0u);                           // known, no handler
    EXPECT_EQ(nr(cmd::get_snapshot_file).status, code::feature_unavailable);
}

TEST_F(protocol, invalid_headers_are_dropped_or_close_the_connection) {
    auto c = logged_in();
    c->set_timeout(300ms);
    bytes buf;
    // client id 0: dropped without a reply; the connection stays open.
    request_header h;
    h.request = 1;
    ASSERT_TRUE(c->send_frame(encode_request_frame(buf, ping_request{}, h)).has_value());
    auto none = c->read_frame();
    ASSERT_FALSE(none.has_value());
    EXPECT_EQ(none.error().code(), errc::timeout);
    // an undefined operation byte: dropped.
    h.client = c->client_id();
    encode_request_frame(buf, ping_request{}, h);
    buf[176] = 77;
    ASSERT_TRUE(c->send_frame(buf).has_value());
    EXPECT_FALSE(c->read_frame().has_value());
    // a reply-shaped frame (command 8): ignored, no reply, connection open.
    encode_request_frame(buf, ping_request{}, h);
    buf[60] = 8;
    ASSERT_TRUE(c->send_frame(buf).has_value());
    EXPECT_FALSE(c->read_frame().has_value());
    c->set_timeout(5s);
    auto pong = c->call(ping_request{});
    ASSERT_TRUE(pong.has_value()) << pong.error().message();
    EXPECT_EQ(header_of(*pong).status, 0u);

    // size < 256: the server closes the connection.
    encode_request_frame(buf, ping_request{}, h);
    store_u32(buf.data() + 48, 100);
    ASSERT_TRUE(c->send_frame(buf).has_value());
    EXPECT_TRUE(c->closed_by_peer());

    // a command byte above 29: closed too.
    auto d = logged_in();
    encode_request_frame(buf, ping_request{}, h);
    buf[60] = 30;
    ASSERT_TRUE(d->send_frame(buf).has_value());
    EXPECT_TRUE(d->closed_by_peer());

    // more than 64 MiB announced: closed.
    auto e = logged_in();
    encode_request_frame(buf, ping_request{}, h);
    store_u32(buf.data() + 48, max_frame_size + 1);
    ASSERT_TRUE(e->send_frame(buf).has_value());
    EXPECT_TRUE(e->closed_by_peer());
}

TEST_F(protocol, metadata_request_numbers_are_deduplicated) {
    auto c = logged_in();
    bytes buf;
    request_header h;
    h.client = c->client_id();
    h.session = c->session();
    h.request = 5;
    auto frame = encode_request_frame(buf, create_stream_request{"dedup", {}}, h, true);
    bytes first_frame(frame.begin(), frame.end());
    ASSERT_TRUE(c->send_frame(first_frame).has_value());
    auto r1 = c->read_frame();
    ASSERT_TRUE(r1.has_value());
    // The same frame again (an idempotent retry): the cached reply, and no second stream.
    ASSERT_TRUE(c->send_frame(first_frame).has_value());
    auto r2 = c->read_frame();
    ASSERT_TRUE(r2.has_value());
    EXPECT_EQ(*r1, *r2);
    auto list = c->request(get_streams_request{});
    ASSERT_TRUE(list.has_value());
    auto streams = streams_reply::decode(*list);
    ASSERT_TRUE(streams.has_value());
    EXPECT_EQ(streams->streams.size(), 1u);
    // A lower number: RequestAlreadyApplied.
    h.request = 4;
    ASSERT_TRUE(
        c->send_frame(encode_request_frame(buf, create_stream_request{"low", {}}, h)).has_value());
    auto r3 = c->read_frame();
    ASSERT_TRUE(r3.has_value());
    EXPECT_EQ(header_of(*r3).status, code::request_already_applied);
    // The same number with a different stamped body: dropped without a reply.
    h.request = 5;
    ASSERT_TRUE(
        c->send_frame(encode_request_frame(buf, create_stream_request{"other", {}}, h, true))
            .has_value());
    c->set_timeout(300ms);
    EXPECT_FALSE(c->read_frame().has_value());
    c->set_timeout(5s);
    // A wrong request checksum: InvalidFormat.
    h.request = 6;
    encode_request_frame(buf, create_stream_request{"stamped", {}}, h, true);
    buf[144] ^= 0xff;
    ASSERT_TRUE(c->send_frame(buf).has_value());
    auto r4 = c->read_frame();
    ASSERT_TRUE(r4.has_value());
    EXPECT_EQ(header_of(*r4).status, code::invalid_format);
}

TEST_F(protocol, sends_validate_batches_and_resolve_targets) {
    auto c = logged_in();
    make_topic(*c, "s", "t", 2);
    auto s = identifier::named("s");
    auto t = identifier::named("t");
    auto batch = make_batch(3, "x", {user_header::str("k", "v")});

    // A good send: the confirmation carries stream, topic, partition and base offset.
    auto ok = c->request(send_req(s, t, partitioning::partition_id(1), batch));
    ASSERT_TRUE(ok.has_value()) << ok.error().message();
    auto conf = send_messages_reply::decode(*ok);
    ASSERT_TRUE(conf.has_value());
    ASSERT_EQ(conf->confirmations.size(), 1u);
    EXPECT_EQ(conf->confirmations[0].partition_id, 1u);
    EXPECT_EQ(conf->confirmations[0].base_offset, 0u);

    // Unknown stream, topic or partition: status 20 (not 1009/2010/3007) for sends.
    for (auto req : {send_req(identifier::named("nope"), t, partitioning::balanced(), batch),
                     send_req(s, identifier::numeric(9), partitioning::balanced(), batch),
                     send_req(s, t, partitioning::partition_id(2), batch)}) {
        auto f = c->call(req);
        ASSERT_TRUE(f.has_value());
        EXPECT_EQ(header_of(*f).status, code::resource_not_found);
    }

    // Malformed batches are dropped without a reply (as Iggy 0.9 does).
    c->set_timeout(300ms);
    auto corrupt = [&](std::size_t at) {
        bytes b2 = batch;
        b2[at] ^= 0x5a;
        auto f = c->call(send_req(s, t, partitioning::partition_id(0), b2));
        EXPECT_FALSE(f.has_value()) << "byte " << at << " corrupted, yet a reply came";
    };
    corrupt(40);                      // batch checksum
    corrupt(batch_header_size + 2);   // a frame checksum
    corrupt(batch_header_size + 48);  // a payload byte (frame checksum no longer matches)
    corrupt(100);                     // reserved header bytes
    {
        // messages_count in the send metadata disagrees with the batch header.
        bytes buf;
        request_header h;
        h.client = c->client_id();
        h.session = c->session();
        h.request = 1;
        encode_request_frame(buf, send_req(s, t, partitioning::partition_id(0), batch), h);
        const std::uint32_t meta = load_u32(buf.data() + header_size);
        store_u32(buf.data() + header_size + meta, 2);  // the last metadata field
        ASSERT_TRUE(c->send_frame(buf).has_value());
        EXPECT_FALSE(c->read_frame().has_value());
        // Trailing bytes after the batch.
        encode_request_frame(buf, send_req(s, t, partitioning::partition_id(0), batch), h);
        buf.push_back(0);
        store_u32(buf.data() + 48, static_cast<std::uint32_t>(buf.size()));
        ASSERT_TRUE(c->send_frame(buf).has_value());
        EXPECT_FALSE(c->read_frame().has_value());
    }
    c->set_timeout(5s);
    auto topic = c->request(get_topic_request{s, t});
    ASSERT_TRUE(topic.has_value());
    auto td = topic_details::decode(*topic);
    ASSERT_TRUE(td.has_value());
    EXPECT_EQ(td->topic.messages_count, 3u) << "nothing of the malformed sends was stored";

    // Poll them back: offsets, payloads and user headers preserved byte for byte.
    poll_messages_request p;
    p.who = consumer::plain(identifier::numeric(1));
    p.stream = s;
    p.topic = t;
    p.partition = 1;
    p.strategy = polling_strategy::offset(0);
    p.count = 10;
    auto polled = c->request(p);
    ASSERT_TRUE(polled.has_value());
    auto pr = poll_reply::decode(*polled);
    ASSERT_TRUE(pr.has_value());
    ASSERT_EQ(pr->messages.size(), 3u);
    std::vector<std::uint8_t> want_headers = encode_user_headers({user_header::str("k", "v")});
    for (std::uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(pr->messages[i].offset, i);
        EXPECT_EQ(as_string(pr->messages[i].payload), "x-" + std::to_string(i));
        EXPECT_EQ(bytes(pr->messages[i].user_headers.begin(), pr->messages[i].user_headers.end()),
                  want_headers);
        EXPECT_GT(pr->messages[i].timestamp, 0u) << "server-assigned timestamp";
    }
    EXPECT_TRUE(validate_batch(pr->batches[0]).has_value()) << "stored batch checksums hold";

    // Plain-consumer polls of unknown things: 1009 / 2010 / 3007.
    p.stream = identifier::named("nope");
    EXPECT_EQ(header_of(*c->call(p)).status, code::stream_id_not_found);
    p.stream = s;
    p.topic = identifier::named("nope");
    EXPECT_EQ(header_of(*c->call(p)).status, code::topic_id_not_found);
    p.topic = t;
    p.partition = 5;
    EXPECT_EQ(header_of(*c->call(p)).status, code::partition_not_found);
}

TEST_F(protocol, balanced_and_keyed_partitioning) {
    auto c = logged_in();
    make_topic(*c, "s", "t", 3);
    auto s = identifier::named("s");
    auto t = identifier::named("t");
    std::vector<std::uint32_t> parts;
    for (int i = 0; i < 6; ++i) {
        auto r = c->request(send_req(s, t, partitioning::balanced(), make_batch(1)));
        ASSERT_TRUE(r.has_value());
        parts.push_back(send_messages_reply::decode(*r)->confirmations.at(0).partition_id);
    }
    EXPECT_EQ(parts, (std::vector<std::uint32_t>{0, 1, 2, 0, 1, 2})) << "round robin";
    // MessagesKey: XXH32(key) % partitions, stable for a key.
    std::set<std::uint32_t> for_key;
    for (int i = 0; i < 4; ++i) {
        auto r = c->request(send_req(s, t, partitioning::messages_key("order-42"), make_batch(1)));
        ASSERT_TRUE(r.has_value());
        for_key.insert(send_messages_reply::decode(*r)->confirmations.at(0).partition_id);
    }
    EXPECT_EQ(for_key.size(), 1u);
}

TEST_F(protocol, ids_are_zero_based_with_lowest_free_reuse_but_group_ids_are_never_reused) {
    auto c = logged_in();
    auto id_of = [&](const std::string& name) {
        auto r = c->request(create_stream_request{name, {}});
        EXPECT_TRUE(r.has_value());
        return r ? create_stream_reply::decode(*r)->stream.id : 999u;
    };
    EXPECT_EQ(id_of("a"), 0u);
    EXPECT_EQ(id_of("b"), 1u);
    EXPECT_EQ(id_of("c"), 2u);
    ASSERT_TRUE(c->request(delete_stream_request{identifier::numeric(1)}).has_value());
    EXPECT_EQ(id_of("d"), 1u);
    // Duplicate names are committed rejections (result section), not statuses.
    auto dup = c->call(create_stream_request{"a", {}});
    ASSERT_TRUE(dup.has_value());
    auto err = decode_reply(*dup);
    ASSERT_FALSE(err.has_value());
    EXPECT_EQ(err.error().vendor_code(), code::stream_name_already_exists);

    create_topic_request ct;
    ct.stream = identifier::named("a");
    ct.name = "t";
    ct.partitions_count = 1;
    ASSERT_TRUE(c->request(ct).has_value());
    auto group_id = [&](const std::string& name) {
        auto r = c->request(
            create_consumer_group_request{identifier::named("a"), identifier::named("t"), name});
        EXPECT_TRUE(r.has_value());
        return r ? consumer_group_details::decode(*r)->group.id : 999u;
    };
    EXPECT_EQ(group_id("g"), 0u);
    ASSERT_TRUE(
        c->request(delete_consumer_group_request{identifier::named("a"), identifier::named("t"),
                                                 identifier::named("g")})
            .has_value());
    EXPECT_EQ(group_id("g"), 1u) << "group ids come from a counter";

    // Topic option validation.
    ct.name = "bad";
    ct.opts = {user_header::str("replication_factor", "3")};
    err = decode_reply(*c->call(ct));
    ASSERT_FALSE(err.has_value());
    EXPECT_EQ(err.error().vendor_code(), code::unsupported_option_key);
    ct.opts = {user_header::str("durability", "sometimes")};
    err = decode_reply(*c->call(ct));
    ASSERT_FALSE(err.has_value());
    EXPECT_EQ(err.error().vendor_code(), code::invalid_option_value);
    ct.opts = {user_header::str("message_expiry", "7 days"),
               user_header::str("max_topic_size", "2 GiB"),
               user_header::str("compression_algorithm", "gzip")};
    auto made = c->request(ct);
    ASSERT_TRUE(made.has_value()) << made.error().message();
    auto td = topic_details::decode(*made);
    ASSERT_TRUE(td.has_value());
    EXPECT_EQ(td->topic.message_expiry, 7ull * 86400 * 1000000);
    EXPECT_EQ(td->topic.max_topic_size, 2ull << 30);
    EXPECT_EQ(td->topic.compression, 2);
    ct.name = "partitions";
    ct.opts = {};
    ct.partitions_count = 1001;
    err = decode_reply(*c->call(ct));
    ASSERT_FALSE(err.has_value());
    EXPECT_EQ(err.error().vendor_code(), code::too_many_partitions);
}

TEST_F(protocol, consumer_offsets_store_get_delete) {
    auto c = logged_in();
    make_topic(*c, "s", "t", 2);
    auto s = identifier::named("s");
    auto t = identifier::named("t");
    ASSERT_TRUE(
        c->request(send_req(s, t, partitioning::partition_id(1), make_batch(10))).has_value());
    auto who = consumer::plain(identifier::named("reader"));
    store_consumer_offset_request st{who, s, t, 1, 4, ack_level::quorum};
    auto stored = c->call(st);
    ASSERT_TRUE(stored.has_value());
    EXPECT_EQ(header_of(*stored).operation, 161);
    ASSERT_TRUE(decode_reply(*stored).has_value());
    auto got = c->request(get_consumer_offset_request{who, s, t, 1});
    ASSERT_TRUE(got.has_value());
    auto info = consumer_offset_info::decode(*got);
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->partition_id, 1u);
    EXPECT_EQ(info->current_offset, 9u);
    EXPECT_EQ(info->stored_offset, 4u);
    // Next continues after the stored offset.
    poll_messages_request p{who, s, t, 1, polling_strategy::next(), 2, false};
    auto pr = poll_reply::decode(*c->request(p));
    ASSERT_TRUE(pr.has_value());
    ASSERT_EQ(pr->messages.size(), 2u);
    EXPECT_EQ(pr->messages[0].offset, 5u);
    // Store without a partition, or to an unknown partition: status 20.
    st.partition.reset();
    EXPECT_EQ(header_of(*c->call(st)).status, code::resource_not_found);
    st.partition = 7;
    EXPECT_EQ(header_of(*c->call(st)).status, code::resource_not_found);
    // Get for an unknown partition of an existing topic: 3007; nothing stored: empty.
    EXPECT_EQ(header_of(*c->call(get_consumer_offset_request{who, s, t, 7})).status,
              code::partition_not_found);
    auto none = c->request(get_consumer_offset_request{who, s, t, 0});
    ASSERT_TRUE(none.has_value());
    EXPECT_TRUE(none->empty());
    // Delete, then it is gone; deleting again: 20.
    ASSERT_TRUE(
        decode_reply(*c->call(delete_consumer_offset_request{who, s, t, 1, ack_level::quorum}))
            .has_value());
    EXPECT_TRUE(c->request(get_consumer_offset_request{who, s, t, 1})->empty());
    EXPECT_EQ(
        header_of(*c->call(delete_consumer_offset_request{who, s, t, 1, ack_level::quorum})).status,
        code::resource_not_found);
}

TEST_F(protocol, consumer_groups_assign_fence_and_rebalance) {
    auto a = logged_in();
    make_topic(*a, "s", "t", 3);
    auto s = identifier::named("s");
    auto t = identifier::named("t");
    auto g = identifier::named("g");
    for (std::uint32_t p = 0; p < 3; ++p)
        ASSERT_TRUE(
            a->request(send_req(s, t, partitioning::partition_id(p), make_batch(5))).has_value());
    ASSERT_TRUE(a->request(create_consumer_group_request{s, t, "g"}).has_value());
    auto sync = [&](raw_client& c) {
        auto r = c.request(sync_consumer_group_request{s, t, g});
        EXPECT_TRUE(r.has_value());
        if (!r || r->empty())
            return sync_consumer_group_reply{};
        return *sync_consumer_group_reply::decode(*r);
    };
    EXPECT_TRUE(a->request(sync_consumer_group_request{s, t, g})->empty()) << "not a member yet";
    ASSERT_TRUE(a->request(join_consumer_group_request{s, t, g}).has_value());
    auto sa = sync(*a);
    EXPECT_EQ(sa.generation, 1u);
    EXPECT_EQ(sa.partitions, (std::vector<std::uint32_t>{0, 1, 2}));

    auto b = logged_in();
    ASSERT_TRUE(b->request(join_consumer_group_request{s, t, g}).has_value());
    sa = sync(*a);
    auto sb = sync(*b);
    EXPECT_EQ(sa.generation, 2u);
    EXPECT_EQ(sa.partitions, (std::vector<std::uint32_t>{0, 1}));
    EXPECT_EQ(sb.partitions, (std::vector<std::uint32_t>{2}));

    // A poll of a partition the member does not own: the 0xFFFFFFFF head (re-sync).
    poll_messages_request p{consumer::group(g), s, t, 2, polling_strategy::next(), 10, true};
    auto pr = poll_reply::decode(*a->request(p));
    ASSERT_TRUE(pr.has_value());
    EXPECT_TRUE(pr->resync_required());
    EXPECT_EQ(pr->count, 0u);
    // Without a partition: an empty head with partition 0.
    p.partition.reset();
    pr = poll_reply::decode(*a->request(p));
    ASSERT_TRUE(pr.has_value());
    EXPECT_EQ(pr->partition_id, 0u);
    EXPECT_EQ(pr->count, 0u);
    // B owns 2: polls with auto-commit store the group's offset.
    p.partition = 2;
    pr = poll_reply::decode(*b->request(p));
    ASSERT_TRUE(pr.has_value());
    EXPECT_EQ(pr->messages.size(), 5u);
    auto off = consumer_offset_info::decode(
        *a->request(get_consumer_offset_request{consumer::group(g), s, t, 2}));
    ASSERT_TRUE(off.has_value());
    EXPECT_EQ(off->stored_offset, 4u);
    // A group store on a partition A does not own: 20.
    store_consumer_offset_request st{consumer::group(g), s, t, 2, 1, ack_level::quorum};
    EXPECT_EQ(header_of(*a->call(st)).status, code::resource_not_found);
    st.partition = 0;
    EXPECT_TRUE(decode_reply(*a->call(st)).has_value());

    // GET_CONSUMER_GROUP shows both members.
    auto gd = consumer_group_details::decode(*a->request(get_consumer_group_request{s, t, g}));
    ASSERT_TRUE(gd.has_value());
    EXPECT_EQ(gd->group.members_count, 2u);
    // GET_ME lists the group.
    auto me = client_details::decode(*a->request(get_me_request{}));
    ASSERT_TRUE(me.has_value());
    EXPECT_EQ(me->groups.size(), 1u);

    // B disconnects: A gets every partition in a new generation.
    b.reset();
    ASSERT_TRUE(trib::test::wait_until([&] { return sync(*a).partitions.size() == 3; }, 5s));
    EXPECT_EQ(sync(*a).generation, 3u);

    // Leaving twice: 5006.
    ASSERT_TRUE(a->request(leave_consumer_group_request{s, t, g}).has_value());
    auto again = decode_reply(*a->call(leave_consumer_group_request{s, t, g}));
    ASSERT_FALSE(again.has_value());
    EXPECT_EQ(again.error().vendor_code(), code::consumer_group_member_not_found);
    // Missing stream / topic for GET_CONSUMER_GROUP: status 1009 / 2010; missing group: empty.
    EXPECT_EQ(header_of(*a->call(get_consumer_group_request{identifier::named("x"), t, g})).status,
              code::stream_id_not_found);
    EXPECT_EQ(header_of(*a->call(get_consumer_group_request{s, identifier::named("x"), g})).status,
              code::topic_id_not_found);
    EXPECT_TRUE(a->request(get_consumer_group_request{s, t, identifier::named("x")})->empty());
}

TEST_F(protocol, stale_group_members_are_evicted) {
    server_.reset();
    start(200ms);
    auto a = logged_in();
    make_topic(*a, "s", "t", 2);
    auto s = identifier::named("s");
    auto t = identifier::named("t");
    auto g = identifier::named("g");
    ASSERT_TRUE(a->request(create_consumer_group_request{s, t, "g"}).has_value());
    auto idle = logged_in();
    ASSERT_TRUE(idle->request(join_consumer_group_request{s, t, g}).has_value());
    // The idle member sends nothing: after 1.2 x 200 ms it gets an unsolicited
    // Eviction(StaleClient) and the connection closes; the group is empty again.
    idle->set_timeout(5s);
    auto ev = idle->read_frame();
    ASSERT_TRUE(ev.has_value()) << ev.error().message();
    EXPECT_EQ(eviction_reason_of(*ev), static_cast<std::uint8_t>(eviction_reason::stale_client));
    EXPECT_TRUE(idle->closed_by_peer());
    auto gd = consumer_group_details::decode(*a->request(get_consumer_group_request{s, t, g}));
    ASSERT_TRUE(gd.has_value());
    EXPECT_EQ(gd->group.members_count, 0u);
    // A connection that is not a member is left alone however long it idles.
    std::this_thread::sleep_for(400ms);  // the thing under test is the passage of time itself
    auto pong = a->call(ping_request{});
    ASSERT_TRUE(pong.has_value());
    EXPECT_EQ(header_of(*pong).status, 0u);
}

TEST_F(protocol, users_and_personal_access_tokens) {
    auto c = logged_in();
    create_user_request cu;
    cu.username = "bob";
    cu.password = "bob-pass";
    auto made = c->request(cu);
    ASSERT_TRUE(made.has_value()) << made.error().message();
    auto ud = user_details::decode(*made);
    ASSERT_TRUE(ud.has_value());
    EXPECT_EQ(ud->user.id, 1u);
    cu.username = "x";
    auto bad = decode_reply(*c->call(cu));
    ASSERT_FALSE(bad.has_value());
    EXPECT_EQ(bad.error().vendor_code(), code::invalid_username);

    // bob has no permissions: he may log in but not read streams or create them.
    raw_client bob;
    ASSERT_TRUE(bob.connect(server_->port()).has_value());
    ASSERT_TRUE(bob.login("bob", "bob-pass").has_value());
    EXPECT_EQ(header_of(*bob.call(get_stats_request{})).status, code::unauthorized);
    EXPECT_EQ(header_of(*bob.call(create_stream_request{"bobs", {}})).status, code::unauthorized);
    auto streams = streams_reply::decode(*bob.request(get_streams_request{}));
    ASSERT_TRUE(streams.has_value());

    // Tokens: create, list, log in with one, delete.
    auto tok = c->request(create_personal_access_token_request{"ci-token", 0});
    ASSERT_TRUE(tok.has_value()) << tok.error().message();
    auto raw = raw_personal_access_token::decode(*tok);
    ASSERT_TRUE(raw.has_value());
    auto dup = decode_reply(*c->call(create_personal_access_token_request{"ci-token", 0}));
    ASSERT_FALSE(dup.has_value());
    EXPECT_EQ(dup.error().vendor_code(), code::personal_access_token_already_exists);
    auto listed =
        personal_access_tokens_reply::decode(*c->request(get_personal_access_tokens_request{}));
    ASSERT_TRUE(listed.has_value());
    ASSERT_EQ(listed->tokens.size(), 1u);
    EXPECT_EQ(listed->tokens[0].name, "ci-token");
    raw_client with_token;
    ASSERT_TRUE(with_token.connect(server_->port()).has_value());
    ASSERT_TRUE(with_token.login_token(raw->token).has_value());
    EXPECT_EQ(header_of(*with_token.call(get_stats_request{})).status, 0u) << "root's token";
    ASSERT_TRUE(c->request(delete_personal_access_token_request{"ci-token"}).has_value());
    raw_client refused;
    ASSERT_TRUE(refused.connect(server_->port()).has_value());
    login_register_pat_request lp;
    lp.token = raw->token;
    auto ev = refused.call(lp);
    ASSERT_TRUE(ev.has_value());
    EXPECT_EQ(eviction_reason_of(*ev), static_cast<std::uint8_t>(eviction_reason::invalid_token));

    // The root user cannot be deleted.
    auto root = decode_reply(*c->call(delete_user_request{identifier::numeric(0)}));
    ASSERT_FALSE(root.has_value());
    EXPECT_EQ(root.error().vendor_code(), code::cannot_delete_user);
}

TEST_F(protocol, restart_keeps_streams_topics_messages_offsets_users_and_tokens) {
    std::string token;
    bytes polled_before;
    {
        auto c = logged_in();
        make_topic(*c, "s", "t", 3);
        auto s = identifier::named("s");
        auto t = identifier::named("t");
        for (std::uint32_t p = 0; p < 3; ++p)
            for (int k = 0; k < 4; ++k)
                ASSERT_TRUE(c->request(send_req(s, t, partitioning::partition_id(p),
                                                make_batch(25, "p" + std::to_string(p),
                                                           {user_header::u64("n", 7)})))
                                .has_value());
        ASSERT_TRUE(decode_reply(*c->call(store_consumer_offset_request{
                                     consumer::plain(identifier::numeric(3)), s, t, 2, 61,
                                     ack_level::quorum}))
                        .has_value());
        ASSERT_TRUE(c->request(create_consumer_group_request{s, t, "g"}).has_value());
        ASSERT_TRUE(
            c->request(join_consumer_group_request{s, t, identifier::named("g")}).has_value());
        // Auto-commit from a poll is written by the server's periodic flush or at shutdown.
        poll_messages_request gp{
            consumer::group(identifier::named("g")), s, t, 1, polling_strategy::next(), 30, true};
        ASSERT_TRUE(c->request(gp).has_value());
        create_user_request cu;
        cu.username = "carol";
        cu.password = "carol-pass";
        ASSERT_TRUE(c->request(cu).has_value());
        auto tok = c->request(create_personal_access_token_request{"keep", 0});
        ASSERT_TRUE(tok.has_value());
        token = raw_personal_access_token::decode(*tok)->token;
        auto pr = c->request(poll_messages_request{consumer::plain(identifier::numeric(1)), s, t, 0,
                                                   polling_strategy::offset(0), 1000, false});
        ASSERT_TRUE(pr.has_value());
        polled_before = *pr;
        ASSERT_TRUE(c->request(create_stream_request{"second", {}}).has_value());
        ASSERT_TRUE(c->request(delete_stream_request{identifier::named("second")}).has_value());
    }
    server_->stop();
    server_.reset();
    start();
    auto c = logged_in();
    auto s = identifier::named("s");
    auto t = identifier::named("t");
    auto td = topic_details::decode(*c->request(get_topic_request{s, t}));
    ASSERT_TRUE(td.has_value());
    EXPECT_EQ(td->topic.partitions_count, 3u);
    EXPECT_EQ(td->topic.messages_count, 300u);
    auto pr = c->request(poll_messages_request{consumer::plain(identifier::numeric(1)), s, t, 0,
                                               polling_strategy::offset(0), 1000, false});
    ASSERT_TRUE(pr.has_value());
    EXPECT_EQ(*pr, polled_before) << "the same batches, byte for byte";
    auto off = consumer_offset_info::decode(
        *c->request(get_consumer_offset_request{consumer::plain(identifier::numeric(3)), s, t, 2}));
    ASSERT_TRUE(off.has_value());
    EXPECT_EQ(off->stored_offset, 61u);
    auto goff = consumer_offset_info::decode(
        *c->request(get_consumer_offset_request{consumer::group(identifier::named("g")), s, t, 1}));
    ASSERT_TRUE(goff.has_value());
    EXPECT_EQ(goff->stored_offset, 29u);
    auto gd = consumer_group_details::decode(
        *c->request(get_consumer_group_request{s, t, identifier::named("g")}));
    ASSERT_TRUE(gd.has_value());
    EXPECT_EQ(gd->group.members_count, 0u) << "members are sessions; they do not survive";
    auto users = users_reply::decode(*c->request(get_users_request{}));
    ASSERT_TRUE(users.has_value());
    EXPECT_EQ(users->users.size(), 2u);
    raw_client carol;
    ASSERT_TRUE(carol.connect(server_->port()).has_value());
    EXPECT_TRUE(carol.login("carol", "carol-pass").has_value());
    raw_client tk;
    ASSERT_TRUE(tk.connect(server_->port()).has_value());
    EXPECT_TRUE(tk.login_token(token).has_value());
    // Appends continue after the recovered offsets; the next stream reuses the free id 1.
    auto r = send_messages_reply::decode(
        *c->request(send_req(s, t, partitioning::partition_id(0), make_batch(1))));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->confirmations.at(0).base_offset, 100u);
    auto made = create_stream_reply::decode(*c->request(create_stream_request{"third", {}}));
    ASSERT_TRUE(made.has_value());
    EXPECT_EQ(made->stream.id, 1u);
}

// Personal access tokens: name rules, per-user names, expiry.
TEST_F(protocol, personal_access_token_names_and_expiry) {
    auto c = logged_in();
    auto short_name = decode_reply(*c->call(create_personal_access_token_request{"ab", 0}));
    ASSERT_FALSE(short_name.has_value());
    EXPECT_EQ(short_name.error().vendor_code(), code::invalid_personal_access_token_name);
    auto long_name =
        decode_reply(*c->call(create_personal_access_token_request{std::string(31, 'n'), 0}));
    ASSERT_FALSE(long_name.has_value());
    EXPECT_EQ(long_name.error().vendor_code(), code::invalid_personal_access_token_name);
    // Expiry 1 µs: expired by the time it is used; the login is refused like an unknown token.
    auto tok = c->request(create_personal_access_token_request{"short-lived", 1});
    ASSERT_TRUE(tok.has_value()) << tok.error().message();
    auto raw = raw_personal_access_token::decode(*tok);
    ASSERT_TRUE(raw.has_value());
    raw_client late;
    ASSERT_TRUE(late.connect(server_->port()).has_value());
    login_register_pat_request lp;
    lp.token = raw->token;
    auto ev = late.call(lp);
    ASSERT_TRUE(ev.has_value());
    EXPECT_EQ(eviction_reason_of(*ev), static_cast<std::uint8_t>(eviction_reason::invalid_token));
    // Deleting a token that does not exist: 20.
    auto missing = decode_reply(*c->call(delete_personal_access_token_request{"nope"}));
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().vendor_code(), code::resource_not_found);
}

// Root credentials (issue 4): from the options, else IGGY_ROOT_USERNAME / IGGY_ROOT_PASSWORD, else
// `iggy` with a random password; iggy/iggy only when asked for; an existing data dir keeps its
// root.
TEST(embedded_root_credentials, options_environment_random_and_default) {
    trib::test::temp_dir dir{"trib-root"};
    auto start = [&](const std::string& sub, auto&& tweak) {
        server_options o;
        o.data_dir = dir.path() / sub;
        o.address = "127.0.0.1:0";
        tweak(o);
        auto s = embedded_server::start(o);
        EXPECT_TRUE(s.has_value()) << (s ? "" : s.error().message());
        return s ? std::move(s).value() : nullptr;
    };
    auto can_login = [](const embedded_server& srv, const std::string& u, const std::string& p) {
        raw_client c;
        EXPECT_TRUE(c.connect(srv.port()).has_value());
        return c.login(u, p).has_value();
    };
    struct env_guard {
        env_guard() {
            ::setenv("IGGY_ROOT_USERNAME", "envroot", 1);
            ::setenv("IGGY_ROOT_PASSWORD", "env-secret", 1);
        }
        ~env_guard() {
            ::unsetenv("IGGY_ROOT_USERNAME");
            ::unsetenv("IGGY_ROOT_PASSWORD");
        }
    };
    {
        env_guard env;
        auto srv = start("env", [](server_options&) {});
        ASSERT_NE(srv, nullptr);
        EXPECT_EQ(srv->credentials().username, "envroot");
        EXPECT_EQ(srv->credentials().password, "env-secret");
        EXPECT_TRUE(can_login(*srv, "envroot", "env-secret"));
        EXPECT_FALSE(can_login(*srv, "iggy", "iggy"));
        // Options win over the environment.
        auto opt = start("opt", [](server_options& o) {
            o.root_username = "optroot";
            o.root_password = "opt-secret";
        });
        ASSERT_NE(opt, nullptr);
        EXPECT_TRUE(can_login(*opt, "optroot", "opt-secret"));
        EXPECT_FALSE(can_login(*opt, "envroot", "env-secret"));
    }
    {
        // Nothing given: `iggy` with a generated password, never iggy/iggy.
        ::unsetenv("IGGY_ROOT_USERNAME");
        ::unsetenv("IGGY_ROOT_PASSWORD");
        auto srv = start("random", [](server_options&) {});
        ASSERT_NE(srv, nullptr);
        EXPECT_EQ(srv->credentials().username, "iggy");
        const std::string pw = srv->credentials().password;
        EXPECT_GE(pw.size(), 3u);
        EXPECT_NE(pw, "iggy");
        EXPECT_FALSE(can_login(*srv, "iggy", "iggy"));
        EXPECT_TRUE(can_login(*srv, "iggy", pw));
        srv.reset();
        // A restart keeps that root user: asking for the defaults later does not reset it.
        auto again = start("random", [](server_options& o) { o.default_root_credentials = true; });
        ASSERT_NE(again, nullptr);
        EXPECT_TRUE(again->credentials().password.empty());
        EXPECT_FALSE(can_login(*again, "iggy", "iggy"));
        EXPECT_TRUE(can_login(*again, "iggy", pw));
    }
    {
        auto srv = start("default", [](server_options& o) { o.default_root_credentials = true; });
        ASSERT_NE(srv, nullptr);
        EXPECT_EQ(srv->credentials().username, "iggy");
        EXPECT_EQ(srv->credentials().password, "iggy");
        EXPECT_TRUE(can_login(*srv, "iggy", "iggy"));
    }
    // Invalid root credentials refuse to start.
    server_options bad;
    bad.data_dir = dir.path() / "bad";
    bad.address = "127.0.0.1:0";
    bad.root_username = "root";
    bad.root_password = "x";
    EXPECT_FALSE(embedded_server::start(bad).has_value());
}

// Retention (issue 4): the server's housekeeping applies a topic's message_expiry and
// max_topic_size; removed messages are gone for polls and counts, offsets keep counting.
TEST_F(protocol, retention_by_message_expiry_and_max_topic_size) {
    auto c = logged_in();
    ASSERT_TRUE(c->request(create_stream_request{"s", {}}).has_value());
    auto s = identifier::named("s");
    auto make = [&](const std::string& name, iggy::options opts) {
        create_topic_request ct;
        ct.stream = s;
        ct.partitions_count = 1;
        ct.name = name;
        ct.opts = std::move(opts);
        return c->call(ct);
    };
    // max_topic_size below the topic's segment size: 1019.
    auto small = decode_reply(*make("small", {user_header::str("segment_size", "1 MiB"),
                                              user_header::str("max_topic_size", "512 KiB")}));
    ASSERT_FALSE(small.has_value());
    EXPECT_EQ(small.error().vendor_code(), code::invalid_topic_size);

    // Segments are 64 KiB (server option). Both topics get their retention once the messages are
    // in (below): retention runs on a 1 s timer, and a loaded machine may take longer than that
    // for the sends.
    ASSERT_TRUE(decode_reply(*make("exp", {})).has_value());
    ASSERT_TRUE(decode_reply(*make("cap", {})).has_value());
    auto exp = identifier::named("exp");
    auto cap = identifier::named("cap");
    const std::string kib(1000, 'x');
    auto batch_of = [&](std::uint32_t n) {
        batch_builder b;
        for (std::uint32_t i = 0; i < n; ++i)
            b.add({random_u128(), 0, as_bytes(kib), {}});
        return b.finish();
    };
    std::uint64_t sent = 0;
    for (int i = 0; i < 32; ++i) {  // 32 x 32 messages of 1000 bytes: about 1 MiB per topic
        auto b = batch_of(32);
        ASSERT_TRUE(c->request(send_req(s, exp, partitioning::partition_id(0), b)).has_value());
        ASSERT_TRUE(c->request(send_req(s, cap, partitioning::partition_id(0), b)).has_value());
        sent += 32;
    }
    auto topic = [&](const identifier& t) {
        auto r = c->request(get_topic_request{s, t});
        EXPECT_TRUE(r.has_value());
        auto td = r ? topic_details::decode(*r) : unexpected(r.error());
        return td ? td->topic : topic_info{};
    };
    auto first_offset = [&](const identifier& t) -> std::optional<std::uint64_t> {
        auto r = c->request(poll_messages_request{consumer::plain(identifier::numeric(1)), s, t, 0,
                                                  polling_strategy::first(), 1, false});
        if (!r)
            return std::nullopt;
        auto pr = poll_reply::decode(*r);
        if (!pr || pr->messages.empty())
            return std::nullopt;
        return pr->messages.front().offset;
    };
    EXPECT_EQ(topic(exp).messages_count, sent);
    EXPECT_EQ(first_offset(cap), 0u);
    // 1 µs expiry: every segment expires at the next run. 256 KiB cap: the oldest segments go
    // until the partition fits.
    ASSERT_TRUE(
        c->request(update_topic_request{s, exp, "exp", {user_header::u64("message_expiry", 1)}})
            .has_value());
    ASSERT_TRUE(c->request(update_topic_request{
                               s, cap, "cap", {user_header::str("max_topic_size", "256 KiB")}})
                    .has_value());

    // Expiry: everything goes; the next append continues at `sent`.
    ASSERT_TRUE(trib::test::wait_until([&] { return topic(exp).messages_count == 0; }, 20s))
        << topic(exp).messages_count;
    EXPECT_FALSE(first_offset(exp).has_value());
    auto r = send_messages_reply::decode(
        *c->request(send_req(s, exp, partitioning::partition_id(0), batch_of(1))));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->confirmations.at(0).base_offset, sent);

    // Size: the partition shrinks to the cap (the active segment stays); the tail is intact.
    ASSERT_TRUE(trib::test::wait_until([&] { return topic(cap).size_bytes <= 256 * 1024; }, 20s))
        << topic(cap).size_bytes;
    auto first = first_offset(cap);
    ASSERT_TRUE(first.has_value());
    EXPECT_GT(*first, 0u);
    const auto ti = topic(cap);
    EXPECT_GT(ti.messages_count, 0u);
    EXPECT_EQ(ti.messages_count, sent - *first);
    auto last = c->request(poll_messages_request{consumer::plain(identifier::numeric(1)), s, cap, 0,
                                                 polling_strategy::last(), 1, false});
    ASSERT_TRUE(last.has_value());
    auto lp = poll_reply::decode(*last);
    ASSERT_TRUE(lp.has_value());
    ASSERT_EQ(lp->messages.size(), 1u);
    EXPECT_EQ(lp->messages[0].offset, sent - 1);
}

// Rebalancing on an explicit LEAVE (join and disconnect are covered above).
TEST_F(protocol, consumer_group_rebalances_when_a_member_leaves) {
    auto a = logged_in();
    make_topic(*a, "s", "t", 4);
    auto s = identifier::named("s");
    auto t = identifier::named("t");
    auto g = identifier::named("g");
    ASSERT_TRUE(a->request(create_consumer_group_request{s, t, "g"}).has_value());
    auto b = logged_in();
    ASSERT_TRUE(a->request(join_consumer_group_request{s, t, g}).has_value());
    ASSERT_TRUE(b->request(join_consumer_group_request{s, t, g}).has_value());
    auto sync = [&](raw_client& c) {
        auto r = c.request(sync_consumer_group_request{s, t, g});
        EXPECT_TRUE(r.has_value());
        if (!r || r->empty())
            return sync_consumer_group_reply{};
        return *sync_consumer_group_reply::decode(*r);
    };
    auto sa = sync(*a);
    auto sb = sync(*b);
    EXPECT_EQ(sa.partitions.size() + sb.partitions.size(), 4u);
    EXPECT_EQ(sa.partitions.size(), 2u);
    ASSERT_TRUE(a->request(leave_consumer_group_request{s, t, g}).has_value());
    sb = sync(*b);
    EXPECT_EQ(sb.partitions, (std::vector<std::uint32_t>{0, 1, 2, 3}));
    EXPECT_GT(sb.generation, sa.generation);
    EXPECT_TRUE(a->request(sync_consumer_group_request{s, t, g})->empty()) << "no longer a member";
}

TEST_F(protocol, describe_options_lists_the_topic_keys) {
    auto c = logged_in();
    auto r = c->request(describe_options_request{describe_options_request::topic_scope});
    ASSERT_TRUE(r.has_value()) << r.error().message();
    auto cat = options_catalog::decode(*r);
    ASSERT_TRUE(cat.has_value());
    std::set<std::string> keys;
    for (const auto& e : cat->entries)
        keys.insert(e.key);
    for (const char* k : {"compression_algorithm", "message_expiry", "max_topic_size",
                          "segment_size", "durability", "consumer_offset_durability"})
        EXPECT_TRUE(keys.count(k)) << k;
    auto streams = options_catalog::decode(
        *c->request(describe_options_request{describe_options_request::stream_scope}));
    ASSERT_TRUE(streams.has_value());
    EXPECT_TRUE(streams->entries.empty());
}

// The DESCRIBE_OPTIONS codec added to iggy/wire for this server: the layout of
// core/binary_protocol's describe_options.rs (its own round-trip sample), and truncation safety.
TEST(wire_describe_options, golden_bytes_and_truncation) {
    bytes req;
    writer rw(req);
    describe_options_request{describe_options_request::user_scope}.encode(rw);
    EXPECT_EQ(req, bytes{3});
    EXPECT_FALSE(describe_options_request::decode(bytes{4}).has_value());
    EXPECT_FALSE(describe_options_request::decode(bytes{1, 0}).has_value());

    options_catalog cat;
    cat.entries.push_back({"partitions_count", header_kind::uint32, std::string("\x01\0\0\0", 4),
                           "Number of partitions to create"});
    cat.entries.push_back({"max_topic_size", header_kind::uint64, "", ""});
    bytes out;
    writer w(out);
    cat.encode(w);
    bytes want = {2, 0, 0, 0, 16};
    for (char ch : std::string("partitions_count"))
        want.push_back(static_cast<std::uint8_t>(ch));
    for (std::uint8_t b : {11, 4, 0, 0, 0, 1, 0, 0, 0, 30, 0, 0, 0})
        want.push_back(b);
    for (char ch : std::string("Number of partitions to create"))
        want.push_back(static_cast<std::uint8_t>(ch));
    want.push_back(14);
    for (char ch : std::string("max_topic_size"))
        want.push_back(static_cast<std::uint8_t>(ch));
    for (std::uint8_t b : {12, 0, 0, 0, 0, 0, 0, 0, 0})
        want.push_back(b);
    EXPECT_EQ(out, want);
    auto back = options_catalog::decode(out);
    ASSERT_TRUE(back.has_value());
    EXPECT_TRUE(*back == cat);
    for (std::size_t n = 0; n < out.size(); ++n)
        EXPECT_FALSE(options_catalog::decode(bytes_view(out).first(n)).has_value()) << n;
}

}  // namespace
}  // namespace trib::server
