// The S3 sink against a real MinIO: Iggy's example configuration, each format read back, rotation,
// multipart, path templates, replays after a crash (a fresh sink on the same offsets), MinIO
// stopped and started again, refused credentials.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "connectors/s3/records.h"
#include "connectors/s3/s3.h"
#include "connectors/s3/s3_store.h"
#include "core/net/http_client.h"
#include "minio_fixture.h"
#include "runtime/spec_values.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
using test::minio_password;
using test::minio_user;

// 2026-03-16T14:00:00Z
constexpr std::uint64_t k_t0 = 1'773'669'600'000'000ull;

/// One MinIO for the whole suite; each test gets its own bucket.
struct minio_holder {
    std::unique_ptr<test::peer> peer;
    std::string reason;
};
minio_holder* g_env = nullptr;

class s3_sink_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        g_env = new minio_holder;
        // A KMS key for server-side encryption, and a domain for virtual-host addressing.
        auto p = test::peer::start(
            test::minio_spec({{"MINIO_KMS_SECRET_KEY",
                               "tributary-test-key:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="},
                              {"MINIO_DOMAIN", "localhost"}}));
        if (!p)
            g_env->reason = p.error().message();
        else
            g_env->peer = std::move(p).value();
    }
    static void TearDownTestSuite() {
        delete g_env;
        g_env = nullptr;
    }

    void SetUp() override {
        if (!g_env->peer) {
            if (test::in_ci())
                FAIL() << "MinIO could not start (CI=true): " << g_env->reason;
            GTEST_SKIP() << "MinIO not available: " << g_env->reason;
        }
        bucket_ = "sink-" + std::to_string(++counter_);
        auto made = test::minio_make_bucket(*g_env->peer, bucket_);
        ASSERT_TRUE(made) << made.error().to_string();
    }

    std::string base_toml() const {
        return "bucket = \"" + bucket_ + "\"\nregion = \"us-east-1\"\nendpoint = \"" +
               test::minio_endpoint(*g_env->peer) + "\"\naccess_key_id = \"" + minio_user +
               "\"\nsecret_access_key = \"" + minio_password + "\"\n";
    }

    std::unique_ptr<sink> open_sink(const std::string& extra) {
        auto v = test::spec_values(s3_sink_spec(), base_toml() + extra);
        auto s = make_s3_sink(v);
        EXPECT_TRUE(s) << s.error().to_string();
        if (!s)
            return nullptr;
        auto st = (*s)->open(ctx_);
        EXPECT_TRUE(st) << st.error().to_string();
        return std::move(s).value();
    }

    /// Messages [first, first + n) with JSON payloads naming their offset and a device.
    static message_batch batch(std::uint64_t first, std::size_t n, std::size_t pad = 0,
                               std::uint64_t shift_us = 0) {
        message_batch b;
        for (std::size_t i = 0; i < n; ++i) {
            message m;
            m.offset = first + i;
            m.partition = 1;
            m.timestamp_us = k_t0 + m.offset * 1000 + shift_us;
            m.payload = b.own(fmt::format(R"({{"n":{},"device":"d{}","pad":"{}"}})", m.offset,
                                          m.offset % 3, std::string(pad, 'x')));
            m.headers.push_back(header{"src", value_kind::string, "test"});
            b.messages.push_back(std::move(m));
        }
        return b;
    }

    static sink_batch view(const message_batch& b, std::uint32_t partition = 1,
                           std::string_view stream = "application_logs",
                           std::string_view topic = "api_requests") {
        return sink_batch{stream, topic, partition, "json", &b};
    }

    std::vector<test::stored_object> objects(const std::string& prefix = {}) {
        auto r = test::minio_read_all(*g_env->peer, bucket_, prefix);
        EXPECT_TRUE(r) << r.error().to_string();
        return r ? *r : std::vector<test::stored_object>{};
    }

    /// offset -> how many times it is in the JSON-lines objects.
    static std::map<std::uint64_t, int> offsets_in_lines(
        const std::vector<test::stored_object>& v) {
        std::map<std::uint64_t, int> seen;
        for (const auto& o : v) {
            std::string_view body = o.body;
            while (!body.empty()) {
                const auto nl = body.find('\n');
                auto line = body.substr(0, nl);
                body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
                rapidjson::Document d;
                d.Parse(line.data(), line.size());
                EXPECT_FALSE(d.HasParseError()) << o.key;
                if (d.HasParseError())
                    continue;
                const auto off = d["offset"].GetUint64();
                EXPECT_EQ(d["payload"]["n"].GetUint64(), off);
                ++seen[off];
            }
        }
        return seen;
    }

    connector_context ctx_{"s3", "S3 sink", {}, nullptr, {}};
    std::string bucket_;
    static inline int counter_ = 0;
};

