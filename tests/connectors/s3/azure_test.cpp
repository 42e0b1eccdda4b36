// The Azure Blob store, sink and source against a real Azurite (3.37.0 from npm; one per test
// binary): the store contract with SharedKey signing, the sink's exactly-once replay and the
// source reading back, a connection string, and a refused account key.

#include <gtest/gtest.h>

#include "connectors/s3/azure_store.h"
#include "connectors/s3/s3.h"
#include "store_suite.h"

namespace trib::connectors {
namespace {

std::unique_ptr<test::peer> g_peer;
std::string g_reason;

class azure_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto p = test::peer::start(test::azurite_spec());
        if (p)
            g_peer = std::move(p).value();
        else
            g_reason = p.error().message();
    }
    static void TearDownTestSuite() { g_peer.reset(); }

    void SetUp() override {
        if (!g_peer) {
            if (test::in_ci())
                FAIL() << "Azurite could not start (CI=true): " << g_reason;
            GTEST_SKIP() << "Azurite not available: " << g_reason;
        }
        container_ = "azure-" + std::to_string(++counter_);
        auto made = test::azurite_make_container(*g_peer, container_);
        ASSERT_TRUE(made) << made.error().to_string();
    }

    std::unique_ptr<s3_detail::object_store> store(std::uint64_t part_size = 8u << 20) {
        auto s = test::azurite_settings(*g_peer, container_);
        s.part_size = part_size;
        auto st = s3_detail::make_store(std::move(s));
        EXPECT_TRUE(st) << st.error().to_string();
        return st ? std::move(st).value() : nullptr;
    }

    std::string container_;
    static inline int counter_ = 0;
};

TEST_F(azure_test, given_azurite_should_keep_the_store_contract) {
    auto st = store(300 * 1024);  // Put Block + Put Block List above it
    ASSERT_TRUE(st);
    ASSERT_TRUE(st->check());
    test::check_store_contract(*st, true, 300 * 1024);
    EXPECT_EQ(st->multipart_uploads(), 1u);
}

TEST_F(azure_test, given_the_sink_replayed_after_a_crash_should_store_each_offset_once) {
    // Credentials through a connection string, as the Azure tools write it.
    test::sink_source_env env{
        azure_blob_sink_spec(),
        make_azure_blob_sink,
        azure_blob_source_spec(),
        make_azure_blob_source,
        "container = \"" + container_ +
            "\"\nconnection_string = \"DefaultEndpointsProtocol=http;AccountName=" +
            test::azurite_account + ";AccountKey=" + test::azurite_key +
            ";BlobEndpoint=" + test::azurite_endpoint(*g_peer) + ";\"\n",
        [this] { return store(); }};
    test::check_sink_and_source(env, "run");
}

TEST_F(azure_test, given_a_wrong_account_key_should_fail_fatally_without_the_key) {
    const std::string wrong_key = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5IQ==";
    auto v =
        test::spec_values(azure_blob_sink_spec(),
                          "container = \"" + container_ + "\"\nendpoint = \"" +
                              test::azurite_endpoint(*g_peer) + "\"\naccount_name = \"" +
                              test::azurite_account + "\"\naccount_key = \"" + wrong_key + "\"\n");
    auto s = make_azure_blob_sink(v);
    ASSERT_TRUE(s) << s.error().to_string();
    connector_context ctx{"az", "Azure sink", {}, nullptr, {}};
    auto st = (*s)->open(ctx);
    ASSERT_FALSE(st);
    EXPECT_FALSE(st.error().retryable());
    EXPECT_EQ(st.error().code(), errc::unauthenticated) << st.error().message();
    const auto msg = st.error().message();
    // Azure's code (Azurite says AuthorizationFailure where Azure says AuthenticationFailed).
    EXPECT_TRUE(msg.find("AuthenticationFailed") != std::string::npos ||
                msg.find("AuthorizationFailure") != std::string::npos)
        << msg;
    EXPECT_NE(msg.find("Azure Blob"), std::string::npos) << msg;
    EXPECT_EQ(msg.find(wrong_key), std::string::npos) << msg;
    EXPECT_EQ(msg.find(test::azurite_key), std::string::npos) << msg;
}

TEST_F(azure_test, given_a_missing_container_should_fail_fatally_naming_it) {
    auto st = store();
    ASSERT_TRUE(st);
    auto s = test::azurite_settings(*g_peer, "no-such-container");
    auto other = s3_detail::make_store(std::move(s));
    ASSERT_TRUE(other);
    auto c = (*other)->check();
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code(), errc::not_found) << c.error().message();
    EXPECT_NE(c.error().message().find("ContainerNotFound"), std::string::npos);
}

}  // namespace
}  // namespace trib::connectors
