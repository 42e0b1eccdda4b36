// The proto codec: schemas compiled at start (include paths, well-known types), decode by
// reflection to typed values, encode from proto3 JSON, unknown fields, Any, bad payloads and bad
// schemas. Cross-checks with Python's protobuf are in python_interop_test.cpp.

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

std::string schema_toml(std::string_view type, std::string_view extra = "") {
    return "schema_path = \"" + (proto_dir() / "corpus.proto").string() +
           "\"\ninclude_paths = [\"" + (proto_dir() / "include").string() +
           "\"]\nmessage_type = \"" + std::string(type) + "\"\n" + std::string(extra);
}

std::unique_ptr<codec> proto(std::string_view toml) {
    auto r = make_proto_codec(test::spec_values(proto_codec_spec(), toml));
    EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
    return r ? std::move(r).value() : nullptr;
}

std::string to_json_text(const record& r, arena& a) {
    auto json = std::move(make_json_codec({})).value();
    std::string out;
    status s = json->encode(r, a, out);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    return out;
}

// JSON text -> proto bytes (encode) -> typed record (decode) -> JSON text.
std::string through_proto(const codec& c, std::string_view json_in, arena& a,
                          std::string* bytes = nullptr) {
    auto json = std::move(make_json_codec({})).value();
    record j;
    EXPECT_TRUE(json->decode(json_in, a, j));
    std::string wire;
    status s = c.encode(j, a, wire);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    record r;
    s = c.decode(wire, a, r);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    if (bytes)
        *bytes = wire;
    return s ? to_json_text(r, a) : "";
}

TEST(proto_codec, every_field_kind_round_trips_through_json) {
    auto c = proto(schema_toml("trib.test.Reading"));
    ASSERT_TRUE(c);
    arena a;
    std::string in =
        R"({"id":"sensor-é😀","big":"-9223372036854775808","ubig":"18446744073709551615",)"
        R"("delta":-5,"value":21.5,"ratio":0.25,"ok":true,"raw":"AAEC/w==","unit":"KELVIN",)"
        R"("tags":["a","b"],"counts":{"x":1,"y":-2},"points":{"-3":{"x":1.5,"label":"p"}},)"
        R"("origin":{"x":0.5,"y":-0.5},"at":"2024-05-06T07:08:09.123456789Z","took":"1.500s",)"
        R"("maybe":"42","extra":{"k":[1,"two",null,{"z":false}]},)"
        R"("detail":{"@type":"type.googleapis.com/trib.common.Point","x":2,"label":"in any"},)"
        R"("number":7,"path":[{"x":1},{"y":2}],"opt":0,"mask":"a.b,cD",)"
        R"("f32":4294967295,"sf64":"-1","packed":[1,-1,300],"child":{"id":"kid"}})";
    EXPECT_EQ(
        through_proto(*c, in, a),
        R"({"id":"sensor-é😀","big":-9223372036854775808,"ubig":18446744073709551615,)"
        R"("delta":-5,"value":21.5,"ratio":0.25,"ok":true,"raw":"AAEC/w==","unit":"KELVIN",)"
        R"("tags":["a","b"],"counts":{"x":1,"y":-2},"points":{"-3":{"x":1.5,"label":"p"}},)"
        R"("origin":{"x":0.5,"y":-0.5},"at":"2024-05-06T07:08:09.123456789Z","took":"1.500s",)"
        R"("maybe":42,"extra":{"k":[1.0,"two",null,{"z":false}]},)"
        R"("detail":{"@type":"type.googleapis.com/trib.common.Point","x":2.0,"label":"in any"},)"
        R"("number":7,"path":[{"x":1.0},{"y":2.0}],"opt":0,"mask":"a.b,cD",)"
        R"("f32":4294967295,"sf64":-1,"packed":[1,-1,300],"child":{"id":"kid"}})");
}

TEST(proto_codec, typed_values_for_timestamps_bytes_and_integers) {
    auto c = proto(schema_toml("trib.test.Reading"));
    ASSERT_TRUE(c);
    arena a;
    auto json = std::move(make_json_codec({})).value();
    record j;
    ASSERT_TRUE(json->decode(R"({"at":"1970-01-01T00:00:01Z","raw":"AQ==","big":"5"})", a, j));
    std::string wire;
    ASSERT_TRUE(c->encode(j, a, wire));
    record r;
    ASSERT_TRUE(c->decode(wire, a, r));
    EXPECT_EQ(debug_string(typed_of(r)),
              "{\"big\":5,\"raw\":bytes(AQ==),\"at\":timestamp(1s+0ns)}");
    // json_field_names: lowerCamelCase; both spellings are accepted when encoding.
    auto camel = proto(schema_toml("trib.test.ReadingV2", "json_field_names = true"));
    ASSERT_TRUE(camel);
    EXPECT_EQ(through_proto(*camel, R"({"added_number":3})", a), R"({"addedNumber":3})");
}

