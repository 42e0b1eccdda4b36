// Every transform against the behaviour of Iggy's SDK transforms (the cases of its own tests),
// Tributary's filter, the batch chain, the registry, and Iggy's example connector files run
// through the real registries.

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <cstdlib>

#include "codecs/json_dom.h"
#include "config/connector_config.h"
#include "config/node.h"
#include "config/validate.h"
#include "transforms/chain.h"
#include "transforms/registry.h"

namespace trib::transforms {
namespace {

// A transform from its TOML options, validated against its spec like a connector file would be.
std::unique_ptr<transform> make(std::string_view name, std::string_view toml) {
    auto tree = config::parse_toml(toml, "t.toml");
    EXPECT_TRUE(tree) << (tree ? "" : tree.error().message());
    const config::spec* s = builtins().transform_spec(name);
    EXPECT_NE(s, nullptr);
    config::problems p;
    config::environment env;
    config::validation_context ctx;
    ctx.file = "t.toml";
    ctx.prefix = "transforms." + std::string(name);
    ctx.env = &env;
    config::values v = config::validate(*s, *tree, ctx, p);
    EXPECT_FALSE(p.has_errors()) << p.to_string();
    auto t = builtins().make_transform(name, v);
    EXPECT_TRUE(t) << (t ? "" : t.error().to_string());
    return std::move(t).value();
}

std::string problems_of(std::string_view name, std::string_view toml) {
    auto tree = config::parse_toml(toml, "t.toml");
    config::problems p;
    config::environment env;
    config::validation_context ctx;
    ctx.file = "t.toml";
    ctx.prefix = "transforms." + std::string(name);
    ctx.env = &env;
    config::validate(*builtins().transform_spec(name), *tree, ctx, p);
    return p.to_string();
}

struct outcome {
    verdict v = verdict::keep;
    std::string payload;
    bool modified = false;
};

outcome run(const transform& t, std::string_view payload, std::string_view schema = "json") {
    auto c = builtins().make_codec(schema);
    EXPECT_TRUE(c);
    codecs::arena a;
    codecs::record r;
    EXPECT_TRUE((*c)->decode(payload, a, r));
    auto v = t.apply(r, a, transform_context{"stream", "topic", nullptr});
    EXPECT_TRUE(v) << (v ? "" : v.error().to_string());
    outcome o;
    o.v = v ? *v : verdict::keep;
    o.modified = r.modified;
    EXPECT_TRUE((*c)->encode(r, a, o.payload));
    return o;
}

// --- add_fields ------------------------------------------------------------------------------

TEST(add_fields, static_values_of_every_type_and_overwrite) {
    auto t = make("add_fields", R"(
[[fields]]
key = "string_field"
value.static = "string_value"
[[fields]]
key = "number_field"
value.static = 42
[[fields]]
key = "boolean_field"
value.static = true
[[fields]]
key = "existing"
value.static = "new_value"
[[fields]]
key = "object_field"
value = { static = { a = [1, 2] } }
)");
    auto o = run(*t, R"({"existing": "field"})");
    EXPECT_EQ(o.payload,
              R"({"existing":"new_value","string_field":"string_value","number_field":42,)"
              R"("boolean_field":true,"object_field":{"a":[1,2]}})");
    EXPECT_TRUE(o.modified);
}

TEST(add_fields, computed_values) {
    auto t = make("add_fields", R"(
[[fields]]
key = "ms"
value.computed = "timestamp_millis"
[[fields]]
key = "ns"
value.computed = "timestamp_nanos"
[[fields]]
key = "s"
value.computed = "timestamp_seconds"
[[fields]]
key = "us"
value.computed = "timestamp_micros"
[[fields]]
key = "dt"
value.computed = "date_time"
[[fields]]
key = "u4"
value.computed = "uuid_v4"
[[fields]]
key = "u7"
value.computed = "uuid_v7"
)");
    auto before = std::chrono::system_clock::now();
    auto o = run(*t, R"({"existing": "field"})");
    auto after = std::chrono::system_clock::now();
    rapidjson::Document d;
    d.Parse(o.payload.c_str());
    ASSERT_FALSE(d.HasParseError()) << o.payload;
    auto ms = [](auto tp) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(tp.time_since_epoch()).count();
    };
    EXPECT_GE(d["ms"].GetInt64(), ms(before));
    EXPECT_LE(d["ms"].GetInt64(), ms(after));
    EXPECT_EQ(d["ns"].GetInt64() / 1'000'000'000, d["s"].GetInt64());
    EXPECT_EQ(d["us"].GetInt64() / 1'000'000, d["s"].GetInt64());
    re2::RE2 rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6}|\.\d{9})?\+00:00)");
    EXPECT_TRUE(re2::RE2::FullMatch(d["dt"].GetString(), rfc3339)) << d["dt"].GetString();
    re2::RE2 v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    re2::RE2 v7("[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    EXPECT_TRUE(re2::RE2::FullMatch(d["u4"].GetString(), v4)) << d["u4"].GetString();
    EXPECT_TRUE(re2::RE2::FullMatch(d["u7"].GetString(), v7)) << d["u7"].GetString();
    // UUIDv7 starts with the Unix milliseconds.
    std::string u7 = d["u7"].GetString();
    std::string hex = u7.substr(0, 8) + u7.substr(9, 4);
    EXPECT_NEAR(static_cast<double>(std::stoll(hex, nullptr, 16)), static_cast<double>(ms(before)),
                1000);
    auto again = run(*t, R"({})");
    rapidjson::Document d2;
    d2.Parse(again.payload.c_str());
    EXPECT_STRNE(d["u4"].GetString(), d2["u4"].GetString());
}

