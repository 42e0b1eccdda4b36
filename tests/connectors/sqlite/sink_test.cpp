// The SQLite sink against real database files: append and mapped modes, replays, upserts, rows
// the database refuses, hostile payloads, a locked database and open-time errors. The checks read
// the file through a second connection, as another program on the edge node would.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

#include "connectors/sqlite/sqlite.h"
#include "core/metrics.h"
#include "harness/hostile_json.h"
#include "harness/peer.h"
#include "spec_values.h"

namespace trib::connectors {
namespace {

namespace fs = std::filesystem;

/// A second connection to the database file, for setting up tables and reading results.
class db_reader {
  public:
    explicit db_reader(const fs::path& p) {
        EXPECT_EQ(sqlite3_open(p.c_str(), &db_), SQLITE_OK);
        sqlite3_busy_timeout(db_, 10000);
    }
    ~db_reader() { sqlite3_close_v2(db_); }
    void exec(const std::string& sql) {
        char* err = nullptr;
        ASSERT_EQ(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
            << sql << ": " << (err != nullptr ? err : "");
        sqlite3_free(err);
    }
    /// The first column of the first row as text ("" for no row or NULL).
    std::string value(const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr), SQLITE_OK)
            << sql << ": " << sqlite3_errmsg(db_);
        std::string v;
        if (st != nullptr && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            v = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return v;
    }
    long number(const std::string& sql) { return std::atol(value(sql).c_str()); }
    sqlite3* raw() { return db_; }

  private:
    sqlite3* db_ = nullptr;
};

class sqlite_sink_test : public ::testing::Test {
  protected:
    fs::path db_path() const { return dir_.path() / "sub" / "edge.db"; }

    std::unique_ptr<sink> make(const std::string& extra) {
        const std::string toml =
            "path = \"" + db_path().string() + "\"\ntarget_table = \"t\"\n" + extra;
        auto s = make_sqlite_sink(test::spec_values(sqlite_sink_spec(), toml));
        EXPECT_TRUE(s);
        return s ? std::move(*s) : nullptr;
    }
    std::unique_ptr<sink> open(const std::string& extra) {
        auto s = make(extra);
        if (!s)
            return nullptr;
        ctx_.key = "edge";
        ctx_.metrics = &metrics_;
        auto st = s->open(ctx_);
        EXPECT_TRUE(st) << (st ? "" : st.error().message());
        return st ? std::move(s) : nullptr;
    }
    static message_batch batch(const std::vector<std::string>& payloads,
                               std::uint64_t first_offset = 0) {
        message_batch b;
        for (std::size_t i = 0; i < payloads.size(); ++i) {
            message m;
            m.payload = b.own(payloads[i]);
            m.offset = first_offset + i;
            m.id = {first_offset + i + 1, 0xabc};
            m.timestamp_us = 1700000000000000ULL + first_offset + i;
            b.messages.push_back(std::move(m));
        }
        return b;
    }
    static sink_batch view(const message_batch& b) {
        return sink_batch{"sensors", "readings", 3, "json", &b};
    }
    double settled(const std::string& outcome) {
        return static_cast<double>(metrics_
                                       .counter("trib_sqlite_sink_rows_total", "",
                                                {{"connector", "edge"}, {"outcome", outcome}})
                                       .value());
    }

