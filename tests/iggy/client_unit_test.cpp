// Client pieces that need no server: address parsing, backoff, the key partitioner, and the
// connection's behaviour against a peer that never answers or is not there.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <set>
#include <thread>

#include "iggy/address.h"
#include "iggy/connection.h"
#include "iggy/wire/codes.h"
#include "iggy/wire/responses.h"

namespace trib::iggy {
namespace {

TEST(address, plain_host_port_and_defaults) {
    auto a = server_address::parse("localhost:8090");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->host, "localhost");
    EXPECT_EQ(a->port, 8090);
    EXPECT_FALSE(a->tls);
    EXPECT_TRUE(a->username.empty());
    auto d = server_address::parse("example.org");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->port, 8090);
    auto v6 = server_address::parse("[::1]:9000");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->host, "::1");
    EXPECT_EQ(v6->port, 9000);
    EXPECT_EQ(v6->to_string(), "[::1]:9000");
}

TEST(address, urls_with_credentials_and_tls) {
    auto a = server_address::parse("iggy+tcp://us%40er:p%3Ass%2Fw@127.0.0.1:8091");
    ASSERT_TRUE(a) << a.error().to_string();
    EXPECT_EQ(a->username, "us@er");
    EXPECT_EQ(a->password, "p:ss/w");
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 8091);
    EXPECT_FALSE(a->tls);
    auto t = server_address::parse("iggy+tcp+tls://iggy:iggy@broker.local:8090/");
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->tls);
    EXPECT_EQ(t->host, "broker.local");
    EXPECT_EQ(t->username, "iggy");
    auto o = connection_options_from("iggy+tcp+tls://a:b@h:1");
    ASSERT_TRUE(o);
    EXPECT_TRUE(o->tls.enabled);
}

TEST(address, rejects_bad_input) {
    for (const char* bad : {"", ":8090", "host:0", "host:70000", "host:80a", "http://h:1",
                            "::1:8090", "[::1", "iggy+tcp://u:p%zz@h:1", "iggy+tcp://u:p%2@h:1"}) {
        EXPECT_FALSE(server_address::parse(bad)) << bad;
    }
    EXPECT_FALSE(percent_decode("%"));
    EXPECT_EQ(percent_decode("a%20b").value_or(""), "a b");
}

TEST(backoff, grows_is_capped_and_jittered) {
    backoff b(std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 42);
    std::vector<long long> waits;
    for (int i = 0; i < 8; ++i)
        waits.push_back(b.next().count());
    EXPECT_GE(waits[0], 50);
    EXPECT_LE(waits[0], 100);
    EXPECT_GE(waits[3], 400);
    EXPECT_LE(waits[3], 800);
    for (int i = 4; i < 8; ++i) {
        EXPECT_GE(waits[i], 500);
        EXPECT_LE(waits[i], 1000);
    }
    // Jitter: two seeds give different sequences.
    backoff c(std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 43);
    std::vector<long long> other;
    for (int i = 0; i < 8; ++i)
        other.push_back(c.next().count());
    EXPECT_NE(waits, other);
    b.reset();
    EXPECT_LE(b.next().count(), 100);
}

TEST(partitioner, xxh32_matches_reference_vectors_and_spreads) {
    EXPECT_EQ(xxh32(""), 0x02CC5D05u);
    EXPECT_EQ(xxh32("a"), 0x550D7456u);
    EXPECT_EQ(xxh32("abc"), 0x32D153FFu);
    EXPECT_EQ(partition_for_key("abc", 3), 0x32D153FFu % 3);
    EXPECT_EQ(partition_for_key("abc", 0), 0u);
    std::set<std::uint32_t> seen;
    for (int i = 0; i < 100; ++i)
        seen.insert(partition_for_key("key-" + std::to_string(i), 4));
    EXPECT_EQ(seen.size(), 4u);
    // The same key always lands on the same partition.
    EXPECT_EQ(partition_for_key("user-17", 7), partition_for_key("user-17", 7));
}

TEST(connection, refused_port_is_a_retryable_unavailable) {
    // Bind a port and close it: nothing listens there now.
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(s);
    connection_options o;
    o.address.host = "127.0.0.1";
    o.address.port = ntohs(a.sin_port);
    o.connect_timeout = std::chrono::milliseconds(1000);
    connection c(o);
    auto st = c.connect();
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::unavailable);
    EXPECT_TRUE(st.error().retryable());
}