TEST(proto_codec, unknown_fields_are_kept_when_asked_and_written_back) {
    arena a;
    auto v2 = proto(schema_toml("trib.test.ReadingV2"));
    auto keep = proto(schema_toml("trib.test.Reading", "preserve_unknown_fields = true"));
    auto drop = proto(schema_toml("trib.test.Reading"));
    ASSERT_TRUE(v2 && keep && drop);
    auto json = std::move(make_json_codec({})).value();
    record j;
    ASSERT_TRUE(json->decode(R"({"id":"x","added":"new","added_number":9})", a, j));
    std::string wire;
    ASSERT_TRUE(v2->encode(j, a, wire));
    record r;
    ASSERT_TRUE(drop->decode(wire, a, r));
    EXPECT_EQ(to_json_text(r, a), R"({"id":"x"})");
    ASSERT_TRUE(keep->decode(wire, a, r));
    EXPECT_EQ(to_json_text(r, a), R"({"id":"x","unknown_field_30":"bmV3","unknown_field_31":9})");
    // Typed record back to bytes: the unknown fields go back as fields 30 and 31.
    std::string again;
    ASSERT_TRUE(keep->encode(r, a, again));
    EXPECT_EQ(again, wire);
    // And from the JSON form (bytes as base64), as after a transform.
    ASSERT_TRUE(typed_to_json_record(r, a));
    std::string from_json;
    ASSERT_TRUE(keep->encode(r, a, from_json));
    record back;
    ASSERT_TRUE(v2->decode(from_json, a, back));
    EXPECT_EQ(to_json_text(back, a), R"({"id":"x","added":"new","added_number":9})");
}

TEST(proto_codec, field_mappings_rename_and_rename_back) {
    arena a;
    auto c = proto(schema_toml("trib.test.ReadingV2", "field_mappings = { id = \"device\" }"));
    ASSERT_TRUE(c);
    EXPECT_EQ(through_proto(*c, R"({"device":"d1","big":1})", a), R"({"device":"d1","big":1})");
}

TEST(proto_codec, without_a_schema_payloads_are_any_messages_as_in_iggy) {
    arena a;
    auto c = proto("");
    ASSERT_TRUE(c);
    EXPECT_EQ(through_proto(*c, R"({"type_url":"type.googleapis.com/x.Y","value":"AQI="})", a),
              R"({"type_url":"type.googleapis.com/x.Y","value":"AQI="})");
    record r;
    EXPECT_FALSE(c->decode("", a, r));
    auto raw = proto("use_any_wrapper = false");
    ASSERT_TRUE(raw->decode("\x01\x02", a, r));
    EXPECT_EQ(r.kind, record_kind::raw);
}

TEST(proto_codec, bad_payloads_go_to_the_error_policy) {
    auto c = proto(schema_toml("trib.test.Reading"));
    ASSERT_TRUE(c);
    arena a;
    for (std::string_view p : {
             std::string_view("\x0a\x05"
                              "ab",
                              4),                      // string longer than the payload
             std::string_view("\x0a\x02\xff\xfe", 4),  // string not UTF-8
             std::string_view("\x10\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 12),  // varint
             std::string_view("\x0f", 1),                      // wire type 7
             std::string_view("\x72\x04\x08\x01\x10\xff", 6),  // Timestamp with truncated nanos
             std::string_view("\x92\x01\x0a\x0c"
                              "type.googleapis.com/no.Such",
                              31),
         }) {
        record r;
        status s = c->decode(p, a, r);
        ASSERT_FALSE(s) << debug_string(value::bytes_value(p));
        EXPECT_EQ(s.error().code(), errc::invalid_argument);
        EXPECT_EQ(s.error().retry(), retry_class::fatal);
    }
    // Nesting beyond the recursion limit.
    std::string nest;
    for (int k = 0; k < 120; ++k) {
        std::string inner = nest;
        nest = std::string("\xda\x01", 2);
        std::string len;
        std::size_t n = inner.size();
        do {
            len.push_back(static_cast<char>((n & 0x7f) | (n > 0x7f ? 0x80 : 0)));
            n >>= 7;
        } while (n);
        nest += len + inner;
    }
    record r;
    EXPECT_FALSE(c->decode(nest, a, r));
    // JSON the schema does not accept.
    auto json = std::move(make_json_codec({})).value();
    for (std::string_view bad :
         {R"({"nope":1})", R"({"big":"x"})", R"({"at":"yesterday"})", R"([1])"}) {
        record j;
        ASSERT_TRUE(json->decode(bad, a, j));
        std::string out = "keep";
        status s = c->encode(j, a, out);
        EXPECT_FALSE(s) << bad;
        EXPECT_EQ(out, "keep");
    }
}

TEST(proto_codec, bad_schemas_fail_at_start_with_the_reason) {
    auto made = [](std::string toml) {
        auto v = test::spec_values(proto_codec_spec(), toml);
        return make_proto_codec(v);
    };
    auto missing = made("schema_path = \"/nonexistent/x.proto\"\nmessage_type = \"a.B\"");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("does not exist"), std::string::npos);
    auto no_type = made(schema_toml("trib.test.Nope"));
    ASSERT_FALSE(no_type);
    EXPECT_NE(no_type.error().message().find("trib.test.Nope"), std::string::npos);
    // Without the include path, common.proto is not found: the compiler's message says so.
    auto no_inc = made("schema_path = \"" + (proto_dir() / "corpus.proto").string() +
                       "\"\nmessage_type = \"trib.test.Reading\"");
    ASSERT_FALSE(no_inc);
    EXPECT_NE(no_inc.error().message().find("common.proto"), std::string::npos)
        << no_inc.error().message();
    EXPECT_NE(test::spec_problems(proto_codec_spec(), "schema_path = \"x.proto\""), "");
    EXPECT_NE(test::spec_problems(proto_codec_spec(), "schema_registry_url = \"http://r\""), "");
}

