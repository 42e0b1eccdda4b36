// Parquet and Avro objects against a real MinIO: the sink writes them, the reference readers
// (pyarrow and DuckDB for Parquet, fastavro for Avro; columnar_check.py) read every file back, and
// the source turns them into one message per row again (round trip, resume by row index, corrupt
// and truncated objects to the error policy). Also the Parquet library alone (schema options,
// inference, hostile bytes).

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>

#include <fmt/format.h>

#include "codecs/parquet.h"
#include "connectors/s3/format.h"
#include "connectors/s3/s3.h"
#include "connectors/s3/s3_store.h"
#include "minio_fixture.h"
#include "runtime/spec_values.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test::minio_password;
using test::minio_user;

constexpr std::uint64_t k_t0 = 1'773'669'600'000'000ull;  // 2026-03-16T14:00:00Z

int run(const std::string& cmd, std::string& out) {
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr)
        return -1;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    const int st = ::pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/// key=value lines of the checker's output.
std::map<std::string, std::string> parse_kv(const std::string& out) {
    std::map<std::string, std::string> kv;
    std::size_t at = 0;
    while (at < out.size()) {
        auto nl = out.find('\n', at);
        if (nl == std::string::npos)
            nl = out.size();
        const auto line = out.substr(at, nl - at);
        if (auto eq = line.find('='); eq != std::string::npos)
            kv[line.substr(0, eq)] = line.substr(eq + 1);
        at = nl + 1;
    }
    return kv;
}

struct minio_holder {
    std::unique_ptr<test::peer> peer;
    std::string reason;
};
minio_holder* g_env = nullptr;