TEST(add_fields, passes_non_objects_and_non_json_through) {
    auto t = make("add_fields", "[[fields]]\nkey = \"k\"\nvalue.static = 1\n");
    auto raw = run(*t, std::string_view("\x01\x02\x03\x04", 4), "raw");
    EXPECT_EQ(raw.payload, std::string_view("\x01\x02\x03\x04", 4));
    EXPECT_FALSE(raw.modified);
    auto arr = run(*t, "[1,2]");
    EXPECT_EQ(arr.payload, "[1,2]");
    EXPECT_FALSE(arr.modified);
    auto none = make("add_fields", "");
    EXPECT_FALSE(run(*none, R"({"existing":"field"})").modified);
}

TEST(add_fields, value_needs_exactly_one_kind) {
    EXPECT_EQ(problems_of("add_fields", "[[fields]]\nkey = \"k\"\nvalue = {}\n"),
              "t.toml: transforms.add_fields.fields[0].value: set exactly one of value.static and "
              "value.computed");
    EXPECT_EQ(problems_of("add_fields", "[[fields]]\nkey = \"k\"\nvalue.computed = \"uuid_v8\"\n"),
              "t.toml: transforms.add_fields.fields[0].value.computed: expected one of "
              "\"date_time\", \"timestamp_nanos\", \"timestamp_micros\", \"timestamp_millis\", "
              "\"timestamp_seconds\", \"uuid_v4\", \"uuid_v7\", got \"uuid_v8\"; did you mean "
              "\"uuid_v4\"?");
}

// --- delete_fields ---------------------------------------------------------------------------

TEST(delete_fields, removes_listed_fields_keeping_order) {
    auto t = make("delete_fields", R"(fields = ["field1", "field3", "nonexistent"])");
    auto o = run(*t, R"({"field1":"value1","field2":"value2","field3":42,"field4":true})");
    EXPECT_EQ(o.payload, R"({"field2":"value2","field4":true})");
    EXPECT_TRUE(o.modified);
    auto untouched = run(*t, R"({"other":1})");
    EXPECT_FALSE(untouched.modified);
    auto none = make("delete_fields", "");
    EXPECT_EQ(run(*none, R"({"field1":"value1"})").payload, R"({"field1":"value1"})");
}

// --- filter_fields ---------------------------------------------------------------------------

TEST(filter_fields, keep_list_only) {
    auto t = make("filter_fields", R"(keep_fields = ["id", "name"])");
    EXPECT_EQ(
        run(*t, R"({"id":1,"name":"test","description":"x","created_at":"2023-01-01"})").payload,
        R"({"id":1,"name":"test"})");
}

TEST(filter_fields, include_fields_matching_key_pattern) {
    auto t = make("filter_fields", R"(
[[patterns]]
key_pattern = { starts_with = "meta_" }
)");
    EXPECT_EQ(run(*t, R"({"id":1,"meta_created":"a","meta_updated":"b","content":"c"})").payload,
              R"({"meta_created":"a","meta_updated":"b"})");
}

TEST(filter_fields, exclude_matching_when_include_is_false) {
    auto t = make("filter_fields", R"(
include_matching = false
[[patterns]]
key_pattern = { starts_with = "temp_" }
)");
    EXPECT_EQ(run(*t, R"({"id":1,"name":"test","temp_value":100,"temp_flag":true})").payload,
              R"({"id":1,"name":"test"})");
}

