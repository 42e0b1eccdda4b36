// The Iceberg sink against Apache Iceberg's REST catalog server (RESTCatalogServer 1.10.1 over
// SQLite, one per test binary), read back with pyiceberg and pyarrow (check.py): rows and values,
// snapshot summaries with the Iggy offsets, replays skipped, a concurrent committer, the catalog
// down for a while, bad messages to the error policy, dynamic routing.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "codecs/parquet.h"
#include "config/spec.h"
#include "connectors/iceberg/iceberg.h"
#include "harness/peer.h"
#include "rest_fixture.h"
#include "runtime/spec_values.h"

namespace trib::connectors {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

using test::parse_kv;
int run(const std::string& cmd, std::string& out) {
    return test::run_command(cmd, out);
}

struct catalog_env : ::testing::Environment {
    void SetUp() override {
        auto lib = test::iceberg_rest_lib(TRIB_TEST_SOURCE_DIR);
        if (lib.empty()) {
            reason = "no .deps/iceberg-rest/lib (scripts/setup_iceberg_rest.sh)";
            return;
        }
        auto p = test::peer::start(test::iceberg_rest_spec(lib));
        if (!p) {
            reason = p.error().message();
            return;
        }
        peer = std::move(*p);
    }
    void TearDown() override { peer.reset(); }
    std::unique_ptr<test::peer> peer;
    std::string reason;
};
// One catalog for the whole binary (GoogleTest owns and tears down the environment).
catalog_env* const g_env =
    static_cast<catalog_env*>(::testing::AddGlobalTestEnvironment(new catalog_env));

class iceberg_sink_test : public ::testing::Test {
  protected:
    void SetUp() override {
        if (!codecs::parquet::available())
            GTEST_SKIP() << "built without Apache Arrow";
        if (!g_env->peer) {
            if (test::in_ci())
                FAIL() << "the Iceberg REST catalog could not start (CI=true): " << g_env->reason;
            GTEST_SKIP() << "Iceberg REST catalog not available: " << g_env->reason;
        }
        python_ = fs::path(TRIB_TEST_SOURCE_DIR) / ".venv" / "bin" / "python";
        std::string out;
        if (run(python_.string() + " -c 'import pyiceberg, pyarrow'", out) != 0) {
            if (test::in_ci())
                FAIL() << "pyiceberg/pyarrow missing in .venv (CI=true): " << out;
            GTEST_SKIP() << "pyiceberg/pyarrow missing in .venv: " << out;
        }
        ASSERT_TRUE(test::wait_until([] { return g_env->peer->alive(); }, 1s));
    }

    std::string uri() const { return test::iceberg_rest_uri(*g_env->peer); }

    std::unique_ptr<sink> make(const std::string& extra) {
        auto spec = iceberg_sink_spec();
        auto v = test::spec_values(spec, "uri = \"" + uri() + "\"\n" + extra);
        auto s = make_iceberg_sink(v);
        EXPECT_TRUE(s) << (s ? "" : s.error().message());
        return s ? std::move(*s) : nullptr;
    }

    /// Rows {"id": first+i, "name": "n<id>", "score": id/2, "ts": RFC 3339} at offsets
    /// first..first+n-1.
    static message_batch rows(std::uint64_t first, std::size_t n, const std::string& extra = "") {
        message_batch b;
        for (std::size_t i = 0; i < n; ++i) {
            const auto id = first + i;
            auto p = "{\"id\":" + std::to_string(id) + ",\"name\":\"n" + std::to_string(id) +
                     "\",\"score\":" + std::to_string(static_cast<double>(id) / 2) +
                     ",\"ts\":\"2026-12-07T10:00:00Z\"" + extra + "}";
            message m;
            m.payload = b.own(p);
            m.offset = id;
            b.messages.push_back(std::move(m));
        }
        return b;
    }

    static sink_batch view(const message_batch& b, std::uint32_t partition = 1) {
        sink_batch sb;
        sb.stream = "orders";
        sb.topic = "created";
        sb.partition = partition;
        sb.schema = "json";
        sb.messages = &b;
        return sb;
    }

    std::map<std::string, std::string> read(const std::string& table) {
        std::string out;
        const int rc = run(
            python_.string() + " " +
                (fs::path(TRIB_TEST_SOURCE_DIR) / "tests/connectors/iceberg/check.py").string() +
                " " + uri() + " " + table + " read",
            out);
        EXPECT_EQ(rc, 0) << out;
        return parse_kv(out);
    }

    void other_writer_appends(const std::string& table, int n, int first) {
        std::string out;
        const int rc = run(
            python_.string() + " " +
                (fs::path(TRIB_TEST_SOURCE_DIR) / "tests/connectors/iceberg/check.py").string() +
                " " + uri() + " " + table + " append " + std::to_string(n) + " " +
                std::to_string(first),
            out);
        ASSERT_EQ(rc, 0) << out;
    }

