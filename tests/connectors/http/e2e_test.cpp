// The HTTP connectors through `tributary run` with the embedded Iggy server: webhook -> Iggy ->
// HTTP sink -> receiver.py. Every request answered 200 reaches the receiver; with a receiver that
// fails at random and a kill -9 of the runtime in the middle, nothing is lost and duplicates stay
// within the documented bound.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <stop_token>
#include <thread>

#include "http_test_util.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

fs::path tributary_binary() {
    if (const char* b = std::getenv("TRIB_BINARY_DIR"))
        return fs::path(b) / "src/app/tributary";
    return fs::read_symlink("/proc/self/exe").parent_path() / "../../../src/app/tributary";
}

/// `tributary run` with the embedded server on {port} and the webhook on {port1}; the connector
/// files may say {port1} and {receiver}.
peer_spec tributary_spec(std::uint16_t receiver_port, const std::string& sink_extra) {
    peer_spec s;
    s.name = "tributary";
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/config.toml"};
    s.extra_ports = 1;
    s.prepare = [receiver_port, sink_extra](const peer& p) {
        const fs::path dir = p.dir();
        fs::create_directories(dir / "connectors");
        std::ofstream(dir / "config.toml")
            << "[state]\npath = \"" << (dir / "state").string()
            << "\"\n\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \""
            << (dir / "connectors").string()
            << "\"\n\n[http]\nenabled = false\n\n[logging]\nformat = \"text\"\nlevel = \"info\"\n"
               "\n[server]\naddress = \"127.0.0.1:"
            << p.port() << "\"\ndata_dir = \"" << (dir / "state/server").string()
            << "\"\nfsync = \"always\"\n";
        std::ofstream(dir / "connectors/webhook_source.toml")
            << "type = \"source\"\nkey = \"hook\"\nenabled = true\nversion = 0\nname = \"hook\"\n"
               "plugin = \"webhook\"\n\n[[streams]]\nstream = \"e2e\"\ntopic = \"events\"\n"
               "schema = \"json\"\nbatch_length = 1000\nlinger_time = \"2ms\"\n\n"
               "[plugin_config]\nport = "
            << p.port(1) << "\n";
        std::ofstream(dir / "connectors/http_sink.toml")
            << "type = \"sink\"\nkey = \"out\"\nenabled = true\nversion = 0\nname = \"out\"\n"
               "path = \"target/release/libiggy_connector_http_sink\"\n\n[[streams]]\n"
               "stream = \"e2e\"\ntopics = [\"events\"]\nschema = \"json\"\nbatch_length = 50\n"
               "poll_interval = \"5ms\"\n\n[plugin_config]\nurl = \"http://127.0.0.1:"
            << receiver_port << "/in\"\ntimeout = \"300ms\"\nretry_delay = \"10ms\"\n"
            << sink_extra;
    };
    s.ready = [](const peer& p) { return tcp_connectable(p.port()) && tcp_connectable(p.port(1)); };
    s.ready_timeout = 60s;
    s.attempts = 2;
    return s;
}

/// The messages the receiver processed (ok and hang fates), by their "id" field, with counts,
/// and how many were in requests answered too late (allowed duplicates).
struct received {
    std::map<std::string, int> ids;
    std::size_t processed = 0;
    std::size_t late = 0;
};

received collect(receiver_client& rc) {
    received out;
    auto reqs = rc.requests();
    for (const auto& q : reqs.GetArray()) {
        const std::string fate = str_of(q, "fate");
        if (fate != "ok" && fate != "hang")
            continue;
        const std::string body = str_of(q, "body");
        std::size_t i = 0;
        while (i < body.size()) {
            auto nl = body.find('\n', i);
            if (nl == std::string::npos)
                nl = body.size();
            rapidjson::Document d;
            d.Parse(body.substr(i, nl - i).c_str());
            i = nl + 1;
            if (d.HasParseError() || !d.IsObject() || !d.HasMember("payload"))
                continue;
            out.ids[str_of(d["payload"], "id")]++;
            ++out.processed;
            if (fate == "hang")
                ++out.late;
        }
    }
    return out;
}

