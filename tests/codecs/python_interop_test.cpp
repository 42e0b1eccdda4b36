// msgpack and proto against the reference Python libraries (msgpack 1.1, protobuf 5.29 from
// PyPI, in the project's .venv): Python encodes -> we decode (JSON form and re-encoded bytes
// checked by Python) and we encode -> Python decodes. interop.py holds the Python half.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../runtime/spec_values.h"
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

// Runs a command; returns its exit status and appends its output to `out`.
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

class python_interop : public ::testing::Test {
  protected:
    void SetUp() override {
        python_ = source_dir() / ".venv" / "bin" / "python";
        if (!fs::exists(python_))
            GTEST_SKIP() << "no Python venv at " << python_ << " (run scripts/setup.sh)";
        std::string out;
        if (run(python_.string() + " -c 'import msgpack, google.protobuf'", out) != 0)
            GTEST_SKIP() << "msgpack/protobuf not installed in the venv: " << out;
        if (run("protoc --version", out) != 0)
            GTEST_SKIP() << "protoc not installed (protobuf-compiler): " << out;
        dir_ = fs::temp_directory_path() / ("trib-codecs-interop-" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!dir_.empty() && !HasFailure())
            fs::remove_all(dir_);
    }

    std::string script() const {
        return (source_dir() / "tests" / "codecs" / "interop.py").string();
    }

    fs::path python_;
    fs::path dir_;
};

value record_of(arena& a, std::initializer_list<std::pair<const char*, value>> fields) {
    entry* es = new_entries(a, fields.size());
    std::size_t k = 0;
    for (const auto& [n, v] : fields) {
        es[k].key = value::string_value(n);
        es[k].val = v;
        ++k;
    }
    value r;
    r.type = value_type::record;
    r.n = static_cast<std::uint32_t>(fields.size());
    r.entries = es;
    return r;
}

