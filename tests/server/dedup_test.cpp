// Message de-duplication in the embedded server (issue 27), over the wire: Iggy's
// `[system.message_deduplication]` semantics per partition, the window across a restart (in
// process, and a `tributary serve --config` child killed with SIGKILL), off by default, and the
// configuration errors of `serve` (exit 2 naming the file or variable and the key).

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <tuple>

#include "harness/peer.h"
#include "iggy/wire/batch.h"
#include "iggy/wire/requests.h"
#include "iggy/wire/responses.h"
#include "server/dedup_test_util.h"
#include "server/process_util.h"
#include "server/raw_client.h"
#include "server/serve_peer.h"
#include "server/server.h"

namespace trib::server {
namespace {

using namespace iggy;
using namespace std::chrono_literals;
using test::batch_with_ids;
using test::raw_client;

constexpr std::uint64_t sec = 1'000'000;

struct message {
    std::uint64_t offset;
    std::uint64_t id;  // low half
    std::string payload;
    std::uint64_t timestamp;
    friend bool operator==(const message&, const message&) = default;
};

std::ostream& operator<<(std::ostream& os, const message& m) {
    return os << "{" << m.offset << ", id " << m.id << ", " << m.payload << "}";
}

/// A logged-in client with stream "s" / topic "t" of `parts` partitions made (or found).
struct session {
    raw_client c;

    void open(std::uint16_t port, const std::string& user, const std::string& pass) {
        ASSERT_TRUE(c.connect(port).has_value());
        auto st = c.login(user, pass);
        ASSERT_TRUE(st.has_value()) << st.error().message();
    }
    void make_topic(std::uint32_t parts) {
        auto r1 = c.request(create_stream_request{"s", {}});
        ASSERT_TRUE(r1.has_value()) << r1.error().message();
        create_topic_request ct;
        ct.stream = identifier::named("s");
        ct.partitions_count = parts;
        ct.name = "t";
        auto r2 = c.request(ct);
        ASSERT_TRUE(r2.has_value()) << r2.error().message();
    }
    /// Sends the ids to `partition`; returns the confirmations (empty: nothing new stored).
    std::vector<send_confirmation> send(const std::vector<std::uint64_t>& ids,
                                        const std::string& tag, std::uint32_t partition = 0) {
        send_messages_request r;
        r.stream = identifier::named("s");
        r.topic = identifier::named("t");
        r.part = partitioning::partition_id(partition);
        r.batch = batch_with_ids(ids, tag);
        r.messages_count = static_cast<std::uint32_t>(ids.size());
        auto reply = c.request(r);
        EXPECT_TRUE(reply.has_value()) << (reply ? "" : reply.error().message());
        if (!reply)
            return {};
        auto conf = send_messages_reply::decode(*reply);
        EXPECT_TRUE(conf.has_value());
        return conf ? conf->confirmations : std::vector<send_confirmation>{};
    }
    std::vector<message> stored(std::uint32_t partition = 0) {
        poll_messages_request p;
        p.who = consumer::plain(identifier::numeric(1));
        p.stream = identifier::named("s");
        p.topic = identifier::named("t");
        p.partition = partition;
        p.strategy = polling_strategy::offset(0);
        p.count = 100000;
        auto polled = c.request(p);
        EXPECT_TRUE(polled.has_value());
        std::vector<message> out;
        if (!polled)
            return out;
        auto pr = poll_reply::decode(*polled);
        EXPECT_TRUE(pr.has_value());
        if (!pr)
            return out;
        for (const auto& b : pr->batches)
            EXPECT_TRUE(validate_batch(b).has_value()) << "stored batches keep valid checksums";
        for (const auto& m : pr->messages)
            out.push_back({m.offset, m.id.lo, as_string(m.payload), m.timestamp});
        return out;
    }
};

std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> brief(
    const std::vector<message>& ms) {
    std::vector<std::tuple<std::uint64_t, std::uint64_t, std::string>> out;
    for (const auto& m : ms)
        out.emplace_back(m.offset, m.id, m.payload);
    return out;
}

class dedup_server : public ::testing::Test {
  protected:
    void start(dedup_options d, const std::string& data = "data") {
        server_options o;
        o.data_dir = dir_.path() / data;
        o.address = "127.0.0.1:0";
        o.root_username = "admin";
        o.root_password = "admin-pass";
        o.message_deduplication = d;
        auto s = embedded_server::start(o);
        ASSERT_TRUE(s.has_value()) << s.error().message();
        server_ = std::move(s).value();
        client_ = std::make_unique<session>();
        client_->open(server_->port(), "admin", "admin-pass");
    }
    session& c() { return *client_; }

