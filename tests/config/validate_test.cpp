// Option types, units, validation (all problems at once, key paths, did-you-mean), aliases,
// features, secrets and their redaction, environment overrides of a generic spec.

#include <gtest/gtest.h>

#include <fstream>

#include "config/node.h"
#include "config/units.h"
#include "config/validate.h"
#include "harness/peer.h"

namespace trib::config {
namespace {

using namespace std::chrono_literals;

option option_of(std::string name, opt_type t, std::optional<std::string> def = std::nullopt) {
    option o;
    o.name = std::move(name);
    o.type = t;
    o.default_value = std::move(def);
    return o;
}

node parse(std::string_view text) {
    auto r = parse_toml(text, "test.toml");
    EXPECT_TRUE(r.has_value()) << (r ? "" : r.error().message());
    return r ? *r : node::make_table();
}

spec sample_spec() {
    spec s;
    s.name = "sample";
    s.options = {
        option_of("url", opt_type::string),
        option_of("batch_size", opt_type::integer, "100"),
        option_of("enabled", opt_type::boolean, "true"),
        option_of("ratio", opt_type::number, "0.5"),
        option_of("timeout", opt_type::duration, "\"5s\""),
        option_of("max_bytes", opt_type::size, "\"4MiB\""),
        option_of("password", opt_type::secret, "\"\""),
    };
    s.options[1].min = 1;
    s.options[1].max = 10000;
    option mode = option_of("mode", opt_type::enumeration, "\"append\"");
    mode.choices = {"append", "upsert"};
    s.options.push_back(mode);
    option tags = option_of("tags", opt_type::list, "[]");
    s.options.push_back(tags);
    option ports = option_of("ports", opt_type::list, "[]");
    ports.element = opt_type::integer;
    s.options.push_back(ports);
    option headers = option_of("headers", opt_type::map);
    headers.optional = true;
    s.options.push_back(headers);
    option tls = option_of("tls", opt_type::table);
    tls.children = {option_of("enabled", opt_type::boolean, "false"),
                    option_of("ca_file", opt_type::string, "\"\"")};
    s.options.push_back(tls);
    option routes = option_of("routes", opt_type::table_list, "[]");
    routes.children = {option_of("topic", opt_type::string),
                       option_of("weight", opt_type::integer, "1")};
    s.options.push_back(routes);
    option extra = option_of("extra", opt_type::any);
    extra.optional = true;
    s.options.push_back(extra);
    return s;
}

TEST(units, durations) {
    EXPECT_EQ(parse_duration("5s"), std::chrono::nanoseconds(5s));
    EXPECT_EQ(parse_duration("250ms"), std::chrono::nanoseconds(250ms));
    EXPECT_EQ(parse_duration("1m"), std::chrono::nanoseconds(1min));
    EXPECT_EQ(parse_duration("2h"), std::chrono::nanoseconds(2h));
    EXPECT_EQ(parse_duration("1h30m"), std::chrono::nanoseconds(90min));
    EXPECT_EQ(parse_duration("1 s"), std::chrono::nanoseconds(1s));  // Iggy's humantime style
    EXPECT_EQ(parse_duration("30 s"), std::chrono::nanoseconds(30s));
    EXPECT_EQ(parse_duration("1.5s"), std::chrono::nanoseconds(1500ms));
    EXPECT_EQ(parse_duration("100us"), std::chrono::nanoseconds(100us));
    EXPECT_EQ(parse_duration("2 days"), std::chrono::nanoseconds(48h));
    EXPECT_EQ(parse_duration("1500"), std::chrono::nanoseconds(1500ms));  // bare = ms
    EXPECT_FALSE(parse_duration(""));
    EXPECT_FALSE(parse_duration("5x"));
    EXPECT_FALSE(parse_duration("s"));
    EXPECT_FALSE(parse_duration("-5s"));
    EXPECT_FALSE(parse_duration("99999999999999999999h"));
    EXPECT_EQ(format_duration(90min), "1h30m");
    EXPECT_EQ(format_duration(250ms), "250ms");
    EXPECT_EQ(format_duration(0s), "0s");
    EXPECT_EQ(format_duration(100us), "100us");
}

TEST(units, sizes) {
    EXPECT_EQ(parse_size("4MiB"), 4u << 20);
    EXPECT_EQ(parse_size("512KB"), 512000u);
    EXPECT_EQ(parse_size("1GB"), 1000000000u);
    EXPECT_EQ(parse_size("1gib"), 1u << 30);
    EXPECT_EQ(parse_size("8 MiB"), 8u << 20);
    EXPECT_EQ(parse_size("1.5KiB"), 1536u);
    EXPECT_EQ(parse_size("1234"), 1234u);
    EXPECT_EQ(parse_size("10B"), 10u);
    EXPECT_FALSE(parse_size("4 parsecs"));
    EXPECT_FALSE(parse_size("0.5"));
    EXPECT_FALSE(parse_size(""));
    EXPECT_EQ(format_size(4u << 20), "4MiB");
    EXPECT_EQ(format_size(1000), "1000");
}

TEST(units, edit_distance_and_suggestions) {
    EXPECT_EQ(edit_distance("batch_size", "batch_size"), 0u);
    EXPECT_EQ(edit_distance("batchsize", "batch_size"), 1u);
    EXPECT_EQ(edit_distance("bacth_size", "batch_size"), 1u);  // transposition
    EXPECT_EQ(edit_distance("URL", "url"), 0u);
    EXPECT_EQ(closest_match("adress", {"address", "username"}), "address");
    EXPECT_EQ(closest_match("zzz", {"address", "username"}), std::nullopt);
}

TEST(validate, every_type_parses) {
    problems p;
    node in = parse(R"(
url = "http://x"
batch_size = 500
enabled = false
ratio = 2
timeout = "1h30m"
max_bytes = "512KB"
password = "hunter2"
mode = "upsert"
tags = ["a", "b"]
ports = [80, 443]
headers = { Authorization = "Bearer x", Retries = 3 }
tls.enabled = true
extra = { nested = [1, { a = "b" }] }
[[routes]]
topic = "t1"
[[routes]]
topic = "t2"
weight = 5
)");
    values v = validate(sample_spec(), in, "f.toml", "plugin_config", p);
    ASSERT_TRUE(p.empty()) << p.to_string();
    EXPECT_EQ(v.str("url"), "http://x");
    EXPECT_EQ(v.integer("batch_size"), 500);
    EXPECT_FALSE(v.boolean("enabled"));
    EXPECT_DOUBLE_EQ(v.number("ratio"), 2.0);
    EXPECT_EQ(v.duration("timeout"), 90min);
    EXPECT_EQ(v.size("max_bytes"), 512000u);
    EXPECT_EQ(v.str("password"), "hunter2");
    EXPECT_EQ(v.str("mode"), "upsert");
    EXPECT_EQ(v.list("tags"), (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(v.integers("ports"), (std::vector<std::int64_t>{80, 443}));
    auto h = v.map("headers");
    EXPECT_EQ(h["Authorization"], "Bearer x");
    EXPECT_EQ(h["Retries"], "3");
    EXPECT_TRUE(v.table("tls").boolean("enabled"));
    EXPECT_EQ(v.table("tls").str("ca_file"), "");
    auto routes = v.tables("routes");
    ASSERT_EQ(routes.size(), 2u);
    EXPECT_EQ(routes[0].str("topic"), "t1");
    EXPECT_EQ(routes[0].integer("weight"), 1);
    EXPECT_EQ(routes[1].integer("weight"), 5);
    EXPECT_EQ(v.json("extra"), R"({"nested":[1,{"a":"b"}]})");
}

TEST(validate, defaults_fill_absent_options) {
    problems p;
    values v = validate(sample_spec(), parse("url = \"u\""), "f.toml", "", p);
    ASSERT_TRUE(p.empty()) << p.to_string();
    EXPECT_EQ(v.integer("batch_size"), 100);
    EXPECT_TRUE(v.boolean("enabled"));
    EXPECT_EQ(v.duration("timeout"), 5s);
    EXPECT_EQ(v.size("max_bytes"), 4u << 20);
    EXPECT_EQ(v.str("mode"), "append");
    EXPECT_TRUE(v.list("tags").empty());
    EXPECT_FALSE(v.has("headers"));
    EXPECT_TRUE(v.map("headers").empty());
    EXPECT_FALSE(v.has("extra"));
    EXPECT_TRUE(v.has("tls"));
}

TEST(validate, collects_every_problem_with_file_and_key_path) {
    problems p;
    node in = parse(R"(
batch_size = "abc"
enabled = "yes"
timeout = "soon"
max_bytes = "4 parsecs"
mode = "upsret"
tags = ["a", 2]
batchsize = 3
tls.enabeld = true
[[routes]]
weight = "heavy"
)");
    validate(sample_spec(), in, "connectors/pg_sink.toml", "plugin_config", p);
    std::string all = p.to_string();
    EXPECT_EQ(p.error_count(), 11u) << all;
    auto has = [&](const std::string& line) {
        EXPECT_NE(all.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << all;
    };
    has(R"(connectors/pg_sink.toml: plugin_config.batch_size: expected an integer, got "abc")");
    has(R"(connectors/pg_sink.toml: plugin_config.enabled: expected a boolean (true or false), got "yes")");
    has(R"(connectors/pg_sink.toml: plugin_config.timeout: expected a duration such as "5s" or "250ms", got "soon")");
    has(R"(plugin_config.max_bytes: expected a size such as "4MiB" or "512KB", got "4 parsecs")");
    has(R"(plugin_config.mode: expected one of "append", "upsert", got "upsret"; did you mean "upsert"?)");
    has(R"(plugin_config.tags[1]: expected a string, got 2)");
    has(R"(connectors/pg_sink.toml: plugin_config.batchsize: unknown option; did you mean "batch_size"?)");
    has(R"(plugin_config.tls.enabeld: unknown option; did you mean "enabled"?)");
    has(R"(plugin_config.url: required option is missing)");
    has(R"(plugin_config.routes[0].weight: expected an integer, got "heavy")");
    has(R"(plugin_config.routes[0].topic: required option is missing)");
}

TEST(validate, ranges) {
    problems p;
    validate(sample_spec(), parse("url = \"u\"\nbatch_size = 0"), "f.toml", "", p);
    EXPECT_EQ(p.to_string(), "f.toml: batch_size: must be at least 1, got 0");
    problems q;
    validate(sample_spec(), parse("url = \"u\"\nbatch_size = 20000"), "f.toml", "", q);
    EXPECT_EQ(q.to_string(), "f.toml: batch_size: must be at most 10000, got 20000");
}

TEST(validate, enum_is_case_insensitive_and_normalised) {
    problems p;
    values v = validate(sample_spec(), parse("url = \"u\"\nmode = \"UPSERT\""), "f.toml", "", p);
    EXPECT_TRUE(p.empty()) << p.to_string();
    EXPECT_EQ(v.str("mode"), "upsert");
}

TEST(validate, deprecated_alias_warns_and_both_is_an_error) {
    spec s;
    s.name = "a";
    option o = option_of("batch_length", opt_type::integer, "10");
    o.aliases = {"batch_size"};
    s.options = {o};
    problems p;
    values v = validate(s, parse("batch_size = 7"), "f.toml", "", p);
    EXPECT_FALSE(p.has_errors());
    ASSERT_EQ(p.warning_count(), 1u);
    EXPECT_EQ(
        p.to_string(),
        R"(f.toml: batch_size: warning: "batch_size" is deprecated; use "batch_length" instead)");
    EXPECT_EQ(v.integer("batch_length"), 7);
    problems q;
    validate(s, parse("batch_size = 7\nbatch_length = 8"), "f.toml", "", q);
    EXPECT_TRUE(q.has_errors()) << q.to_string();
}

TEST(validate, requires_feature) {
    spec s;
    s.name = "a";
    option o = option_of("kerberos", opt_type::boolean, "false");
    o.requires_feature = "test-feature-xyz";
    s.options = {o};
    problems absent;
    validate(s, parse(""), "f.toml", "", absent);
    EXPECT_TRUE(absent.empty()) << "an unset option needs no feature";
    problems p;
    validate(s, parse("kerberos = true"), "f.toml", "", p);
    EXPECT_EQ(p.to_string(),
              "f.toml: kerberos: needs test-feature-xyz, which this build does not include");
    provide_feature("test-feature-xyz");
    problems q;
    validate(s, parse("kerberos = true"), "f.toml", "", q);
    EXPECT_TRUE(q.empty()) << q.to_string();
}

TEST(validate, secrets_from_env_and_file_are_resolved_and_redacted) {
    test::temp_dir dir("cfg");
    std::string secret_file = (dir.path() / "pw").string();
    std::ofstream(secret_file) << "from-file-secret\n";
    environment env;
    env.set("PG_PASSWORD", "from-env-secret");
    spec s = sample_spec();
    node in =
        parse("url = \"postgres://u:${env:PG_PASSWORD}@h/db\"\npassword = \"${file:" + secret_file +
              "}\"\nheaders = { Authorization = \"${env:PG_PASSWORD}\" }");
    validation_context ctx;
    ctx.file = "f.toml";
    ctx.env = &env;
    problems p;
    values v = validate(s, in, ctx, p);
    ASSERT_TRUE(p.empty()) << p.to_string();
    EXPECT_EQ(v.str("url"), "postgres://u:from-env-secret@h/db");
    EXPECT_EQ(v.str("password"), "from-file-secret");  // trailing newline dropped
    EXPECT_EQ(v.map("headers")["Authorization"], "from-env-secret");
    std::string json = v.to_redacted_json();
    EXPECT_EQ(json.find("from-env-secret"), std::string::npos) << json;
    EXPECT_EQ(json.find("from-file-secret"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("password":"<redacted>")"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("url":"<redacted>")"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("batch_size":100)"), std::string::npos) << json;
}

TEST(validate, literal_secret_is_redacted_and_never_echoed_in_errors) {
    spec s = sample_spec();
    problems p;
    values v = validate(s, parse("url = \"u\"\npassword = \"literal-pw\""), "f.toml", "", p);
    EXPECT_EQ(v.to_redacted_json().find("literal-pw"), std::string::npos);
    problems q;
    validate(s, parse("url = \"u\"\npassword = 123456"), "f.toml", "", q);
    EXPECT_EQ(q.to_string(), "f.toml: password: expected a string, got an integer");
}

TEST(validate, missing_secret_sources_are_problems) {
    environment env;
    validation_context ctx;
    ctx.file = "f.toml";
    ctx.env = &env;
    problems p;
    validate(sample_spec(),
             parse("url = \"${env:NOPE_NOT_SET}\"\npassword = \"${file:/nonexistent/pw}\"\n"
                   "tags = [\"${env:\"]"),
             ctx, p);
    std::string all = p.to_string();
    EXPECT_EQ(p.error_count(), 3u) << all;
    EXPECT_NE(
        all.find(
            "f.toml: url: environment variable NOPE_NOT_SET (from ${env:NOPE_NOT_SET}) is not set"),
        std::string::npos)
        << all;
    EXPECT_NE(all.find("f.toml: password: cannot read /nonexistent/pw"), std::string::npos) << all;
    EXPECT_NE(all.find("tags[0]: unterminated ${env: reference"), std::string::npos) << all;
}

TEST(validate, escaped_reference_is_literal) {
    environment env;
    validation_context ctx;
    ctx.file = "f.toml";
    ctx.env = &env;
    problems p;
    values v = validate(sample_spec(), parse("url = \"$${env:X}\""), ctx, p);
    EXPECT_TRUE(p.empty()) << p.to_string();
    EXPECT_EQ(v.str("url"), "${env:X}");
}

TEST(validate, spec_check_runs_after_options) {
    spec s;
    s.name = "a";
    option lo = option_of("low", opt_type::integer, "1");
    option hi = option_of("high", opt_type::integer, "2");
    s.options = {lo, hi};
    s.check = [](const values& v, const check_report& report) {
        if (v.integer("low") > v.integer("high"))
            report("low", "must not exceed high");
    };
    problems p;
    validate(s, parse("low = 5"), "f.toml", "plugin_config", p);
    EXPECT_EQ(p.to_string(), "f.toml: plugin_config.low: must not exceed high");
}

TEST(validate, check_spec_finds_defects) {
    spec s;
    s.name = "broken";
    option e = option_of("mode", opt_type::enumeration, "\"x\"");
    option d = option_of("d", opt_type::duration, "\"fast\"");
    option dup = option_of("d", opt_type::integer, "1");
    s.options = {e, d, dup};
    auto defects = check_spec(s);
    EXPECT_EQ(defects.size(), 4u);  // no choices, bad enum default, bad duration default, dup
    EXPECT_TRUE(check_spec(sample_spec()).empty());
}

TEST(env_overrides, typed_values_nested_tables_lists_and_maps) {
    spec s = sample_spec();
    environment env;
    env.set("APP_BATCH_SIZE", "250");
    env.set("APP_ENABLED", "false");
    env.set("APP_TIMEOUT", "2s");
    env.set("APP_TAGS", "[x, \"y\"]");
    env.set("APP_PORTS", "1,2,3");
    env.set("APP_TLS_ENABLED", "true");
    env.set("APP_HEADERS_AUTHORIZATION", "Bearer env");
    env.set("APP_ROUTES_1_TOPIC", "second");
    env.set("OTHER_URL", "lower-precedence");
    env.set("APP_URL", "from-app");
    node in = parse(
        "url = \"file\"\nheaders = { Authorization = \"Bearer file\" }\n[[routes]]\ntopic = "
        "\"first\"");
    apply_env_overrides(s.options, in, {"APP_", "OTHER_"}, env);
    problems p;
    values v = validate(s, in, "f.toml", "", p);
    ASSERT_TRUE(p.empty()) << p.to_string();
    EXPECT_EQ(v.str("url"), "from-app");
    EXPECT_EQ(v.integer("batch_size"), 250);
    EXPECT_FALSE(v.boolean("enabled"));
    EXPECT_EQ(v.duration("timeout"), 2s);
    EXPECT_EQ(v.list("tags"), (std::vector<std::string>{"x", "y"}));
    EXPECT_EQ(v.integers("ports"), (std::vector<std::int64_t>{1, 2, 3}));
    EXPECT_TRUE(v.table("tls").boolean("enabled"));
    EXPECT_EQ(v.map("headers")["Authorization"], "Bearer env");
    auto routes = v.tables("routes");
    ASSERT_EQ(routes.size(), 2u);
    EXPECT_EQ(routes[0].str("topic"), "first");
    EXPECT_EQ(routes[1].str("topic"), "second");
}

TEST(env_overrides, bad_env_value_names_the_variable) {
    spec s = sample_spec();
    environment env;
    env.set("APP_BATCH_SIZE", "lots");
    node in = parse("url = \"u\"");
    apply_env_overrides(s.options, in, {"APP_"}, env);
    problems p;
    validate(s, in, "f.toml", "plugin_config", p);
    EXPECT_EQ(p.to_string(),
              "environment variable APP_BATCH_SIZE: plugin_config.batch_size: expected an integer, "
              "got \"lots\"");
}

TEST(toml, syntax_errors_have_a_position_and_order_is_kept) {
    auto bad = parse_toml("a = 1\nb = = 2\n", "x.toml");
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("line 2"), std::string::npos) << bad.error().message();
    auto dup = parse_toml("a = 1\na = 2\n", "x.toml");
    EXPECT_FALSE(dup) << "duplicate keys are invalid TOML";
    auto ok = parse_toml("zeta = 1\nalpha = 2\n[m]\ny = 1\nb = 2\n", "x.toml");
    ASSERT_TRUE(ok);
    ASSERT_EQ(ok->fields.size(), 3u);
    EXPECT_EQ(ok->fields[0].first, "zeta");
    EXPECT_EQ(ok->fields[1].first, "alpha");
    EXPECT_EQ(ok->to_json(), R"({"zeta":1,"alpha":2,"m":{"y":1,"b":2}})");
}

TEST(toml, parse_value_falls_back_to_strings) {
    EXPECT_EQ(parse_toml_value("1000").kind, node_kind::integer);
    EXPECT_EQ(parse_toml_value("true").kind, node_kind::boolean);
    EXPECT_EQ(parse_toml_value("\"x\"").s, "x");
    EXPECT_EQ(parse_toml_value("5s").s, "5s");
    EXPECT_EQ(parse_toml_value("[1, 2]").items.size(), 2u);
    EXPECT_EQ(parse_toml_value("a = 1").s, "a = 1");
}

}  // namespace
}  // namespace trib::config