TEST_F(s3_sink_test, given_iggy_example_config_should_write_every_message_once_under_its_path) {
    // core/connectors/sinks/s3_sink/config.toml's plugin_config, endpoint and keys set.
    auto s = open_sink(R"(prefix = "iggy/raw"
path_template = "{stream}/{topic}/{date}/{hour}"
file_rotation = "size"
max_file_size = "8MiB"
output_format = "json_lines"
include_metadata = true
include_headers = true
max_attempts = 3
retry_delay = "1s"
)");
    ASSERT_TRUE(s);
    auto b1 = batch(0, 1000);
    auto b2 = batch(1000, 500);
    ASSERT_TRUE(s->write(view(b1)));
    ASSERT_TRUE(s->write(view(b2)));
    ASSERT_TRUE(s->write(view(b1, 2)));  // another partition, same offsets
    auto objs = objects();
    std::set<std::string> keys;
    for (const auto& o : objs)
        keys.insert(o.key);
    EXPECT_EQ(keys,
              (std::set<std::string>{
                  "iggy/raw/application_logs/api_requests/2026-03-16/14/p1_000000-000999.jsonl",
                  "iggy/raw/application_logs/api_requests/2026-03-16/14/p1_001000-001499.jsonl",
                  "iggy/raw/application_logs/api_requests/2026-03-16/14/p2_000000-000999.jsonl",
              }));
    std::vector<test::stored_object> p1;
    for (auto& o : objs) {
        if (o.key.find("/p1_") != std::string::npos)
            p1.push_back(o);
    }
    auto seen = offsets_in_lines(p1);
    ASSERT_EQ(seen.size(), 1500u);
    for (const auto& [off, n] : seen)
        EXPECT_EQ(n, 1) << off;
    EXPECT_NE(objs.front().body.find(R"("headers":{"src":"test"})"), std::string::npos);
    EXPECT_NE(objs.front().body.find(R"("timestamp":"2026-03-16T14:00:00Z")"), std::string::npos);
}

TEST_F(s3_sink_test, given_each_format_should_read_back_what_was_sent) {
    auto b = batch(10, 20);
    for (const std::string fmt : {"json_array", "raw", "csv"}) {
        auto s = open_sink("output_format = \"" + fmt + "\"\nprefix = \"" + fmt +
                           "\"\npath_template = \"{topic}\"\n");
        ASSERT_TRUE(s);
        ASSERT_TRUE(s->write(view(b)));
        auto objs = objects(fmt + "/");
        ASSERT_EQ(objs.size(), 1u) << fmt;
        const auto& body = objs[0].body;
        if (fmt == "json_array") {
            EXPECT_TRUE(objs[0].key.ends_with("p1_000010-000029.json"));
            rapidjson::Document d;
            d.Parse(body.data(), body.size());
            ASSERT_FALSE(d.HasParseError());
            ASSERT_EQ(d.Size(), 20u);
            for (rapidjson::SizeType i = 0; i < d.Size(); ++i) {
                EXPECT_EQ(d[i]["offset"].GetUint64(), 10 + i);
                EXPECT_EQ(d[i]["payload"]["n"].GetUint64(), 10 + i);
            }
        } else if (fmt == "raw") {
            EXPECT_TRUE(objs[0].key.ends_with(".bin"));
            std::string expect;
            for (const auto& m : b.messages) {
                expect += m.payload;
                expect += '\n';
            }
            EXPECT_EQ(body, expect);
        } else {
            EXPECT_TRUE(objs[0].key.ends_with(".csv"));
            s3_detail::record_framer f(s3_detail::record_format::csv, "\n", 1 << 20);
            f.reset(true);
            std::string_view rest = body;
            std::vector<std::vector<std::string>> rows;
            for (;;) {
                auto st = f.next(rest, true);
                if (st.what == s3_detail::record_framer::kind::end)
                    break;
                if (st.what == s3_detail::record_framer::kind::record)
                    rows.push_back(
                        s3_detail::split_csv_row(rest.substr(st.begin, st.end - st.begin)));
                rest.remove_prefix(st.consumed);
            }
            ASSERT_EQ(rows.size(), 21u);
            EXPECT_EQ(rows[0].front(), "offset");
            for (std::size_t i = 1; i < rows.size(); ++i) {
                EXPECT_EQ(rows[i][0], std::to_string(10 + i - 1));
                EXPECT_EQ(rows[i].back(), std::string(b.messages[i - 1].payload));
            }
        }
    }
}

