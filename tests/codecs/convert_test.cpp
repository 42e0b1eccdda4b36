// Every pair of formats: a typed record encoded by A, decoded by A, encoded by B, decoded by B
// has the JSON form it started with (json, msgpack, csv with typed columns, proto). The record
// holds what all four can carry: unicode and quoting, a 64-bit integer beyond 2^53, a decimal, a
// timestamp with nanoseconds, bytes, a double, a bool. (Nested values, maps and nulls are
// covered per codec; CSV writes nested values as JSON text and proto omits unset fields.)

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "../runtime/spec_values.h"
#include "codecs/codec.h"
#include "codecs/value.h"

namespace trib::codecs {
namespace {

std::filesystem::path proto_dir() {
    const char* s = std::getenv("TRIB_SOURCE_DIR");
    return std::filesystem::path(s ? s : ".") / "tests" / "data" / "codecs" / "proto";
}

struct format {
    std::string name;
    std::unique_ptr<codec> c;
};

std::vector<format> formats() {
    std::vector<format> f;
    f.push_back({"json", std::move(make_json_codec({})).value()});
    f.push_back({"msgpack", std::move(make_msgpack_codec({})).value()});
    auto csv = make_csv_codec(test::spec_values(
        csv_codec_spec(), R"(types = { n = "int", price = "decimal", at = "timestamp", )"
                          R"(raw = "bytes", v = "float", ok = "bool" })"));
    EXPECT_TRUE(csv);
    f.push_back({"csv", std::move(csv).value()});
    auto pb = make_proto_codec(test::spec_values(
        proto_codec_spec(), "schema_path = \"" + (proto_dir() / "corpus.proto").string() +
                                "\"\ninclude_paths = [\"" + (proto_dir() / "include").string() +
                                "\"]\nmessage_type = \"trib.test.Flat\""));
    EXPECT_TRUE(pb) << (pb ? "" : pb.error().to_string());
    f.push_back({"proto", std::move(pb).value()});
    return f;
}

value flat(arena& a, std::string_view id, std::int64_t n, std::string_view price, std::int64_t secs,
           std::uint32_t nanos, std::string_view raw, std::string_view name, double v) {
    entry* es = new_entries(a, 8);
    const char* keys[] = {"id", "n", "price", "at", "raw", "name", "v", "ok"};
    for (int k = 0; k < 8; ++k)
        es[k].key = value::string_value(keys[k]);
    es[0].val = value::string_value(id);
    es[1].val = value::int_value(n);
    es[2].val = value::decimal_value(price);
    es[3].val = value::timestamp_value(secs, nanos);
    es[4].val = value::bytes_value(raw);
    es[5].val = value::string_value(name);
    es[6].val = value::float_value(v);
    es[7].val = value::boolean_value(true);
    value r;
    r.type = value_type::record;
    r.n = 8;
    r.entries = es;
    return r;
}

TEST(convert, every_pair_of_formats_keeps_the_json_form) {
    auto fs = formats();
    auto& json = *fs[0].c;
    arena a;
    std::vector<value> corpus = {
        flat(a, "é😀 \"quoted\", comma\r\nnew line", -9007199254740993, "-12.3400", 1700000000,
             123456789, std::string_view("\x00\xff\x10", 3), "Zoë", 0.1),
        flat(a, "plain", std::numeric_limits<std::int64_t>::max(), "0.000000000000000000001",
             -62135596800, 1000, "bytes", "日本語", -1.5e300),
    };
    int pairs = 0;
    for (const value& v : corpus) {
        record start;
        set_typed(start, new_value(a, v));
        std::string want;
        ASSERT_TRUE(json.encode(start, a, want));
        for (const auto& fa : fs) {
            std::string bytes_a;
            status s = fa.c->encode(start, a, bytes_a);
            ASSERT_TRUE(s) << fa.name << ": " << s.error().to_string();
            record rec_a;
            s = fa.c->decode(bytes_a, a, rec_a);
            ASSERT_TRUE(s) << fa.name << ": " << s.error().to_string();
            for (const auto& fb : fs) {
                std::string bytes_b;
                s = fb.c->encode(rec_a, a, bytes_b);
                ASSERT_TRUE(s) << fa.name << " -> " << fb.name << ": " << s.error().to_string();
                record rec_b;
                s = fb.c->decode(bytes_b, a, rec_b);
                ASSERT_TRUE(s) << fa.name << " -> " << fb.name << ": " << s.error().to_string();
                std::string got;
                ASSERT_TRUE(json.encode(rec_b, a, got));
                EXPECT_EQ(got, want) << fa.name << " -> " << fb.name;
                ++pairs;
            }
        }
    }
    EXPECT_EQ(pairs, 2 * 16);
}

}  // namespace
}  // namespace trib::codecs