TEST(filter_fields, value_patterns) {
    auto numbers = make("filter_fields", "[[patterns]]\nvalue_pattern = \"is_number\"\n");
    EXPECT_EQ(run(*numbers, R"({"id":1,"count":42,"name":"test","active":true})").payload,
              R"({"id":1,"count":42})");
    auto combined = make("filter_fields", R"(
[[patterns]]
key_pattern = { contains = "date" }
value_pattern = "is_string"
)");
    EXPECT_EQ(
        run(*combined,
            R"({"id":1,"created_date":"a","updated_date":"b","expired_date":null,"version":"1.0"})")
            .payload,
        R"({"created_date":"a","updated_date":"b"})");
    auto between = make("filter_fields", "[[patterns]]\nvalue_pattern = { between = [10, 20] }\n");
    EXPECT_EQ(run(*between, R"({"a":5,"b":10,"c":15.5,"d":20,"e":21,"f":"15"})").payload,
              R"({"b":10,"c":15.5,"d":20})");
    auto equals = make("filter_fields", "[[patterns]]\nvalue_pattern = { equals = { x = 1 } }\n");
    EXPECT_EQ(run(*equals, R"({"a":{"x":1},"b":{"x":2},"c":{"x":1.0}})").payload,
              R"({"a":{"x":1},"c":{"x":1.0}})");
    auto regex = make("filter_fields", R"(
[[patterns]]
key_pattern = { regex = "^(id|ref)_\\d+$" }
[[patterns]]
value_pattern = { regex = "@example\\.com$" }
)");
    EXPECT_EQ(
        run(*regex, R"({"id_1":1,"id_x":2,"ref_22":3,"mail":"a@example.com","other":"b@x.org"})")
            .payload,
        R"({"id_1":1,"ref_22":3,"mail":"a@example.com"})");
    auto gtlt = make("filter_fields", R"(
[[patterns]]
value_pattern = { greater_than = 100 }
[[patterns]]
value_pattern = { less_than = -1 }
[[patterns]]
value_pattern = { contains = "keep" }
)");
    EXPECT_EQ(run(*gtlt, R"({"a":101,"b":100,"c":-2,"d":"please keep me","e":"drop"})").payload,
              R"({"a":101,"c":-2,"d":"please keep me"})");
}

TEST(filter_fields, keep_list_combines_with_patterns) {
    auto t = make("filter_fields", R"(
keep_fields = ["id"]
[[patterns]]
key_pattern = { starts_with = "meta_" }
)");
    EXPECT_EQ(run(*t, R"({"id":1,"name":"test","meta_created":"a","description":"x"})").payload,
              R"({"id":1,"meta_created":"a"})");
    auto none = make("filter_fields", "");
    EXPECT_FALSE(run(*none, R"({"id":1,"name":"test"})").modified);
}

TEST(filter_fields, pattern_problems_are_config_errors) {
    // Shape checks run once the options themselves are valid (a spec check), so each case is
    // checked on its own; the option-level error comes first.
    std::string p = problems_of("filter_fields", R"(
[[patterns]]
key_pattern = { starts_with = "a", ends_with = "b" }
[[patterns]]
value_pattern = "is_numbr"
[[patterns]]
value_pattern = { regex = "(unclosed" }
)");
    EXPECT_NE(p.find("patterns[0].key_pattern: set exactly one of"), std::string::npos) << p;
    EXPECT_NE(
        p.find(
            R"(patterns[1].value_pattern: unknown value pattern "is_numbr"; did you mean "is_number"?)"),
        std::string::npos)
        << p;
    EXPECT_NE(p.find("patterns[2].value_pattern: invalid regular expression"), std::string::npos)
        << p;
    EXPECT_EQ(problems_of("filter_fields", "[[patterns]]\nkey_pattern = { prefix = \"x\" }\n"),
              "t.toml: transforms.filter_fields.patterns[0].key_pattern.prefix: unknown option");
}

// --- update_fields ---------------------------------------------------------------------------

TEST(update_fields, conditions) {
    auto t = make("update_fields", R"(
[[fields]]
key = "status"
value.static = "updated"
condition = "key_exists"
[[fields]]
key = "missing_field"
value.static = "should not be added"
condition = "key_exists"
[[fields]]
key = "id"
value.static = 99
condition = "key_not_exists"
[[fields]]
key = "created_at"
value.static = "2023-01-01"
condition = "key_not_exists"
[[fields]]
key = "always"
value.static = "yes"
)");
    EXPECT_EQ(run(*t, R"({"id":1,"status":"pending"})").payload,
              R"({"id":1,"status":"updated","created_at":"2023-01-01","always":"yes"})");
}

TEST(update_fields, computed_and_pass_through) {
    auto t = make("update_fields", R"(
[[fields]]
key = "request_id"
value.computed = "uuid_v4"
condition = "key_not_exists"
)");
    auto o = run(*t, R"({"id":1})");
    EXPECT_NE(o.payload.find("\"request_id\":\""), std::string::npos);
    auto kept = run(*t, R"({"request_id":"given"})");
    EXPECT_EQ(kept.payload, R"({"request_id":"given"})");
    EXPECT_FALSE(kept.modified);
    EXPECT_EQ(run(*t, "hello", "text").payload, "hello");
}

