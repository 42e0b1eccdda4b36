// The `iggy` command-line tool (crates.io iggy-cli 0.14.0, protocol 0.11) against `tributary
// serve`: streams, topics, sends with headers and keys, polls with every strategy, consumer
// offsets and groups, stats, me, cluster metadata, the options catalogue, tokens, purge and
// delete. The binary is $TRIB_SOURCE_DIR/.deps/cargo/bin/iggy (scripts/setup.sh builds it);
// with CI=true a missing binary fails the test.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "harness/peer.h"
#include "server/process_util.h"
#include "server/serve_peer.h"

namespace trib::server {
namespace {

class iggy_cli : public ::testing::Test {
  protected:
    void SetUp() override {
        cli_ = test::source_dir() / ".deps" / "cargo" / "bin" / "iggy";
        if (!std::filesystem::exists(cli_)) {
            if (trib::test::in_ci())
                FAIL() << "iggy CLI not found at " << cli_ << " (required with CI=true)";
            GTEST_SKIP() << "iggy CLI not found at " << cli_ << " (run scripts/setup.sh)";
        }
        auto p = trib::test::peer::start(test::serve_spec());
        ASSERT_TRUE(p.has_value()) << p.error().message();
        server_ = std::move(p).value();
    }

    /// Runs `iggy <args>` against the server; returns its output, expecting exit code 0.
    std::string run(const std::vector<std::string>& args, bool expect_ok = true) {
        std::vector<std::string> argv = {cli_.string(),
                                         "--tcp-server-address",
                                         "127.0.0.1:" + std::to_string(server_->port()),
                                         "--username",
                                         "iggy",
                                         "--password",
                                         "iggy"};
        argv.insert(argv.end(), args.begin(), args.end());
        auto r = test::run_process(argv, std::chrono::seconds(60),
                                   {{"HOME", home_.path().string()}, {"NO_COLOR", "1"}});
        std::string cmd;
        for (const auto& a : args)
            cmd += a + " ";
        EXPECT_FALSE(r.timed_out) << cmd << "\n" << r.output;
        if (expect_ok) {
            EXPECT_EQ(r.exit_code, 0) << cmd << "\n"
                                      << r.output << "\nserver log:\n"
                                      << server_->log();
        }
        return r.output;
    }

    std::filesystem::path cli_;
    trib::test::temp_dir home_{"trib-cli-home"};
    std::unique_ptr<trib::test::peer> server_;
};

#define EXPECT_CONTAINS(haystack, needle)                                                         \
    EXPECT_NE((haystack).find(needle), std::string::npos) << "missing '" << (needle) << "' in:\n" \
                                                          << (haystack)

TEST_F(iggy_cli, creates_lists_sends_and_polls) {
    EXPECT_CONTAINS(run({"ping"}), "Ping statistics");
    run({"stream", "create", "cli-stream"});
    EXPECT_CONTAINS(run({"stream", "list"}), "cli-stream");
    run({"topic", "create", "cli-stream", "cli-topic", "2", "none", "1day"});
    auto topics = run({"topic", "list", "cli-stream"});
    EXPECT_CONTAINS(topics, "cli-topic");
    EXPECT_CONTAINS(topics, "1day");
    EXPECT_CONTAINS(run({"topic", "get", "cli-stream", "cli-topic"}), "Partitions count");

    run({"message", "send", "--partition-id", "0", "--headers", "kind:string:order,n:uint32:7",
         "cli-stream", "cli-topic", "hello", "world", "third"});
    run({"message", "send", "--message-key", "customer-1", "cli-stream", "cli-topic", "keyed"});

    auto polled = run({"message", "poll", "--offset", "0", "--message-count", "10",
                       "--show-headers", "cli-stream", "cli-topic", "0"});
    EXPECT_CONTAINS(polled, "Polled 3 messages");
    EXPECT_CONTAINS(polled, "hello");
    EXPECT_CONTAINS(polled, "world");
    EXPECT_CONTAINS(polled, "order");
    auto first =
        run({"message", "poll", "--first", "--message-count", "1", "cli-stream", "cli-topic", "0"});
    EXPECT_CONTAINS(first, "Polled 1 message ");
    EXPECT_CONTAINS(first, "hello");
    auto last =
        run({"message", "poll", "--last", "--message-count", "1", "cli-stream", "cli-topic", "0"});
    EXPECT_CONTAINS(last, "third");
    auto next1 = run({"message", "poll", "--next", "--message-count", "2", "--auto-commit",
                      "--consumer", "7", "cli-stream", "cli-topic", "0"});
    EXPECT_CONTAINS(next1, "world");
    auto next2 = run({"message", "poll", "--next", "--message-count", "2", "--auto-commit",
                      "--consumer", "7", "cli-stream", "cli-topic", "0"});
    EXPECT_CONTAINS(next2, "Polled 1 message ");
    EXPECT_CONTAINS(next2, "third");
    auto offset = run({"consumer-offset", "get", "7", "cli-stream", "cli-topic", "0"});
    EXPECT_CONTAINS(offset, "Stored offset");
    run({"consumer-offset", "set", "7", "cli-stream", "cli-topic", "0", "0"});
    EXPECT_CONTAINS(run({"message", "poll", "--next", "--message-count", "5", "--consumer", "7",
                         "cli-stream", "cli-topic", "0"}),
                    "Polled 2 messages");

    run({"consumer-group", "create", "cli-stream", "cli-topic", "cli-group"});
    EXPECT_CONTAINS(run({"consumer-group", "list", "cli-stream", "cli-topic"}), "cli-group");
    run({"partition", "create", "cli-stream", "cli-topic", "1"});
    EXPECT_CONTAINS(run({"topic", "get", "cli-stream", "cli-topic"}), "3");

    EXPECT_CONTAINS(run({"stats"}), "Streams Count");
    EXPECT_CONTAINS(run({"me"}), "Transport");
    EXPECT_CONTAINS(run({"cluster", "metadata"}), "leader");
    EXPECT_CONTAINS(run({"options", "topic"}), "durability");
    EXPECT_CONTAINS(run({"user", "list"}), "iggy");
    auto pat = run({"pat", "create", "cli-token"});
    EXPECT_CONTAINS(pat, "Token:");
    EXPECT_CONTAINS(run({"pat", "list"}), "cli-token");

    run({"topic", "purge", "cli-stream", "cli-topic"});
    EXPECT_CONTAINS(run({"message", "poll", "--offset", "0", "--message-count", "10", "cli-stream",
                         "cli-topic", "0"}),
                    "Polled 0 messages");
    run({"topic", "delete", "cli-stream", "cli-topic"});
    run({"stream", "delete", "cli-stream"});
    EXPECT_CONTAINS(run({"stream", "list"}), "No streams found");
}

}  // namespace
}  // namespace trib::server
