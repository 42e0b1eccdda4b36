// JSON Schema validation: the official test suite's draft 7 directory (Debian's
// json-schema-test-suite), a 2020-12 corpus cross-checked against Python's jsonschema 4.26
// (Draft202012Validator, json_schema_check.py), refusals at compile time and error messages.

#include "codecs/json_schema.h"

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

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

std::string to_text(const rapidjson::Value& v) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    v.Accept(w);
    return std::string(b.GetString(), b.GetSize());
}

int run(const std::string& cmd, std::string& out) {
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr)
        return -1;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    int st = ::pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

struct file_counts {
    int passed = 0;   // tests whose valid/invalid verdict matches the suite
    int failed = 0;   // tests where it does not
    int refused = 0;  // groups whose schema compile() refused
    bool operator==(const file_counts&) const = default;
};

std::ostream& operator<<(std::ostream& o, const file_counts& c) {
    return o << "{" << c.passed << ", " << c.failed << ", " << c.refused << "}";
}

// What valijson (+ Tributary's rewriting) does on each file of the suite's draft7 directory
// (optional/ not included). Failures and refusals are the documented limits (README "JSON
// Schema"): remote refs (refRemote.json, refs to http://localhost:1234), `$id`-based lookups
// valijson 1.0 cannot do, `format` as an annotation.
const std::map<std::string, file_counts>& expected_draft7() {
    static const std::map<std::string, file_counts> m = {
#include "json_schema_draft7_expected.inc"
    };
    return m;
}

TEST(json_schema, draft7_test_suite) {
    const fs::path dir = "/usr/share/json-schema-test-suite/tests/draft7";
    ASSERT_TRUE(fs::exists(dir)) << "json-schema-test-suite is not installed";
    std::map<std::string, file_counts> seen;
    std::ostringstream failures;
    for (const auto& f : fs::directory_iterator(dir)) {
        if (f.path().extension() != ".json")
            continue;
        rapidjson::Document d;
        d.Parse(slurp(f.path()).c_str());
        ASSERT_FALSE(d.HasParseError()) << f.path();
        file_counts& c = seen[f.path().filename().string()];
        for (const auto& group : d.GetArray()) {
            auto v =
                json_schema_validator::compile(to_text(group["schema"]), json_schema_draft::draft7);
            if (!v) {
                ++c.refused;
                failures << f.path().filename().string() << ": refused \""
                         << group["description"].GetString() << "\": " << v.error().message()
                         << "\n";
                continue;
            }
            for (const auto& t : group["tests"].GetArray()) {
                const bool want = t["valid"].GetBool();
                const bool got = v->validate_text(to_text(t["data"])).has_value();
                if (want == got) {
                    ++c.passed;
                } else {
                    ++c.failed;
                    failures << f.path().filename().string() << ": "
                             << group["description"].GetString() << " / "
                             << t["description"].GetString() << ": expected "
                             << (want ? "valid" : "invalid") << "\n";
                }
            }
        }
    }
    std::ostringstream table;
    for (const auto& [name, c] : seen)
        table << "        {\"" << name << "\", {" << c.passed << ", " << c.failed << ", "
              << c.refused << "}},\n";
    EXPECT_EQ(seen, expected_draft7()) << "observed:\n"
                                       << table.str() << "\nnot passing:\n"
                                       << failures.str();
    std::cout << failures.str();
}

TEST(json_schema, draft_2020_12_agrees_with_python_jsonschema) {
    const fs::path python = source_dir() / ".venv" / "bin" / "python";
    ASSERT_TRUE(fs::exists(python)) << "no Python venv (run scripts/setup.sh)";
    const fs::path corpus = source_dir() / "tests" / "data" / "json_schema" / "corpus_2020_12.json";
    std::string out;
    ASSERT_EQ(run(python.string() + " " +
                      (source_dir() / "tests" / "codecs" / "json_schema_check.py").string() + " " +
                      corpus.string(),
                  out),
              0)
        << out;
    rapidjson::Document py;
    py.Parse(out.c_str());
    ASSERT_FALSE(py.HasParseError()) << out;
    rapidjson::Document cases;
    cases.Parse(slurp(corpus).c_str());
    ASSERT_TRUE(cases.IsArray());
    ASSERT_EQ(cases.Size(), py.Size());
    int checked = 0, valid = 0;
    for (rapidjson::SizeType i = 0; i < cases.Size(); ++i) {
        const std::string schema = to_text(cases[i]["schema"]);
        auto v = json_schema_validator::compile(schema, json_schema_draft::draft2020_12);
        ASSERT_TRUE(v) << schema << ": " << v.error().message();
        const auto& inst = cases[i]["instances"];
        ASSERT_EQ(inst.Size(), py[i].Size());
        for (rapidjson::SizeType j = 0; j < inst.Size(); ++j) {
            const std::string text = to_text(inst[j]);
            auto st = v->validate_text(text);
            EXPECT_EQ(st.has_value(), py[i][j].GetBool())
                << "schema " << schema << "\ninstance " << text
                << "\nours: " << (st ? std::string("valid") : st.error().message());
            ++checked;
            valid += py[i][j].GetBool() ? 1 : 0;
        }
    }
    EXPECT_GT(valid, 0);
    EXPECT_LT(valid, checked);
    std::cout << checked << " instances checked against jsonschema, " << valid << " valid\n";
}