// --- unwrap_envelope -------------------------------------------------------------------------

TEST(unwrap_envelope, iggy_cases) {
    auto data = make("unwrap_envelope", R"(field = "data")");
    EXPECT_EQ(
        run(*data,
            R"({"table_name":"tpch.lineitem","operation_type":"SELECT","data":{"id":1,"l_orderkey":123},"old_data":null})")
            .payload,
        R"({"id":1,"l_orderkey":123})");
    auto missing = run(*data, R"({"table_name":"users","operation_type":"INSERT"})");
    EXPECT_EQ(missing.payload, R"({"table_name":"users","operation_type":"INSERT"})");
    EXPECT_FALSE(missing.modified);
    auto scalar = make("unwrap_envelope", R"(field = "payload")");
    EXPECT_EQ(run(*scalar, R"({"payload":"just a string","meta":1})").payload,
              R"("just a string")");
    auto null = make("unwrap_envelope", R"(field = "old_data")");
    EXPECT_EQ(run(*null, R"({"data":{"id":1},"old_data":null})").payload, "null");
    EXPECT_EQ(run(*data, "[1,2]").payload, "[1,2]");
    auto items = make("unwrap_envelope", R"(field = "items")");
    EXPECT_EQ(run(*items, R"({"items":[1,2,3],"count":3})").payload, "[1,2,3]");
    EXPECT_EQ(problems_of("unwrap_envelope", ""),
              "t.toml: transforms.unwrap_envelope.field: required option is missing");
}

// --- filter (Tributary) ----------------------------------------------------------------------

TEST(filter, comparisons_keep_and_drop) {
    auto gt = make("filter", "field = \"reading.temp\"\nop = \"gt\"\nvalue = 30\n");
    EXPECT_EQ(run(*gt, R"({"reading":{"temp":31.5}})").v, verdict::keep);
    EXPECT_EQ(run(*gt, R"({"reading":{"temp":30}})").v, verdict::drop);
    EXPECT_EQ(run(*gt, R"({"reading":{}})").v, verdict::drop);              // missing
    EXPECT_EQ(run(*gt, R"({"reading":{"temp":"hot"}})").v, verdict::drop);  // not comparable
    EXPECT_EQ(run(*gt, "31", "text").v, verdict::drop);                     // not JSON
    auto drop =
        make("filter", "field = \"level\"\nop = \"eq\"\nvalue = \"debug\"\naction = \"drop\"\n");
    EXPECT_EQ(run(*drop, R"({"level":"debug"})").v, verdict::drop);
    EXPECT_EQ(run(*drop, R"({"level":"info"})").v, verdict::keep);
    EXPECT_EQ(run(*drop, R"({})").v, verdict::keep);
    auto ne = make("filter", "field = \"n\"\nop = \"ne\"\nvalue = 1\n");
    EXPECT_EQ(run(*ne, R"({"n":1.0})").v, verdict::drop);
    EXPECT_EQ(run(*ne, R"({"n":2})").v, verdict::keep);
    auto le = make("filter", "field = \"name\"\nop = \"le\"\nvalue = \"m\"\n");
    EXPECT_EQ(run(*le, R"({"name":"alpha"})").v, verdict::keep);
    EXPECT_EQ(run(*le, R"({"name":"zulu"})").v, verdict::drop);
    auto ex = make("filter", "field = \"items.1.id\"\nop = \"exists\"\n");
    EXPECT_EQ(run(*ex, R"({"items":[{"id":1},{"id":2}]})").v, verdict::keep);
    EXPECT_EQ(run(*ex, R"({"items":[{"id":1}]})").v, verdict::drop);
    auto nx = make("filter", "field = \"deleted\"\nop = \"not_exists\"\n");
    EXPECT_EQ(run(*nx, R"({"a":1})").v, verdict::keep);
    EXPECT_EQ(run(*nx, R"({"deleted":false})").v, verdict::drop);
    auto re = make("filter", "field = \"host\"\nop = \"matches\"\nvalue = \"^web-\\\\d+$\"\n");
    EXPECT_EQ(run(*re, R"({"host":"web-12"})").v, verdict::keep);
    EXPECT_EQ(run(*re, R"({"host":"db-1"})").v, verdict::drop);
    auto has = make("filter", "field = \"tags\"\nop = \"contains\"\nvalue = \"prod\"\n");
    EXPECT_EQ(run(*has, R"({"tags":["dev","prod"]})").v, verdict::keep);
    EXPECT_EQ(run(*has, R"({"tags":"preprod"})").v, verdict::keep);
    EXPECT_EQ(run(*has, R"({"tags":["dev"]})").v, verdict::drop);
}

