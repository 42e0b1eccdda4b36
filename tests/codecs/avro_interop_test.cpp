// The avro codec against fastavro 1.13 (PyPI, in the project's .venv), both ways: fastavro writes
// bare datums, single-object encodings, container files with every codec and datums for schema
// resolution -> we decode and write their JSON forms; we encode the same records -> fastavro
// reads them. avro_interop.py holds the Python half and does the comparisons.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../runtime/spec_values.h"
#include "codecs/avro.h"
#include "codecs/codec.h"
#include "codecs/value.h"

namespace trib::codecs {
namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
    const char* s = std::getenv("TRIB_SOURCE_DIR");
    return s ? fs::path(s) : fs::current_path();
}

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

void spill(const fs::path& p, std::string_view data) {
    std::ofstream f(p, std::ios::binary);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

int run(const std::string& cmd, std::string& out) {
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr)
        return -1;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    int st = ::pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::unique_ptr<codec> avro(const std::string& schema, std::string_view extra = "") {
    auto r = make_avro_codec(test::spec_values(
        avro_codec_spec(), "schema_json = '''" + schema + "'''\n" + std::string(extra)));
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? std::move(r).value() : nullptr;
}

class avro_interop : public ::testing::Test {
  protected:
    void SetUp() override {
        python_ = source_dir() / ".venv" / "bin" / "python";
        if (!fs::exists(python_))
            GTEST_SKIP() << "no Python venv at " << python_ << " (run scripts/setup.sh)";
        std::string out;
        if (run(python_.string() + " -c 'import fastavro, cramjam, backports.zstd'", out) != 0)
            GTEST_SKIP() << "fastavro (with cramjam, backports.zstd) not in the venv: " << out;
        dir_ = fs::temp_directory_path() / ("trib-avro-interop-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty() && !HasFailure())
            fs::remove_all(dir_);
    }
    std::string script() const {
        return (source_dir() / "tests" / "codecs" / "avro_interop.py").string();
    }
    fs::path python_;
    fs::path dir_;
};

TEST_F(avro_interop, fastavro_both_ways) {
    std::string out;
    ASSERT_EQ(run(python_.string() + " " + script() + " write " + dir_.string(), out), 0) << out;
    const fs::path avro_dir = source_dir() / "tests" / "data" / "codecs" / "avro";
    const std::string writer = slurp(avro_dir / "event.avsc");
    const std::string reader = slurp(avro_dir / "event_reader.avsc");
    auto bin = avro(writer);
    auto so = avro(writer, "framing = \"single_object\"");
    auto resolved = make_avro_codec_for_schema(writer, reader);
    ASSERT_TRUE(bin && so && resolved);
    auto json = std::move(make_json_codec({})).value();
    arena a;

    // Our canonical form and fingerprint are fastavro's.
    auto id = avro_schema_fingerprint(writer);
    ASSERT_TRUE(id);
    std::string fp;
    for (int k = 0; k < 8; ++k) {
        char h[3];
        std::snprintf(h, sizeof h, "%02x",
                      static_cast<unsigned>((id->fingerprint >> (8 * k)) & 0xff));
        fp += h;
    }
    EXPECT_EQ(id->canonical + "\n" + fp, slurp(dir_ / "fingerprint.txt"));

    auto to_json = [&](const record& r) {
        std::string text;
        status s = json->encode(r, a, text);
        EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
        return text;
    };
    int n = 0;
    for (;; ++n) {
        const std::string k = std::to_string(n);
        if (!fs::exists(dir_ / ("bin_" + k + ".bin")))
            break;
        record r;
        status s = bin->decode(slurp(dir_ / ("bin_" + k + ".bin")), a, r);
        ASSERT_TRUE(s) << k << ": " << s.error().to_string();
        spill(dir_ / ("bin_" + k + ".cpp.json"), to_json(r));
        // We encode the decoded record: fastavro reads it (check).
        r.modified = true;
        std::string again;
        s = bin->encode(r, a, again);
        ASSERT_TRUE(s) << k << ": " << s.error().to_string();
        spill(dir_ / ("bin_" + k + ".cpp.bin"), again);
        record o;
        s = so->decode(slurp(dir_ / ("so_" + k + ".bin")), a, o);
        ASSERT_TRUE(s) << k << ": " << s.error().to_string();
        spill(dir_ / ("so_" + k + ".cpp.json"), to_json(o));
        std::string framed;
        ASSERT_TRUE(so->encode(o, a, framed));
        spill(dir_ / ("so_" + k + ".cpp.bin"), framed);
        record rr;
        s = (*resolved)->decode(slurp(dir_ / ("res_" + k + ".bin")), a, rr);
        ASSERT_TRUE(s) << k << ": " << s.error().to_string();
        spill(dir_ / ("res_" + k + ".cpp.json"), to_json(rr));
    }
    EXPECT_GE(n, 6);
    for (const char* c : {"null", "deflate", "snappy", "zstandard"}) {
        auto ocf =
            avro(writer, std::string("framing = \"container\"\ncontainer_codec = \"") + c + "\"");
        ASSERT_TRUE(ocf);
        record r;
        status s = ocf->decode(slurp(dir_ / (std::string("ocf_") + c + ".avro")), a, r);
        ASSERT_TRUE(s) << c << ": " << s.error().to_string();
        spill(dir_ / (std::string("ocf_") + c + ".cpp.json"), to_json(r));
        std::string file;
        s = ocf->encode(r, a, file);
        ASSERT_TRUE(s) << c << ": " << s.error().to_string();
        spill(dir_ / (std::string("ocf_") + c + ".cpp.avro"), file);
    }
    out.clear();
    EXPECT_EQ(run(python_.string() + " " + script() + " check " + dir_.string(), out), 0) << out;
    EXPECT_NE(out.find("0 problems"), std::string::npos) << out;
}

}  // namespace
}  // namespace trib::codecs
