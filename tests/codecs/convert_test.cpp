// Every pair of formats: a typed record encoded by A, decoded by A, encoded by B, decoded by B
// has the JSON form it started with. Two matrices: json, msgpack, csv with typed columns and
// proto over a record with unicode and quoting, a 64-bit integer beyond 2^53, a decimal of 21
// fraction digits, a timestamp with nanoseconds, bytes, a double and a bool; and the same seven
// ways with avro, flat_buffer and bson over the record all seven carry (see the second test).
// (Nested values, maps and nulls are covered per codec; CSV writes nested values as JSON text and
// proto omits unset fields.)

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "../runtime/spec_values.h"
#include "codecs/avro.h"
#include "codecs/bson.h"
#include "codecs/codec.h"
#include "codecs/value.h"

namespace trib::codecs {
namespace {

std::filesystem::path data_dir() {
    const char* s = std::getenv("TRIB_SOURCE_DIR");
    return std::filesystem::path(s ? s : ".") / "tests" / "data" / "codecs";
}

std::filesystem::path proto_dir() {
    return data_dir() / "proto";
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

/// The four above plus avro, flat_buffer and bson, on the same record (schemas
/// tests/data/codecs/avro/flat.avsc and flatbuffers/flat.fbs).
std::vector<format> all_formats() {
    auto f = formats();
    auto av = make_avro_codec(test::spec_values(
        avro_codec_spec(),
        "schema_path = \"" + (data_dir() / "avro" / "flat.avsc").string() + "\""));
    EXPECT_TRUE(av) << (av ? "" : av.error().to_string());
    f.push_back({"avro", std::move(av).value()});
    auto fb = make_flat_buffer_codec(test::spec_values(
        flat_buffer_codec_spec(),
        "schema_path = \"" + (data_dir() / "flatbuffers" / "flat.fbs").string() + "\""));
    EXPECT_TRUE(fb) << (fb ? "" : fb.error().to_string());
    f.push_back({"flat_buffer", std::move(fb).value()});
    auto bs = make_bson_codec(test::spec_values(bson_codec_spec(), ""));
    EXPECT_TRUE(bs) << (bs ? "" : bs.error().to_string());
    f.push_back({"bson", std::move(bs).value()});
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

/// Every ordered pair (A, B) of `fs` over `corpus`; returns the pairs checked.
int check_every_pair(const std::vector<format>& fs, const std::vector<value>& corpus, arena& a) {
    auto& json = *fs[0].c;
    int pairs = 0;
    for (const value& v : corpus) {
        record start;
        set_typed(start, new_value(a, v));
        std::string want;
        EXPECT_TRUE(json.encode(start, a, want));
        for (const auto& fa : fs) {
            std::string bytes_a;
            status s = fa.c->encode(start, a, bytes_a);
            EXPECT_TRUE(s) << fa.name << ": " << s.error().to_string();
            if (!s)
                continue;
            record rec_a;
            s = fa.c->decode(bytes_a, a, rec_a);
            EXPECT_TRUE(s) << fa.name << ": " << s.error().to_string();
            if (!s)
                continue;
            for (const auto& fb : fs) {
                std::string bytes_b;
                s = fb.c->encode(rec_a, a, bytes_b);
                EXPECT_TRUE(s) << fa.name << " -> " << fb.name << ": " << s.error().to_string();
                if (!s)
                    continue;
                record rec_b;
                s = fb.c->decode(bytes_b, a, rec_b);
                EXPECT_TRUE(s) << fa.name << " -> " << fb.name << ": " << s.error().to_string();
                if (!s)
                    continue;
                std::string got;
                EXPECT_TRUE(json.encode(rec_b, a, got));
                EXPECT_EQ(got, want) << fa.name << " -> " << fb.name;
                ++pairs;
            }
        }
    }
    return pairs;
}

TEST(convert, every_pair_of_formats_keeps_the_json_form) {
    auto fs = formats();
    arena a;
    std::vector<value> corpus = {
        flat(a, "é😀 \"quoted\", comma\r\nnew line", -9007199254740993, "-12.3400", 1700000000,
             123456789, std::string_view("\x00\xff\x10", 3), "Zoë", 0.1),
        flat(a, "plain", std::numeric_limits<std::int64_t>::max(), "0.000000000000000000001",
             -62135596800, 1000, "bytes", "日本語", -1.5e300),
    };
    EXPECT_EQ(check_every_pair(fs, corpus, a), 2 * 16);
}

// With avro, flat_buffer and bson as well: the record is what all seven carry. Avro's decimal
// has one scale (4 here) and its timestamps are microseconds, BSON's datetimes milliseconds, so
// the decimals have four fraction digits and the timestamps whole milliseconds; FlatBuffers
// holds the decimal and the timestamp as their JSON text (flat.fbs), which every other format
// reads back as the typed value its schema says.
TEST(convert, every_pair_of_seven_formats_keeps_the_json_form) {
    auto fs = all_formats();
    ASSERT_EQ(fs.size(), 7u);
    arena a;
    std::vector<value> corpus = {
        flat(a, "é😀 \"quoted\", comma\r\nnew line", -9007199254740993, "-12.3400", 1700000000,
             123000000, std::string_view("\x00\xff\x10", 3), "Zoë", 0.1),
        flat(a, "plain", std::numeric_limits<std::int64_t>::max(), "12345678901234567890.0001",
             -62135596800, 0, "bytes", "日本語", -1.5e300),
    };
    EXPECT_EQ(check_every_pair(fs, corpus, a), 2 * 49);
}

}  // namespace
}  // namespace trib::codecs