class s3_columnar_test : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        g_env = new minio_holder;
        auto p = test::peer::start(test::minio_spec());
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
        if (!codecs::parquet::available())
            GTEST_SKIP() << "built without Apache Arrow";
        if (!g_env->peer) {
            if (test::in_ci())
                FAIL() << "MinIO could not start (CI=true): " << g_env->reason;
            GTEST_SKIP() << "MinIO not available: " << g_env->reason;
        }
        python_ = fs::path(TRIB_TEST_SOURCE_DIR) / ".venv" / "bin" / "python";
        std::string out;
        if (run(python_.string() + " -c 'import pyarrow, duckdb, fastavro'", out) != 0) {
            if (test::in_ci())
                FAIL() << "pyarrow/duckdb/fastavro missing in .venv (CI=true): " << out;
            GTEST_SKIP() << "pyarrow/duckdb/fastavro missing in .venv: " << out;
        }
        bucket_ = "col-" + std::to_string(++counter_);
        auto made = test::minio_make_bucket(*g_env->peer, bucket_);
        ASSERT_TRUE(made) << made.error().to_string();
        s3_detail::s3_settings st;
        st.bucket = bucket_;
        st.endpoint = test::minio_endpoint(*g_env->peer);
        st.path_style = true;
        st.credentials = {minio_user, minio_password, "", "t"};
        store_ = s3_detail::make_s3_store(st);
        dir_ = fs::temp_directory_path() / fmt::format("trib-columnar-{}-{}", ::getpid(), counter_);
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty())
            fs::remove_all(dir_);
    }

    std::string store_toml() const {
        return "bucket = \"" + bucket_ + "\"\nregion = \"us-east-1\"\nendpoint = \"" +
               test::minio_endpoint(*g_env->peer) + "\"\naccess_key_id = \"" + minio_user +
               "\"\nsecret_access_key = \"" + minio_password + "\"\n";
    }

    std::unique_ptr<sink> open_sink(const std::string& extra) {
        auto v = test::spec_values(s3_sink_spec(), store_toml() + extra);
        auto s = make_s3_sink(v);
        EXPECT_TRUE(s) << s.error().to_string();
        if (!s)
            return nullptr;
        auto st = (*s)->open(sctx_);
        EXPECT_TRUE(st) << st.error().to_string();
        return std::move(s).value();
    }

    std::unique_ptr<source> open_source(const std::string& extra, std::string_view state = {}) {
        auto v = test::spec_values(s3_source_spec(),
                                   store_toml() + "poll_interval = \"50ms\"\n" + extra);
        auto s = make_s3_source(v);
        EXPECT_TRUE(s) << s.error().to_string();
        if (!s)
            return nullptr;
        auto st = (*s)->open(rctx_, state);
        EXPECT_TRUE(st) << st.error().to_string();
        return std::move(s).value();
    }

    /// Messages [first, first + n): {"n", "device", "temp", "ok", "geo": {"lat"}} from the offset.
    static message_batch batch(std::uint64_t first, std::size_t n) {
        message_batch b;
        for (std::size_t i = 0; i < n; ++i) {
            message m;
            m.offset = first + i;
            m.partition = 1;
            m.timestamp_us = k_t0 + m.offset * 1000;
            m.payload = b.own(fmt::format(
                R"({{"n":{},"device":"d{}","temp":{}.5,"ok":{},"geo":{{"lat":{}}}}})", m.offset,
                m.offset % 3, m.offset, m.offset % 2 == 0 ? "true" : "false", m.offset));
            b.messages.push_back(std::move(m));
        }
        return b;
    }
    static sink_batch view(const message_batch& b) {
        return sink_batch{"app", "events", 1, "json", &b};
    }

    /// Copies the objects under `prefix` ending in `ext` into dir_ and runs the checker.
    std::map<std::string, std::string> check(const std::string& kind, const std::string& ext) {
        auto objs = test::minio_read_all(*g_env->peer, bucket_);
        EXPECT_TRUE(objs) << objs.error().to_string();
        int n = 0;
        for (const auto& o : *objs) {
            if (!o.key.ends_with(ext))
                continue;
            std::ofstream f(dir_ / fs::path(o.key).filename(), std::ios::binary);
            f.write(o.body.data(), static_cast<std::streamsize>(o.body.size()));
            ++n;
        }
        EXPECT_GT(n, 0);
        std::string out;
        const auto script =
            fs::path(TRIB_TEST_SOURCE_DIR) / "tests/connectors/s3/columnar_check.py";
        const int rc =
            run(python_.string() + " " + script.string() + " " + kind + " " + dir_.string(), out);
        EXPECT_EQ(rc, 0) << out;
        return parse_kv(out);
    }

    struct polled {
        std::vector<std::string> payloads;
        std::vector<std::string> rejected;
        std::string state;
    };
    /// Polls until `want` payloads and `want_rejected` rejects came, acknowledging each batch.
    static polled drain(source& s, std::size_t want, std::size_t want_rejected = 0) {
        polled out;
        std::uint64_t seq = 0;
        test::wait_until(
            [&] {
                auto r = s.poll(100ms);
                EXPECT_TRUE(r) << r.error().to_string();
                if (!r)
                    return true;
                for (const auto& m : r->batch.messages)
                    out.payloads.emplace_back(m.payload);
                for (const auto& rj : r->rejected)
                    out.rejected.emplace_back(rj.err.message());
                if (!r->batch.empty() || !r->rejected.empty()) {
                    ++seq;
                    s.ack(seq);
                }
                if (r->has_state)
                    out.state = r->state;
                return out.payloads.size() >= want && out.rejected.size() >= want_rejected;
            },
            30s);
        return out;
    }

    /// offset -> count over JSON rows holding iggy_offset, each checked against its payload.
    static std::map<std::int64_t, int> offsets_of(const std::vector<std::string>& rows) {
        std::map<std::int64_t, int> seen;
        for (const auto& p : rows) {
            rapidjson::Document d;
            d.Parse(p.data(), p.size());
            EXPECT_FALSE(d.HasParseError()) << p;
            if (d.HasParseError() || !d.HasMember("iggy_offset"))
                continue;
            const auto off = d["iggy_offset"].GetInt64();
            EXPECT_EQ(d["n"].GetInt64(), off) << p;
            EXPECT_EQ(std::string(d["device"].GetString()), fmt::format("d{}", off % 3)) << p;
            EXPECT_EQ(std::string(d["iggy_timestamp"].GetString()).substr(0, 13), "2026-03-16T14")
                << p;
            ++seen[off];
        }
        return seen;
    }

    connector_context sctx_{"s3", "S3 sink", {}, nullptr, {}};
    connector_context rctx_{"s3src", "S3 source", {}, nullptr, {}};
    std::string bucket_;
    std::unique_ptr<s3_detail::object_store> store_;
    fs::path python_;
    fs::path dir_;
    static inline int counter_ = 0;
};