    trib::test::temp_dir dir_{"trib-dedup"};
    std::unique_ptr<embedded_server> server_;
    std::unique_ptr<session> client_;
};

TEST_F(dedup_server, duplicates_in_a_batch_and_across_batches_are_dropped_and_acknowledged) {
    start({true, 10000, 60 * sec});
    c().make_topic(1);
    auto conf = c().send({1, 2, 1, 3}, "a");
    ASSERT_EQ(conf.size(), 1u);
    EXPECT_EQ(conf[0].base_offset, 0u);

    EXPECT_TRUE(c().send({1, 2, 3}, "b").empty()) << "all duplicates: accepted, no offsets";
    conf = c().send({3, 4, 4, 5}, "c");
    ASSERT_EQ(conf.size(), 1u);
    EXPECT_EQ(conf[0].base_offset, 3u) << "offsets stay contiguous";

    using row = std::tuple<std::uint64_t, std::uint64_t, std::string>;
    EXPECT_EQ(brief(c().stored()),
              (std::vector<row>{
                  {0, 1, "a:0"}, {1, 2, "a:1"}, {2, 3, "a:3"}, {3, 4, "c:1"}, {4, 5, "c:3"}}));
}

TEST_F(dedup_server, id_zero_is_never_deduplicated) {
    start({true, 10000, 60 * sec});
    c().make_topic(1);
    ASSERT_EQ(c().send({0, 0}, "a").size(), 1u);
    ASSERT_EQ(c().send({0}, "b").size(), 1u);
    EXPECT_EQ(c().stored().size(), 3u);
}

TEST_F(dedup_server, each_partition_has_its_own_window) {
    start({true, 10000, 60 * sec});
    c().make_topic(2);
    ASSERT_EQ(c().send({7}, "p0", 0).size(), 1u);
    ASSERT_EQ(c().send({7}, "p1", 1).size(), 1u);
    EXPECT_TRUE(c().send({7}, "again", 1).empty());
    EXPECT_EQ(c().stored(0).size(), 1u);
    EXPECT_EQ(c().stored(1).size(), 1u);
}

TEST_F(dedup_server, max_entries_evicts_the_oldest_ids) {
    start({true, 3, 60 * sec});
    c().make_topic(1);
    ASSERT_EQ(c().send({1, 2, 3, 4}, "a").size(), 1u);  // 1 is pushed out by 4
    auto conf = c().send({1, 2, 3, 4}, "b");
    ASSERT_EQ(conf.size(), 1u);
    EXPECT_EQ(conf[0].base_offset, 4u);
    auto all = c().stored();
    ASSERT_EQ(all.size(), 5u);
    EXPECT_EQ(all[4].id, 1u);
    EXPECT_EQ(all[4].payload, "b:0");
}

TEST_F(dedup_server, an_id_is_accepted_again_once_its_expiry_has_passed) {
    const std::uint64_t expiry = 300'000;  // 300 ms
    start({true, 10000, expiry});
    c().make_topic(1);
    ASSERT_EQ(c().send({42}, "first").size(), 1u);
    const auto original = c().stored().at(0);
    // Resend until the server stores it; it may only do so once the expiry has passed since the
    // original's append (both timestamps are the server's).
    std::vector<message> all;
    ASSERT_TRUE(trib::test::wait_until(
        [&] {
            c().send({42}, "retry");
            all = c().stored();
            return all.size() > 1;
        },
        20s));
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[1].payload, "retry");
    EXPECT_GE(all[1].timestamp - original.timestamp, expiry);
}

TEST_F(dedup_server, a_restart_keeps_the_window) {
    start({true, 10000, 600 * sec});
    c().make_topic(1);
    ASSERT_EQ(c().send({1, 2, 3}, "before").size(), 1u);
    client_.reset();
    server_->stop();
    server_.reset();

    start({true, 10000, 600 * sec});
    EXPECT_TRUE(c().send({1, 2, 3}, "after").empty()) << "the resend is not stored";
    auto conf = c().send({3, 4}, "after");
    ASSERT_EQ(conf.size(), 1u);
    EXPECT_EQ(conf[0].base_offset, 3u);
    auto all = c().stored();
    ASSERT_EQ(all.size(), 4u);
    EXPECT_EQ(all[3].payload, "after:1");
}

TEST_F(dedup_server, off_by_default_as_in_iggy) {
    EXPECT_FALSE(server_options{}.message_deduplication.enabled);
    start(server_options{}.message_deduplication);
    c().make_topic(1);
    ASSERT_EQ(c().send({1, 2}, "a").size(), 1u);
    ASSERT_EQ(c().send({1, 2}, "b").size(), 1u);
    EXPECT_EQ(c().stored().size(), 4u) << "stored twice";
}

TEST(iggy_defaults, match_iggy_server_toml) {
    const dedup_options d;
    EXPECT_FALSE(d.enabled);
    EXPECT_EQ(d.max_entries, 10000u);
    EXPECT_EQ(d.expiry_us, 60 * sec);  // "1 m"
}

// ---- `tributary serve --config` (an Iggy server.toml) and the environment ----

std::filesystem::path write_file(const std::filesystem::path& p, const std::string& text) {
    std::ofstream(p) << text;
    return p;
}

TEST(serve_dedup, an_iggy_server_toml_turns_it_on_and_it_survives_kill_9) {
    auto spec = test::serve_spec({"--config", "{dir}/server.toml"});
    spec.prepare = [](const trib::test::peer& p) {
        // Iggy's own sections around it are accepted and ignored.
        write_file(p.dir() / "server.toml",
                   "[system]\npath = \"local_data\"\n\n"
                   "[system.message_deduplication]\nenabled = true\nmax_entries = 10000\n"
                   "expiry = \"10 m\"\n\n[tcp]\nenabled = true\naddress = \"0.0.0.0:8090\"\n");
    };
    TRIB_START_PEER(peer, spec);
    session s;
    s.open(peer->port(), "iggy", "iggy");
    s.make_topic(1);
    ASSERT_EQ(s.send({1, 2, 3}, "a").size(), 1u);
    EXPECT_TRUE(s.send({2}, "b").empty());

    ASSERT_TRUE(peer->kill9().has_value());
    ASSERT_TRUE(peer->restart().has_value());
    session again;
    again.open(peer->port(), "iggy", "iggy");
    EXPECT_TRUE(again.send({1, 2, 3}, "c").empty()) << "not stored after the crash either";
    EXPECT_EQ(again.stored().size(), 3u);
}

TEST(serve_dedup, the_environment_overrides_the_file) {
    auto spec = test::serve_spec({"--config", "{dir}/server.toml"});
    spec.prepare = [](const trib::test::peer& p) {
        write_file(p.dir() / "server.toml", "[system.message_deduplication]\nenabled = true\n");
    };
    spec.env = {{"IGGY_SYSTEM_MESSAGE_DEDUPLICATION_ENABLED", "false"}};
    TRIB_START_PEER(peer, spec);
    session s;
    s.open(peer->port(), "iggy", "iggy");
    s.make_topic(1);
    ASSERT_EQ(s.send({1}, "a").size(), 1u);
    ASSERT_EQ(s.send({1}, "b").size(), 1u);
    EXPECT_EQ(s.stored().size(), 2u);
}

TEST(serve_dedup, bad_settings_exit_2_naming_the_file_and_key) {
    trib::test::temp_dir dir("trib-dedup-cfg");
    auto serve = [&](const std::string& toml,
                     std::vector<std::pair<std::string, std::string>> env = {}) {
        const auto cfg = write_file(dir.path() / "server.toml", toml);
        return test::run_process({test::tributary_binary().string(), "serve", "--data-dir",
                                  (dir.path() / "data").string(), "--address", "127.0.0.1:0",
                                  "--with-default-root-credentials", "--config", cfg.string()},
                                 60s, env);
    };
    const std::string file = (dir.path() / "server.toml").string();
    struct bad_case {
        std::string toml;
        std::string key;
    };
    for (const auto& bc : std::vector<bad_case>{
             {"[system.message_deduplication]\nenabled = \"yes\"\n", "enabled"},
             {"[system.message_deduplication]\nmax_entries = -1\n", "max_entries"},
             {"[system.message_deduplication]\nexpiry = \"soon\"\n", "expiry"},
             {"[system.message_deduplication]\nexpiry = 60\n", "expiry"},
             {"[system.message_deduplication]\nmax_entrys = 5\n", "max_entrys"},
             {"[system.message_deduplication]\nenabled = true\nmax_entries = 0\n"
              "expiry = \"none\"\n",
              "without bound"},
             {"[system.message_deduplication\n", "server.toml"},
         }) {
        auto r = serve(bc.toml);
        EXPECT_EQ(r.exit_code, 2) << bc.toml << r.output;
        EXPECT_NE(r.output.find(file), std::string::npos) << r.output;
        EXPECT_NE(r.output.find(bc.key), std::string::npos) << r.output;
    }
    auto r = serve("", {{"IGGY_SYSTEM_MESSAGE_DEDUPLICATION_MAX_ENTRIES", "many"}});
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_NE(r.output.find("IGGY_SYSTEM_MESSAGE_DEDUPLICATION_MAX_ENTRIES"), std::string::npos)
        << r.output;
}

}  // namespace
}  // namespace trib::server