    test::temp_dir dir_{"sqlite-sink"};
    connector_context ctx_;
    metrics_registry metrics_;
};

TEST_F(sqlite_sink_test, append_writes_each_message_once_even_when_the_batch_is_replayed) {
    auto s = open("auto_create_table = true\npayload_format = \"json\"\ninclude_headers = true");
    ASSERT_TRUE(s);
    std::vector<std::string> p;
    for (int i = 0; i < 500; ++i)
        p.push_back("{\"n\":" + std::to_string(i) + "}");
    auto b = batch(p, 100);
    b.messages[7].headers.push_back(header{"k", value_kind::string, "v"});
    auto w = s->write(view(b));
    ASSERT_TRUE(w) << w.error().message();
    EXPECT_TRUE(w->rejected.empty());
    // The crash case: the same batch again (offsets not committed).
    w = s->write(view(b));
    ASSERT_TRUE(w) << w.error().message();
    EXPECT_TRUE(s->idempotent());
    s->close();

    db_reader r(db_path());
    EXPECT_EQ(r.number("SELECT count(*) FROM t"), 500);
    EXPECT_EQ(r.number("SELECT count(DISTINCT payload) FROM t"), 500);
    EXPECT_EQ(r.value("SELECT payload FROM t WHERE iggy_offset = 142"), "{\"n\":42}");
    EXPECT_EQ(r.value("SELECT id FROM t WHERE iggy_offset = 100"),
              "50691652714553847840869");  // 0xabc * 2^64 + 101
    EXPECT_EQ(r.value("SELECT iggy_stream || '/' || iggy_topic || '/' || iggy_partition_id "
                      "FROM t LIMIT 1"),
              "sensors/readings/3");
    EXPECT_EQ(r.value("SELECT iggy_headers FROM t WHERE iggy_offset = 107"), "{\"k\":\"v\"}");
    EXPECT_EQ(r.value("SELECT iggy_headers IS NULL FROM t WHERE iggy_offset = 108"), "1");
    EXPECT_EQ(r.value("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(settled("delivered"), 500);
    EXPECT_EQ(settled("skipped_duplicate"), 500);
}

TEST_F(sqlite_sink_test, append_json_rejects_what_is_not_json_and_commits_the_rest) {
    auto s = open("auto_create_table = true\npayload_format = \"json\"");
    ASSERT_TRUE(s);
    auto b = batch({"{\"a\":1}", "not json", "[2]", "{\"a\":", "3"});
    auto w = s->write(view(b));
    ASSERT_TRUE(w) << w.error().message();
    ASSERT_EQ(w->rejected.size(), 2u);
    EXPECT_EQ(w->rejected[0].index, 1u);
    EXPECT_EQ(w->rejected[1].index, 3u);
    EXPECT_EQ(w->rejected[0].err.retry(), retry_class::fatal);
    s->close();
    db_reader r(db_path());
    EXPECT_EQ(r.number("SELECT count(*) FROM t"), 3);
}

TEST_F(sqlite_sink_test, append_blob_keeps_bytes_as_they_are) {
    auto s = open("auto_create_table = true");
    ASSERT_TRUE(s);
    const std::string bytes("\x00\xff\x01", 3);
    auto b = batch({bytes, ""});
    ASSERT_TRUE(s->write(view(b)));
    s->close();
    db_reader r(db_path());
    EXPECT_EQ(r.value("SELECT hex(payload) FROM t WHERE iggy_offset = 0"), "00FF01");
    EXPECT_EQ(r.value("SELECT typeof(payload) || length(payload) FROM t WHERE iggy_offset = 1"),
              "blob0");
}

TEST_F(sqlite_sink_test, a_missing_table_fails_open_naming_it) {
    auto s = make("");
    ASSERT_TRUE(s);
    auto st = s->open(ctx_);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().retry(), retry_class::fatal);
    EXPECT_NE(st.error().message().find("table t does not exist"), std::string::npos);
    EXPECT_NE(st.error().message().find("auto_create_table"), std::string::npos);
}

TEST_F(sqlite_sink_test, an_append_table_without_a_needed_column_fails_open) {
    fs::create_directories(db_path().parent_path());
    {
        db_reader r(db_path());
        r.exec("CREATE TABLE t (id TEXT PRIMARY KEY, payload BLOB)");
    }
    auto s = make("");
    auto st = s->open(ctx_);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("no column iggy_offset"), std::string::npos)
        << st.error().message();
    // Without the metadata the same table fits.
    s = open("include_metadata = false\ninclude_origin_timestamp = false");
    ASSERT_TRUE(s);
}

class sqlite_mapped_test : public sqlite_sink_test {
  protected:
    void SetUp() override {
        fs::create_directories(db_path().parent_path());
        db_reader r(db_path());
        r.exec(
            "CREATE TABLE t (dev TEXT NOT NULL, seq INTEGER, temp REAL CHECK (temp < 1000), "
            "flag INTEGER, tags TEXT, mid TEXT UNIQUE, PRIMARY KEY (dev, seq))");
    }
};

TEST_F(sqlite_mapped_test, maps_fields_to_columns_with_their_types) {
    auto s = open("mode = \"mapped\"");
    ASSERT_TRUE(s);
    auto b = batch({R"({"dev":"a","seq":1,"temp":21.5,"flag":false,"tags":["x"],"other":1})"});
    auto w = s->write(view(b));
    ASSERT_TRUE(w) << w.error().message();
    EXPECT_TRUE(w->rejected.empty());
    EXPECT_FALSE(s->idempotent());
    s->close();
    db_reader r(db_path());
    EXPECT_EQ(r.value("SELECT typeof(dev) || typeof(seq) || typeof(temp) || typeof(flag) || "
                      "typeof(tags) FROM t"),
              "textintegerrealintegertext");
    EXPECT_EQ(r.value("SELECT tags FROM t"), "[\"x\"]");
    EXPECT_EQ(r.value("SELECT flag FROM t"), "0");
}

TEST_F(sqlite_mapped_test, rows_the_database_refuses_go_to_the_error_policy) {
    auto s = open("mode = \"mapped\"");
    ASSERT_TRUE(s);
    auto b = batch({
        R"({"dev":"a","seq":1,"temp":1})",
        R"({"seq":2,"temp":1})",               // NOT NULL dev
        R"({"dev":"a","seq":3,"temp":5000})",  // CHECK
        R"({"dev":"a","seq":1,"temp":2})",     // primary key taken
        R"({"nothing":1})",                    // no column
        R"({"dev":"b","seq":1})",
    });
    auto w = s->write(view(b));
    ASSERT_TRUE(w) << w.error().message();
    std::vector<std::size_t> idx;
    for (const auto& e : w->rejected) {
        idx.push_back(e.index);
        EXPECT_EQ(e.err.retry(), retry_class::fatal);
        EXPECT_EQ(e.err.code(), errc::invalid_argument);
    }
    EXPECT_EQ(idx, (std::vector<std::size_t>{1, 2, 3, 4}));
    EXPECT_NE(w->rejected[0].err.message().find("NOT NULL"), std::string::npos)
        << w->rejected[0].err.message();
    s->close();
    db_reader r(db_path());
    EXPECT_EQ(r.number("SELECT count(*) FROM t"), 2);
    EXPECT_EQ(r.value("SELECT temp FROM t WHERE dev = 'a'"), "1.0");
}

TEST_F(sqlite_mapped_test, key_upsert_updates_the_row_with_the_same_key) {
    auto s = open("mode = \"mapped\"\nupsert = \"key\"");
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->idempotent());
    auto b = batch({R"({"dev":"a","seq":1,"temp":1})", R"({"dev":"a","seq":1,"temp":2})",
                    R"({"dev":"a","seq":2,"temp":3})"});
    ASSERT_TRUE(s->write(view(b)));
    ASSERT_TRUE(s->write(view(b)));
    s->close();
    db_reader r(db_path());
    EXPECT_EQ(r.number("SELECT count(*) FROM t"), 2);
    EXPECT_EQ(r.value("SELECT temp FROM t WHERE seq = 1"), "2.0");
}

TEST_F(sqlite_mapped_test, message_id_upsert_skips_a_replay_and_keeps_distinct_messages) {
    auto s = open("mode = \"mapped\"\nupsert = \"message_id\"\nmessage_id_column = \"mid\"");
    ASSERT_TRUE(s);
    // Same content, different messages: both kept (their ids differ).
    auto b = batch({R"({"dev":"a","seq":1})", R"({"dev":"a","seq":2})"});
    ASSERT_TRUE(s->write(view(b)));
    auto w = s->write(view(b));
    ASSERT_TRUE(w);
    EXPECT_TRUE(w->rejected.empty());
    s->close();
    db_reader r(db_path());
    EXPECT_EQ(r.number("SELECT count(*) FROM t"), 2);
    EXPECT_EQ(r.value("SELECT mid FROM t WHERE seq = 2"), "50691652714553847840770");
    EXPECT_EQ(settled("skipped_duplicate"), 2);
}

TEST_F(sqlite_mapped_test, field_mapping_reads_nested_fields) {
    auto s = open(
        "mode = \"mapped\"\n[field_mapping]\ndev = \"device.id\"\nseq = \"n\"\ntemp = "
        "\"m.t\"");
    ASSERT_TRUE(s);
    auto b = batch({R"({"device":{"id":"x"},"n":9,"m":{"t":-4.5}})"});
    ASSERT_TRUE(s->write(view(b)));
    s->close();
    db_reader r(db_path());
    EXPECT_EQ(r.value("SELECT dev || ':' || seq || ':' || temp FROM t"), "x:9:-4.5");
}

TEST_F(sqlite_mapped_test, open_names_a_mapped_column_the_table_lacks) {
    auto s = make("mode = \"mapped\"\n[field_mapping]\nnope = \"a\"");
    auto st = s->open(ctx_);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("nope"), std::string::npos);
    s = make("mode = \"mapped\"\nupsert = \"message_id\"");  // no iggy_message_id column
    st = s->open(ctx_);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("iggy_message_id"), std::string::npos);
}