TEST_F(s3_columnar_test, given_parquet_output_pyarrow_and_duckdb_should_read_every_file) {
    auto s = open_sink(
        "output_format = \"parquet\"\nparquet_compression = \"zstd\"\n"
        "parquet_row_group_size = \"8KiB\"\nmax_file_size = \"64KiB\"\n");
    ASSERT_TRUE(s);
    const std::size_t n = 3000;
    for (std::uint64_t first = 0; first < n; first += 1000) {
        auto b = batch(first, 1000);
        auto r = s->write(view(b));
        ASSERT_TRUE(r) << r.error().to_string();
        EXPECT_TRUE(r->rejected.empty());
    }
    auto kv = check("parquet", ".parquet");
    EXPECT_EQ(kv["pyarrow_rows"], std::to_string(n));
    EXPECT_EQ(kv["pyarrow_distinct"], std::to_string(n));
    EXPECT_EQ(kv["duckdb_rows"], std::to_string(n));
    EXPECT_EQ(kv["duckdb_distinct"], std::to_string(n));
    EXPECT_EQ(kv["duckdb_sum_n"], std::to_string(n * (n - 1) / 2));
    EXPECT_EQ(kv["duckdb_ts"], "True");
    EXPECT_EQ(kv["codecs"], "ZSTD");
    // 64 KiB objects of ~8 KiB row groups: several of each.
    EXPECT_GT(std::stoi(kv["files"]), 3);
    EXPECT_GT(std::stoi(kv["row_groups"]), std::stoi(kv["files"]));
}

TEST_F(s3_columnar_test, given_avro_output_fastavro_should_read_every_file) {
    auto s = open_sink(
        "output_format = \"avro\"\navro_codec = \"snappy\"\nmax_file_size = "
        "\"32KiB\"\n");
    ASSERT_TRUE(s);
    const std::size_t n = 2000;
    auto b = batch(0, n);
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().to_string();
    auto kv = check("avro", ".avro");
    EXPECT_EQ(kv["fastavro_rows"], std::to_string(n));
    EXPECT_EQ(kv["fastavro_distinct"], std::to_string(n));
    EXPECT_EQ(kv["codecs"], "snappy");
    EXPECT_GT(std::stoi(kv["files"]), 1);
}

TEST_F(s3_columnar_test, given_a_schema_a_message_that_does_not_fit_should_go_to_the_error_policy) {
    auto s = open_sink(
        "output_format = \"parquet\"\nparquet_schema = '[{\"name\": \"n\", \"type\": \"long\"}, "
        "{\"name\": \"device\", \"type\": \"string\"}]'\ninclude_metadata = false\n");
    ASSERT_TRUE(s);
    message_batch b;
    for (int i = 0; i < 4; ++i) {
        message m;
        m.offset = static_cast<std::uint64_t>(i);
        m.timestamp_us = k_t0;
        m.payload = b.own(i == 2 ? std::string(R"({"n":"two","device":"x"})")
                                 : fmt::format(R"({{"n":{},"device":"x","extra":1}})", i));
        b.messages.push_back(std::move(m));
    }
    auto r = s->write(view(b));
    ASSERT_TRUE(r) << r.error().to_string();
    ASSERT_EQ(r->rejected.size(), 1u);
    EXPECT_EQ(r->rejected[0].index, 2u);
    EXPECT_NE(r->rejected[0].err.message().find("field 'n'"), std::string::npos)
        << r->rejected[0].err.message();
    // The object holds the three others, only the schema's columns.
    auto src = open_source("format = \"parquet\"\n");
    auto p = drain(*src, 3);
    ASSERT_EQ(p.payloads.size(), 3u);
    EXPECT_EQ(p.payloads[0], R"({"n":0,"device":"x"})");
    EXPECT_EQ(p.payloads[2], R"({"n":3,"device":"x"})");
}