TEST_F(s3_sink_test, given_a_crash_after_upload_should_replay_into_no_second_object) {
    const std::string opts =
        "file_rotation = \"messages\"\nmax_messages_per_file = 100\n"
        "path_template = \"{stream}/{partition}\"\n";
    {
        auto s = open_sink(opts);
        auto b = batch(0, 250);
        ASSERT_TRUE(s->write(view(b)));
        // The same batch again (the runtime retrying after a failed commit): nothing new.
        ASSERT_TRUE(s->write(view(b)));
    }
    // A new process after kill -9: the replay starts at the last committed offset (here 0, no
    // commit happened) and the batch is longer this time.
    auto s = open_sink(opts);
    auto b = batch(0, 420);
    ASSERT_TRUE(s->write(view(b)));
    auto objs = objects();
    std::set<std::string> keys;
    for (const auto& o : objs)
        keys.insert(o.key.substr(o.key.rfind('/') + 1));
    EXPECT_EQ(keys, (std::set<std::string>{"000000-000099.jsonl", "000100-000199.jsonl",
                                           "000200-000249.jsonl", "000250-000349.jsonl",
                                           "000350-000419.jsonl"}));
    auto seen = offsets_in_lines(objs);
    ASSERT_EQ(seen.size(), 420u);
    for (const auto& [off, n] : seen)
        EXPECT_EQ(n, 1) << off;
}

TEST_F(s3_sink_test, given_objects_of_an_earlier_topic_should_refuse_to_skip_new_messages) {
    const std::string opts = "path_template = \"{stream}\"\n";
    {
        auto s = open_sink(opts);
        auto b = batch(0, 100);
        ASSERT_TRUE(s->write(view(b)));
    }
    {
        s3_detail::s3_settings st;
        st.bucket = bucket_;
        st.endpoint = test::minio_endpoint(*g_env->peer);
        st.path_style = true;
        st.credentials = {minio_user, minio_password, "", "t"};
        auto store = s3_detail::make_s3_store(st);
        auto o = objects();
        ASSERT_EQ(o.size(), 1u);
        auto tag = store->tag_of(o[0].key);
        ASSERT_TRUE(tag) << tag.error().to_string();
        EXPECT_EQ(*tag, fmt::format("0/{}", k_t0)) << o[0].key;
    }
    // The topic was deleted and created again: offsets start at 0 with other messages. Taking
    // the old object for theirs would lose them; the sink stops with the reason instead.
    auto s = open_sink(opts);
    auto b = batch(0, 100, 0, 3'600'000'000ull);
    auto r = s->write(view(b));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code(), errc::failed_precondition);
    EXPECT_FALSE(r.error().retryable());
    EXPECT_NE(r.error().message().find("created again"), std::string::npos);
    // The same messages as before are a replay, not a conflict.
    auto s2 = open_sink(opts);
    auto same = batch(0, 150);
    ASSERT_TRUE(s2->write(view(same)));
    EXPECT_EQ(offsets_in_lines(objects()).size(), 150u);
}

TEST_F(s3_sink_test, given_an_object_over_the_part_size_should_upload_it_in_parts) {
    auto s =
        open_sink("part_size = \"5MiB\"\nmax_file_size = \"64MiB\"\npath_template = \"big\"\n");
    auto b = batch(0, 12, 512 * 1024);  // ~6 MiB in one object
    ASSERT_TRUE(s->write(view(b)));
    auto store_objs = objects("big/");
    ASSERT_EQ(store_objs.size(), 1u);
    EXPECT_GT(store_objs[0].body.size(), 5u << 20);
    auto seen = offsets_in_lines(store_objs);
    EXPECT_EQ(seen.size(), 12u);
    // A multipart object's ETag ends in -<parts>.
    auto st = s3_detail::s3_settings{};
    st.bucket = bucket_;
    st.endpoint = test::minio_endpoint(*g_env->peer);
    st.path_style = true;
    st.credentials = {minio_user, minio_password, "", "t"};
    auto page = s3_detail::make_s3_store(st)->list("big/", {}, {}, 10);
    ASSERT_TRUE(page);
    ASSERT_EQ(page->objects.size(), 1u);
    EXPECT_NE(page->objects[0].etag.find("-2"), std::string::npos) << page->objects[0].etag;
}

