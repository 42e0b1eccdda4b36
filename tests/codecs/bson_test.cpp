// The bson codec: pymongo 4.20's bson module both ways (bson_interop.py), conversions
// bson <-> json and bson -> msgpack -> bson through the typed model, hostile payloads.

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../runtime/spec_values.h"
#include "codecs/bson.h"
#include "codecs/codec.h"
#include "codecs/json_dom.h"
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

std::unique_ptr<codec> make(result<std::unique_ptr<codec>> (*f)(const config::values&)) {
    auto c = f(config::values());
    EXPECT_TRUE(c);
    return std::move(*c);
}

std::string json_text(const record& r, arena& a) {
    auto j = make(make_json_codec);
    std::string out;
    auto st = j->encode(r, a, out);
    EXPECT_TRUE(st) << (st ? "" : st.error().message());
    return out;
}

bool same_json(const std::string& x, const std::string& y) {
    rapidjson::Document a, b;
    a.Parse(x.c_str());
    b.Parse(y.c_str());
    return !a.HasParseError() && !b.HasParseError() && a == b;
}

std::string le32(std::uint32_t v) {
    std::string s(4, '\0');
    for (int i = 0; i < 4; ++i)
        s[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return s;
}

// A document {k: <one element of `type` with `body`>}.
std::string doc_with(char type, std::string_view body) {
    std::string e = std::string(1, type) + "k" + std::string(1, '\0') + std::string(body);
    return le32(static_cast<std::uint32_t>(4 + e.size() + 1)) + e + std::string(1, '\0');
}

TEST(bson, pymongo_both_ways) {
    const fs::path python = source_dir() / ".venv" / "bin" / "python";
    ASSERT_TRUE(fs::exists(python)) << "no Python venv (run scripts/setup.sh)";
    const fs::path dir = fs::temp_directory_path() / ("trib-bson-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    const std::string script = (source_dir() / "tests" / "codecs" / "bson_interop.py").string();
    std::string out;
    ASSERT_EQ(run(python.string() + " " + script + " gen " + dir.string(), out), 0) << out;

    auto b = make(make_bson_codec);
    auto j = make(make_json_codec);
    int docs = 0;
    for (int i = 0; fs::exists(dir / ("doc_" + std::to_string(i) + ".bson")); ++i, ++docs) {
        const std::string name = "doc_" + std::to_string(i);
        const std::string bytes = slurp(dir / (name + ".bson"));
        arena a;
        record r;
        auto st = b->decode(bytes, a, r);
        ASSERT_TRUE(st) << name << ": " << st.error().message();
        const std::string want = slurp(dir / (name + ".json"));
        const std::string got = json_text(r, a);
        EXPECT_TRUE(same_json(got, want)) << name << "\nours:    " << got << "\npymongo: " << want;
        std::string again;
        ASSERT_TRUE(b->encode(r, a, again)) << name;
        spill(dir / (name + ".ours.bson"), again);
    }
    EXPECT_EQ(docs, 10);
    for (int i = 0; fs::exists(dir / ("enc_" + std::to_string(i) + ".json")); ++i) {
        const std::string name = "enc_" + std::to_string(i);
        const std::string text = slurp(dir / (name + ".json"));
        arena a;
        record r;
        ASSERT_TRUE(j->decode(text, a, r)) << name;
        std::string bytes;
        auto st = b->encode(r, a, bytes);
        ASSERT_TRUE(st) << name << ": " << st.error().message();
        spill(dir / (name + ".ours.bson"), bytes);
    }
    out.clear();
    EXPECT_EQ(run(python.string() + " " + script + " check " + dir.string(), out), 0) << out;
    EXPECT_EQ(out.rfind("ok ", 0), 0u) << out;
    std::cout << "bson_interop.py: " << out;
    if (!HasFailure())
        fs::remove_all(dir);
}

TEST(bson, converts_through_the_model) {
    auto b = make(make_bson_codec);
    auto m = make(make_msgpack_codec);
    auto j = make(make_json_codec);
    const std::string text =
        R"({"id":7,"name":"user-7","ok":true,"score":1.75,"tags":["a","b"],"n":null,)"
        R"("nested":{"lat":1.5,"lon":-2.0,"deeper":[[1],[2,{"x":"y"}]]},"big":9000000000})";
    arena a;
    record from_json;
    ASSERT_TRUE(j->decode(text, a, from_json));
    std::string bson_bytes;
    ASSERT_TRUE(b->encode(from_json, a, bson_bytes));
    record r1;
    ASSERT_TRUE(b->decode(bson_bytes, a, r1));
    EXPECT_TRUE(same_json(json_text(r1, a), text)) << json_text(r1, a);
    // bson -> msgpack -> bson keeps the bytes (no type here that msgpack lacks).
    std::string mp;
    ASSERT_TRUE(m->encode(r1, a, mp));
    record r2;
    ASSERT_TRUE(m->decode(mp, a, r2));
    std::string bson_again;
    ASSERT_TRUE(b->encode(r2, a, bson_again));
    EXPECT_EQ(bson_again, bson_bytes);
    // Typed values JSON lacks: uuid, bytes, timestamp, decimal keep their BSON types.
    char u[16];
    for (int i = 0; i < 16; ++i)
        u[i] = static_cast<char>(i * 17);
    entry* e = new_entries(a, 4);
    e[0].key = value::string_value("u");
    e[0].val = value::uuid_value(u);
    e[1].key = value::string_value("b");
    e[1].val = value::bytes_value(std::string_view("\x00\x01", 2));
    e[2].key = value::string_value("t");
    e[2].val = value::timestamp_value(1700000000, 123000000);
    e[3].key = value::string_value("d");
    e[3].val = value::decimal_value("-12.340");
    value rec;
    rec.type = value_type::record;
    rec.n = 4;
    rec.entries = e;
    record typed;
    set_typed(typed, new_value(a, rec));
    std::string tb;
    ASSERT_TRUE(b->encode(typed, a, tb));
    record back;
    ASSERT_TRUE(b->decode(tb, a, back));
    EXPECT_TRUE(equal(typed_of(back), rec)) << debug_string(typed_of(back));
}

TEST(bson, refuses_hostile_payloads) {
    auto b = make(make_bson_codec);
    arena a;
    record r;
    auto refused = [&](std::string_view bytes, std::string_view why) {
        auto st = b->decode(bytes, a, r);
        EXPECT_FALSE(st) << why;
        if (!st) {
            EXPECT_EQ(st.error().code(), errc::invalid_argument) << why;
            EXPECT_EQ(st.error().message().rfind("bson: ", 0), 0u) << st.error().message();
        }
    };
    const std::string empty = le32(5) + std::string(1, '\0');
    ASSERT_TRUE(b->decode(empty, a, r));
    refused("", "empty");
    refused(empty.substr(0, 4), "truncated");
    refused(empty + "x", "trailing byte");
    refused(le32(6) + std::string(1, '\0'), "length beyond the payload");
    refused(le32(5) + "x", "no final NUL");
    refused(doc_with(0x02, le32(100) + "ab" + std::string(1, '\0')), "string length too long");
    refused(doc_with(0x02, le32(3) + "\xff\xfe" + std::string(1, '\0')), "bad UTF-8");
    const std::string bad_key = std::string("\x0a\xff\xfe") + std::string(1, '\0');
    refused(
        le32(static_cast<std::uint32_t>(4 + bad_key.size() + 1)) + bad_key + std::string(1, '\0'),
        "bad UTF-8 in a key");
    refused(doc_with(0x0b, std::string("a\0i\0", 4)), "regex");
    refused(doc_with(static_cast<char>(0xff), ""), "minkey");
    refused(doc_with(0x7f, ""), "maxkey");
    refused(doc_with(0x0d, le32(2) + "x" + std::string(1, '\0')), "javascript");
    refused(doc_with(0x42, ""), "unknown type");
    // decimal128 NaN: the 16 bytes of 0x7c00... (libbson's NaN).
    std::string nan(16, '\0');
    nan[15] = 0x7c;
    refused(doc_with(0x13, nan), "decimal128 NaN");
    // Nesting: 1 MiB of nested documents.
    const int depth = 130000;
    std::string deep;
    deep.reserve(depth * 8 + 16);
    std::uint32_t size = 5 + 8 * static_cast<std::uint32_t>(depth);
    for (int i = 0; i < depth; ++i, size -= 8)
        deep += le32(size) + "\x03" + "a" + std::string(1, '\0');
    deep += le32(5) + std::string(1, '\0');
    deep += std::string(depth, '\0');
    refused(deep, "deep nesting");
    // Nesting at the limit (100) decodes.
    std::string ok_deep;
    size = 5 + 8 * 100;
    for (int i = 0; i < 100; ++i, size -= 8)
        ok_deep += le32(size) + "\x03" + "a" + std::string(1, '\0');
    ok_deep += le32(5) + std::string(1, '\0') + std::string(100, '\0');
    EXPECT_TRUE(b->decode(ok_deep, a, r));
    // Random mutations of a valid document never crash and fail cleanly or decode.
    const std::string good = doc_with(
        0x04, le32(12) + "\x10" + "0" + std::string(1, '\0') + le32(7) + std::string(1, '\0'));
    ASSERT_TRUE(b->decode(good, a, r));
    for (std::size_t i = 0; i < good.size(); ++i) {
        for (int v : {0, 1, 0x7f, 0x80, 0xff}) {
            std::string m = good;
            m[i] = static_cast<char>(v);
            (void)b->decode(m, a, r);
        }
    }
}

TEST(bson, encode_refusals) {
    auto b = make(make_bson_codec);
    arena a;
    std::string out;
    record text{record_kind::text, "plain"};
    EXPECT_FALSE(b->encode(text, a, out));  // a string is not a document
    value big = value::uint_value(UINT64_MAX);
    entry* e = new_entries(a, 1);
    e[0].key = value::string_value("k");
    e[0].val = big;
    value rec;
    rec.type = value_type::record;
    rec.n = 1;
    rec.entries = e;
    record r;
    set_typed(r, new_value(a, rec));
    EXPECT_FALSE(b->encode(r, a, out));
    e[0].key = value::string_value(std::string_view("a\0b", 3));
    e[0].val = value::int_value(1);
    EXPECT_FALSE(b->encode(r, a, out));
    e[0].key = value::string_value("k");
    e[0].val = value::decimal_value("12345678901234567890123456789012345678");
    EXPECT_FALSE(b->encode(r, a, out));
    EXPECT_TRUE(out.empty());
}

// A string value holding U+0000 (length-prefixed, allowed by BSON), here inside an array: it
// decodes, re-encodes to bytes that decode again, and keeps its NUL (found by fuzz_codecs_bson:
// libbson refused the re-encoded form before ALLOW_NULL).
TEST(bson, strings_with_nul_survive_a_round_trip) {
    auto b = make(make_bson_codec);
    arena a;
    const std::string s = std::string("a\0b", 3);
    // {"k": ["a\0b"]}
    const std::string str_elem = std::string(1, '\x02') + "0" + std::string(1, '\0') +
                                 le32(static_cast<std::uint32_t>(s.size() + 1)) + s +
                                 std::string(1, '\0');
    const std::string arr =
        le32(static_cast<std::uint32_t>(4 + str_elem.size() + 1)) + str_elem + std::string(1, '\0');
    const std::string arr_elem = std::string(1, '\x04') + "k" + std::string(1, '\0') + arr;
    const std::string doc =
        le32(static_cast<std::uint32_t>(4 + arr_elem.size() + 1)) + arr_elem + std::string(1, '\0');
    record r;
    ASSERT_TRUE(b->decode(doc, a, r));
    r.modified = true;
    std::string first;
    ASSERT_TRUE(b->encode(r, a, first));
    record again;
    auto st = b->decode(first, a, again);
    ASSERT_TRUE(st) << st.error().to_string();
    const auto& root = typed_of(again);
    ASSERT_EQ(root.type, value_type::record);
    ASSERT_EQ(root.n, 1u);
    const auto& list = root.entries[0].val;
    ASSERT_EQ(list.type, value_type::list);
    ASSERT_EQ(list.n, 1u);
    ASSERT_EQ(list.items[0].type, value_type::string);
    EXPECT_EQ(std::string_view(list.items[0].s, list.items[0].n), s);
}

}  // namespace
}  // namespace trib::codecs