TEST_F(s3_columnar_test, given_parquet_and_avro_objects_the_source_should_give_every_row_once) {
    for (const std::string fmt_name : {"parquet", "avro"}) {
        SCOPED_TRACE(fmt_name);
        const std::string prefix = fmt_name + "/";
        auto s = open_sink("output_format = \"" + fmt_name + "\"\nprefix = \"" + fmt_name +
                           "\"\nmax_file_size = \"16KiB\"\nparquet_row_group_size = \"4KiB\"\n");
        ASSERT_TRUE(s);
        const std::size_t n = 1200;
        auto b = batch(0, n);
        ASSERT_TRUE(s->write(view(b)));
        // Read part, restart from the persisted state (as after kill -9), read the rest.
        auto src = open_source("format = \"" + fmt_name + "\"\nprefix = \"" + prefix +
                               "\"\nmax_batch_messages = 70\n");
        auto first = drain(*src, 350);
        ASSERT_GE(first.payloads.size(), 350u);
        ASSERT_LT(first.payloads.size(), n);
        ASSERT_FALSE(first.state.empty());
        src->close();
        auto src2 = open_source(
            "format = \"" + fmt_name + "\"\nprefix = \"" + prefix + "\"\nmax_batch_messages = 70\n",
            first.state);
        auto rest = drain(*src2, n - first.payloads.size());
        auto all = first.payloads;
        all.insert(all.end(), rest.payloads.begin(), rest.payloads.end());
        const auto seen = offsets_of(all);
        EXPECT_EQ(seen.size(), n);
        EXPECT_EQ(all.size(), n);  // resumed at the row after the acknowledged ones
        for (const auto& [off, count] : seen)
            EXPECT_EQ(count, 1) << "offset " << off;
        EXPECT_TRUE(rest.rejected.empty());
    }
}

TEST_F(s3_columnar_test, given_corrupt_objects_the_source_should_reject_them_and_go_on) {
    // A good Parquet file, then damaged copies of it.
    auto s = open_sink("output_format = \"parquet\"\nprefix = \"good\"\n");
    ASSERT_TRUE(s);
    auto b = batch(0, 50);
    ASSERT_TRUE(s->write(view(b)));
    auto objs = test::minio_read_all(*g_env->peer, bucket_, "good/");
    ASSERT_TRUE(objs);
    ASSERT_EQ(objs->size(), 1u);
    const std::string good = objs->front().body;
    auto put = [&](const std::string& key, const std::string& body) {
        auto r = store_->put_if_absent(key, body, "application/octet-stream");
        ASSERT_TRUE(r) << r.error().to_string();
    };
    put("in/a-truncated.parquet", good.substr(0, good.size() / 2));
    std::string huge_footer = good;  // the metadata length claims 2 GiB
    huge_footer[huge_footer.size() - 5] = '\x7f';
    put("in/b-footer.parquet", huge_footer);
    std::string garbage = good;  // the middle overwritten
    for (std::size_t i = 8; i < garbage.size() - 8; i += 3)
        garbage[i] = static_cast<char>(i * 7);
    put("in/c-garbage.parquet", garbage);
    put("in/d-tiny.parquet", "PAR1");
    put("in/z-good.parquet", good);
    auto src = open_source("format = \"parquet\"\nprefix = \"in/\"\n");
    auto p = drain(*src, 50, 4);
    EXPECT_EQ(p.payloads.size(), 50u);
    ASSERT_GE(p.rejected.size(), 3u);
    for (const auto& e : p.rejected) {
        std::fprintf(stderr, "  rejected: %s\n", e.c_str());
        EXPECT_NE(e.find("parquet"), std::string::npos) << e;
        for (char c : e)  // Arrow's messages may quote the file's bytes: printable only
            EXPECT_TRUE(c >= 0x20 && c < 0x7f) << e;
        EXPECT_NE(e.find("skipped"), std::string::npos) << e;
    }
    EXPECT_NE(p.rejected[0].find("a-truncated"), std::string::npos) << p.rejected[0];

    // Avro: a truncated container file, then a good one.
    auto a = open_sink("output_format = \"avro\"\nprefix = \"agood\"\n");
    ASSERT_TRUE(a);
    ASSERT_TRUE(a->write(view(b)));
    auto aobjs = test::minio_read_all(*g_env->peer, bucket_, "agood/");
    ASSERT_TRUE(aobjs);
    ASSERT_EQ(aobjs->size(), 1u);
    const std::string agood = aobjs->front().body;
    put("av/a-truncated.avro", agood.substr(0, agood.size() - 20));
    put("av/b-not-avro.avro", "hello");
    put("av/z-good.avro", agood);
    auto asrc = open_source("format = \"avro\"\nprefix = \"av/\"\n");
    auto ap = drain(*asrc, 50, 2);
    EXPECT_EQ(ap.payloads.size(), 50u);
    ASSERT_EQ(ap.rejected.size(), 2u);
    for (const auto& e : ap.rejected)
        std::fprintf(stderr, "  rejected: %s\n", e.c_str());
    EXPECT_NE(ap.rejected[0].find("a-truncated"), std::string::npos) << ap.rejected[0];
    EXPECT_NE(ap.rejected[1].find("not an object container"), std::string::npos) << ap.rejected[1];
}