    fs::path python_;
    connector_context ctx_{.key = "ice"};
};

TEST_F(iceberg_sink_test,
       appends_rows_that_pyiceberg_and_pyarrow_read_with_offsets_in_the_summary) {
    auto s = make("tables = [\"t1.events\"]");
    ASSERT_TRUE(s);
    ASSERT_TRUE(s->open(ctx_));
    auto b1 = rows(0, 100);
    auto w1 = s->write(view(b1));
    ASSERT_TRUE(w1) << w1.error().message();
    EXPECT_TRUE(w1->rejected.empty());
    auto b2 = rows(100, 50);
    ASSERT_TRUE(s->write(view(b2)));
    s->close();

    auto kv = read("t1.events");
    EXPECT_EQ(kv["rows"], "150");
    EXPECT_EQ(kv["distinct_ids"], "150");
    EXPECT_EQ(kv["id_sum"], std::to_string(149 * 150 / 2));
    EXPECT_EQ(kv["name_first"], "n0");
    EXPECT_EQ(kv["snapshots"], "2");
    EXPECT_EQ(kv["current_records"], "150");
    EXPECT_EQ(kv["files"], "2");
    EXPECT_EQ(kv["parquet_rows"], "150");
    EXPECT_EQ(kv["field_ids"], "yes");
    EXPECT_EQ(kv["bounds"], "yes");
    int props = 0;
    for (const auto& [k, v] : kv) {
        if (k.find("tributary.offset.ice/orders/created/1") != std::string::npos) {
            ++props;
            EXPECT_TRUE(v == "99" || v == "149") << k << "=" << v;
        }
    }
    EXPECT_EQ(props, 2);
}

TEST_F(iceberg_sink_test, a_replay_after_a_restart_adds_nothing_twice) {
    {
        auto s = make("tables = [\"t2.events\"]");
        ASSERT_TRUE(s->open(ctx_));
        auto b = rows(0, 40);
        ASSERT_TRUE(s->write(view(b)));
        s->close();
    }
    // A new sink (the runtime restarted before committing the Iggy offsets): the same batch,
    // then one that overlaps it.
    auto s = make("tables = [\"t2.events\"]");
    ASSERT_TRUE(s->open(ctx_));
    auto again = rows(0, 40);
    ASSERT_TRUE(s->write(view(again)));
    auto overlap = rows(20, 40);
    ASSERT_TRUE(s->write(view(overlap)));
    s->close();
    auto kv = read("t2.events");
    EXPECT_EQ(kv["rows"], "60");
    EXPECT_EQ(kv["distinct_ids"], "60");
    EXPECT_EQ(kv["snapshots"], "2");
}

TEST_F(iceberg_sink_test, a_concurrent_committer_makes_the_commit_retry_and_nothing_is_lost) {
    auto s = make(
        "tables = [\"t3.events\"]\nschema = '[{\"name\":\"id\",\"type\":\"long\"},"
        "{\"name\":\"name\",\"type\":\"string\"}]'");
    ASSERT_TRUE(s->open(ctx_));  // creates the table and loads its metadata
    auto b1 = rows(0, 10);
    ASSERT_TRUE(s->write(view(b1)));
    // pyiceberg commits in between: the sink's metadata is now stale, its next commit conflicts
    // (409), is rebuilt on pyiceberg's snapshot and sent again.
    other_writer_appends("t3.events", 5, 1000);
    auto b2 = rows(10, 10);
    auto w = s->write(view(b2));
    ASSERT_TRUE(w) << w.error().message();
    other_writer_appends("t3.events", 5, 2000);
    auto b3 = rows(20, 10);
    ASSERT_TRUE(s->write(view(b3)));
    s->close();
    auto kv = read("t3.events");
    EXPECT_EQ(kv["rows"], "40");
    EXPECT_EQ(kv["distinct_ids"], "40");
    EXPECT_EQ(kv["snapshots"], "5");
    EXPECT_EQ(kv["id_sum"], std::to_string(29 * 30 / 2 + 5 * 1000 + 10 + 5 * 2000 + 10));
}

TEST_F(iceberg_sink_test, the_catalog_down_for_a_while_fails_retryably_then_nothing_is_lost) {
    auto s = make("tables = [\"t4.events\"]\nrequest_timeout = \"5s\"");
    ASSERT_TRUE(s->open(ctx_));
    auto b1 = rows(0, 10);
    ASSERT_TRUE(s->write(view(b1)));
    ASSERT_TRUE(g_env->peer->kill9());
    auto b2 = rows(10, 10);
    auto w = s->write(view(b2));
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().retry(), retry_class::fatal) << w.error().message();
    // The runtime retries the batch; the catalog comes back (same SQLite file and warehouse).
    ASSERT_TRUE(g_env->peer->restart());
    bool done = test::wait_until([&] { return static_cast<bool>(s->write(view(b2))); }, 60s);
    ASSERT_TRUE(done);
    s->close();
    auto kv = read("t4.events");
    EXPECT_EQ(kv["rows"], "20");
    EXPECT_EQ(kv["distinct_ids"], "20");
}