TEST_F(sqlite_mapped_test, hostile_payloads_are_refused_one_by_one) {
    auto s = open("mode = \"mapped\"\nstrict_fields = true");
    ASSERT_TRUE(s);
    std::vector<std::string> p;
    for (const auto& [name, text] : trib::testing::hostile_json_inputs())
        p.push_back(text);
    p.push_back(R"({"dev":"ok","seq":1})");
    auto b = batch(p);
    auto w = s->write(view(b));
    ASSERT_TRUE(w) << w.error().message();
    EXPECT_EQ(w->rejected.size() + 1, p.size());
    s->close();
    db_reader r(db_path());
    EXPECT_EQ(r.value("SELECT dev FROM t"), "ok");
}

TEST_F(sqlite_mapped_test, many_field_combinations_do_not_grow_the_statement_cache_unbounded) {
    {
        db_reader r(db_path());
        r.exec("CREATE TABLE wide (c0, c1, c2, c3, c4, c5, c6, c7, c8, c9)");
    }
    const std::string toml =
        "path = \"" + db_path().string() + "\"\ntarget_table = \"wide\"\nmode = \"mapped\"";
    auto made = make_sqlite_sink(test::spec_values(sqlite_sink_spec(), toml));
    ASSERT_TRUE(made);
    ASSERT_TRUE((*made)->open(ctx_));
    // 600 distinct non-empty subsets of ten columns: more statements than the cache keeps.
    std::vector<std::string> p;
    for (int mask = 1; mask <= 600; ++mask) {
        std::string j = "{";
        for (int c = 0; c < 10; ++c) {
            if ((mask & (1 << c)) != 0)
                j += (j.size() > 1 ? "," : "") + std::string("\"c") + std::to_string(c) +
                     "\":" + std::to_string(mask);
        }
        p.push_back(j + "}");
    }
    auto b = batch(p);
    auto w = (*made)->write(view(b));
    ASSERT_TRUE(w) << w.error().message();
    EXPECT_TRUE(w->rejected.empty());
    (*made)->close();
    db_reader r(db_path());
    EXPECT_EQ(r.number("SELECT count(*) FROM wide"), 600);
    EXPECT_EQ(r.number("SELECT count(*) FROM wide WHERE c0 = 599 AND c9 IS NULL"), 0);
    EXPECT_EQ(r.number("SELECT c1 FROM wide WHERE c0 = 599"), 599);
}