TEST_F(s3_columnar_test, given_an_avro_object_above_max_object_bytes_should_reject_it_clearly) {
    auto a = open_sink("output_format = \"avro\"\navro_codec = \"null\"\nprefix = \"big\"\n");
    ASSERT_TRUE(a);
    auto b = batch(0, 200);
    ASSERT_TRUE(a->write(view(b)));
    auto src = open_source("format = \"avro\"\nprefix = \"big/\"\nmax_object_bytes = 1024\n");
    auto p = drain(*src, 0, 1);
    EXPECT_TRUE(p.payloads.empty());
    ASSERT_EQ(p.rejected.size(), 1u);
    EXPECT_NE(p.rejected[0].find("above max_object_bytes (1024)"), std::string::npos)
        << p.rejected[0];
}

TEST_F(s3_columnar_test, given_an_avro_file_of_many_blocks_the_source_should_read_block_by_block) {
    // fastavro writes 4,000 records in blocks of about 4 KiB (sync_interval): a file far larger
    // than the source's read window (read_chunk_size 4 KiB) and its largest block or header
    // (max_object_bytes 16 KiB), so it can only be read block by block.
    const std::size_t n = 4000;
    const auto file = dir_ / "many-blocks.avro";
    const std::string script =
        "import fastavro, hashlib, sys\n"
        "schema = {'type': 'record', 'name': 'r', 'fields': [{'name': 'n', 'type': 'long'}, "
        "{'name': 'v', 'type': 'string'}]}\n"
        "recs = ({'n': i, 'v': hashlib.sha256(str(i).encode()).hexdigest()} for i in "
        "range(int(sys.argv[2])))\n"
        "with open(sys.argv[1], 'wb') as f:\n"
        "    fastavro.writer(f, schema, recs, codec='null', sync_interval=4000)\n";
    std::ofstream(dir_ / "write_avro.py") << script;
    std::string out;
    ASSERT_EQ(run(python_.string() + " " + (dir_ / "write_avro.py").string() + " " + file.string() +
                      " " + std::to_string(n),
                  out),
              0)
        << out;
    std::ifstream in(file, std::ios::binary);
    const std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ASSERT_GT(body.size(), 64u * 1024u);
    ASSERT_TRUE(store_->put_if_absent("blocks/a.avro", body, "application/octet-stream"));

    const std::string opts =
        "format = \"avro\"\nprefix = \"blocks/\"\nmax_batch_messages = 70\n"
        "read_chunk_size = \"4KiB\"\nmax_object_bytes = \"16KiB\"\n";
    auto src = open_source(opts);
    ASSERT_TRUE(src);
    auto first = drain(*src, 1500);
    ASSERT_GE(first.payloads.size(), 1500u);
    ASSERT_LT(first.payloads.size(), n);
    EXPECT_TRUE(first.rejected.empty());
    // The saved position names the block being read (as the runtime persists it after Iggy's
    // acknowledgement), past the first block and at or before the next record.
    rapidjson::Document st;
    st.Parse(first.state.data(), first.state.size());
    ASSERT_FALSE(st.HasParseError()) << first.state;
    ASSERT_TRUE(st.HasMember("block") && st.HasMember("brow")) << first.state;
    EXPECT_GT(st["block"].GetUint64(), 1000u) << first.state;
    EXPECT_GT(st["brow"].GetUint64(), 0u) << first.state;
    EXPECT_LE(st["brow"].GetUint64(), st["pos"].GetUint64()) << first.state;
    EXPECT_EQ(st["pos"].GetUint64(), first.payloads.size()) << first.state;
    src->close();  // as after kill -9: only the saved state survives

    auto src2 = open_source(opts, first.state);
    ASSERT_TRUE(src2);
    auto rest = drain(*src2, n - first.payloads.size());
    EXPECT_TRUE(rest.rejected.empty());
    auto all = first.payloads;
    all.insert(all.end(), rest.payloads.begin(), rest.payloads.end());
    ASSERT_EQ(all.size(), n);  // resumed at the record after the acknowledged ones
    std::map<std::int64_t, int> seen;
    for (const auto& p : all) {
        rapidjson::Document d;
        d.Parse(p.data(), p.size());
        ASSERT_FALSE(d.HasParseError()) << p;
        ASSERT_TRUE(d.HasMember("n") && d["n"].IsInt64()) << p;
        ++seen[d["n"].GetInt64()];
    }
    ASSERT_EQ(seen.size(), n);
    EXPECT_EQ(seen.begin()->first, 0);
    EXPECT_EQ(seen.rbegin()->first, static_cast<std::int64_t>(n - 1));
    for (const auto& [k, c] : seen)
        EXPECT_EQ(c, 1) << "record " << k;
}