TEST(filter, config_problems) {
    EXPECT_EQ(problems_of("filter", "field = \"a\"\nop = \"gt\"\n"),
              "t.toml: transforms.filter.value: op = \"gt\" needs a value");
    EXPECT_EQ(problems_of("filter", "field = \"a\"\nop = \"exists\"\nvalue = 1\n"),
              "t.toml: transforms.filter.value: op = \"exists\" takes no value");
    EXPECT_NE(problems_of("filter", "field = \"a\"\nop = \"matches\"\nvalue = \"(\"\n")
                  .find("invalid regular expression"),
              std::string::npos);
    EXPECT_EQ(
        problems_of("filter", "field = \"a\"\nop = \"greater\"\nvalue = 1\n"),
        "t.toml: transforms.filter.op: expected one of \"eq\", \"ne\", \"gt\", \"ge\", \"lt\", "
        "\"le\", \"exists\", \"not_exists\", \"matches\", \"contains\", got \"greater\"");
}

// --- chain -----------------------------------------------------------------------------------

config::transform_config configured(std::string_view name, std::string_view toml) {
    auto tree = config::parse_toml(toml, "t.toml");
    config::problems p;
    config::transform_config tc;
    tc.name = std::string(name);
    tc.options = config::validate(*builtins().transform_spec(name), *tree, "t.toml", "", p);
    EXPECT_FALSE(p.has_errors()) << p.to_string();
    return tc;
}

message_batch batch_of(std::vector<std::string> payloads) {
    message_batch b;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        message m;
        m.offset = i;
        m.payload = b.own(std::move(payloads[i]));
        b.messages.push_back(std::move(m));
    }
    return b;
}

TEST(chain, decode_transform_encode_in_place) {
    std::vector<config::transform_config> ts = {
        configured("filter", "field = \"kind\"\nop = \"ne\"\nvalue = \"noise\"\n"),
        configured("delete_fields", "fields = [\"secret\"]"),
    };
    auto c = make_chain("json", ts);
    ASSERT_TRUE(c) << c.error().to_string();
    EXPECT_FALSE(c->passthrough());
    auto b = batch_of({R"({"kind":"a","secret":1})", R"({"kind":"noise"})", "not json",
                       R"({"kind":"b"})", R"({"kind":"c","secret":2,"x":[1]})"});
    const char* untouched = b.messages[3].payload.data();
    chain_report report;
    c->process(b, "s", "t", report);
    ASSERT_EQ(b.messages.size(), 3u);
    EXPECT_EQ(b.messages[0].offset, 0u);
    EXPECT_EQ(b.messages[0].payload, R"({"kind":"a"})");
    EXPECT_EQ(b.messages[1].offset, 3u);
    EXPECT_EQ(b.messages[1].payload.data(), untouched) << "an unchanged record keeps its bytes";
    EXPECT_EQ(b.messages[2].offset, 4u);
    EXPECT_EQ(b.messages[2].payload, R"({"kind":"c","x":[1]})");
    EXPECT_EQ(report.filtered, 1u);
    ASSERT_EQ(report.failed.size(), 1u);
    EXPECT_EQ(report.failed[0].original.offset, 2u);
    EXPECT_EQ(report.failed[0].original.payload, "not json");
    EXPECT_EQ(report.failed[0].where, stage::decode);
    EXPECT_EQ(report.failed[0].err.retry(), retry_class::fatal);

    // The arena is reused: a second batch through the same chain.
    auto b2 = batch_of({R"({"kind":"z","secret":3})"});
    chain_report r2;
    c->process(b2, "s", "t", r2);
    ASSERT_EQ(b2.messages.size(), 1u);
    EXPECT_EQ(b2.messages[0].payload, R"({"kind":"z"})");
}

TEST(chain, avro_stream_with_its_schema_keys) {
    // [[streams]] schema = "avro" with avro_schema_json: the chain's codec gets the schema.
    config::node opts = config::node::make_table();
    opts.set("avro_schema_json",
             config::node::make_string(
                 R"({"type":"record","name":"R","fields":[{"name":"name","type":"string"},)"
                 R"({"name":"note","type":["null","string"]}]})"));
    auto c =
        make_chain("avro", {configured("delete_fields", "fields = [\"note\"]")}, builtins(), &opts);
    ASSERT_TRUE(c) << c.error().to_string();
    auto b = batch_of({std::string("\x04"
                                   "Al\x02\x02x",
                                   6),
                       std::string("\x04"
                                   "Al\x02",
                                   4)});
    chain_report report;
    c->process(b, "s", "t", report);
    ASSERT_EQ(b.messages.size(), 1u);
    EXPECT_EQ(b.messages[0].payload, std::string("\x04"
                                                 "Al\x00",
                                                 4))
        << "note deleted: null";
    ASSERT_EQ(report.failed.size(), 1u);
    EXPECT_EQ(report.failed[0].where, stage::decode);
    // A stream option the codec refuses fails when the chain is made.
    config::node bad = config::node::make_table();
    bad.set("avro_schema_json", config::node::make_string("{"));
    EXPECT_FALSE(make_chain("avro", {}, builtins(), &bad));
}