TEST_F(sqlite_sink_test, a_locked_database_makes_the_batch_retry_and_it_lands_after_the_lock) {
    auto s = open("auto_create_table = true\nbusy_timeout = \"50ms\"");
    ASSERT_TRUE(s);
    db_reader other(db_path());
    other.exec("BEGIN IMMEDIATE");
    auto b = batch({"a", "b"});
    auto w = s->write(view(b));
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().retry(), retry_class::fatal);
    EXPECT_EQ(w.error().code(), errc::unavailable) << w.error().message();
    other.exec("COMMIT");
    w = s->write(view(b));
    ASSERT_TRUE(w) << w.error().message();
    s->close();
    EXPECT_EQ(other.number("SELECT count(*) FROM t"), 2);
}

TEST_F(sqlite_sink_test, a_file_that_is_not_a_database_is_a_fatal_error) {
    fs::create_directories(db_path().parent_path());
    {
        std::FILE* f = std::fopen(db_path().c_str(), "wb");
        ASSERT_NE(f, nullptr);
        const std::string junk(4096, 'x');
        std::fwrite(junk.data(), 1, junk.size(), f);
        std::fclose(f);
    }
    auto s = make("auto_create_table = true");
    auto st = s->open(ctx_);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().retry(), retry_class::fatal);
    EXPECT_EQ(st.error().code(), errc::data_loss) << st.error().message();
}

TEST(sqlite_sink_spec, mapped_only_options_in_append_mode_are_refused) {
    const auto s = sqlite_sink_spec();
    const std::string base = "path = \"/tmp/x.db\"\ntarget_table = \"t\"\n";
    EXPECT_NE(test::spec_problems(s, base + "upsert = \"key\"").find("upsert"), std::string::npos);
    EXPECT_NE(test::spec_problems(s, base + "strict_fields = true").find("strict_fields"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(s, base + "mode = \"mapped\"\nauto_create_table = true")
                  .find("auto_create_table"),
              std::string::npos);
    EXPECT_EQ(test::spec_problems(s, base + "mode = \"mapped\"\nupsert = \"key\""), "");
    EXPECT_NE(test::spec_problems(s, "target_table = \"t\"").find("path"), std::string::npos);
}

}  // namespace
}  // namespace trib::connectors