TEST(connection, silent_peer_times_out_and_closes) {
    // A listener that accepts (the kernel does) but never answers: the login must time out.
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(s, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    connection_options o;
    o.address.host = "127.0.0.1";
    o.address.port = ntohs(a.sin_port);
    o.request_timeout = std::chrono::milliseconds(300);
    connection c(o);
    auto t0 = std::chrono::steady_clock::now();
    auto st = c.connect();
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::timeout);
    EXPECT_FALSE(c.connected());
    EXPECT_LT(took, std::chrono::seconds(5));
    ::close(s);
}

// A scripted peer for the read path: it answers a login, then a ping with the ping's reply and an
// eviction frame in one write (so the client's reads may take in both), then stays silent.
namespace scripted {

bool recv_all(int fd, std::uint8_t* p, std::size_t n) {
    while (n > 0) {
        ssize_t r = ::recv(fd, p, n, 0);
        if (r <= 0)
            return false;
        p += r;
        n -= static_cast<std::size_t>(r);
    }
    return true;
}

bool send_all(int fd, bytes_view b) {
    std::size_t off = 0;
    while (off < b.size()) {
        ssize_t r = ::send(fd, b.data() + off, b.size() - off, MSG_NOSIGNAL);
        if (r <= 0)
            return false;
        off += static_cast<std::size_t>(r);
    }
    return true;
}

// Reads one request frame and returns its header.
std::optional<request_header> read_request(int fd) {
    bytes head(header_size);
    if (!recv_all(fd, head.data(), head.size()))
        return std::nullopt;
    auto prefix = read_frame_prefix(head);
    auto h = request_header::decode(head);
    if (!prefix || !h)
        return std::nullopt;
    bytes body(prefix->body_size);
    if (!body.empty() && !recv_all(fd, body.data(), body.size()))
        return std::nullopt;
    return *h;
}

bytes reply_to(const request_header& req, bytes_view body) {
    bytes out;
    reply_frame_builder b(out);
    b.body().raw(body);
    b.finish(reply_header::for_request(req));
    return out;
}

}  // namespace scripted

TEST(connection, a_frame_right_behind_a_reply_is_kept_for_the_next_read) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    ASSERT_EQ(::listen(s, 4), 0);
    socklen_t len = sizeof a;
    ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
    bool peer_ok = false;
    std::thread peer([&] {
        int fd = ::accept(s, nullptr, nullptr);
        if (fd < 0)
            return;
        auto login = scripted::read_request(fd);
        bytes body;
        writer w(body);
        w.u32(0);  // result section: success
        login_reply{1, 77, 0, "0.9.0"}.encode(w);
        if (!login || !scripted::send_all(fd, scripted::reply_to(*login, body))) {
            ::close(fd);
            return;
        }
        if (auto ping = scripted::read_request(fd)) {
            eviction_header e;
            e.client = ping->client;
            e.reason = static_cast<std::uint8_t>(eviction_reason::session_too_low);
            bytes both = scripted::reply_to(*ping, {});
            bytes ev = encode_eviction(e);
            both.insert(both.end(), ev.begin(), ev.end());
            peer_ok = scripted::send_all(fd, both);
            // The client's next request is never answered: only the kept frame can end it.
            (void)scripted::read_request(fd);
        }
        ::close(fd);
    });
    connection_options o;
    o.address.host = "127.0.0.1";
    o.address.port = ntohs(a.sin_port);
    o.request_timeout = std::chrono::milliseconds(20000);
    o.reconnect = false;
    connection c(o);
    ASSERT_TRUE(c.connect().has_value());
    EXPECT_EQ(c.session(), 77u);
    // The login reply came alone; the ping's reply arrives together with the eviction.
    auto first = c.call(ping_request{});
    ASSERT_TRUE(first.has_value()) << first.error().to_string();
    auto t0 = std::chrono::steady_clock::now();
    auto second = c.call(ping_request{});
    auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(second.has_value());
    EXPECT_NE(second.error().code(), errc::timeout) << second.error().to_string();
    EXPECT_NE(second.error().to_string().find("evicted"), std::string::npos)
        << second.error().to_string();
    EXPECT_LT(took, std::chrono::seconds(10));
    EXPECT_FALSE(c.connected());
    peer.join();
    EXPECT_TRUE(peer_ok);
    ::close(s);
}

}  // namespace
}  // namespace trib::iggy
