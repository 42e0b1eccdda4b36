// The C++ client against the embedded Iggy-compatible server (started in-process on a free
// loopback port), and against code we did not write: the official Python SDK apache-iggy 0.9.0
// must read what this client writes and the other way round, and for the same calls this client
// must put the same request bodies on the wire as the Python SDK (seen through a recording proxy).

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "harness/peer.h"
#include "iggy/client.h"
#include "iggy/consumer.h"
#include "iggy/producer.h"
#include "iggy/wire/header.h"
#include "server/server.h"

namespace trib::iggy {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<server::embedded_server> start_server(const std::filesystem::path& dir,
                                                      std::string address = "127.0.0.1:0",
                                                      std::string cert = {}, std::string key = {}) {
    server::server_options o;
    o.data_dir = dir;
    o.address = std::move(address);
    o.default_root_credentials = true;
    o.tls_cert = cert;
    o.tls_key = key;
    auto s = server::embedded_server::start(std::move(o));
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    return s ? std::move(s).value() : nullptr;
}

client_options options_for(std::uint16_t port) {
    client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    o.conn.username = "iggy";
    o.conn.password = "iggy";
    o.conn.request_timeout = 10s;
    o.conn.reconnect_timeout = 15s;
    return o;
}

class iggy_client : public ::testing::Test {
  protected:
    void SetUp() override {
        server_ = start_server(dir_.path() / "data");
        ASSERT_NE(server_, nullptr);
        auto c = client::connect(options_for(server_->port()));
        ASSERT_TRUE(c) << c.error().to_string();
        client_ = std::move(c).value();
    }
    test::temp_dir dir_{"iggy-client"};
    std::unique_ptr<server::embedded_server> server_;
    std::unique_ptr<client> client_;
};

TEST_F(iggy_client, metadata_commands) {
    ASSERT_TRUE(client_->ping());
    auto s = client_->create_stream("orders");
    ASSERT_TRUE(s) << s.error().to_string();
    EXPECT_EQ(s->name, "orders");
    auto dup = client_->create_stream("orders");
    ASSERT_FALSE(dup);
    EXPECT_EQ(dup.error().vendor_code(), code::stream_name_already_exists);
    auto t = client_->create_topic(identifier::named("orders"), "events", 3,
                                   {user_header::u64("message_expiry", 3'600'000'000ULL)});
    ASSERT_TRUE(t) << t.error().to_string();
    EXPECT_EQ(t->partitions.size(), 3u);
    auto got = client_->get_topic(identifier::named("orders"), identifier::named("events"));
    ASSERT_TRUE(got && got->has_value());
    EXPECT_EQ((*got)->topic.message_expiry, 3'600'000'000ULL);
    auto missing = client_->get_stream(identifier::named("nope"));
    ASSERT_TRUE(missing);
    EXPECT_FALSE(missing->has_value());
    ASSERT_TRUE(
        client_->create_partitions(identifier::named("orders"), identifier::named("events"), 2));
    auto topics = client_->get_topics(identifier::named("orders"));
    ASSERT_TRUE(topics);
    ASSERT_EQ(topics->size(), 1u);
    EXPECT_EQ((*topics)[0].partitions_count, 5u);
    ASSERT_TRUE(client_->update_stream(identifier::named("orders"), "orders2"));
    auto streams = client_->get_streams();
    ASSERT_TRUE(streams);
    ASSERT_EQ(streams->size(), 1u);
    EXPECT_EQ((*streams)[0].name, "orders2");
    auto me = client_->get_me();
    ASSERT_TRUE(me) << me.error().to_string();
    auto st = client_->get_stats();
    ASSERT_TRUE(st) << st.error().to_string();
    EXPECT_EQ(st->streams_count, 1u);
    auto tok = client_->create_personal_access_token("ci-token");
    ASSERT_TRUE(tok) << tok.error().to_string();
    // Log in with the token on a second connection.
    auto o = options_for(server_->port());
    o.conn.token = *tok;
    auto pat = client::connect(o);
    ASSERT_TRUE(pat) << pat.error().to_string();
    EXPECT_TRUE((*pat)->get_streams());
    ASSERT_TRUE(client_->delete_personal_access_token("ci-token"));
    ASSERT_TRUE(client_->delete_stream(identifier::named("orders2")));
    auto gone = client_->delete_stream(identifier::named("orders2"));
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code(), errc::not_found);
}

TEST_F(iggy_client, produce_and_consume_with_headers_ids_and_offsets) {
    ASSERT_TRUE(client_->create_stream("s"));
    ASSERT_TRUE(client_->create_topic(identifier::named("s"), "t", 3));
    producer_options po;
    po.client = options_for(server_->port());
    po.stream = identifier::named("s");
    po.topic = identifier::named("t");
    po.batch_max_messages = 50;
    po.connections = 2;
    auto prod = producer::create(po);
    ASSERT_TRUE(prod) << prod.error().to_string();
    bytes hdr = encode_user_headers({user_header::str("kind", "order")});
    std::vector<std::string> payloads;
    for (int i = 0; i < 300; ++i)
        payloads.push_back("msg-" + std::to_string(i));
    std::vector<std::future<result<send_ack>>> acks;
    for (int call = 0; call < 3; ++call) {
        std::vector<producer_message> batch;
        for (int i = call * 100; i < call * 100 + 100; ++i) {
            producer_message m;
            m.payload = as_bytes(payloads[i]);
            m.user_headers = hdr;
            m.id = u128{static_cast<std::uint64_t>(i + 1), 7};
            batch.push_back(m);
        }
        acks.push_back((*prod)->send(batch));
    }
    std::set<std::uint32_t> used;
    for (auto& f : acks) {
        auto a = f.get();
        ASSERT_TRUE(a) << a.error().to_string();
        std::uint32_t n = 0;
        for (const auto& p : a->parts) {
            n += p.messages;
            used.insert(p.partition);
        }
        EXPECT_EQ(n, 100u);
    }
    EXPECT_EQ(used.size(), 3u);  // balanced: one partition per call, round robin
    (*prod)->close();

    consumer_options co;
    co.client = options_for(server_->port());
    co.stream = identifier::named("s");
    co.topic = identifier::named("t");
    co.consumer_id = identifier::named("reader");
    co.batch_size = 64;
    auto cons = consumer_client::create(co);
    ASSERT_TRUE(cons) << cons.error().to_string();
    std::map<std::uint32_t, std::uint64_t> next_offset;
    std::set<std::string> seen;
    for (int i = 0; i < 100 && seen.size() < 300; ++i) {
        auto b = (*cons)->poll();
        ASSERT_TRUE(b) << b.error().to_string();
        for (const auto& m : b->messages) {
            EXPECT_EQ(m.offset, next_offset[b->partition]++);  // contiguous per partition
            auto h = decode_user_headers(m.user_headers);
            ASSERT_TRUE(h);
            ASSERT_EQ(h->size(), 1u);
            EXPECT_EQ((*h)[0].value, "order");
            EXPECT_EQ(m.id.hi, 7u);
            EXPECT_EQ(std::string(as_string(m.payload)), payloads[m.id.lo - 1]);
            seen.insert(std::string(as_string(m.payload)));
        }
        if (!b->messages.empty()) {
            ASSERT_TRUE((*cons)->commit(b->partition, b->last_offset()));
        }
    }
    EXPECT_EQ(seen.size(), 300u);
    auto off = client_->get_consumer_offset(consumer::plain(identifier::named("reader")),
                                            identifier::named("s"), identifier::named("t"), 0u);
    ASSERT_TRUE(off && off->has_value());
    EXPECT_EQ((*off)->stored_offset, 99u);
    ASSERT_TRUE(client_->delete_consumer_offset(consumer::plain(identifier::named("reader")),
                                                identifier::named("s"), identifier::named("t"), 0));
    off = client_->get_consumer_offset(consumer::plain(identifier::named("reader")),
                                       identifier::named("s"), identifier::named("t"), 0u);
    ASSERT_TRUE(off);
    EXPECT_FALSE(off->has_value());
}

TEST_F(iggy_client, key_partitioning_follows_xxh32) {
    ASSERT_TRUE(client_->create_stream("k"));
    ASSERT_TRUE(client_->create_topic(identifier::named("k"), "t", 4));
    producer_options po;
    po.client = options_for(server_->port());
    po.stream = identifier::named("k");
    po.topic = identifier::named("t");
    po.mode = partition_mode::messages_key;
    po.linger = 0us;
    auto prod = producer::create(po);
    ASSERT_TRUE(prod);
    std::vector<std::string> keys = {"alice", "bob", "carol", "dave", "erin"};
    std::vector<producer_message> msgs;
    for (const auto& k : keys) {
        producer_message m;
        m.payload = as_bytes(k);
        m.key = k;
        msgs.push_back(m);
    }
    auto a = (*prod)->send(msgs).get();
    ASSERT_TRUE(a) << a.error().to_string();
    for (const auto& k : keys) {
        std::uint32_t p = partition_for_key(k, 4);
        polled_messages out;
        poll_messages_request req{consumer::plain(identifier::numeric(1)),
                                  identifier::named("k"),
                                  identifier::named("t"),
                                  p,
                                  polling_strategy::first(),
                                  100,
                                  false};
        ASSERT_TRUE(client_->poll_messages(req, out));
        bool found = false;
        for (const auto& m : out.messages())
            found |= as_string(m.payload) == k;
        EXPECT_TRUE(found) << k << " not on partition " << p;
    }
}

TEST_F(iggy_client, consumer_group_two_members_and_a_rebalance) {
    ASSERT_TRUE(client_->create_stream("g"));
    ASSERT_TRUE(client_->create_topic(identifier::named("g"), "t", 3));
    for (std::uint32_t p = 0; p < 3; ++p) {
        batch_builder b;
        for (int i = 0; i < 10; ++i) {
            std::string s = "p" + std::to_string(p) + "-" + std::to_string(i);
            b.add({{}, 0, as_bytes(s), {}});
        }
        auto batch = b.finish();
        ASSERT_TRUE(client_->send_messages(identifier::named("g"), identifier::named("t"),
                                           partitioning::partition_id(p), batch));
    }
    consumer_options co;
    co.client = options_for(server_->port());
    co.stream = identifier::named("g");
    co.topic = identifier::named("t");
    co.group = "workers";
    co.batch_size = 4;
    auto m0 = consumer_client::create(co);
    ASSERT_TRUE(m0) << m0.error().to_string();
    auto m1 = consumer_client::create(co);
    ASSERT_TRUE(m1) << m1.error().to_string();
    // Both see the two-member split after a sync.
    ASSERT_TRUE(test::wait_until(
        [&] {
            (void)(*m0)->poll();
            (void)(*m1)->poll();
            return (*m0)->assigned().size() + (*m1)->assigned().size() == 3 &&
                   !(*m0)->assigned().empty() && !(*m1)->assigned().empty();
        },
        10s));
    std::set<std::uint32_t> all((*m0)->assigned().begin(), (*m0)->assigned().end());
    for (auto p : (*m1)->assigned())
        EXPECT_TRUE(all.insert(p).second) << "partition " << p << " assigned twice";
    // Member 0 reads and commits 4 messages of one of its partitions, then leaves.
    auto b = (*m0)->poll();
    ASSERT_TRUE(b);
    std::uint32_t moved = b->partition;
    std::uint64_t committed = b->messages.empty() ? 0 : b->last_offset();
    if (!b->messages.empty()) {
        ASSERT_TRUE((*m0)->commit(moved, committed));
    }
    ASSERT_TRUE((*m0)->close());
    // Member 1 takes over everything and resumes after the committed offset.
    std::map<std::uint32_t, std::vector<std::uint64_t>> got;
    ASSERT_TRUE(test::wait_until(
        [&] {
            auto r = (*m1)->poll();
            if (r) {
                for (const auto& m : r->messages)
                    got[r->partition].push_back(m.offset);
                if (!r->messages.empty())
                    (void)(*m1)->commit(r->partition, r->last_offset());
            }
            std::size_t total = 0;
            for (auto& [p, v] : got)
                total += v.size();
            return (*m1)->assigned().size() == 3 && got.count(moved) && got[moved].back() == 9;
        },
        15s));
    if (!b->messages.empty()) {
        EXPECT_EQ(got[moved].front(), committed + 1);
    }
}

TEST_F(iggy_client, reconnects_after_a_server_restart) {
    ASSERT_TRUE(client_->create_stream("r"));
    auto port = server_->port();
    server_->stop();
    server_.reset();
    server_ = start_server(dir_.path() / "data", "127.0.0.1:" + std::to_string(port));
    ASSERT_NE(server_, nullptr);
    auto streams = client_->get_streams();
    ASSERT_TRUE(streams) << streams.error().to_string();
    ASSERT_EQ(streams->size(), 1u);
    EXPECT_EQ((*streams)[0].name, "r");
    EXPECT_GE(client_->reconnects(), 1u);
}

TEST(iggy_client_tls, verifies_the_certificate) {
    test::temp_dir dir("iggy-tls");
    auto cert = (dir.path() / "cert.pem").string();
    auto key = (dir.path() / "key.pem").string();
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -keyout " + key + " -out " + cert +
                      " -days 1 -subj /CN=localhost -addext "
                      "subjectAltName=DNS:localhost,IP:127.0.0.1 >/dev/null 2>&1";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a certificate";
    auto srv = start_server(dir.path() / "data", "127.0.0.1:0", cert, key);
    ASSERT_NE(srv, nullptr);
    auto o = options_for(srv->port());
    o.conn.tls.enabled = true;
    o.conn.tls.ca_file = cert;
    o.conn.tls.domain = "localhost";
    auto c = client::connect(o);
    ASSERT_TRUE(c) << c.error().to_string();
    EXPECT_TRUE((*c)->ping());
    // A name the certificate does not carry is refused.
    o.conn.tls.domain = "other.example";
    o.conn.reconnect = false;
    auto bad = client::connect(o);
    EXPECT_FALSE(bad);
    // Plain TCP to a TLS port fails (no reply in time, or a closed connection).
    auto plain = options_for(srv->port());
    plain.conn.request_timeout = 2s;
    EXPECT_FALSE(client::connect(plain));
}

// ---- conformance with the official Python SDK ----

std::filesystem::path python() {
    const char* src = std::getenv("TRIB_SOURCE_DIR");
    return std::filesystem::path(src ? src : ".") / ".venv" / "bin" / "python";
}

std::string run_python(const std::string& script, const std::vector<std::string>& args,
                       const std::filesystem::path& dir, int* rc) {
    auto path = dir / "script.py";
    std::ofstream(path) << script;
    std::string cmd = python().string() + " " + path.string();
    for (const auto& a : args)
        cmd += " '" + a + "'";
    cmd += " 2>&1";
    std::string out;
    FILE* f = ::popen(cmd.c_str(), "r");
    if (!f) {
        *rc = -1;
        return {};
    }
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    *rc = ::pclose(f);
    return out;
}

#define TRIB_NEED_PYTHON()                                                            \
    do {                                                                              \
        if (!std::filesystem::exists(python())) {                                     \
            if (test::in_ci())                                                        \
                FAIL() << "no Python SDK at " << python();                            \
            GTEST_SKIP() << "no Python SDK at " << python() << " (scripts/setup.sh)"; \
        }                                                                             \
    } while (0)

const char* py_common = R"(
import asyncio, gc, sys, json
from apache_iggy import IggyClient, SendMessage, PollingStrategy, Consumer, Partitioning
async def connect(addr):
    c = IggyClient(addr)
    await c.connect()
    await c.login_user("iggy", "iggy")
    return c
)";

TEST_F(iggy_client, python_reads_what_cpp_writes_and_cpp_reads_what_python_writes) {
    TRIB_NEED_PYTHON();
    ASSERT_TRUE(client_->create_stream("py"));
    ASSERT_TRUE(client_->create_topic(identifier::named("py"), "t", 1));
    // C++ writes 5 messages with ids and headers; stores offset 2 for consumer "shared".
    batch_builder b;
    std::vector<bytes> hdrs;
    for (int i = 0; i < 5; ++i) {
        hdrs.push_back(encode_user_headers({user_header::str("src", "cpp"),
                                            user_header::u64("n", static_cast<std::uint64_t>(i))}));
    }
    std::vector<std::string> payloads = {"c-0", "c-1", "c-2", "c-3", "c-4"};
    for (int i = 0; i < 5; ++i)
        b.add({u128{100u + i, 0}, 0, as_bytes(payloads[i]), hdrs[i]});
    auto batch = b.finish();
    ASSERT_TRUE(client_->send_messages(identifier::named("py"), identifier::named("t"),
                                       partitioning::partition_id(0), batch));
    ASSERT_TRUE(client_->store_consumer_offset(consumer::plain(identifier::named("shared")),
                                               identifier::named("py"), identifier::named("t"), 0,
                                               2));
    std::string script = std::string(py_common) + R"(
async def main(addr):
    c = await connect(addr)
    msgs = await c.poll_messages("py", "t", consumer=Consumer.Single("py-reader"),
        polling_strategy=PollingStrategy.Offset(0), count=100, auto_commit=False, partition_id=0)
    for m in msgs:
        h = m.user_headers()
        hs = {}
        if h is not None:
            for k, v in h.to_scalar_dict().items():
                hs[str(k)] = str(v)
        print(json.dumps({"o": m.offset(), "id": m.id(), "p": m.payload().decode(), "h": hs}))
    nxt = await c.poll_messages("py", "t", consumer=Consumer.Single("shared"),
        polling_strategy=PollingStrategy.Next(), count=100, auto_commit=True, partition_id=0)
    print(json.dumps({"next": [m.offset() for m in nxt]}))
    await c.send_messages("py", "t", 0, [SendMessage("py-%d" % i, id=500 + i) for i in range(3)])
    print("done", flush=True)
    # Dropped while the event loop runs: left to interpreter teardown, the SDK 0.9.0 sometimes
    # ends the process with SIGABRT after everything succeeded (seen in CI; see tests/server).
    del c
    gc.collect()
    await asyncio.sleep(0.3)
asyncio.run(main(sys.argv[1]))
)";
    int rc = 0;
    auto out =
        run_python(script, {"127.0.0.1:" + std::to_string(server_->port())}, dir_.path(), &rc);
    ASSERT_EQ(rc, 0) << out;
    for (int i = 0; i < 5; ++i) {
        EXPECT_NE(out.find("\"o\": " + std::to_string(i) + ", \"id\": " + std::to_string(100 + i) +
                           ", \"p\": \"" + payloads[i] + "\""),
                  std::string::npos)
            << out;
    }
    EXPECT_NE(out.find("cpp"), std::string::npos) << out;
    EXPECT_NE(out.find("{\"next\": [3, 4]}"), std::string::npos) << out;  // after stored 2
    // Python's auto-commit stored 4 for "shared"; C++ sees it. C++ reads Python's messages.
    auto off = client_->get_consumer_offset(consumer::plain(identifier::named("shared")),
                                            identifier::named("py"), identifier::named("t"), 0u);
    ASSERT_TRUE(off && off->has_value());
    EXPECT_EQ((*off)->stored_offset, 4u);
    polled_messages polled;
    ASSERT_TRUE(
        client_->poll_messages({consumer::plain(identifier::numeric(9)), identifier::named("py"),
                                identifier::named("t"), 0u, polling_strategy::offset(5), 10, false},
                               polled));
    ASSERT_EQ(polled.messages().size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        EXPECT_EQ(as_string(polled.messages()[i].payload), "py-" + std::to_string(i));
        EXPECT_EQ(polled.messages()[i].id, (u128{500 + i, 0}));
        EXPECT_EQ(polled.messages()[i].offset, 5 + i);
    }
}

// A TCP proxy that records every client-to-server frame.
class recording_proxy {
  public:
    explicit recording_proxy(std::uint16_t upstream) : upstream_(upstream) {
        listen_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(listen_, reinterpret_cast<sockaddr*>(&a), sizeof a);
        ::listen(listen_, 8);
        socklen_t len = sizeof a;
        ::getsockname(listen_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        th_ = std::thread([this] { run(); });
    }
    ~recording_proxy() {
        stop_ = true;
        ::shutdown(listen_, SHUT_RDWR);
        ::close(listen_);
        th_.join();
    }
    std::uint16_t port() const { return port_; }
    std::vector<bytes> frames() {
        std::lock_guard lk(mu_);
        return frames_;
    }
    void clear() {
        std::lock_guard lk(mu_);
        frames_.clear();
    }

  private:
    void run() {
        while (!stop_) {
            int c = ::accept(listen_, nullptr, nullptr);
            if (c < 0)
                return;
            int u = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in a{};
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            a.sin_port = htons(upstream_);
            if (::connect(u, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
                ::close(c);
                ::close(u);
                continue;
            }
            pump(c, u);
            ::close(c);
            ::close(u);
        }
    }
    void pump(int c, int u) {
        bytes pending;
        char buf[65536];
        for (;;) {
            pollfd p[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
            if (::poll(p, 2, 200) < 0 || stop_)
                return;
            for (int i = 0; i < 2; ++i) {
                if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                    continue;
                ssize_t n = ::recv(p[i].fd, buf, sizeof buf, 0);
                if (n <= 0)
                    return;
                ::send(i == 0 ? u : c, buf, static_cast<std::size_t>(n), MSG_NOSIGNAL);
                if (i == 0) {
                    pending.insert(pending.end(), buf, buf + n);
                    while (pending.size() >= header_size) {
                        std::uint32_t size = load_u32(pending.data() + 48);
                        if (size < header_size || pending.size() < size)
                            break;
                        std::lock_guard lk(mu_);
                        frames_.emplace_back(pending.begin(), pending.begin() + size);
                        pending.erase(pending.begin(), pending.begin() + size);
                    }
                }
            }
        }
    }
    std::uint16_t upstream_;
    int listen_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::thread th_;
    std::mutex mu_;
    std::vector<bytes> frames_;
};

// Request bodies by command, in order, for the commands both sides send; the parts that differ
// from run to run (origin timestamps, checksums) are zeroed.
std::vector<std::pair<std::uint32_t, bytes>> main_commands(const std::vector<bytes>& frames) {
    static const std::set<std::uint32_t> main = {cmd::create_stream,
                                                 cmd::create_topic,
                                                 cmd::send_messages,
                                                 cmd::poll_messages,
                                                 cmd::store_consumer_offset,
                                                 cmd::get_consumer_offset,
                                                 cmd::get_stream,
                                                 cmd::get_topic,
                                                 cmd::delete_topic,
                                                 cmd::delete_stream};
    std::vector<std::pair<std::uint32_t, bytes>> out;
    for (const auto& f : frames) {
        auto h = request_header::decode(f);
        if (!h || !h->command() || !main.count(*h->command()))
            continue;
        bytes body(f.begin() + header_size, f.end());
        if (*h->command() == cmd::send_messages) {
            auto s = send_messages_request::decode(body);
            if (s) {
                std::size_t at = body.size() - s->batch.size();
                std::fill(body.begin() + at + 24, body.begin() + at + 32, 0);  // origin
                std::fill(body.begin() + at + 40, body.begin() + at + 48, 0);  // checksum
                std::size_t pos = at + batch_header_size;
                while (pos + frame_header_size <= body.size()) {
                    std::fill(body.begin() + pos, body.begin() + pos + 8, 0);        // checksum
                    std::fill(body.begin() + pos + 28, body.begin() + pos + 32, 0);  // ts delta
                    pos += frame_header_size + load_u32(body.data() + pos + 32) +
                           load_u32(body.data() + pos + 36);
                }
            }
        }
        out.emplace_back(*h->command(), std::move(body));
    }
    return out;
}

TEST_F(iggy_client, request_bytes_match_the_python_sdk) {
    TRIB_NEED_PYTHON();
    recording_proxy proxy(server_->port());
    std::string script = std::string(py_common) + R"(
async def main(addr):
    c = await connect(addr)
    await c.create_stream("rec")
    await c.create_topic("rec", "t", 2)
    await c.get_stream("rec")
    await c.get_topic("rec", "t")
    await c.send_messages("rec", "t", 1, [SendMessage("m-%d" % i, id=i + 1) for i in range(3)])
    await c.poll_messages("rec", "t", consumer=Consumer.Single("r"),
        polling_strategy=PollingStrategy.Offset(0), count=10, auto_commit=False, partition_id=1)
    await c.delete_topic("rec", "t")
    await c.delete_stream("rec")
    print("done", flush=True)
    # Dropped while the event loop runs: left to interpreter teardown, the SDK 0.9.0 sometimes
    # ends the process with SIGABRT after everything succeeded (seen in CI; see tests/server).
    del c
    gc.collect()
    await asyncio.sleep(0.3)
asyncio.run(main(sys.argv[1]))
)";
    int rc = 0;
    auto out = run_python(script, {"127.0.0.1:" + std::to_string(proxy.port())}, dir_.path(), &rc);
    ASSERT_EQ(rc, 0) << out;
    auto py = main_commands(proxy.frames());
    proxy.clear();

    auto o = options_for(proxy.port());
    auto c = client::connect(o);
    ASSERT_TRUE(c) << c.error().to_string();
    auto& cl = **c;
    ASSERT_TRUE(cl.create_stream("rec"));
    // The 0.9.0 SDK always sends both durability keys; a caller of this client adds them.
    ASSERT_TRUE(cl.create_topic(identifier::named("rec"), "t", 2,
                                {user_header::str("consumer_offset_durability", "replicated"),
                                 user_header::str("durability", "replicated")}));
    ASSERT_TRUE(cl.get_stream(identifier::named("rec")));
    ASSERT_TRUE(cl.get_topic(identifier::named("rec"), identifier::named("t")));
    batch_builder b;
    std::vector<std::string> p = {"m-0", "m-1", "m-2"};
    for (int i = 0; i < 3; ++i)
        b.add({u128{static_cast<std::uint64_t>(i + 1), 0}, 0, as_bytes(p[i]), {}});
    auto batch = b.finish();
    ASSERT_TRUE(cl.send_messages(identifier::named("rec"), identifier::named("t"),
                                 partitioning::partition_id(1), batch));
    polled_messages pm;
    ASSERT_TRUE(
        cl.poll_messages({consumer::plain(identifier::named("r")), identifier::named("rec"),
                          identifier::named("t"), 1u, polling_strategy::offset(0), 10, false},
                         pm));
    ASSERT_TRUE(cl.delete_topic(identifier::named("rec"), identifier::named("t")));
    ASSERT_TRUE(cl.delete_stream(identifier::named("rec")));
    auto cpp = main_commands(proxy.frames());
    EXPECT_GE(py.size(), 8u);  // every call above was seen
    ASSERT_EQ(cpp.size(), py.size());
    for (std::size_t i = 0; i < cpp.size(); ++i) {
        EXPECT_EQ(cpp[i].first, py[i].first) << i;
        EXPECT_EQ(cpp[i].second, py[i].second) << command_name(cpp[i].first);
    }
}

}  // namespace
}  // namespace trib::iggy
