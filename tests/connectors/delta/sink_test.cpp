// The delta sink against the real readers of Delta tables: the sink writes through its public
// interface into a table in a temp dir, and `deltalake` (delta-rs, PyPI), pyarrow and DuckDB
// read it back (delta_check.py): rows, values, versions, txn application ids. Replays after a
// restart, another writer committing in between (write_deltalake from Python), a checkpoint
// written by delta-rs, hostile options.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "connectors/delta/delta.h"
#include "connectors/delta/delta_log.h"
#include "harness/run_command.h"
#include "runtime/spec_values.h"

namespace trib::connectors {
namespace {

namespace fs = std::filesystem;

/// A member of the checker's answer: -1 (and a failure) when it is missing.
std::int64_t num(const rapidjson::Value& d, const char* k) {
    if (!d.IsObject() || !d.HasMember(k) || !d[k].IsInt64()) {
        ADD_FAILURE() << "no integer '" << k << "' in the checker's answer";
        return -1;
    }
    return d[k].GetInt64();
}
std::string type_of(const rapidjson::Value& d, const char* col) {
    if (!d.IsObject() || !d.HasMember("types") || !d["types"].HasMember(col))
        return "?";
    return d["types"][col].GetString();
}

class delta_sink_test : public ::testing::Test {
  protected:
    void SetUp() override {
        python_ = fs::path(TRIB_TEST_SOURCE_DIR) / ".venv" / "bin" / "python";
        script_ = fs::path(TRIB_TEST_SOURCE_DIR) / "tests/connectors/delta/delta_check.py";
        std::string out;
        if (test::run_command(python_.string() + " -c 'import deltalake, pyarrow, duckdb'", out) !=
            0) {
            if (std::getenv("CI") != nullptr)
                FAIL() << "deltalake/pyarrow/duckdb missing in .venv (CI=true): " << out;
            GTEST_SKIP() << "deltalake/pyarrow/duckdb missing in .venv: " << out;
        }
        dir_ = fs::temp_directory_path() /
               fmt::format("trib-delta-{}-{}", ::getpid(),
                           ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        table_ = dir_ / "table";
    }
    void TearDown() override {
        if (!dir_.empty() && !HasFailure())
            fs::remove_all(dir_);
    }

    /// delta_check.py's JSON answer.
    rapidjson::Document check(const std::string& args) {
        std::string out;
        const int rc =
            test::run_command(python_.string() + " " + script_.string() + " " + args, out);
        rapidjson::Document d;
        EXPECT_EQ(rc, 0) << out;
        const auto start = out.find_last_of('\n', out.size() >= 2 ? out.size() - 2 : 0);
        d.Parse(out.c_str() + (start == std::string::npos ? 0 : start + 1));
        EXPECT_FALSE(d.HasParseError()) << out;
        if (d.HasParseError())
            d.SetObject();
        return d;
    }

    std::unique_ptr<sink> open_sink(const std::string& options, const std::string& key = "delta") {
        auto v = test::spec_values(delta_sink_spec(), options);
        auto s = make_delta_sink(v);
        EXPECT_TRUE(s) << (s ? "" : s.error().message());
        if (!s)
            return nullptr;
        ctx_.key = key;
        auto st = (*s)->open(ctx_);
        EXPECT_TRUE(st) << (st ? "" : st.error().message());
        return std::move(*s);
    }

    /// Messages at offsets [from, to) with payload {"id": offset, "name": "n<offset>", ...extra}.
    message_batch batch(std::uint64_t from, std::uint64_t to, const std::string& extra = "") {
        message_batch b;
        for (auto o = from; o < to; ++o) {
            message m;
            m.offset = o;
            m.payload = b.own(fmt::format(R"({{"id":{},"name":"n{}"{}}})", o, o, extra));
            b.messages.push_back(std::move(m));
        }
        return b;
    }

    result<write_outcome> write(sink& s, const message_batch& b) {
        return s.write(sink_batch{"st", "tp", 1, "json", &b});
    }

    std::string uri() const { return "file://" + table_.string(); }

    fs::path python_, script_, dir_, table_;
    connector_context ctx_;
};

TEST_F(delta_sink_test, given_iggy_config_should_create_the_table_and_deltalake_should_read_it) {
    // Iggy's example plugin_config, with the table in the temp dir.
    auto s = open_sink(fmt::format(R"(table_uri = "{}"
schema = ["id long", "name string", "count integer", "amount double", "active boolean",
          "created_at timestamp"])",
                                   uri()));
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->idempotent());
    message_batch b;
    auto add = [&](std::uint64_t off, std::string payload) {
        message m;
        m.offset = off;
        m.payload = b.own(std::move(payload));
        b.messages.push_back(std::move(m));
    };
    add(10,
        R"({"id":1,"name":"a","count":3,"amount":1.5,"active":true,"created_at":"2021-11-11T22:11:58Z"})");
    add(11, R"({"id":2,"name":{"nested":[1,2]},"count":-7,"amount":2,"extra":"ignored"})");
    add(12, R"([1,2,3])");                                 // not an object: error policy
    add(13, R"({"id":4,"count":3000000000})");             // does not fit integer: error policy
    add(14, R"({"id":"five"})");                           // text in a long column: error policy
    add(15, R"(not json)");                                // error policy
    add(16, R"({"id":7,"created_at":1636668718000001})");  // an integer: microseconds
    auto w = write(*s, b);
    ASSERT_TRUE(w) << w.error().message();
    ASSERT_EQ(w->rejected.size(), 4u);
    EXPECT_EQ(w->rejected[0].index, 2u);
    EXPECT_EQ(w->rejected[1].index, 3u);
    EXPECT_NE(w->rejected[1].err.message().find("count"), std::string::npos)
        << w->rejected[1].err.message();
    EXPECT_EQ(w->rejected[2].index, 4u);
    EXPECT_EQ(w->rejected[3].index, 5u);
    s->close();