TEST_F(iceberg_sink_test, bad_messages_go_to_the_error_policy_and_the_rest_is_written) {
    auto s = make(
        "tables = [\"t5.events\"]\nschema = '[{\"name\":\"id\",\"type\":\"long\"},"
        "{\"name\":\"name\",\"type\":\"string\"}]'");
    ASSERT_TRUE(s->open(ctx_));
    message_batch b;
    const char* payloads[] = {R"({"id":1,"name":"a"})", "not json", R"([1,2])",
                              R"({"id":"two","name":"b"})", R"({"id":3})"};
    for (std::size_t i = 0; i < 5; ++i) {
        message m;
        m.payload = b.own(payloads[i]);
        m.offset = i;
        b.messages.push_back(std::move(m));
    }
    auto w = s->write(view(b));
    ASSERT_TRUE(w) << w.error().message();
    std::vector<std::size_t> idx;
    for (const auto& r : w->rejected) {
        idx.push_back(r.index);
        EXPECT_EQ(r.err.retry(), retry_class::fatal);
    }
    std::sort(idx.begin(), idx.end());
    EXPECT_EQ(idx, (std::vector<std::size_t>{1, 2, 3}));
    s->close();
    auto kv = read("t5.events");
    EXPECT_EQ(kv["rows"], "2");
    EXPECT_EQ(kv["id_sum"], "4");
}

TEST_F(iceberg_sink_test, dynamic_routing_sends_each_row_to_the_table_its_field_names) {
    auto s = make("dynamic_routing = true\ndynamic_route_field = \"db_table\"");
    ASSERT_TRUE(s->open(ctx_));
    message_batch b;
    for (int i = 0; i < 30; ++i) {
        message m;
        const char* t = i % 3 == 0 ? "r.a" : "r.b";
        m.payload = b.own("{\"id\":" + std::to_string(i) + ",\"db_table\":\"" + t + "\"}");
        m.offset = static_cast<std::uint64_t>(i);
        b.messages.push_back(std::move(m));
    }
    message m;
    m.payload = b.own(R"({"id":99})");
    m.offset = 30;
    b.messages.push_back(std::move(m));
    auto w = s->write(view(b));
    ASSERT_TRUE(w) << w.error().message();
    ASSERT_EQ(w->rejected.size(), 1u);
    EXPECT_EQ(w->rejected[0].index, 30u);
    // A replay of the whole batch adds nothing to either table.
    ASSERT_TRUE(s->write(view(b)));
    s->close();
    EXPECT_EQ(read("r.a")["rows"], "10");
    EXPECT_EQ(read("r.b")["rows"], "20");
}

TEST_F(iceberg_sink_test, a_route_to_a_missing_table_goes_to_the_error_policy) {
    auto s = make(
        "dynamic_routing = true\ndynamic_route_field = \"db_table\"\n"
        "create_tables = false");
    ASSERT_TRUE(s->open(ctx_));
    message_batch b;
    message m;
    m.payload = b.own(R"({"id":1,"db_table":"nowhere.none"})");
    b.messages.push_back(std::move(m));
    auto w = s->write(view(b));
    ASSERT_TRUE(w) << w.error().message();
    ASSERT_EQ(w->rejected.size(), 1u);
    EXPECT_NE(w->rejected[0].err.message().find("nowhere.none"), std::string::npos)
        << w->rejected[0].err.message();
}

TEST_F(iceberg_sink_test, a_table_that_is_not_writable_is_refused_at_open_with_the_reason) {
    auto s = make("tables = [\"t6.missing\"]\ncreate_tables = false");
    auto st = s->open(ctx_);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code(), errc::not_found) << st.error().message();
    EXPECT_NE(st.error().message().find("t6.missing"), std::string::npos);
}

TEST(iceberg_spec, bad_options_are_named) {
    auto spec = iceberg_sink_spec();
    auto p = test::spec_problems(spec, "uri = \"localhost:8181\"\ntables = [\"solo\"]");
    EXPECT_NE(p.find("uri"), std::string::npos) << p;
    EXPECT_NE(p.find("tables"), std::string::npos) << p;
    p = test::spec_problems(spec, "uri = \"http://x\"\ndynamic_routing = true");
    EXPECT_NE(p.find("dynamic_route_field"), std::string::npos) << p;
    p = test::spec_problems(spec,
                            "uri = \"http://x\"\ntables = [\"a.b\"]\ncatalog_type = \"glue\"");
    EXPECT_NE(p.find("catalog_type"), std::string::npos) << p;
    p = test::spec_problems(spec, "uri = \"http://x\"\ntables = [\"a.b\"]\nschema = \"{\"");
    EXPECT_NE(p.find("schema"), std::string::npos) << p;
    EXPECT_EQ(test::spec_problems(spec, "uri = \"http://x\"\ntables = [\"a.b\"]"), "");
}

}  // namespace
}  // namespace trib::connectors