/// POSTs `n` requests of two messages each to the webhook, retrying each until it is answered
/// 200 (the webhook's contract: a caller retries until it gets a 2xx). Returns the ids sent.
/// With `enough`, it goes on past `n` until `enough` is set; `sent` counts accepted requests.
/// Gives up (with a failure) when `stop` is requested.
std::vector<std::string> send_all(const std::function<std::uint16_t()>& port, int n,
                                  const std::string& prefix, std::atomic<int>* retries,
                                  std::stop_token stop = {},
                                  const std::atomic<bool>* enough = nullptr,
                                  std::atomic<int>* sent = nullptr) {
    std::vector<std::string> ids;
    net::client_options o;
    o.timeout = 5s;
    net::http_client c(o);
    for (int i = 0; i < n || (enough && !enough->load()); ++i) {
        const std::string a = prefix + "-" + std::to_string(i) + "-a";
        const std::string b = prefix + "-" + std::to_string(i) + "-b";
        const std::string body = R"([{"id":")" + a + R"("},{"id":")" + b + R"("}])";
        for (int attempt = 0;; ++attempt) {
            auto r = c.post("http://127.0.0.1:" + std::to_string(port()) + "/", body);
            if (r && r->status == 200)
                break;
            if (retries)
                ++*retries;
            if (attempt > 2000 || stop.stop_requested()) {
                ADD_FAILURE() << "request " << i << " never accepted";
                return ids;
            }
            std::this_thread::sleep_for(20ms);  // a client's retry delay, not synchronization
        }
        ids.push_back(a);
        ids.push_back(b);
        if (sent)
            ++*sent;
    }
    return ids;
}

class http_e2e : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!fs::exists(tributary_binary()))
            GTEST_SKIP() << "tributary binary not built: " << tributary_binary();
        auto r = peer::start(receiver_spec());
        if (!r) {
            if (in_ci())
                FAIL() << r.error().message();
            GTEST_SKIP() << r.error().message();
        }
        receiver_ = std::move(*r);
        rc_ = std::make_unique<receiver_client>(receiver_->port());
    }
    std::unique_ptr<peer> receiver_;
    std::unique_ptr<receiver_client> rc_;
};

TEST_F(http_e2e, webhook_to_iggy_to_http_sink) {
    TRIB_START_PEER(rt, tributary_spec(receiver_->port(), "batch_mode = \"ndjson\"\n"));
    const auto ids = send_all([&] { return rt->port(1); }, 200, "plain", nullptr);
    ASSERT_EQ(ids.size(), 400u);
    ASSERT_TRUE(wait_until([&] { return collect(*rc_).ids.size() >= ids.size(); }, 60s))
        << rt->log();
    auto got = collect(*rc_);
    for (const auto& id : ids)
        EXPECT_EQ(got.ids[id], 1) << id;
    EXPECT_EQ(got.processed, ids.size());  // no faults: no duplicates
}

TEST_F(http_e2e, faults_and_a_kill_9_lose_nothing) {
    rc_->configure(R"({"seed": 3, "p500": 0.1, "p429": 0.02, "retry_after": "1", "phang": 0.03,
                       "hang_seconds": 0.5})");
    TRIB_START_PEER(rt, tributary_spec(receiver_->port(), "batch_mode = \"ndjson\"\n"));
    std::atomic<int> retries{0};
    std::atomic<int> sent{0};
    std::atomic<bool> enough{false};
    std::vector<std::string> ids;
    // The sender goes on until the runtime has accepted requests after its restart; joined
    // (after a stop request) also when an assertion below returns early.
    std::jthread sender([&](std::stop_token stop) {
        ids = send_all([&] { return rt->port(1); }, 300, "k9", &retries, stop, &enough, &sent);
    });
    // Kill the runtime while messages flow both in (webhook) and out (sink).
    ASSERT_TRUE(wait_until([&] { return collect(*rc_).ids.size() >= 100; }, 60s)) << rt->log();
    ASSERT_TRUE(rt->kill9());
    const int sent_at_kill = sent.load();
    ASSERT_TRUE(rt->restart());
    ASSERT_TRUE(wait_until([&] { return sent.load() >= sent_at_kill + 50; }, 60s)) << rt->log();
    enough = true;
    sender.join();
    ASSERT_GE(ids.size(), 600u);
    // The kill hit the sender mid-stream: it saw refused or broken requests and retried them.
    EXPECT_GT(retries.load(), 0);
    ASSERT_TRUE(wait_until(
        [&] {
            auto g = collect(*rc_);
            for (const auto& id : ids) {
                if (g.ids.count(id) == 0)
                    return false;
            }
            return true;
        },
        120s))
        << rt->log();
    auto got = collect(*rc_);
    std::size_t missing = 0;
    for (const auto& id : ids)
        missing += got.ids.count(id) == 0 ? 1 : 0;
    EXPECT_EQ(missing, 0u);
    // Duplicates: requests the receiver processed but answered too late, plus what the kill
    // left delivered but uncommitted (the batch being written and one whose commit was on its
    // way: 2 x 50), plus the webhook request being stored when it died (the client sends one at
    // a time and retries it: 2 messages).
    const std::size_t duplicates = got.processed - got.ids.size();
    const std::size_t bound = got.late + 2 * 50 + 2;
    EXPECT_LE(duplicates, bound) << "late " << got.late << ", client retries " << retries.load();
    std::cout << "[e2e] messages " << ids.size() << ", duplicates " << duplicates << " (late "
              << got.late << "), client retries " << retries.load() << "\n";
}