// --- schemas held in memory (a schema registry's answers) -----------------------------------

TEST(proto_text, messages_by_name_or_confluent_indexes_with_imports_in_memory) {
    proto_text_source src;
    src.main_name = "main.proto";
    src.main_text =
        "syntax = \"proto3\";\npackage m;\nimport \"dep/common.proto\";\nimport "
        "\"google/protobuf/timestamp.proto\";\nmessage A { c.Unit u = 1; "
        "google.protobuf.Timestamp at = 2;\n  message Inner { int32 v = 1; } }\nmessage B { "
        "string s = 1; }\n";
    src.imports = {{"dep/common.proto",
                    "syntax = \"proto3\";\npackage c;\nmessage Unit { string name = 1; }\n"}};
    arena a;
    auto by_name = make_proto_codec_from_text(src, "m.A", {});
    ASSERT_TRUE(by_name) << by_name.error().to_string();
    EXPECT_EQ(by_name->indexes, (std::vector<std::int32_t>{0}));
    EXPECT_EQ(through_proto(*by_name->inner,
                            "{\"u\":{\"name\":\"kg\"},\"at\":\"2024-01-02T03:04:05Z\"}", a),
              "{\"u\":{\"name\":\"kg\"},\"at\":\"2024-01-02T03:04:05Z\"}");
    const std::vector<std::int32_t> inner_path{0, 0};
    auto inner = make_proto_codec_from_text(src, "", inner_path);
    ASSERT_TRUE(inner) << inner.error().to_string();
    EXPECT_EQ(inner->message_type, "m.A.Inner");
    EXPECT_EQ(through_proto(*inner->inner, "{\"v\":-7}", a), "{\"v\":-7}");
    auto b = make_proto_codec_from_text(src, "m.B", {});
    ASSERT_TRUE(b);
    EXPECT_EQ(b->indexes, (std::vector<std::int32_t>{1}));

    const std::vector<std::int32_t> out_of_range{2};
    auto bad_index = make_proto_codec_from_text(src, "", out_of_range);
    ASSERT_FALSE(bad_index);
    EXPECT_NE(bad_index.error().message().find("message index 2"), std::string::npos);
    proto_text_source missing = src;
    missing.imports.clear();
    auto no_import = make_proto_codec_from_text(missing, "m.A", {});
    ASSERT_FALSE(no_import);
    EXPECT_NE(no_import.error().message().find("dep/common.proto"), std::string::npos)
        << no_import.error().message();
    proto_text_source broken;
    broken.main_text = "syntax = \"proto3\"; message {";
    EXPECT_FALSE(make_proto_codec_from_text(broken, "", std::vector<std::int32_t>{0}));
}

TEST(proto_text, base64_file_descriptor_protos_as_python_serializers_register_them) {
    // FileDescriptorProto{name: "p.proto", package: "p", message_type: [{name: "M", field:
    // [{name: "n", number: 1, label: LABEL_OPTIONAL, type: TYPE_INT64}]}], syntax: "proto3"},
    // serialized and base64-encoded (as confluent-kafka's _schema_to_str writes it).
    proto_text_source src;
    src.main_text = "CgdwLnByb3RvEgFwIg4KAU0SCQoBbhgBIAEoA2IGcHJvdG8z";
    arena a;
    auto c = make_proto_codec_from_text(src, "", std::vector<std::int32_t>{0});
    ASSERT_TRUE(c) << c.error().to_string();
    EXPECT_EQ(c->message_type, "p.M");
    EXPECT_EQ(through_proto(*c->inner, "{\"n\":42}", a), "{\"n\":42}");
}

}  // namespace
}  // namespace trib::codecs