TEST(chain, passthrough_when_no_transforms) {
    std::vector<config::transform_config> ts = {configured("delete_fields", "fields = [\"a\"]")};
    ts[0].enabled = false;
    auto c = make_chain("json", ts);
    ASSERT_TRUE(c);
    EXPECT_TRUE(c->passthrough());
    auto b = batch_of({"not json at all", R"({"a":1})"});
    const char* p0 = b.messages[0].payload.data();
    chain_report report;
    c->process(b, "s", "t", report);
    ASSERT_EQ(b.messages.size(), 2u);
    EXPECT_EQ(b.messages[0].payload.data(), p0) << "no decoding, no copy";
    EXPECT_TRUE(report.failed.empty());
}

TEST(chain, unwrap_then_add_fields_runs_in_file_order) {
    std::vector<config::transform_config> ts = {
        configured("unwrap_envelope", "field = \"data\""),
        configured("add_fields", "[[fields]]\nkey = \"src\"\nvalue.static = \"cdc\"\n"),
    };
    auto c = make_chain("json", ts);
    ASSERT_TRUE(c);
    auto b = batch_of({R"({"op":"INSERT","data":{"id":7}})"});
    chain_report report;
    c->process(b, "s", "t", report);
    ASSERT_EQ(b.messages.size(), 1u);
    EXPECT_EQ(b.messages[0].payload, R"({"id":7,"src":"cdc"})");
}

TEST(chain, typed_records_become_json_for_transforms_and_encode_back) {
    // msgpack {"kind":"a","secret":1,"at":timestamp(1)}; a transform sees JSON, the result is
    // msgpack again; a bad payload goes to the error policy.
    std::vector<config::transform_config> ts = {
        configured("delete_fields", "fields = [\"secret\"]"),
    };
    auto c = make_chain("msgpack", ts);
    ASSERT_TRUE(c) << c.error().to_string();
    static const char packed[] =
        "\x83\xa4kind\xa1"
        "a\xa6secret\x01\xa2"
        "at\xd6\xff\x00\x00\x00\x01";
    std::string in(packed, sizeof packed - 1);
    auto b = batch_of({in, std::string("\xc1", 1)});
    chain_report report;
    c->process(b, "s", "t", report);
    ASSERT_EQ(b.messages.size(), 1u);
    // The timestamp went through JSON as an RFC 3339 string.
    EXPECT_EQ(b.messages[0].payload,
              "\x82\xa4kind\xa1"
              "a\xa2"
              "at\xb4"
              "1970-01-01T00:00:01Z");
    ASSERT_EQ(report.failed.size(), 1u);
    EXPECT_EQ(report.failed[0].where, stage::decode);
}

TEST(chain, convert_decodes_with_one_codec_and_encodes_every_record_with_another) {
    // msgpack stream -> JSON (a sink's view), no transforms: every record re-encoded; a payload
    // that does not decode leaves the batch with its bytes and the decoder's message.
    auto c =
        make_chain(codec_choice{"msgpack", {}}, codec_choice{"json", {}}, codec_mode::convert, {});
    ASSERT_TRUE(c) << c.error().to_string();
    EXPECT_FALSE(c->passthrough());
    auto b = batch_of(
        {std::string("\x82\xa1n\x05\xa2ok\xc3"), std::string("\xc1", 1), std::string("\x91\xa1x")});
    chain_report report;
    c->process(b, "s", "t", report);
    ASSERT_EQ(b.messages.size(), 2u);
    EXPECT_EQ(b.messages[0].payload, R"({"n":5,"ok":true})");
    EXPECT_EQ(b.messages[1].payload, R"(["x"])");
    EXPECT_EQ(b.messages[1].offset, 2u);
    ASSERT_EQ(report.failed.size(), 1u);
    EXPECT_EQ(report.failed[0].where, stage::decode);
    EXPECT_EQ(report.failed[0].original.payload, std::string("\xc1", 1));
    EXPECT_NE(report.failed[0].err.message().find("msgpack"), std::string::npos)
        << report.failed[0].err.message();

    // The other way (a JSON source into a msgpack stream).
    auto back =
        make_chain(codec_choice{"json", {}}, codec_choice{"msgpack", {}}, codec_mode::convert, {});
    ASSERT_TRUE(back);
    auto b2 = batch_of({R"({"n":5,"ok":true})"});
    chain_report r2;
    back->process(b2, "s", "t", r2);
    ASSERT_EQ(b2.messages.size(), 1u);
    EXPECT_EQ(b2.messages[0].payload, std::string("\x82\xa1n\x05\xa2ok\xc3"));
}

