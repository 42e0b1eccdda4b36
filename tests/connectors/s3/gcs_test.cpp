// The GCS store, sink and source against a real fake-gcs-server (v1.56.1 from the Go module
// proxy; one per test binary): the store contract, the sink's exactly-once replay and the
// source reading back, and a refused service account.

#include <gtest/gtest.h>

#include <fstream>

#include "connectors/s3/gcs_store.h"
#include "connectors/s3/s3.h"
#include "store_suite.h"

namespace trib::connectors {
namespace {

std::unique_ptr<test::peer> g_peer;
std::string g_reason;

class gcs_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        auto p = test::peer::start(test::fake_gcs_spec());
        if (p)
            g_peer = std::move(p).value();
        else
            g_reason = p.error().message();
    }
    static void TearDownTestSuite() { g_peer.reset(); }

    void SetUp() override {
        if (!g_peer) {
            if (test::in_ci())
                FAIL() << "fake-gcs-server could not start (CI=true): " << g_reason;
            GTEST_SKIP() << "fake-gcs-server not available: " << g_reason;
        }
        bucket_ = "gcs-" + std::to_string(++counter_);
        auto made = test::gcs_make_bucket(*g_peer, bucket_);
        ASSERT_TRUE(made) << made.error().to_string();
    }

    std::unique_ptr<s3_detail::object_store> store(std::uint64_t part_size = 8u << 20) {
        auto s = test::gcs_settings(*g_peer, bucket_);
        s.part_size = part_size;
        auto st = s3_detail::make_store(std::move(s));
        EXPECT_TRUE(st) << st.error().to_string();
        return st ? std::move(st).value() : nullptr;
    }

    std::string bucket_;
    static inline int counter_ = 0;
};

TEST_F(gcs_test, given_fake_gcs_should_keep_the_store_contract) {
    auto st = store(512 * 1024);  // resumable upload in 512 KiB chunks above it
    ASSERT_TRUE(st);
    ASSERT_TRUE(st->check());
    test::check_store_contract(*st, true, 512 * 1024);
    EXPECT_EQ(st->multipart_uploads(), 1u);  // the large object went up resumable
}

TEST_F(gcs_test, given_a_missing_bucket_should_fail_fatally_naming_it) {
    auto s = test::gcs_settings(*g_peer, "no-such-bucket");
    auto st = s3_detail::make_store(std::move(s));
    ASSERT_TRUE(st);
    auto c = (*st)->check();
    ASSERT_FALSE(c);
    EXPECT_EQ(c.error().code(), errc::not_found);
    EXPECT_FALSE(c.error().retryable());
    EXPECT_NE(c.error().message().find("no-such-bucket"), std::string::npos);
}

TEST_F(gcs_test, given_the_sink_replayed_after_a_crash_should_store_each_offset_once) {
    test::sink_source_env env{
        gcs_sink_spec(),
        make_gcs_sink,
        gcs_source_spec(),
        make_gcs_source,
        "bucket = \"" + bucket_ + "\"\nendpoint = \"" + test::peer_url(*g_peer) + "\"\n",
        [this] { return store(); }};
    test::check_sink_and_source(env, "run");
}

TEST_F(gcs_test, given_a_refused_service_account_should_fail_fatally_without_the_key) {
    // A real key file whose token_uri answers with an error (fake-gcs-server has no token
    // endpoint): the sink must stop at open(), naming GCS and the token exchange.
    test::temp_dir dir("gcs-key");
    const auto key_path = (dir.path() / "key.json").string();
    {
        // An RSA key made for the test by OpenSSL's command line tool.
        const auto pem = (dir.path() / "k.pem").string();
        ASSERT_EQ(std::system(("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
                               "-out " +
                               pem + " 2>/dev/null")
                                  .c_str()),
                  0);
        std::ifstream in(pem);
        std::string key((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        ASSERT_FALSE(key.empty());
        std::string escaped;
        for (char c : key)
            escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
        std::ofstream out(key_path);
        out << R"({"type":"service_account","client_email":"sink@test.iam.gserviceaccount.com",)"
            << R"("private_key_id":"k1","private_key":")" << escaped << R"(","token_uri":")"
            << test::peer_url(*g_peer) << R"(/token"})";
    }
    auto v = test::spec_values(
        gcs_sink_spec(), "bucket = \"" + bucket_ + "\"\nendpoint = \"" + test::peer_url(*g_peer) +
                             "\"\ncredentials_file = \"" + key_path + "\"\n");
    auto s = make_gcs_sink(v);
    ASSERT_TRUE(s) << s.error().to_string();
    connector_context ctx{"gcs", "GCS sink", {}, nullptr, {}};
    auto st = (*s)->open(ctx);
    ASSERT_FALSE(st);
    EXPECT_FALSE(st.error().retryable());
    const auto msg = st.error().message();
    EXPECT_NE(msg.find("GCS"), std::string::npos) << msg;
    EXPECT_NE(msg.find("token exchange"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("PRIVATE KEY"), std::string::npos) << msg;
}

}  // namespace
}  // namespace trib::connectors
