// The flat_buffer codec and the flat_buffer_convert transform: schemas (.fbs compiled at start with
// include paths, .bfbs from flatc), decode by reflection after verification, encode from typed and
// JSON records, errors naming the field, conversions through the typed model (msgpack, proto),
// hostile buffers, and the cross-check with the Python flatbuffers library
// (flatbuffers_interop.py).

#include <flatbuffers/flatbuffers.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../runtime/spec_values.h"
#include "codecs/codec.h"
#include "codecs/json_dom.h"
#include "codecs/value.h"
#include "transforms/transform.h"

namespace trib::codecs {
namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
    const char* s = std::getenv("TRIB_SOURCE_DIR");
    return s ? fs::path(s) : fs::current_path();
}
fs::path fb_dir() {
    return source_dir() / "tests" / "data" / "codecs" / "flatbuffers";
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

/// A temp dir removed unless the test failed.
struct temp_dir {
    temp_dir() {
        static int k = 0;
        path = fs::temp_directory_path() /
               ("trib-fb-" + std::to_string(::getpid()) + "-" + std::to_string(k++));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~temp_dir() {
        if (!::testing::Test::HasFailure())
            fs::remove_all(path);
    }
    fs::path path;
};

std::string corpus_toml(std::string_view extra = "") {
    return "schema_path = \"" + (fb_dir() / "corpus.fbs").string() + "\"\ninclude_paths = [\"" +
           (fb_dir() / "include").string() + "\"]\n" + std::string(extra);
}

std::unique_ptr<codec> fbc(std::string_view toml) {
    auto r = make_flat_buffer_codec(test::spec_values(flat_buffer_codec_spec(), toml));
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? std::move(r).value() : nullptr;
}

std::string start_error(std::string_view toml) {
    auto r = make_flat_buffer_codec(test::spec_values(flat_buffer_codec_spec(), toml));
    return r ? "" : r.error().to_string();
}

std::unique_ptr<codec> json_codec() {
    return std::move(make_json_codec({})).value();
}

std::string to_json_text(const record& r, arena& a) {
    std::string out;
    status s = json_codec()->encode(r, a, out);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    return out;
}

// JSON text -> FlatBuffer (encode); the status of the encode.
status encode_json(const codec& c, std::string_view json_in, arena& a, std::string& wire) {
    record j;
    TRIB_TRY(json_codec()->decode(json_in, a, j));
    return c.encode(j, a, wire);
}

// JSON -> FlatBuffer -> typed -> JSON text.
std::string through_fb(const codec& c, std::string_view json_in, arena& a,
                       std::string* wire_out = nullptr) {
    std::string wire;
    status s = encode_json(c, json_in, a, wire);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    if (!s)
        return "";
    record r;
    s = c.decode(wire, a, r);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    if (wire_out)
        *wire_out = wire;
    return s ? to_json_text(r, a) : "";
}

std::string decode_error(const codec& c, std::string_view bytes) {
    arena a;
    record r;
    status s = c.decode(bytes, a, r);
    if (s)
        return "";
    EXPECT_EQ(s.error().code(), errc::invalid_argument);
    return s.error().to_string();
}

std::string encode_error(const codec& c, std::string_view json_in) {
    arena a;
    std::string wire;
    status s = encode_json(c, json_in, a, wire);
    return s ? "" : s.error().to_string();
}

const char* full_json =
    R"({"id":-42,"name":"Grüße, 世界 😀","active":false,"score":2.5,"count":-3,"ratio":0.5,)"
    R"("small":-128,"ubig":18446744073709551615,"level":"high","payload":"AAH/gA==",)"
    R"("signed_bytes":[-128,-1,0,127],"values":[1,-2,2147483647],"doubles":[0.25,-1e300],)"
    R"("names":["x","","ü"],"tags":[{"key":"k","value":"v"},{"key":"only"}],)"
    R"("where":{"lat":1.5,"lon":-2.25},"points":[{"lat":1.0,"lon":2.0},{"lat":3.0,"lon":4.0}],)"
    R"("box":{"corner":{"lat":0.5,"lon":0.75},"size":[7,-8],"level":"low"},)"
    R"("pos":{"x":1.0,"y":2.0,"z":3.0},"device_type":"Sensor","device":{"name":"t","reading":3.5},)"
    R"("child":{"id":7,"children":[{"id":8},{"id":9,"note":"deep"}]},"maybe":0,)"
    R"("levels":["low","mid"],"note":"end"})";

// --- schemas -----------------------------------------------------------------------------------

TEST(flat_buffer_codec, fbs_with_include_paths_and_bfbs_decode_the_same) {
    temp_dir t;
    std::string out;
    ASSERT_EQ(run("flatc -b --schema -o " + t.path.string() + " -I " +
                      (fb_dir() / "include").string() + " " + (fb_dir() / "corpus.fbs").string(),
                  out),
              0)
        << out;
    auto from_fbs = fbc(corpus_toml());
    auto from_bfbs = fbc("schema_path = \"" + (t.path / "corpus.bfbs").string() + "\"\n");
    ASSERT_TRUE(from_fbs && from_bfbs);
    arena a;
    std::string wire;
    const std::string text = through_fb(*from_fbs, full_json, a, &wire);
    record r;
    ASSERT_TRUE(from_bfbs->decode(wire, a, r));
    EXPECT_EQ(to_json_text(r, a), text);
    std::string wire2;
    ASSERT_TRUE(encode_json(*from_bfbs, full_json, a, wire2));
    EXPECT_EQ(wire2, wire);
}

TEST(flat_buffer_codec, bad_schemas_fail_at_start_naming_the_file) {
    temp_dir t;
    spill(t.path / "broken.fbs", "table T { a: int; \n b: nosuchtype; }\nroot_type T;\n");
    std::string e = start_error("schema_path = \"" + (t.path / "broken.fbs").string() + "\"\n");
    EXPECT_NE(e.find("broken.fbs"), std::string::npos) << e;
    EXPECT_NE(e.find("nosuchtype"), std::string::npos) << e;

    e = start_error("schema_path = \"" + (t.path / "missing.fbs").string() + "\"\n");
    EXPECT_NE(e.find("missing.fbs"), std::string::npos) << e;
    EXPECT_NE(e.find("does not exist"), std::string::npos) << e;

    spill(t.path / "junk.bfbs", "this is not a binary schema at all");
    e = start_error("schema_path = \"" + (t.path / "junk.bfbs").string() + "\"\n");
    EXPECT_NE(e.find("junk.bfbs"), std::string::npos) << e;

    // The include is not found without include_paths.
    e = start_error("schema_path = \"" + (fb_dir() / "corpus.fbs").string() + "\"\n");
    EXPECT_NE(e.find("corpus.fbs"), std::string::npos) << e;
    EXPECT_NE(e.find("common.fbs"), std::string::npos) << e;

    e = start_error(corpus_toml("root_table_name = \"NoSuchTable\"\n"));
    EXPECT_NE(e.find("NoSuchTable"), std::string::npos) << e;
    e = start_error(corpus_toml("root_table_name = \"Point\"\n"));
    EXPECT_NE(e.find("struct"), std::string::npos) << e;

    spill(t.path / "noroot.fbs", "table T { a: int; }\n");
    e = start_error("schema_path = \"" + (t.path / "noroot.fbs").string() + "\"\n");
    EXPECT_NE(e.find("root_table_name"), std::string::npos) << e;
}

TEST(flat_buffer_codec, root_table_by_name_qualified_or_not) {
    arena a;
    for (const char* name : {"Tag", "trib.test.Tag"}) {
        auto c = fbc(corpus_toml(std::string("root_table_name = \"") + name + "\"\n"));
        ASSERT_TRUE(c);
        EXPECT_EQ(through_fb(*c, R"({"key":"a","value":"b"})", a), R"({"key":"a","value":"b"})");
    }
}

// --- round trips -------------------------------------------------------------------------------

TEST(flat_buffer_codec, every_field_kind_round_trips_through_json) {
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(c);
    arena a;
    std::string wire;
    const std::string text = through_fb(*c, full_json, a, &wire);
    EXPECT_EQ(wire.substr(4, 4), "TRBR");  // the schema's file_identifier
    // Field order is the schema's; scalars appear with their values, the deprecated field never.
    EXPECT_EQ(text.find("flag_old"), std::string::npos);
    EXPECT_NE(text.find(R"("id":-42,"name":"Grüße, 世界 😀","active":false)"), std::string::npos)
        << text;
    EXPECT_NE(text.find(R"("ubig":18446744073709551615,"level":"high","payload":"AAH/gA==")"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(R"("signed_bytes":[-128,-1,0,127])"), std::string::npos) << text;
    EXPECT_NE(text.find(R"("tags":[{"key":"k","value":"v"},{"key":"only"}])"), std::string::npos)
        << text;
    EXPECT_NE(text.find(R"("box":{"corner":{"lat":0.5,"lon":0.75},"size":[7,-8],"level":"low"})"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(R"("device_type":"Sensor","device":{"name":"t","reading":3.5})"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(R"("maybe":0,"levels":["low","mid"],"note":"end")"), std::string::npos)
        << text;
    // Decoding what we decoded and re-encoding it gives the same bytes.
    std::string wire2;
    ASSERT_TRUE(encode_json(*c, text, a, wire2));
    EXPECT_EQ(wire2, wire);
}

TEST(flat_buffer_codec, payloads_at_odd_addresses_decode) {
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(c);
    arena a;
    std::string wire;
    const std::string want = through_fb(*c, full_json, a, &wire);
    for (std::size_t shift = 1; shift < 8; ++shift) {
        const std::string padded = std::string(shift, '\0') + wire;
        record r;
        ASSERT_TRUE(c->decode(std::string_view(padded).substr(shift), a, r)) << shift;
        EXPECT_EQ(to_json_text(r, a), want) << shift;
    }
}

TEST(flat_buffer_codec, absent_fields_read_as_defaults_and_optional_scalars_as_null) {
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(c);
    arena a;
    std::string wire;
    const std::string text = through_fb(*c, "{}", a, &wire);
    EXPECT_EQ(text, R"({"id":0,"active":true,"score":0.0,"count":7,"ratio":0.0,"small":0,"ubig":0,)"
                    R"("level":"mid","device_type":"NONE","maybe":null})");
    // Defaults are not written: the empty table is as small as FlatBuffers makes it.
    EXPECT_LE(wire.size(), 24u);
    // An explicit default reads the same; an optional scalar set to its "default" is kept.
    EXPECT_EQ(through_fb(*c, R"({"count":7,"maybe":0,"level":1})", a),
              R"({"id":0,"active":true,"score":0.0,"count":7,"ratio":0.0,"small":0,"ubig":0,)"
              R"("level":"mid","device_type":"NONE","maybe":0})");
}

TEST(flat_buffer_codec, enums_by_number_and_numbers_without_a_name) {
    auto c = fbc(corpus_toml());
    auto n = fbc(corpus_toml("enum_names = false\n"));
    ASSERT_TRUE(c && n);
    arena a;
    std::string t = through_fb(*c, R"({"level":2,"levels":[0,5]})", a);
    EXPECT_NE(t.find(R"("level":"high")"), std::string::npos) << t;
    EXPECT_NE(t.find(R"("levels":["low",5])"), std::string::npos) << t;
    t = through_fb(*n, R"({"level":"high","device_type":"Camera","device":{"resolution":[1]}})", a);
    EXPECT_NE(t.find(R"("level":2)"), std::string::npos) << t;
    EXPECT_NE(t.find(R"("device_type":2,"device":{"resolution":[1]})"), std::string::npos) << t;
}

TEST(flat_buffer_codec, unions_of_tables_and_structs) {
    auto su = fbc("schema_path = \"" + (fb_dir() / "struct_union.fbs").string() + "\"\n");
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(c && su);
    arena a;
    std::string t = through_fb(*su, R"({"place_type":"Spot","place":{"lat":1.25,"lon":-2.5}})", a);
    EXPECT_EQ(t, R"({"place_type":"Spot","place":{"lat":1.25,"lon":-2.5},"n":0})");
    t = through_fb(*su, R"({"place_type":"Named","place":{"name":"x"},"n":3})", a);
    EXPECT_EQ(t, R"({"place_type":"Named","place":{"name":"x"},"n":3})");
    // A vector of unions, with a NONE element (flatc's JSON parser refuses those).
    const char* with_none =
        R"({"place_type":"NONE","n":1,"route_type":["Named","Spot","NONE","Named"],)"
        R"("route":[{"name":"a"},{"lat":1.0,"lon":2.0},null,{"name":"b"}]})";
    EXPECT_EQ(through_fb(*su, with_none, a), with_none);
    // And against flatc's own encoding of the same JSON.
    const std::string route = R"({"place_type":"NONE","n":1,"route_type":["Named","Spot","Named"],)"
                              R"("route":[{"name":"a"},{"lat":1.0,"lon":2.0},{"name":"b"}]})";
    std::string ours;
    t = through_fb(*su, route, a, &ours);
    EXPECT_EQ(t, route) << t;
    temp_dir tmp;
    spill(tmp.path / "route.json", route);
    std::string out;
    ASSERT_EQ(
        run("flatc -b -o " + tmp.path.string() + " " + (fb_dir() / "struct_union.fbs").string() +
                " " + (tmp.path / "route.json").string(),
            out),
        0)
        << out;
    const std::string theirs = slurp(tmp.path / "route.bin");
    record r;
    ASSERT_TRUE(su->decode(theirs, a, r));
    EXPECT_EQ(to_json_text(r, a), route);
    // A type list shorter than the members is refused, naming the field.
    EXPECT_NE(encode_error(*su, R"({"route_type":["Named"],"route":[{"name":"a"},{"name":"b"}]})")
                  .find("route_type must list"),
              std::string::npos);
    t = through_fb(*c, R"({"device_type":"Camera","device":{"resolution":[640,480]}})", a);
    EXPECT_NE(t.find(R"("device_type":"Camera","device":{"resolution":[640,480]})"),
              std::string::npos)
        << t;
    // The type without a member, and an unknown type number with no member, read as they are.
    t = through_fb(*c, R"({"device_type":"Sensor"})", a);
    EXPECT_NE(t.find(R"("device_type":"Sensor")"), std::string::npos) << t;
    EXPECT_EQ(t.find(R"("device":)"), std::string::npos) << t;
}

TEST(flat_buffer_codec, field_mappings_rename_on_decode_and_back_on_encode) {
    auto c = fbc(corpus_toml("field_mappings = { id = \"reading_id\", note = \"comment\" }\n"));
    ASSERT_TRUE(c);
    arena a;
    std::string t = through_fb(*c, R"({"reading_id":5,"comment":"x"})", a);
    EXPECT_NE(t.find(R"({"reading_id":5,)"), std::string::npos) << t;
    EXPECT_NE(t.find(R"("comment":"x")"), std::string::npos) << t;
    EXPECT_EQ(t.find(R"("id")"), std::string::npos) << t;
}

TEST(flat_buffer_codec, typed_values_of_other_formats_encode) {
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(c);
    arena a;
    entry* es = new_entries(a, 3);
    es[0].key = value::string_value("name");
    es[0].val = value::timestamp_value(1700000000, 500000000);
    es[1].key = value::string_value("payload");
    static const char id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    es[1].val = value::uuid_value(id);
    es[2].key = value::string_value("note");
    es[2].val = value::decimal_value("-12.50");
    value v;
    v.type = value_type::record;
    v.n = 3;
    v.entries = es;
    record r;
    set_typed(r, new_value(a, v));
    std::string wire;
    ASSERT_TRUE(c->encode(r, a, wire));
    record back;
    ASSERT_TRUE(c->decode(wire, a, back));
    const std::string t = to_json_text(back, a);
    EXPECT_NE(t.find(R"("name":"2023-11-14T22:13:20.500Z")"), std::string::npos) << t;
    EXPECT_NE(t.find(R"("payload":"AQIDBAUGBwgJCgsMDQ4PEA==")"), std::string::npos) << t;
    EXPECT_NE(t.find(R"("note":"-12.50")"), std::string::npos) << t;
}

// --- encode errors -----------------------------------------------------------------------------

TEST(flat_buffer_codec, encode_errors_name_the_field) {
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(c);
    struct {
        const char* json;
        const char* want;
    } cases[] = {
        {R"({"id":"seven"})", "id must be an integer"},
        {R"({"small":200})", "small: 200 is out of range"},
        {R"({"count":1.5})", "count must be an integer"},
        {R"({"active":1})", "active must be a boolean"},
        {R"({"nope":1})", "nope is not a field of trib.test.Reading"},
        {R"({"tags":[{"value":"v"}]})", "tags[0].key is required"},
        {R"({"level":"huge"})", "level: huge is not a value of trib.test.Level"},
        {R"({"device":{"name":"x"}})", "device_type must name the union's member"},
        {R"({"device_type":true,"device":{"name":"x"}})",
         "device_type must be an enum name or a number"},
        {R"({"device_type":"Camera","device":{"name":"x"}})",
         "device.name is not a field of trib.test.Camera"},
        {R"({"where":{"lat":1}})", "where.lon is missing"},
        {R"({"box":{"corner":{"lat":1,"lon":2},"size":[1],"level":0}})",
         "box.size must be a list of 2"},
        {R"({"child":{"child":{"values":[1,"x"]}}})", "child.child.values[1] must be an integer"},
        {R"({"payload":"***"})", "payload must be bytes"},
        {R"({"names":"x"})", "names must be a list"},
        {R"([1,2])", "must be a record"},
    };
    for (const auto& k : cases) {
        const std::string e = encode_error(*c, k.json);
        EXPECT_NE(e.find(k.want), std::string::npos) << k.json << " -> " << e;
    }
    auto lax = fbc(corpus_toml("ignore_unknown_fields = true\n"));
    ASSERT_TRUE(lax);
    EXPECT_EQ(encode_error(*lax, R"({"nope":1,"id":2})"), "");
}

// --- without a schema (Iggy's shape) -----------------------------------------------------------

TEST(flat_buffer_codec, without_a_schema_payloads_are_described_as_iggy_does) {
    auto c = fbc("root_table_name = \"Thing\"\n");
    ASSERT_TRUE(c);
    arena a;
    record r;
    ASSERT_TRUE(c->decode(std::string_view("\x04\x00\x00\x00\x01", 5), a, r));
    EXPECT_EQ(to_json_text(r, a),
              R"({"buffer_size":5,"has_root_table":true,"root_table_type":"Thing",)"
              R"("raw_data_base64":"BAAAAAE="})");
    EXPECT_NE(decode_error(*c, "ab"), "");
    auto raw = fbc("extract_as_json = false\n");
    ASSERT_TRUE(raw);
    ASSERT_TRUE(raw->decode("abcd", a, r));
    EXPECT_EQ(r.kind, record_kind::raw);
    EXPECT_EQ(r.bytes, "abcd");
}

// --- hostile buffers ---------------------------------------------------------------------------

TEST(flat_buffer_hostile, every_truncation_and_byte_flip_is_refused_or_decodes) {
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(c);
    arena a;
    std::string wire;
    through_fb(*c, full_json, a, &wire);
    ASSERT_FALSE(wire.empty());
    record whole;
    ASSERT_TRUE(c->decode(wire, a, whole));
    const std::string want = to_json_text(whole, a);
    int cut_refused = 0;
    for (std::size_t n = 0; n < wire.size(); ++n) {
        // A prefix either is refused or lost only the builder's trailing padding.
        arena b;
        record r;
        if (!c->decode(std::string_view(wire).substr(0, n), b, r))
            ++cut_refused;
        else
            EXPECT_EQ(to_json_text(r, b), want) << "prefix of " << n << " bytes";
    }
    EXPECT_GT(cut_refused, static_cast<int>(wire.size()) - 8);
    // Flipping any byte either still verifies (a different but valid buffer) or is refused;
    // it never reads out of bounds (ASan in the dev build).
    int refused = 0;
    for (std::size_t i = 0; i < wire.size(); ++i) {
        std::string bad = wire;
        bad[i] = static_cast<char>(bad[i] ^ 0xff);
        arena b;
        record r;
        if (!c->decode(bad, b, r))
            ++refused;
    }
    EXPECT_GT(refused, 0);
}

TEST(flat_buffer_hostile, out_of_range_offsets_and_huge_lengths_are_bad_payloads) {
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(c);
    arena a;
    std::string wire;
    through_fb(*c, R"({"values":[1,2,3],"name":"abc"})", a, &wire);
    std::string bad = wire;
    flatbuffers::WriteScalar<std::uint32_t>(bad.data(), 0x7ffffff0u);  // root offset
    EXPECT_NE(decode_error(*c, bad), "");
    // The [int] vector's length word: find "03 00 00 00 01 00 00 00" and set the length huge.
    const std::string pattern("\x03\x00\x00\x00\x01\x00\x00\x00", 8);
    const std::size_t at = wire.find(pattern);
    ASSERT_NE(at, std::string::npos);
    bad = wire;
    flatbuffers::WriteScalar<std::uint32_t>(bad.data() + at, 0x3fffffffu);
    EXPECT_NE(decode_error(*c, bad).find("does not verify"), std::string::npos);
    // A string without its terminating zero.
    const std::size_t s = wire.find("abc");
    ASSERT_NE(s, std::string::npos);
    bad = wire;
    bad[s + 3] = 'x';
    EXPECT_NE(decode_error(*c, bad), "");
}

TEST(flat_buffer_hostile, deep_nesting_is_refused) {
    auto deep_ok = fbc(corpus_toml("max_depth = 1000\n"));
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(deep_ok && c);
    std::string json;
    for (int i = 0; i < 100; ++i)
        json += R"({"child":)";
    json += "{}";
    for (int i = 0; i < 100; ++i)
        json += "}";
    arena a;
    std::string wire;
    ASSERT_TRUE(encode_json(*deep_ok, json, a, wire));
    EXPECT_NE(decode_error(*c, wire), "");
    EXPECT_EQ(decode_error(*deep_ok, wire), "");
    EXPECT_NE(encode_error(*c, json).find("deeper"), std::string::npos);
}

TEST(flat_buffer_hostile, shared_offsets_cannot_blow_up_the_decoded_size) {
    // root.children = N offsets to one table R1 whose children = N offsets to one empty table:
    // a few KiB of buffer, N*N tables when read as a tree.
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(c);
    flatbuffers::FlatBufferBuilder b;
    const int n = 300;
    auto leaf = b.EndTable(b.StartTable());
    std::vector<flatbuffers::Offset<void>> offs(n, flatbuffers::Offset<void>(leaf));
    auto v1 = b.CreateVector(offs);
    // `children` is field id 22 (after child at 21, device_type 19, device 20): voffset 4+2*id.
    constexpr flatbuffers::voffset_t children = 4 + 2 * 22;
    auto t1s = b.StartTable();
    b.AddOffset(children, v1);
    auto mid = b.EndTable(t1s);
    std::vector<flatbuffers::Offset<void>> offs2(n, flatbuffers::Offset<void>(mid));
    auto v2 = b.CreateVector(offs2);
    auto rs = b.StartTable();
    b.AddOffset(children, v2);
    auto root = b.EndTable(rs);
    b.Finish(flatbuffers::Offset<void>(root));
    std::string wire(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
    EXPECT_LT(wire.size(), 4000u);
    const std::string e = decode_error(*c, wire);
    EXPECT_NE(e, "");
    // The same shape with few children decodes.
    auto few = fbc(corpus_toml());
    arena a;
    std::string small;
    ASSERT_TRUE(encode_json(*few, R"({"children":[{"children":[{},{}]},{}]})", a, small));
    EXPECT_EQ(decode_error(*few, small), "");
}

TEST(flat_buffer_hostile, one_mebibyte_inputs) {
    const std::size_t mib = 1024 * 1024;
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(c);
    // A root whose `children` vector holds ~262k offsets to one empty table: more tables than
    // max_tables, refused by the verifier before anything is read.
    {
        flatbuffers::FlatBufferBuilder b(mib + 1024);
        auto leaf = b.EndTable(b.StartTable());
        std::vector<flatbuffers::Offset<void>> offs(mib / 4 - 64, flatbuffers::Offset<void>(leaf));
        auto v = b.CreateVector(offs);
        auto rs = b.StartTable();
        b.AddOffset(4 + 2 * 22, v);
        b.Finish(flatbuffers::Offset<void>(b.EndTable(rs)));
        const std::string wire(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
        arena a;
        record r;
        status s = c->decode(wire, a, r);
        EXPECT_FALSE(s);
        EXPECT_LT(a.capacity(), 1024u * 1024u);
    }
    // A valid 1 MiB [int] vector decodes with ~16 bytes per element.
    {
        flatbuffers::FlatBufferBuilder b(mib + 1024);
        std::vector<std::int32_t> ints(mib / 4 - 64, 5);
        auto v = b.CreateVector(ints);
        auto rs = b.StartTable();
        b.AddOffset(4 + 2 * 11, v);  // values
        b.Finish(flatbuffers::Offset<void>(b.EndTable(rs)));
        const std::string wire(reinterpret_cast<const char*>(b.GetBufferPointer()), b.GetSize());
        arena a;
        record r;
        status s = c->decode(wire, a, r);
        ASSERT_TRUE(s) << s.error().to_string();
        EXPECT_LT(a.capacity(), 6 * mib);
    }
    // 1 MiB of 0xff: the root offset points outside.
    EXPECT_NE(decode_error(*c, std::string(mib, '\xff')), "");
}

// --- conversions through the typed model -------------------------------------------------------

TEST(flat_buffer_convert_formats, flat_buffer_to_msgpack_and_proto_and_back) {
    auto fb = fbc("schema_path = \"" + (fb_dir() / "iot.fbs").string() + "\"\n");
    auto mp = std::move(make_msgpack_codec({})).value();
    auto pb = make_proto_codec(test::spec_values(
        proto_codec_spec(), "schema_path = \"" + (fb_dir() / "iot.proto").string() +
                                "\"\nmessage_type = \"iot.Reading\"\n"));
    ASSERT_TRUE(fb);
    ASSERT_TRUE(pb) << pb.error().to_string();
    arena a;
    const std::string original = slurp(fb_dir() / "iot_reading.json");
    std::string wire;
    ASSERT_TRUE(encode_json(*fb, original, a, wire));
    record r;
    ASSERT_TRUE(fb->decode(wire, a, r));
    const std::string want = to_json_text(r, a);
    EXPECT_EQ(want, R"({"device_id":"dev-1","seq":42,"temperature":21.5,"humidity":0.25,"ok":true,)"
                    R"("tags":["lab","north"]})");

    // flat_buffer -> msgpack -> flat_buffer.
    std::string m;
    ASSERT_TRUE(mp->encode(r, a, m));
    record rm;
    ASSERT_TRUE(mp->decode(m, a, rm));
    std::string wire_m;
    ASSERT_TRUE(fb->encode(rm, a, wire_m));
    EXPECT_EQ(wire_m, wire);

    // flat_buffer -> proto -> flat_buffer.
    std::string p;
    status s = (*pb)->encode(r, a, p);
    ASSERT_TRUE(s) << s.error().to_string();
    record rp;
    ASSERT_TRUE((*pb)->decode(p, a, rp));
    std::string wire_p;
    s = fb->encode(rp, a, wire_p);
    ASSERT_TRUE(s) << s.error().to_string();
    record back;
    ASSERT_TRUE(fb->decode(wire_p, a, back));
    EXPECT_EQ(to_json_text(back, a), want);
}

TEST(flat_buffer_convert_formats, flatc_payload_decodes) {
    // The lead's end-to-end helper: flatc -b turns JSON into a payload file.
    temp_dir t;
    std::string out;
    ASSERT_EQ(run("flatc -b -o " + t.path.string() + " " + (fb_dir() / "iot.fbs").string() + " " +
                      (fb_dir() / "iot_reading.json").string(),
                  out),
              0)
        << out;
    auto fb = fbc("schema_path = \"" + (fb_dir() / "iot.fbs").string() + "\"\n");
    ASSERT_TRUE(fb);
    arena a;
    record r;
    const std::string payload = slurp(t.path / "iot_reading.bin");  // records point into it
    ASSERT_TRUE(fb->decode(payload, a, r));
    EXPECT_EQ(to_json_text(r, a),
              R"({"device_id":"dev-1","seq":42,"temperature":21.5,"humidity":0.25,"ok":true,)"
              R"("tags":["lab","north"]})");
}

// --- the transform -----------------------------------------------------------------------------

std::unique_ptr<transforms::transform> convert(std::string_view toml) {
    auto r = transforms::make_flat_buffer_convert(
        test::spec_values(transforms::flat_buffer_convert_spec(), toml));
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? std::move(r).value() : nullptr;
}

TEST(flat_buffer_convert_transform, both_directions_with_iggy_field_mappings) {
    const std::string schema = "schema_path = \"" + (fb_dir() / "iot.fbs").string() + "\"\n";
    auto to_fb = convert(schema +
                         "source_format = \"json\"\ntarget_format = \"flat_buffer\"\n"
                         "field_mappings = { id = \"device_id\" }\n"
                         "[conversion_options]\nverify_buffers = true\nbuffer_size_hint = 64\n");
    auto to_json = convert(schema + "target_format = \"text\"\n");
    ASSERT_TRUE(to_fb && to_json);
    arena a;
    record rec;
    ASSERT_TRUE(json_codec()->decode(R"({"id":"d","seq":1})", a, rec));
    transforms::transform_context ctx{};
    ASSERT_TRUE(to_fb->apply(rec, a, ctx));
    EXPECT_EQ(rec.kind, record_kind::raw);
    ASSERT_TRUE(to_json->apply(rec, a, ctx));
    EXPECT_EQ(rec.kind, record_kind::text);
    EXPECT_EQ(rec.bytes,
              R"({"device_id":"d","seq":1,"temperature":0.0,"humidity":0.0,"ok":false})");
    // Bytes that are not a FlatBuffer go to the error policy.
    record junk;
    junk.kind = record_kind::raw;
    junk.bytes = "not a flatbuffer";
    EXPECT_FALSE(to_json->apply(junk, a, ctx));
}

TEST(flat_buffer_convert_transform, spec_checks) {
    const auto s = transforms::flat_buffer_convert_spec();
    EXPECT_NE(test::spec_problems(s, "source_format = \"json\"\ntarget_format = \"text\"\n")
                  .find("flat_buffer"),
              std::string::npos);
    EXPECT_NE(test::spec_problems(s, "target_format = \"json\"\n").find("schema_path"),
              std::string::npos);
}

// --- Python's flatbuffers ----------------------------------------------------------------------

TEST(flat_buffer_python_interop, python_builds_we_decode_we_encode_python_reads) {
    const fs::path python = source_dir() / ".venv" / "bin" / "python";
    std::string out;
    if (!fs::exists(python) || run(python.string() + " -c 'import flatbuffers'", out) != 0) {
        if (std::getenv("CI") != nullptr)
            FAIL() << "no Python flatbuffers in " << python << ": " << out;
        GTEST_SKIP() << "no Python flatbuffers in " << python << " (run scripts/setup.sh)";
    }
    temp_dir t;
    const std::string script =
        (source_dir() / "tests" / "codecs" / "flatbuffers_interop.py").string();
    out.clear();
    ASSERT_EQ(run(python.string() + " " + script + " write " + t.path.string(), out), 0) << out;
    auto c = fbc(corpus_toml());
    ASSERT_TRUE(c);
    int n = 0;
    for (;; ++n) {
        const fs::path bin = t.path / ("py_" + std::to_string(n) + ".bin");
        if (!fs::exists(bin))
            break;
        arena a;
        record r;
        const std::string payload = slurp(bin);
        status s = c->decode(payload, a, r);
        ASSERT_TRUE(s) << bin << ": " << s.error().to_string();
        const std::string text = to_json_text(r, a);
        spill(t.path / ("ours_" + std::to_string(n) + ".json"), text);
        std::string wire;
        s = encode_json(*c, text, a, wire);
        ASSERT_TRUE(s) << bin << ": " << s.error().to_string();
        spill(t.path / ("enc_" + std::to_string(n) + ".bin"), wire);
        // Our re-encoding decodes to what we read from Python's bytes.
        record again;
        ASSERT_TRUE(c->decode(wire, a, again));
        EXPECT_TRUE(equal(typed_of(again), typed_of(r))) << bin;
    }
    EXPECT_GE(n, 5);
    out.clear();
    EXPECT_EQ(run(python.string() + " " + script + " check " + t.path.string(), out), 0) << out;
    std::cout << out;
}

}  // namespace
}  // namespace trib::codecs