TEST(chain, validate_decodes_without_transforms_and_keeps_the_bytes) {
    auto c = make_chain(codec_choice{"msgpack", {}}, codec_choice{"msgpack", {}},
                        codec_mode::validate, {});
    ASSERT_TRUE(c);
    EXPECT_FALSE(c->passthrough());
    auto b = batch_of({std::string("\x81\xa1n\x05"), std::string("\x92\x01", 2)});
    const char* p0 = b.messages[0].payload.data();
    chain_report report;
    c->process(b, "s", "t", report);
    ASSERT_EQ(b.messages.size(), 1u);
    EXPECT_EQ(b.messages[0].payload.data(), p0) << "valid payloads are not re-encoded";
    ASSERT_EQ(report.failed.size(), 1u);
    EXPECT_EQ(report.failed[0].original.offset, 1u);

    // Same codec, no transforms: nothing to do at all.
    auto same =
        make_chain(codec_choice{"json", {}}, codec_choice{"json", {}}, codec_mode::same, {});
    ASSERT_TRUE(same);
    EXPECT_TRUE(same->passthrough());
}

TEST(chain, unknown_codec_or_transform) {
    EXPECT_FALSE(make_chain("no_such_codec", {}));
    EXPECT_FALSE(make_chain("avro", {})) << "avro needs a schema";
    config::transform_config t;
    t.name = "no_such_transform";
    EXPECT_FALSE(make_chain("json", {t}));
}

TEST(chain, proto_convert_both_ways_as_in_iggy) {
    const char* src = std::getenv("TRIB_SOURCE_DIR");
    const std::string dir = std::string(src ? src : ".") + "/tests/data/codecs/proto";
    const std::string schema = "schema_path = \"" + dir + "/corpus.proto\"\ninclude_paths = [\"" +
                               dir + "/include\"]\nmessage_type = \"trib.test.Flat\"\n";
    // JSON -> proto on a raw stream: the payload becomes the message's bytes.
    auto to = make_chain("raw", {configured("proto_convert",
                                            "source_format = \"json\"\n"
                                            "target_format = \"proto\"\n" +
                                                schema)});
    ASSERT_TRUE(to) << to.error().to_string();
    auto b = batch_of({R"({"id":"x","n":"5","at":"1970-01-01T00:00:01Z"})", "not json"});
    chain_report report;
    to->process(b, "s", "t", report);
    ASSERT_EQ(b.messages.size(), 1u);
    EXPECT_EQ(b.messages[0].payload, std::string("\x0a\x01x\x10\x05\x22\x02\x08\x01", 9));
    ASSERT_EQ(report.failed.size(), 1u);
    EXPECT_EQ(report.failed[0].where, stage::transform);
    // And back: proto -> JSON text, with Iggy's metadata wrapper when asked.
    auto from =
        make_chain("raw", {configured("proto_convert", "target_format = \"json\"\n" + schema)});
    ASSERT_TRUE(from) << from.error().to_string();
    auto b2 = batch_of({std::string(b.messages[0].payload)});
    chain_report r2;
    from->process(b2, "s", "t", r2);
    ASSERT_EQ(b2.messages.size(), 1u);
    EXPECT_EQ(b2.messages[0].payload, R"({"id":"x","n":5,"at":"1970-01-01T00:00:01Z"})");
    auto meta = make_chain(
        "raw",
        {configured("proto_convert", schema + "[conversion_options]\ninclude_metadata = true\n")});
    ASSERT_TRUE(meta) << meta.error().to_string();
    auto b3 = batch_of({std::string(b2.messages.empty() ? "" : "\x0a\x01y")});
    chain_report r3;
    meta->process(b3, "s", "t", r3);
    ASSERT_EQ(b3.messages.size(), 1u);
    EXPECT_NE(b3.messages[0].payload.find(
                  R"({"data":{"id":"y"},"metadata":{"converted_from":"protobuf")"),
              std::string::npos)
        << b3.messages[0].payload;
    // A schema that does not compile fails when the chain is built.
    EXPECT_FALSE(make_chain("raw", {configured("proto_convert",
                                               "schema_path = \"/nope.proto\"\n"
                                               "message_type = \"a.B\"\n")}));
}

