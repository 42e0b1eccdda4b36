// The HDFS store, sink and source against the WebHDFS stand-in (webhdfs_standin.py: the
// documented REST API, two-step CREATE and OPEN; not a NameNode: "contract-tested"). One
// stand-in per test binary; the outage test restarts it.
// TRIB_HDFS_ENDPOINT=http://host:port points the contract and sink/source tests at a real
// NameNode instead (the README reports a run against Hadoop 3.4.1's MiniDFSCluster); the auth
// and outage tests always use the stand-in.

#include <gtest/gtest.h>

#include <cstdlib>

#include "connectors/s3/hdfs_store.h"
#include "connectors/s3/s3.h"
#include "store_suite.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;

std::unique_ptr<test::peer> g_peer;
std::string g_reason;
constexpr const char* k_token = "standin-delegation-token-42";

class hdfs_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto p = test::peer::start(test::webhdfs_spec({"--deny-user", "intruder"}));
        if (p)
            g_peer = std::move(p).value();
        else
            g_reason = p.error().message();
    }
    static void TearDownTestSuite() { g_peer.reset(); }

    void SetUp() override {
        if (!g_peer) {
            if (test::in_ci())
                FAIL() << "the WebHDFS stand-in could not start (CI=true): " << g_reason;
            GTEST_SKIP() << "the WebHDFS stand-in is not available: " << g_reason;
        }
        dir_ = "/data/hdfs-" + std::to_string(++counter_);
        auto made = test::webhdfs_mkdirs(endpoint(), dir_);
        ASSERT_TRUE(made) << made.error().to_string();
    }

    std::unique_ptr<s3_detail::object_store> store() {
        auto st = s3_detail::make_store(test::webhdfs_settings(endpoint(), dir_));
        EXPECT_TRUE(st) << st.error().to_string();
        return st ? std::move(st).value() : nullptr;
    }

    std::string toml() const {
        return "endpoint = \"" + endpoint() + "\"\ndirectory = \"" + dir_ + "\"\nuser = \"iggy\"\n";
    }

    /// The stand-in, or TRIB_HDFS_ENDPOINT.
    static std::string endpoint() {
        const char* e = std::getenv("TRIB_HDFS_ENDPOINT");
        return e != nullptr && *e != '\0' ? std::string(e) : test::peer_url(*g_peer);
    }

    std::string dir_;
    static inline int counter_ = 0;
};

TEST_F(hdfs_test, given_the_webhdfs_api_should_keep_the_store_contract) {
    auto st = store();
    ASSERT_TRUE(st);
    ASSERT_TRUE(st->check());
    test::check_store_contract(*st, false, 256 * 1024);
}

TEST_F(hdfs_test, given_the_sink_replayed_after_a_crash_should_store_each_offset_once) {
    test::sink_source_env env{hdfs_sink_spec(), make_hdfs_sink, hdfs_source_spec(),
                              make_hdfs_source, toml(),         [this] { return store(); }};
    test::check_sink_and_source(env, "run");
}

TEST_F(hdfs_test, given_a_refused_user_should_fail_fatally_naming_the_exception) {
    auto v = test::spec_values(hdfs_sink_spec(), "endpoint = \"" + test::peer_url(*g_peer) +
                                                     "\"\ndirectory = \"" + dir_ +
                                                     "\"\nuser = \"intruder\"\n");
    auto s = make_hdfs_sink(v);
    ASSERT_TRUE(s) << s.error().to_string();
    connector_context ctx{"hdfs", "HDFS sink", {}, nullptr, {}};
    auto st = (*s)->open(ctx);
    ASSERT_FALSE(st);
    EXPECT_FALSE(st.error().retryable());
    EXPECT_EQ(st.error().code(), errc::permission_denied) << st.error().message();
    EXPECT_NE(st.error().message().find("AccessControlException"), std::string::npos);
}

TEST_F(hdfs_test, given_a_bad_delegation_token_should_fail_fatally_without_the_token) {
    // A second stand-in that wants a delegation token.
    TRIB_START_PEER(secured, test::webhdfs_spec({"--token", k_token}));
    auto v = test::spec_values(hdfs_sink_spec(), "endpoint = \"" + test::peer_url(*secured) +
                                                     "\"\ndirectory = \"/\"\n"
                                                     "delegation_token = \"wrong-token-77\"\n");
    auto s = make_hdfs_sink(v);
    ASSERT_TRUE(s) << s.error().to_string();
    connector_context ctx{"hdfs", "HDFS sink", {}, nullptr, {}};
    auto st = (*s)->open(ctx);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::unauthenticated) << st.error().message();
    EXPECT_NE(st.error().message().find("SecurityException"), std::string::npos);
    EXPECT_EQ(st.error().message().find("wrong-token-77"), std::string::npos);
    // The right token goes through.
    auto v2 = test::spec_values(hdfs_sink_spec(), "endpoint = \"" + test::peer_url(*secured) +
                                                      "\"\ndirectory = \"/\"\n"
                                                      "delegation_token = \"" +
                                                      std::string(k_token) + "\"\n");
    auto s2 = make_hdfs_sink(v2);
    ASSERT_TRUE(s2);
    auto st2 = (*s2)->open(ctx);
    EXPECT_TRUE(st2) << st2.error().to_string();
}

TEST_F(hdfs_test, given_the_store_down_for_a_while_should_retry_and_lose_nothing) {
    const std::string standin_toml = "endpoint = \"" + test::peer_url(*g_peer) +
                                     "\"\ndirectory = \"" + dir_ + "\"\nuser = \"iggy\"\n";
    ASSERT_TRUE(test::webhdfs_mkdirs(*g_peer, dir_));
    auto v = test::spec_values(hdfs_sink_spec(), standin_toml +
                                                     "path_template = \"{topic}\"\n"
                                                     "max_retries = 0\nretry_delay = \"10ms\"\n");
    auto s = make_hdfs_sink(v);
    ASSERT_TRUE(s);
    connector_context ctx{"hdfs", "HDFS sink", {}, nullptr, {}};
    ASSERT_TRUE((*s)->open(ctx));
    auto b1 = test::numbered_batch(0, 50);
    ASSERT_TRUE((*s)->write(sink_batch{"logs", "api", 1, "json", &b1}));
    ASSERT_TRUE(g_peer->stop());
    auto b2 = test::numbered_batch(50, 50);
    // The runtime retries a retryable write with the same batch until it goes through.
    int failures = 0;
    for (; failures < 3; ++failures) {
        auto w = (*s)->write(sink_batch{"logs", "api", 1, "json", &b2});
        ASSERT_FALSE(w);
        EXPECT_TRUE(w.error().retryable()) << w.error().message();
    }
    ASSERT_TRUE(g_peer->restart());
    auto w = (*s)->write(sink_batch{"logs", "api", 1, "json", &b2});
    ASSERT_TRUE(w) << w.error().to_string();
    auto st = s3_detail::make_store(test::webhdfs_settings(*g_peer, dir_)).value();
    auto objs = test::read_all(*st);
    ASSERT_TRUE(objs) << objs.error().to_string();
    EXPECT_EQ(objs->size(), 2u);
    auto seen = test::offsets_in(*objs);
    EXPECT_EQ(seen.size(), 100u);
    for (const auto& [off, n] : seen)
        EXPECT_EQ(n, 1) << off;
}

}  // namespace
}  // namespace trib::connectors