TEST_F(python_interop, msgpack_and_proto_both_ways) {
    std::string out;
    ASSERT_EQ(run(python_.string() + " " + script() + " write " + dir_.string(), out), 0) << out;
    arena a;
    auto json = std::move(make_json_codec({})).value();
    auto mp = std::move(make_msgpack_codec({})).value();

    // Python -> C++: decode, JSON form, re-encode.
    int n_mp = 0;
    for (;; ++n_mp) {
        fs::path bin = dir_ / ("mp_" + std::to_string(n_mp) + ".bin");
        if (!fs::exists(bin))
            break;
        std::string payload = slurp(bin);
        record r;
        status s = mp->decode(payload, a, r);
        ASSERT_TRUE(s) << bin << ": " << s.error().to_string();
        std::string text;
        ASSERT_TRUE(json->encode(r, a, text)) << bin;
        spill(dir_ / ("mp_" + std::to_string(n_mp) + ".cpp.json"), text);
        r.modified = true;
        std::string again;
        ASSERT_TRUE(mp->encode(r, a, again));
        spill(dir_ / ("mp_" + std::to_string(n_mp) + ".cpp.bin"), again);
    }
    EXPECT_GT(n_mp, 20);

    // C++ -> Python.
    {
        record j;
        ASSERT_TRUE(json->decode(R"({"id":1,"name":"é😀","ok":true,"none":null,"ratio":0.5,)"
                                 R"("list":[1,-2,3000000000],"nested":{"a":{"b":[]}}})",
                                 a, j));
        std::string b;
        ASSERT_TRUE(mp->encode(j, a, b));
        spill(dir_ / "cpp_0.bin", b);
        static const char id[16] = {0x12, 0x3e,       0x45,       0x67, (char)0xe8, (char)0x9b,
                                    0x12, (char)0xd3, (char)0xa4, 0x56, 0x42,       0x66,
                                    0x14, 0x17,       0x40,       0x00};
        std::int64_t day;
        ASSERT_TRUE(parse_date("2024-02-29", day));
        value v = record_of(a, {{"at", value::timestamp_value(1700000000, 5)},
                                {"blob", value::bytes_value(std::string_view("\x00\x01\xfe", 3))},
                                {"price", value::decimal_value("-12.3400")},
                                {"day", value::date_value(day)},
                                {"id", value::uuid_value(id)}});
        record t;
        set_typed(t, new_value(a, v));
        b.clear();
        ASSERT_TRUE(mp->encode(t, a, b));
        spill(dir_ / "cpp_1.bin", b);
        value* items = new_values(a, 4);
        items[1] = value::uint_value(18446744073709551615u);
        items[2] = value::int_value(std::numeric_limits<std::int64_t>::min());
        items[3] = value::float_value(1e300);
        value l;
        l.type = value_type::list;
        l.n = 4;
        l.items = items;
        set_typed(t, new_value(a, l));
        b.clear();
        ASSERT_TRUE(mp->encode(t, a, b));
        spill(dir_ / "cpp_2.bin", b);
    }

    // Proto, Python -> C++ through the descriptor set protoc wrote.
    auto from_set = make_proto_codec(test::spec_values(
        proto_codec_spec(), "descriptor_set_path = \"" + (dir_ / "corpus.desc").string() +
                                "\"\nmessage_type = \"trib.test.Reading\""));
    ASSERT_TRUE(from_set) << from_set.error().to_string();
    int n_pb = 0;
    for (;; ++n_pb) {
        fs::path bin = dir_ / ("pb_" + std::to_string(n_pb) + ".bin");
        if (!fs::exists(bin))
            break;
        std::string payload = slurp(bin);
        record r;
        status s = (*from_set)->decode(payload, a, r);
        ASSERT_TRUE(s) << bin << ": " << s.error().to_string();
        std::string text;
        ASSERT_TRUE(json->encode(r, a, text)) << bin;
        spill(dir_ / ("pb_" + std::to_string(n_pb) + ".cpp.json"), text);
        r.modified = true;
        std::string again;
        s = (*from_set)->encode(r, a, again);
        ASSERT_TRUE(s) << bin << ": " << s.error().to_string();
        spill(dir_ / ("pb_" + std::to_string(n_pb) + ".cpp.bin"), again);
    }
    EXPECT_GT(n_pb, 4);

    // Proto, C++ (schema_path, compiled here) -> Python.
    const fs::path pd = source_dir() / "tests" / "data" / "codecs" / "proto";
    auto compiled = make_proto_codec(test::spec_values(
        proto_codec_spec(), "schema_path = \"" + (pd / "corpus.proto").string() +
                                "\"\ninclude_paths = [\"" + (pd / "include").string() +
                                "\"]\nmessage_type = \"trib.test.Reading\""));
    ASSERT_TRUE(compiled) << compiled.error().to_string();
    int k = 0;
    for (std::string_view in : {
             R"({"id":"é😀","big":"123","raw":"/w==","unit":"CELSIUS","counts":{"a":1}})",
             R"({"at":"2024-02-29T12:00:00.5+01:00","took":"3s","maybe":null,"opt":5})",
             R"({"extra":{"a":{"b":[true,1.5,"x"]}},"points":{"7":{"label":"seven"}}})",
             R"({"detail":{"@type":"type.googleapis.com/trib.common.Point","y":-1},"text":""})",
             R"({"child":{"child":{"child":{"id":"deep","path":[{},{"x":1e-300}]}}}})",
         }) {
        record j;
        ASSERT_TRUE(json->decode(in, a, j));
        std::string b;
        status s = (*compiled)->encode(j, a, b);
        ASSERT_TRUE(s) << in << ": " << s.error().to_string();
        spill(dir_ / ("cpp_pb_" + std::to_string(k) + ".bin"), b);
        spill(dir_ / ("cpp_pb_" + std::to_string(k) + ".in.json"), in);
        ++k;
    }

    out.clear();
    int rc = run(python_.string() + " " + script() + " check " + dir_.string(), out);
    std::printf("%s", out.c_str());
    EXPECT_EQ(rc, 0) << out;
}

}  // namespace
}  // namespace trib::codecs