TEST(chain, json_schema_sends_invalid_records_to_the_error_policy) {
    auto c = make_chain(
        "json",
        {configured("json_schema",
                    "schema_json = '{\"type\": \"object\", \"properties\": {\"n\": "
                    "{\"type\": \"integer\", \"minimum\": 0}}, \"required\": [\"n\"]}'\n")});
    ASSERT_TRUE(c) << c.error().to_string();
    auto b = batch_of({R"({"n": 1})", R"({"n": -1})", R"({"m": 1})", R"({"n": 2})"});
    chain_report report;
    c->process(b, "s", "t", report);
    ASSERT_EQ(b.messages.size(), 2u);
    EXPECT_EQ(b.messages[0].payload, R"({"n": 1})");  // unchanged bytes
    EXPECT_EQ(b.messages[1].payload, R"({"n": 2})");
    ASSERT_EQ(report.failed.size(), 2u);
    EXPECT_EQ(report.failed[0].where, stage::transform);
    // An unsupported keyword, a remote $ref, or neither/both schema keys fail when the chain is
    // built.
    EXPECT_FALSE(make_chain("json", {configured("json_schema",
                                                "schema_json = '{\"unevaluatedProperties\": "
                                                "false}'\n")}));
    EXPECT_FALSE(make_chain(
        "json", {configured("json_schema", "schema_json = '{\"$ref\": \"http://x/y.json\"}'\n")}));
    EXPECT_NE(problems_of("json_schema", "draft = \"7\"\n"), "");
    EXPECT_FALSE(
        make_chain("json", {configured("json_schema", "schema_path = \"/nope/schema.json\"\n")}));
}

// --- registry --------------------------------------------------------------------------------

TEST(registry, duplicates_fail_and_builtins_are_listed) {
    registry r;
    ASSERT_TRUE(register_builtins(r));
    EXPECT_EQ(r.codec_names(),
              (std::vector<std::string>{"json", "raw", "text", "msgpack", "csv", "proto",
                                        "schema_registry", "avro", "flat_buffer", "bson"}));
    EXPECT_EQ(
        r.transform_names(),
        (std::vector<std::string>{"add_fields", "delete_fields", "filter_fields", "update_fields",
                                  "unwrap_envelope", "proto_convert", "avro_convert",
                                  "flat_buffer_convert", "filter", "json_schema"}));
    status again = r.add_transform(add_fields_spec(), make_add_fields);
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), errc::already_exists);
    EXPECT_FALSE(r.add_codec(codecs::json_codec_spec(), codecs::make_json_codec));
    EXPECT_FALSE(register_builtins(r)) << "registering the whole list twice fails";
    for (const auto& n : r.transform_names()) {
        auto defects = config::check_spec(*r.transform_spec(n));
        EXPECT_TRUE(defects.empty()) << defects.front();
    }
    for (const auto& n : r.codec_names())
        EXPECT_TRUE(config::check_spec(*r.codec_spec(n)).empty());
    EXPECT_FALSE(make_transform("nope", {}));
}

TEST(registry, iggy_example_files_validate_and_build_chains) {
    const char* src = std::getenv("TRIB_SOURCE_DIR");
    std::string dir = std::string(src ? src : ".") + "/tests/config/data/iggy/connectors";
    config::catalog cat;
    builtins().fill(cat);
    config::environment env;
    auto set = config::load_connectors(dir, cat, env);
    ASSERT_TRUE(set) << set.issues.to_string();
    EXPECT_EQ(set.issues.error_count(), 0u);
    std::size_t chains = 0;
    for (const auto& c : set->active) {
        for (const auto& s : c.sink_streams) {
            auto ch = make_chain(s.schema, c.transforms);
            ASSERT_TRUE(ch) << c.key << ": " << ch.error().to_string();
            ++chains;
        }
        for (const auto& s : c.source_streams) {
            auto ch = make_chain(s.schema, c.transforms);
            ASSERT_TRUE(ch) << c.key << ": " << ch.error().to_string();
            ++chains;
        }
        if (c.key == "quickwit") {
            auto ch = make_chain("json", c.transforms);
            ASSERT_TRUE(ch);
            auto b = batch_of({R"({"email":"x@y","created_at":"t","user_id":"u1"})"});
            chain_report report;
            ch->process(b, "qw", "records", report);
            ASSERT_EQ(b.messages.size(), 1u);
            std::string out(b.messages[0].payload);
            EXPECT_EQ(out.find("email"), std::string::npos) << out;
            EXPECT_NE(out.find(R"("service_name":"qw_connector")"), std::string::npos) << out;
            EXPECT_NE(out.find(R"("random_id":")"), std::string::npos) << out;
        }
    }
    EXPECT_EQ(chains, 5u);
}

}  // namespace
}  // namespace trib::transforms