TEST(json_schema, unsupported_keywords_fail_at_compile) {
    for (const char* s : {
             R"({"unevaluatedProperties": false})",
             R"({"properties": {"a": {"unevaluatedItems": false}}})",
             R"({"$dynamicRef": "#meta"})",
             R"({"contains": {"type": "integer"}, "minContains": 2})",
             R"({"contains": {"type": "integer"}, "maxContains": 2})",
             R"({"$defs": {"a": {"$anchor": "x"}}, "$ref": "#x"})",
             R"({"items": [{"type": "integer"}]})",
             R"({"$ref": "https://example.com/other.json"})",
             R"({"properties": {"a": {"$ref": "other.json#/x"}}})",
             R"({"pattern": "(a)\\1"})",
             R"j({"patternProperties": {"(?=a)": true}})j",
             R"({"$schema": "http://json-schema.org/draft-04/schema#"})",
             R"({"type": 5})",
             R"([1])",
             R"({"a": )",
         }) {
        auto v = json_schema_validator::compile(s, json_schema_draft::automatic);
        EXPECT_FALSE(v) << s;
        if (!v) {
            EXPECT_EQ(v.error().code(), errc::invalid_argument);
        }
    }
    // A property named like a keyword is not a keyword.
    EXPECT_TRUE(json_schema_validator::compile(
        R"({"properties": {"unevaluatedProperties": {"type": "integer"}}})"));
    // The draft 7 meaning of `items` as an array is fine in draft 7.
    EXPECT_TRUE(json_schema_validator::compile(R"({"items": [{"type": "integer"}]})",
                                               json_schema_draft::draft7));
    // $schema against an explicit draft.
    EXPECT_FALSE(
        json_schema_validator::compile(R"({"$schema": "http://json-schema.org/draft-07/schema#"})",
                                       json_schema_draft::draft2020_12));
    auto d =
        json_schema_validator::compile(R"({"$schema": "http://json-schema.org/draft-07/schema#"})");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->draft(), json_schema_draft::draft7);
}

TEST(json_schema, limits) {
    std::string deep;
    for (int i = 0; i < 100; ++i)
        deep += R"({"items": )";
    deep += "true";
    for (int i = 0; i < 100; ++i)
        deep += "}";
    auto v = json_schema_validator::compile(deep);
    ASSERT_FALSE(v);
    EXPECT_NE(v.error().message().find("deeper"), std::string::npos) << v.error().message();
    // Deep schema text beyond what any parser should recurse through.
    std::string nested(200000, '[');
    EXPECT_FALSE(json_schema_validator::compile(nested));
    // A hostile string against a pattern that backtracks exponentially in std::regex: RE2
    // answers in linear time (this test would not finish with std::regex).
    auto p = json_schema_validator::compile(R"({"pattern": "^(a+)+$"})");
    ASSERT_TRUE(p) << p.error().message();
    std::string hostile = "\"" + std::string(100000, 'a') + "!\"";
    auto st = p->validate_text(hostile);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("pattern"), std::string::npos);
    auto pp = json_schema_validator::compile(
        R"({"patternProperties": {"^(a|aa)+$": {"type": "integer"}}})");
    ASSERT_TRUE(pp);
    EXPECT_FALSE(pp->validate_text("{\"" + std::string(50000, 'a') + "\": \"x\"}"));
    // uniqueItems over 100,000 distinct items (valijson compares every pair: 5e9 comparisons).
    auto u = json_schema_validator::compile(R"({"uniqueItems": true})");
    ASSERT_TRUE(u);
    std::string arr = "[";
    for (int i = 0; i < 100000; ++i)
        arr += std::to_string(i) + ",";
    EXPECT_TRUE(u->validate_text(arr + "1.5]"));
    EXPECT_FALSE(u->validate_text(arr + "7.0]"));  // 7.0 equals 7
    EXPECT_FALSE(u->validate_text(R"([{"a": 1, "b": [2]}, {"b": [2.0], "a": 1}])"));
    EXPECT_TRUE(u->validate_text(R"([{"a": 1}, {"a": "1"}, [1], "1", 1, true, null])"));
    // A large invalid value: rejected without valijson's per-failure report.
    auto t = json_schema_validator::compile(R"({"items": {"type": "string"}})");
    ASSERT_TRUE(t);
    auto big = t->validate_text(arr + "1]");
    ASSERT_FALSE(big);
    EXPECT_NE(big.error().message().find("not reported"), std::string::npos)
        << big.error().message();
    EXPECT_NE(t->validate_text("[\"a\", 1]").error().message().find("/1: type"), std::string::npos);
}

