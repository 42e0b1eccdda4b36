// The HDFS store, sink and source against a real HDFS: Hadoop 3.4.1's MiniDFSCluster (one
// NameNode and one DataNode, store_peers.h hdfs_cluster_spec), started once per test binary:
// the two-step CREATE through the DataNode, RENAME refusing an existing name (the conditional
// create), LISTSTATUS, OPEN with offset and length, DELETE, a refused user, and the cluster
// stopped and restarted in the middle of a run. Only the delegation-token test runs against the
// WebHDFS stand-in (webhdfs_standin.py): a cluster with simple authentication issues no tokens,
// and a secured one needs Kerberos.

#include <gtest/gtest.h>

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
        auto p = test::peer::start(test::hdfs_cluster_spec());
        if (p)
            g_peer = std::move(p).value();
        else
            g_reason = p.error().message();
    }
    static void TearDownTestSuite() { g_peer.reset(); }

    void SetUp() override {
        if (!g_peer) {
            if (test::in_ci())
                FAIL() << "the HDFS MiniDFSCluster could not start (CI=true): " << g_reason;
            GTEST_SKIP() << "the HDFS MiniDFSCluster is not available: " << g_reason;
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

    static std::string endpoint() { return test::peer_url(*g_peer); }

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
    // dir_ belongs to `iggy` (rwxr-xr-x): another user may read it but not create in it.
    auto v =
        test::spec_values(hdfs_sink_spec(), "endpoint = \"" + endpoint() + "\"\ndirectory = \"" +
                                                dir_ + "\"\nuser = \"intruder\"\n");
    auto s = make_hdfs_sink(v);
    ASSERT_TRUE(s) << s.error().to_string();
    connector_context ctx{"hdfs", "HDFS sink", {}, nullptr, {}};
    ASSERT_TRUE((*s)->open(ctx));
    auto b = test::numbered_batch(0, 5);
    auto w = (*s)->write(sink_batch{"logs", "api", 1, "json", &b});
    ASSERT_FALSE(w);
    EXPECT_FALSE(w.error().retryable());
    EXPECT_EQ(w.error().code(), errc::permission_denied) << w.error().message();
    EXPECT_NE(w.error().message().find("AccessControlException"), std::string::npos)
        << w.error().message();
    auto objs = test::read_all(*store());
    ASSERT_TRUE(objs) << objs.error().to_string();
    EXPECT_TRUE(objs->empty());
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
    // The whole cluster (NameNode and DataNode) is stopped, then started again on its data.
    auto v = test::spec_values(hdfs_sink_spec(), toml() +
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