// --- the writers and the Parquet library alone ------------------------------------------------

TEST(columnar_writers, given_payloads_of_every_kind_should_write_the_documented_records) {
    using namespace s3_detail;
    message_batch b;
    auto add = [&](std::uint64_t off, std::string payload) {
        message m;
        m.offset = off;
        m.timestamp_us = k_t0 + 1500;  // .0015 s
        m.payload = b.own(std::move(payload));
        m.headers.push_back(header{"src", value_kind::string, "t"});
        b.messages.push_back(std::move(m));
    };
    add(7, R"({"device-id":"a","offset":99,"v":[1,2]})");  // a metadata name, a nested value
    add(8, "plain text");                                  // not JSON: a string
    add(9, std::string("\xff\x00\x01", 3));                // not UTF-8: bytes
    add(10, "[1,2]");                                      // a JSON value that is no object
    const object_context ctx{"s", "t", 3, "json"};
    for (auto f : {output_format::parquet, output_format::avro}) {
        SCOPED_TRACE(f == output_format::parquet ? "parquet" : "avro");
        auto w = make_format_writer(f, {true, true}, columnar_options{});
        ASSERT_TRUE(w) << w.error().to_string();
        std::string out;
        (*w)->begin(out, ctx);
        for (const auto& m : b.messages) {
            ASSERT_TRUE((*w)->check(ctx, m));
            (*w)->add(out, ctx, m);
        }
        EXPECT_GT((*w)->buffered_bytes(), 4u * 64);
        ASSERT_TRUE((*w)->end(out));
        std::vector<std::string> rows;
        if (f == output_format::avro) {
            auto r = avro_container_rows_json(out);
            ASSERT_TRUE(r) << r.error().to_string();
            rows = *r;
        } else {
            auto rd = codecs::parquet::file_reader::open(
                out.size(), [&](std::uint64_t o, std::uint64_t n) -> result<std::string> {
                    return out.substr(o, n);
                });
            ASSERT_TRUE(rd) << rd.error().to_string();
            ASSERT_TRUE((*rd)->read_row_group_json(0, rows));
        }
        ASSERT_EQ(rows.size(), 4u);
        const std::string meta =
            R"("iggy_offset":7,"iggy_timestamp":"2026-03-16T14:00:00.001500Z","iggy_stream":"s",)"
            R"("iggy_topic":"t","iggy_partition_id":3,"iggy_headers":"{\"src\":\"t\"}")";
        // The payload's `offset` is kept (metadata names are prefixed); `device-id` becomes
        // `device_id` in Avro; the nested list is JSON text; non-object payloads are `payload`
        // (text, JSON text of the array, and bytes as base64).
        const std::string dev = f == output_format::avro ? "device_id" : "device-id";
        EXPECT_EQ(rows[0],
                  "{" + meta + ",\"" + dev + R"(":"a","offset":99,"v":"[1,2]","payload":null})");
        EXPECT_NE(rows[1].find(R"("payload":"plain text")"), std::string::npos) << rows[1];
        EXPECT_NE(rows[2].find(R"("payload":"/wAB")"), std::string::npos) << rows[2];
        EXPECT_NE(rows[3].find(R"("payload":"[1,2]")"), std::string::npos) << rows[3];
    }
}