TEST_F(s3_sink_test, given_payload_and_partition_fields_should_split_objects_by_path) {
    auto s = open_sink("path_template = \"dev={payload.device}/p{partition}/{date}\"\n");
    auto b = batch(0, 9);
    ASSERT_TRUE(s->write(view(b)));
    auto objs = objects();
    std::set<std::string> keys;
    for (const auto& o : objs)
        keys.insert(o.key);
    // A change of the rendered path ends an object: d0,d1,d2,d0,... gives one per message, and
    // the file name has no partition prefix because the path carries it.
    EXPECT_EQ(keys.size(), 9u);
    EXPECT_TRUE(keys.count("dev=d0/p1/2026-03-16/000000-000000.jsonl"));
    EXPECT_TRUE(keys.count("dev=d2/p1/2026-03-16/000008-000008.jsonl"));
}

TEST_F(s3_sink_test, given_minio_down_should_fail_retryable_then_catch_up) {
    auto s = open_sink("max_retries = 0\npath_template = \"r\"\n");
    auto b1 = batch(0, 50);
    ASSERT_TRUE(s->write(view(b1)));
    ASSERT_TRUE(g_env->peer->stop());
    auto b2 = batch(50, 50);
    auto r = s->write(view(b2));
    ASSERT_FALSE(r);
    EXPECT_TRUE(r.error().retryable()) << r.error().to_string();
    ASSERT_TRUE(g_env->peer->restart());
    // The runtime retries the batch until it goes through.
    bool written = test::wait_until([&] { return static_cast<bool>(s->write(view(b2))); }, 60s);
    ASSERT_TRUE(written);
    auto seen = offsets_in_lines(objects("r/"));
    EXPECT_EQ(seen.size(), 100u);
}