// Two embedded resources that refer to each other (draft 7 suite, ref.json): a subtree is a
// tree again, not the node that refers to it; an invalid node deep inside is still found.
TEST(json_schema, embedded_resources_referring_to_each_other) {
    auto v = json_schema_validator::compile(
        R"({"$id":"http://example.com/tree","type":"object","required":["meta","nodes"],)"
        R"("properties":{"meta":{"type":"string"},"nodes":{"type":"array","items":{"$ref":"node"}}},)"
        R"("definitions":{"node":{"$id":"http://example.com/node","type":"object",)"
        R"("required":["value"],"properties":{"value":{"type":"number"},)"
        R"("subtree":{"$ref":"tree"}}}}})",
        json_schema_draft::draft7);
    ASSERT_TRUE(v) << v.error().message();
    EXPECT_TRUE(v->validate_text(
        R"({"meta":"root","nodes":[{"value":1,"subtree":{"meta":"child","nodes":[{"value":1.1}]}}]})"));
    EXPECT_TRUE(v->validate_text(
        R"({"meta":"root","nodes":[{"value":1,"subtree":{"meta":"c","nodes":[]}}]})"));
    auto bad = v->validate_text(
        R"({"meta":"root","nodes":[{"value":1,"subtree":{"meta":"child","nodes":[{"value":"x"}]}}]})");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("/nodes/0/subtree/nodes/0/value"), std::string::npos)
        << bad.error().message();
    // A subtree without its own nodes is not a tree.
    EXPECT_FALSE(
        v->validate_text(R"({"meta":"root","nodes":[{"value":1,"subtree":{"meta":"c"}}]})"));
}

TEST(json_schema, error_names_pointer_and_keyword) {
    auto v = json_schema_validator::compile(R"({
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"type": "string"}},
            "a/b": {"properties": {"n": {"minimum": 3}}},
            "name": {"pattern": "^[a-z]+$"}
        },
        "required": ["id"]
    })");
    ASSERT_TRUE(v) << v.error().message();
    struct c {
        const char* instance;
        const char* expect;
    };
    for (const c& t : {
             c{R"({"id": 1, "tags": ["a", 2]})", "json_schema: /tags/1: type: "},
             c{R"({"id": 1, "a/b": {"n": 1}})", "json_schema: /a~1b/n: minimum: "},
             c{R"({"id": 1, "name": "X"})", "json_schema: /name: pattern: "},
             c{R"({"tags": []})", "json_schema: /: required: "},
         }) {
        auto st = v->validate_text(t.instance);
        ASSERT_FALSE(st) << t.instance;
        EXPECT_EQ(st.error().code(), errc::invalid_argument);
        EXPECT_EQ(st.error().message().rfind(t.expect, 0), 0u)
            << t.instance << " -> " << st.error().message();
    }
    // Not JSON at all.
    EXPECT_FALSE(v->validate_text("{"));
}

TEST(json_schema, validates_every_record_kind) {
    auto v = json_schema_validator::compile(
        R"({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]})");
    ASSERT_TRUE(v);
    arena a;
    json_value* j = nullptr;
    ASSERT_TRUE(parse_json(R"({"n": 5})", a, j));
    record r;
    set_json(r, j);
    EXPECT_TRUE(v->validate(r));
    ASSERT_TRUE(parse_json(R"({"n": "5"})", a, j));
    set_json(r, j);
    EXPECT_FALSE(v->validate(r));
    record text{record_kind::text, R"({"n": 1})"};
    EXPECT_TRUE(v->validate(text));
    record bad_text{record_kind::text, R"({"m": 1})"};
    EXPECT_FALSE(v->validate(bad_text));
    // Typed: a record {n: 7} and {n: "x"}.
    entry* e = new_entries(a, 1);
    e[0].key = value::string_value("n");
    e[0].val = value::int_value(7);
    value rec;
    rec.type = value_type::record;
    rec.n = 1;
    rec.entries = e;
    record typed;
    set_typed(typed, new_value(a, rec));
    EXPECT_TRUE(v->validate(typed));
    e[0].val = value::string_value("x");
    EXPECT_FALSE(v->validate(typed));
}

}  // namespace
}  // namespace trib::codecs