TEST(columnar_writers, given_an_avro_file_its_header_and_blocks_should_be_found_in_pieces) {
    using namespace s3_detail;
    message_batch b;
    for (int i = 0; i < 30; ++i) {
        message m;
        m.offset = static_cast<std::uint64_t>(i);
        m.timestamp_us = k_t0;
        m.payload = b.own(fmt::format(R"({{"n":{}}})", i));
        b.messages.push_back(std::move(m));
    }
    const object_context ctx{"s", "t", 3, "json"};
    columnar_options co;
    co.avro_codec = "deflate";
    auto w = make_format_writer(output_format::avro, {true, false}, co);
    ASSERT_TRUE(w) << w.error().to_string();
    std::string file;
    (*w)->begin(file, ctx);
    for (const auto& m : b.messages)
        (*w)->add(file, ctx, m);
    ASSERT_TRUE((*w)->end(file));
    auto whole = avro_container_rows_json(file);
    ASSERT_TRUE(whole) << whole.error().to_string();
    ASSERT_EQ(whole->size(), 30u);

    auto hl = avro_header_length(file);
    ASSERT_TRUE(hl) << hl.error().to_string();
    ASSERT_GT(*hl, 20u);
    ASSERT_LT(*hl, file.size());
    for (std::size_t cut : {std::size_t{0}, std::size_t{3}, std::size_t{10}, *hl - 1}) {
        auto part = avro_header_length(std::string_view(file).substr(0, cut));
        ASSERT_TRUE(part) << cut;
        EXPECT_EQ(*part, 0u) << cut;  // more bytes needed
    }
    auto head = read_avro_block_head(std::string_view(file).substr(*hl, 20));
    ASSERT_TRUE(head) << head.error().to_string();
    ASSERT_GT(head->head_len, 0u);
    EXPECT_EQ(head->count, 30u);
    EXPECT_EQ(*hl + head->head_len + head->size + 16, file.size());  // one block, then the end
    auto none = read_avro_block_head(std::string_view(file).substr(*hl, 1));
    ASSERT_TRUE(none);
    EXPECT_EQ(none->head_len, 0u);
    auto rows = avro_block_rows_json(std::string_view(file).substr(0, *hl),
                                     std::string_view(file).substr(*hl));
    ASSERT_TRUE(rows) << rows.error().to_string();
    EXPECT_EQ(*rows, *whole);
    // Not a container; a block whose bytes are cut.
    EXPECT_FALSE(avro_header_length("hello"));
    EXPECT_FALSE(avro_block_rows_json(std::string_view(file).substr(0, *hl),
                                      std::string_view(file).substr(*hl, 10)));
}

TEST(columnar_writers, given_bad_options_should_say_which) {
    using namespace s3_detail;
    columnar_options c;
    c.parquet_schema = R"([{"name":"a","type":"decimal128"}])";
    auto w = make_format_writer(output_format::parquet, {}, c);
    ASSERT_FALSE(w);
    EXPECT_NE(w.error().message().find("column 'a'"), std::string::npos) << w.error().message();
    columnar_options a;
    a.avro_schema = R"({"type":"record","name":"r","fields":[{"name":"x","type":"nope"}]})";
    auto aw = make_format_writer(output_format::avro, {}, a);
    ASSERT_FALSE(aw);
    auto bad = test::spec_problems(s3_sink_spec(),
                                   "bucket = \"b\"\noutput_format = \"parquet\"\n"
                                   "parquet_schema = \"[]\"\n");
    EXPECT_NE(bad.find("parquet_schema"), std::string::npos) << bad;
}

TEST(parquet_library, given_schemas_should_parse_columns_or_say_what_is_wrong) {
    namespace pq = codecs::parquet;
    auto c = pq::parse_columns(
        R"({"type":"record","name":"r","fields":[{"name":"a","type":["null","long"]},)"
        R"({"name":"t","type":{"type":"long","logicalType":"timestamp-millis"}},)"
        R"({"name":"m","type":{"type":"map","values":"int"}}]})");
    ASSERT_TRUE(c) << c.error().to_string();
    ASSERT_EQ(c->size(), 3u);
    EXPECT_EQ((*c)[0].type, pq::column_type::int64);
    EXPECT_EQ((*c)[1].type, pq::column_type::timestamp);
    EXPECT_EQ((*c)[2].type, pq::column_type::json);
    EXPECT_FALSE(pq::parse_columns(R"([{"name":"a","type":"decimal128"}])"));
    EXPECT_FALSE(pq::parse_columns(R"([{"name":"a","type":"long"},{"name":"a","type":"long"}])"));
    EXPECT_FALSE(pq::parse_columns("[]"));
    EXPECT_FALSE(pq::parse_columns("{"));
}