TEST_F(s3_sink_test, given_a_batch_across_an_hour_should_cut_where_the_message_hour_changes) {
    auto s = open_sink("path_template = \"{date}/{hour}\"\n");
    // Offsets 0..4 at 14:59:59.99x, 5..9 at 15:00:00.00x (message time, not the wall clock).
    auto b = batch(0, 10, 0, 3'600'000'000ull - 5000);
    ASSERT_TRUE(s->write(view(b)));
    std::set<std::string> keys;
    for (const auto& o : objects())
        keys.insert(o.key);
    EXPECT_EQ(keys, (std::set<std::string>{"2026-03-16/14/p1_000000-000004.jsonl",
                                           "2026-03-16/15/p1_000005-000009.jsonl"}));
}

TEST_F(s3_sink_test, given_time_rotation_should_cut_by_message_time_age) {
    // Messages 1 ms apart (batch()); max_file_age 4 ms: objects start at offsets 0, 4, 8.
    auto s = open_sink("path_template = \"t\"\nfile_rotation = \"time\"\nmax_file_age = \"4ms\"\n");
    auto b = batch(0, 10);
    ASSERT_TRUE(s->write(view(b)));
    std::set<std::string> keys;
    for (const auto& o : objects())
        keys.insert(o.key);
    EXPECT_EQ(keys, (std::set<std::string>{"t/p1_000000-000003.jsonl", "t/p1_000004-000007.jsonl",
                                           "t/p1_000008-000009.jsonl"}));
}

TEST_F(s3_sink_test, given_keys_only_in_a_shared_credentials_file_should_use_its_profile) {
    test::temp_dir dir("trib-s3-creds");
    const auto file = dir.path() / "credentials";
    std::ofstream(file) << "[default]\naws_access_key_id = nobody\naws_secret_access_key = x\n\n"
                        << "[minio]\naws_access_key_id = " << minio_user
                        << "\naws_secret_access_key = " << minio_password << "\n";
    ::unsetenv("AWS_ACCESS_KEY_ID");
    ::unsetenv("AWS_SECRET_ACCESS_KEY");
    ::setenv("AWS_SHARED_CREDENTIALS_FILE", file.c_str(), 1);
    auto v =
        test::spec_values(s3_sink_spec(), "bucket = \"" + bucket_ + "\"\nendpoint = \"" +
                                              test::minio_endpoint(*g_env->peer) +
                                              "\"\nprofile = \"minio\"\npath_template = \"f\"\n");
    auto s = make_s3_sink(v);
    ASSERT_TRUE(s);
    auto st = (*s)->open(ctx_);
    ::unsetenv("AWS_SHARED_CREDENTIALS_FILE");
    ASSERT_TRUE(st) << st.error().to_string();
    auto b = batch(0, 3);
    ASSERT_TRUE((*s)->write(view(b)));
    EXPECT_EQ(offsets_in_lines(objects("f/")).size(), 3u);
}

TEST_F(s3_sink_test, given_wrong_credentials_or_bucket_should_fail_fatal_and_say_why) {
    auto v =
        test::spec_values(s3_sink_spec(), "bucket = \"" + bucket_ + "\"\nendpoint = \"" +
                                              test::minio_endpoint(*g_env->peer) +
                                              "\"\naccess_key_id = \"nobody\"\nsecret_access_key = "
                                              "\"wrong-secret-123\"\n");
    auto s = make_s3_sink(v);
    ASSERT_TRUE(s);
    auto st = (*s)->open(ctx_);
    ASSERT_FALSE(st);
    EXPECT_FALSE(st.error().retryable());
    EXPECT_EQ(st.error().message().find("wrong-secret-123"), std::string::npos);
    auto v2 = test::spec_values(
        s3_sink_spec(), "bucket = \"no-such-bucket\"\nendpoint = \"" +
                            test::minio_endpoint(*g_env->peer) + "\"\naccess_key_id = \"" +
                            minio_user + "\"\nsecret_access_key = \"" + minio_password + "\"\n");
    auto s2 = make_s3_sink(v2);
    ASSERT_TRUE(s2);
    auto st2 = (*s2)->open(ctx_);
    ASSERT_FALSE(st2);
    EXPECT_EQ(st2.error().code(), errc::not_found) << st2.error().to_string();
    EXPECT_NE(st2.error().message().find("no-such-bucket"), std::string::npos);
}

TEST_F(s3_sink_test, given_sse_and_virtual_host_addressing_should_store_encrypted_objects) {
    // Virtual-host style: <bucket>.localhost:<port> (libcurl resolves *.localhost to loopback,
    // MinIO maps the host to the bucket with MINIO_DOMAIN).
    const std::string toml =
        "bucket = \"" + bucket_ +
        "\"\nendpoint = \"http://localhost:" + std::to_string(g_env->peer->port()) +
        "\"\npath_style = false\naccess_key_id = \"" + minio_user + "\"\nsecret_access_key = \"" +
        minio_password + "\"\nserver_side_encryption = \"AES256\"\npath_template = \"enc\"\n";
    auto v = test::spec_values(s3_sink_spec(), toml);
    auto s = make_s3_sink(v);
    ASSERT_TRUE(s);
    auto st = (*s)->open(ctx_);
    ASSERT_TRUE(st) << st.error().to_string();
    auto b = batch(0, 5);
    auto w = (*s)->write(view(b));
    ASSERT_TRUE(w) << w.error().to_string();
    auto objs = objects("enc/");
    ASSERT_EQ(objs.size(), 1u);
    EXPECT_EQ(offsets_in_lines(objs).size(), 5u);
    // The stored object says it is encrypted.
    net::client_options o;
    net::aws_sigv4_options sig;
    sig.region = "us-east-1";
    sig.service = "s3";
    sig.access_key_id = minio_user;
    sig.secret_access_key = minio_password;
    o.aws_sigv4 = sig;
    net::http_client c(o);
    net::http_request req;
    req.method = "HEAD";
    req.url = test::minio_endpoint(*g_env->peer) + "/" + bucket_ + "/" + objs[0].key;
    auto r = c.perform(req);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->header("x-amz-server-side-encryption"), "AES256");
}

TEST(s3_sink_spec_test, given_bad_options_should_report_each_with_its_key) {
    const std::string p = test::spec_problems(
        s3_sink_spec(),
        "bucket = \"b\"\nfile_rotation = \"messages\"\noutput_format = \"xml\"\n"
        "path_template = \"{nope}\"\naccess_key_id = \"a\"\n");
    EXPECT_NE(p.find("max_messages_per_file"), std::string::npos) << p;
    EXPECT_NE(p.find("output_format"), std::string::npos) << p;
    EXPECT_NE(p.find("path_template"), std::string::npos) << p;
    EXPECT_NE(p.find("access_key_id"), std::string::npos) << p;
}

}  // namespace
}  // namespace trib::connectors