    auto sum = check("summary " + table_.string() + " id");
    EXPECT_EQ(num(sum, "version"), 1);  // 0: created at open, 1: the batch
    EXPECT_EQ(num(sum, "rows"), 3);
    EXPECT_EQ(num(sum, "pyarrow_rows"), 3);
    EXPECT_EQ(num(sum, "duckdb_rows"), 3);
    EXPECT_EQ(type_of(sum, "count"), "int32");
    EXPECT_EQ(type_of(sum, "amount"), "double");
    auto rows = check("rows " + table_.string());
    ASSERT_TRUE(rows.IsArray());
    ASSERT_EQ(rows.Size(), 3u);
    std::map<std::int64_t, const rapidjson::Value*> by_id;
    for (auto& r : rows.GetArray())
        by_id[r["id"].GetInt64()] = &r;
    ASSERT_EQ(by_id.size(), 3u);
    ASSERT_TRUE(by_id.count(1) && by_id.count(2) && by_id.count(7));
    EXPECT_EQ(std::string((*by_id[1])["name"].GetString()), "a");
    EXPECT_EQ((*by_id[1])["count"].GetInt(), 3);
    EXPECT_TRUE((*by_id[1])["active"].GetBool());
    EXPECT_EQ(std::string((*by_id[1])["created_at"].GetString()).substr(0, 19),
              "2021-11-11 22:11:58");
    EXPECT_EQ(std::string((*by_id[2])["name"].GetString()), R"({"nested":[1,2]})");
    EXPECT_DOUBLE_EQ((*by_id[2])["amount"].GetDouble(), 2.0);
    EXPECT_TRUE((*by_id[7])["name"].IsNull());
    EXPECT_EQ(std::string((*by_id[7])["created_at"].GetString()),
              "2021-11-11 22:11:58.000001+00:00");
    auto txn = check("txn " + table_.string() + " " + delta::app_id("delta", "st", "tp", 1));
    EXPECT_EQ(num(txn, "version"), 16);
}

TEST_F(delta_sink_test, given_a_replay_after_a_restart_should_add_each_row_once) {
    const auto opts = fmt::format("table_uri = \"{}\"", table_.string());
    {
        auto s = open_sink(opts);
        ASSERT_TRUE(s);
        auto w = write(*s, batch(0, 10));
        ASSERT_TRUE(w) << w.error().message();
    }
    {
        // The runtime died before committing the offsets: the next instance gets an
        // overlapping batch.
        auto s = open_sink(opts);
        ASSERT_TRUE(s);
        auto w = write(*s, batch(5, 15));
        ASSERT_TRUE(w) << w.error().message();
        EXPECT_TRUE(w->rejected.empty());
        auto again = write(*s, batch(0, 15));  // all of it a replay: no commit
        ASSERT_TRUE(again);
    }
    auto sum = check("summary " + table_.string() + " id");
    EXPECT_EQ(num(sum, "rows"), 15);
    EXPECT_EQ(num(sum, "distinct"), 15);
    EXPECT_EQ(num(sum, "min"), 0);
    EXPECT_EQ(num(sum, "max"), 14);
    EXPECT_EQ(num(sum, "version"), 1);  // inferred schema: created with the first batch
    EXPECT_EQ(num(sum, "files"), 2);
    EXPECT_EQ(type_of(sum, "id"), "int64");
    // Another connector key is another application id: its offsets are its own.
    auto other = open_sink(opts, "other");
    ASSERT_TRUE(other);
    ASSERT_TRUE(write(*other, batch(0, 3)));
    EXPECT_EQ(num(check("summary " + table_.string() + " id"), "rows"), 18);
}

TEST_F(delta_sink_test, given_another_writer_took_the_version_should_commit_at_the_next_one) {
    const auto opts =
        fmt::format("table_uri = \"{}\"\nschema = [\"id long\", \"name string\"]", uri());
    auto s = open_sink(opts);
    ASSERT_TRUE(s);
    ASSERT_TRUE(write(*s, batch(0, 100)));  // version 1
    // write_deltalake appends (version 2) while the sink still believes the table is at 1.
    auto py = check("append " + table_.string() + " 50 1000000");
    ASSERT_EQ(num(py, "version"), 2);
    auto w = write(*s, batch(100, 200));
    ASSERT_TRUE(w) << w.error().message();
    // Our commit went to version 3, after a conflict on 2 (whose commit is Python's).
    std::ifstream v2(table_ / "_delta_log" / delta::log_file_name(2));
    std::stringstream t2;
    t2 << v2.rdbuf();
    EXPECT_EQ(t2.str().find("tributary-"), std::string::npos);
    std::ifstream v3(table_ / "_delta_log" / delta::log_file_name(3));
    std::stringstream t3;
    t3 << v3.rdbuf();
    EXPECT_NE(t3.str().find(delta::app_id("delta", "st", "tp", 1)), std::string::npos) << t3.str();
    EXPECT_NE(t3.str().find("\"modificationTime\":1"), std::string::npos) << t3.str();
    auto sum = check("summary " + table_.string() + " id");
    EXPECT_EQ(num(sum, "version"), 3);
    EXPECT_EQ(num(sum, "rows"), 250);
    EXPECT_EQ(num(sum, "distinct"), 250);
    auto txn = check("txn " + table_.string() + " " + delta::app_id("delta", "st", "tp", 1));
    EXPECT_EQ(num(txn, "version"), 199);
}

TEST_F(delta_sink_test, given_a_checkpoint_by_delta_rs_should_resume_from_it) {
    const auto opts =
        fmt::format("table_uri = \"{}\"\nschema = [\"id long\", \"name string\"]", table_.string());
    {
        auto s = open_sink(opts);
        ASSERT_TRUE(s);
        for (std::uint64_t i = 0; i < 5; ++i)
            ASSERT_TRUE(write(*s, batch(i * 10, i * 10 + 10)));
    }
    auto cp = check("checkpoint " + table_.string());
    ASSERT_EQ(num(cp, "version"), 5);
    ASSERT_FALSE(fs::exists(table_ / "_delta_log" / delta::log_file_name(0)));
    auto s = open_sink(opts);
    ASSERT_TRUE(s);
    // The txn version (49) comes from the checkpoint only: a replay adds nothing.
    ASSERT_TRUE(write(*s, batch(40, 60)));
    auto sum = check("summary " + table_.string() + " id");
    EXPECT_EQ(num(sum, "rows"), 60);
    EXPECT_EQ(num(sum, "distinct"), 60);
    EXPECT_EQ(num(sum, "version"), 6);
}

TEST_F(delta_sink_test, given_a_corrupt_log_should_fail_to_open_with_the_version) {
    fs::create_directories(table_ / "_delta_log");
    std::ofstream(table_ / "_delta_log" / delta::log_file_name(0)) << "{\"protocol\":[1,2]}\n";
    auto v = test::spec_values(delta_sink_spec(), fmt::format("table_uri = \"{}\"", uri()));
    auto s = make_delta_sink(v);
    ASSERT_TRUE(s);
    auto st = (*s)->open(ctx_);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("commit 0 line 1"), std::string::npos)
        << st.error().message();
    (*s)->close();
}

TEST_F(delta_sink_test, given_bad_options_should_name_the_key) {
    const auto spec = delta_sink_spec();
    auto p = test::spec_problems(spec, "table_uri = \"s3://bucket/t\"");
    EXPECT_NE(p.find("table_uri"), std::string::npos) << p;
    p = test::spec_problems(spec, "table_uri = \"/t\"\nschema = [\"id varchar\"]");
    EXPECT_NE(p.find("schema"), std::string::npos) << p;
    EXPECT_NE(p.find("varchar"), std::string::npos) << p;
    p = test::spec_problems(spec,
                            "table_uri = \"/t\"\nstorage_backend_type = \"s3\"\n"
                            "aws_s3_secret_key = \"hunter2\"");
    EXPECT_NE(p.find("storage_backend_type"), std::string::npos) << p;
    EXPECT_EQ(p.find("hunter2"), std::string::npos) << p;
    p = test::spec_problems(spec, "schema = []");
    EXPECT_NE(p.find("table_uri"), std::string::npos) << p;
    EXPECT_EQ(test::spec_problems(spec, "table_uri = \"file:///tmp/x\""), "");
}

}  // namespace
}  // namespace trib::connectors