TEST(parquet_library, given_mixed_rows_should_infer_the_documented_types) {
    namespace pq = codecs::parquet;
    using codecs::value;
    codecs::arena a;
    auto row = [&](std::vector<std::pair<std::string, value>> f) {
        auto* es = codecs::new_entries(a, f.size());
        for (std::size_t i = 0; i < f.size(); ++i) {
            es[i].key = value::string_value(codecs::copy_to_arena(a, f[i].first));
            es[i].val = f[i].second;
        }
        value v;
        v.type = codecs::value_type::record;
        v.n = static_cast<std::uint32_t>(f.size());
        v.entries = es;
        return v;
    };
    std::vector<value> rows = {
        row({{"i", value::int_value(1)},
             {"f", value::int_value(1)},
             {"m", value::int_value(1)},
             {"z", value()}}),
        row({{"i", value::int_value(2)},
             {"f", value::float_value(2.5)},
             {"m", value::string_value("x")},
             {"b", value::boolean_value(true)}}),
    };
    const auto cols = pq::infer_columns(rows);
    ASSERT_EQ(cols.size(), 5u);
    EXPECT_EQ(cols[0].type, pq::column_type::int64);
    EXPECT_EQ(cols[1].type, pq::column_type::float64);
    EXPECT_EQ(cols[2].type, pq::column_type::string);  // mixed
    EXPECT_EQ(cols[3].type, pq::column_type::string);  // nulls only
    EXPECT_EQ(cols[4].type, pq::column_type::boolean);
    // Written and read back through the range reader, one row group per row.
    auto file = pq::write_file(cols, rows, {1, 1}, {pq::compression::none, 1});
    ASSERT_TRUE(file) << file.error().to_string();
    std::uint64_t biggest_read = 0;
    auto rd = pq::file_reader::open(
        file->size(), [&](std::uint64_t off, std::uint64_t len) -> result<std::string> {
            biggest_read = std::max(biggest_read, len);
            return file->substr(off, len);
        });
    ASSERT_TRUE(rd) << rd.error().to_string();
    EXPECT_EQ((*rd)->num_rows(), 2);
    EXPECT_EQ((*rd)->num_row_groups(), 2);
    std::vector<std::string> out;
    ASSERT_TRUE((*rd)->read_row_group_json(1, out));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0], R"({"i":2,"f":2.5,"m":"x","z":null,"b":true})");
    ASSERT_TRUE((*rd)->read_row_group_json(0, out));
    EXPECT_EQ(out[0], R"({"i":1,"f":1,"m":"1","z":null,"b":null})");
    EXPECT_LE(biggest_read, file->size());
}

TEST(parquet_library, given_a_row_group_above_the_limit_should_refuse_it_before_reading) {
    namespace pq = codecs::parquet;
    using codecs::value;
    std::vector<value> rows;
    std::vector<std::string> texts;  // distinct (no dictionary), 4 MB in all
    for (int i = 0; i < 20; ++i)
        texts.push_back(std::to_string(i) + std::string(200000, static_cast<char>('a' + i)));
    for (const auto& t : texts)
        rows.push_back(value::string_value(t));
    auto file = pq::write_file({{"payload", pq::column_type::string}}, rows, {},
                               {pq::compression::none, UINT64_MAX});
    ASSERT_TRUE(file) << file.error().to_string();
    std::uint64_t biggest_read = 0;
    pq::read_limits lim;
    lim.max_row_group_bytes = 1 << 20;
    auto rd = pq::file_reader::open(
        file->size(),
        [&](std::uint64_t off, std::uint64_t len) -> result<std::string> {
            biggest_read = std::max(biggest_read, len);
            return file->substr(off, len);
        },
        lim);
    ASSERT_TRUE(rd) << rd.error().to_string();
    std::vector<std::string> out;
    auto st = (*rd)->read_row_group_json(0, out);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("max_row_group_bytes"), std::string::npos)
        << st.error().message();
    EXPECT_LT(biggest_read, std::uint64_t{1} << 20);
}

}  // namespace
}  // namespace trib::connectors
