// The hostile-input regression corpus of the typed codecs (tests/data/hostile/codecs/<codec>/):
// every file goes through the real decoder and must come back as a bad payload (invalid_argument,
// retry class fatal: the error policy's business), never a crash, a hang or a huge allocation.
// Large inputs are generated here rather than committed.

#include <gtest/gtest.h>

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

std::unique_ptr<codec> make(std::string_view name) {
    if (name == "msgpack")
        return std::move(make_msgpack_codec({})).value();
    if (name == "csv")
        return std::move(make_csv_codec({})).value();
    if (name == "avro") {
        std::ifstream in(source_dir() / "tests" / "data" / "codecs" / "avro" / "event.avsc");
        std::ostringstream ss;
        ss << in.rdbuf();
        auto r = make_avro_codec_for_schema(ss.str(), "");
        EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
        return r ? std::move(r).value() : nullptr;
    }
    const fs::path pd = source_dir() / "tests" / "data" / "codecs" / "proto";
    auto r = make_proto_codec(test::spec_values(
        proto_codec_spec(), "schema_path = \"" + (pd / "corpus.proto").string() +
                                "\"\ninclude_paths = [\"" + (pd / "include").string() +
                                "\"]\nmessage_type = \"trib.test.Reading\""));
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? std::move(r).value() : nullptr;
}

TEST(hostile_codecs, every_corpus_file_is_a_bad_payload) {
    int files = 0;
    for (std::string_view name : {"msgpack", "csv", "proto", "avro"}) {
        auto c = make(name);
        ASSERT_TRUE(c);
        const fs::path dir = source_dir() / "tests" / "data" / "hostile" / "codecs" / name;
        ASSERT_TRUE(fs::is_directory(dir)) << dir;
        for (const auto& f : fs::directory_iterator(dir)) {
            std::ifstream in(f.path(), std::ios::binary);
            std::ostringstream ss;
            ss << in.rdbuf();
            const std::string payload = ss.str();
            arena a;
            record r;
            status s = c->decode(payload, a, r);
            ASSERT_FALSE(s) << f.path() << " decoded";
            EXPECT_EQ(s.error().code(), errc::invalid_argument) << f.path();
            EXPECT_EQ(s.error().retry(), retry_class::fatal) << f.path();
            EXPECT_LT(a.capacity(), 64 * payload.size() + 1024 * 1024) << f.path();
            ++files;
        }
    }
    EXPECT_GE(files, 25);
}

TEST(hostile_codecs, one_mebibyte_inputs) {
    const std::size_t mib = 1024 * 1024;
    arena a;
    record r;
    auto mp = make("msgpack");
    // 1 MiB of one-element arrays: refused at depth 129, immediately.
    EXPECT_FALSE(mp->decode(std::string(mib, '\x91'), a, r));
    // A valid 1 MiB array of fixints: decodes, memory ~16 bytes per element.
    std::string big = std::string("\xdd\x00\x0f\xff\xfb", 5) + std::string(mib - 5, '\x05');
    ASSERT_TRUE(mp->decode(big, a, r));
    EXPECT_EQ(typed_of(r).n, mib - 5);
    EXPECT_LT(a.capacity(), 20 * mib);
    a.reset();
    // CSV: one quote never closed, 1 MiB later.
    auto csv = make("csv");
    EXPECT_FALSE(csv->decode("a\r\n\"" + std::string(mib, 'x'), a, r));
    // 1 MiB of commas: 1 Mi empty fields in one row, refused (the header has one column).
    EXPECT_FALSE(csv->decode("a\r\n" + std::string(mib, ','), a, r));
    // Proto: 1 MiB of a repeated field's tags with truncated values.
    auto pb = make("proto");
    std::string tags;
    while (tags.size() < mib)
        tags += std::string("\xd0\x01\x01", 3);  // packed field 26 as a single varint, ok
    tags += "\xd0";                              // then a truncated tag
    EXPECT_FALSE(pb->decode(tags, a, r));
    // Avro (a fresh arena: capacity is what this payload needed): a valid 1 MiB array of empty
    // strings decodes, ~16 bytes per element; the same
    // block count with one byte missing is refused.
    auto av = make_avro_codec_for_schema(R"({"type":"array","items":"string"})", "");
    ASSERT_TRUE(av);
    const std::size_t n = mib - 8;
    std::string block;
    for (std::uint64_t u = n << 1;; u >>= 7) {
        if (u < 0x80) {
            block.push_back(static_cast<char>(u));
            break;
        }
        block.push_back(static_cast<char>((u & 0x7f) | 0x80));
    }
    std::string arr = block + std::string(n, '\0') + std::string(1, '\0');
    arena fresh;
    ASSERT_TRUE((*av)->decode(arr, fresh, r));
    EXPECT_EQ(typed_of(r).n, n);
    EXPECT_LT(fresh.capacity(), 20 * mib);
    fresh.reset();
    EXPECT_FALSE((*av)->decode(arr.substr(0, arr.size() - 2), fresh, r));
}

}  // namespace
}  // namespace trib::codecs