// Iggy's HTTP sink gives up on a batch after `max_retries` and its runtime has committed the
// offsets when it polled, so an endpoint that is down for 10 s loses that batch. Here the
// endpoint (the receiver process itself, so connections are refused) is down for at least 10 s
// while messages keep arriving through the webhook, with the same in-sink retry options as Iggy's
// defaults would exhaust long before, and the runtime is killed with -9 in the middle of the
// outage: when the endpoint returns, every message arrives. In `individual` mode (Iggy's default:
// one request per message) and `ndjson` (one request per batch).
class http_e2e_outage : public http_e2e, public ::testing::WithParamInterface<std::string> {};

TEST_P(http_e2e_outage, endpoint_down_ten_seconds_and_a_kill_9_lose_nothing) {
    TRIB_START_PEER(rt, tributary_spec(receiver_->port(),
                                       "batch_mode = \"" + GetParam() + "\"\nmax_retries = 3\n"));
    // Before the outage: everything arrives.
    auto ids = send_all([&] { return rt->port(1); }, 100, "pre", nullptr);
    ASSERT_EQ(ids.size(), 200u);
    ASSERT_TRUE(wait_until([&] { return collect(*rc_).ids.size() >= ids.size(); }, 60s))
        << rt->log();
    const received before = collect(*rc_);

    // The endpoint goes away; the webhook keeps accepting (Iggy stores the messages).
    const auto down_since = std::chrono::steady_clock::now();
    ASSERT_TRUE(receiver_->stop());
    ASSERT_FALSE(tcp_connectable(receiver_->port()));
    auto during = send_all([&] { return rt->port(1); }, 200, "down", nullptr);
    ASSERT_EQ(during.size(), 400u);
    ids.insert(ids.end(), during.begin(), during.end());
    // The sink tried, exhausted its own retries and handed the failure to the runtime's policy.
    ASSERT_TRUE(wait_until(
        [&] {
            const std::string log = rt->log();
            return log.find("sink out: write of") != std::string::npos &&
                   log.find("failed (attempt 1)") != std::string::npos;
        },
        60s))
        << rt->log();

    // kill -9 while the endpoint is still down; more messages after the restart.
    ASSERT_TRUE(rt->kill9());
    ASSERT_TRUE(rt->restart());
    ASSERT_TRUE(wait_until([&] { return tcp_connectable(rt->port(1)); }, 60s)) << rt->log();
    auto after = send_all([&] { return rt->port(1); }, 50, "restarted", nullptr);
    ASSERT_EQ(after.size(), 100u);
    ids.insert(ids.end(), after.begin(), after.end());

    // The outage lasts at least 10 s (the scenario's length, not a synchronization).
    std::this_thread::sleep_until(down_since + 10s);
    const auto outage = std::chrono::steady_clock::now() - down_since;
    ASSERT_TRUE(receiver_->restart());
    ASSERT_TRUE(wait_until(
        [&] {
            auto g = collect(*rc_);
            for (const auto& id : ids) {
                if (before.ids.count(id) == 0 && g.ids.count(id) == 0)
                    return false;
            }
            return true;
        },
        120s))
        << rt->log();
    const received got = collect(*rc_);
    std::size_t missing = 0;
    for (const auto& id : ids)
        missing += before.ids.count(id) == 0 && got.ids.count(id) == 0 ? 1 : 0;
    EXPECT_EQ(missing, 0u);
    // Duplicates: what the kill left delivered but uncommitted (nothing was delivered during the
    // outage, so at most the batches of the first phase whose commit was on its way: 2 x 50).
    const std::size_t duplicates = before.processed + got.processed - ids.size();
    EXPECT_LE(duplicates, 2u * 50u);
    std::cout << "[e2e] outage "
              << std::chrono::duration_cast<std::chrono::milliseconds>(outage).count()
              << " ms, messages " << ids.size() << " (" << during.size() + after.size()
              << " sent while the endpoint was down), duplicates " << duplicates << " ("
              << GetParam() << ")\n";
}

INSTANTIATE_TEST_SUITE_P(batch_modes, http_e2e_outage, ::testing::Values("individual", "ndjson"));

}  // namespace
}  // namespace trib::test
