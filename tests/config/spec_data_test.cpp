// Specs declared as data (config/spec_data.h): what a spec.toml may say and how a defect in one
// is reported.

#include "config/spec_data.h"

#include <gtest/gtest.h>

#include "config/node.h"

namespace trib::config {
namespace {

constexpr std::string_view good = R"(
[sink]
name = "demo"
kind = "sink"
summary = "One line"
description = """\
First paragraph, \
continued.

Second."""
idempotent = true
plugin_aliases = ["iggy_connector_demo_sink"]
example = '''
type = "sink"'''

[[sink.options]]
name = "url"
doc = "Where to."

[[sink.options]]
group = "shared"

[[sink.options]]
name = "mode"
type = "enum"
doc = "How."
default = "fast"
choices = ["fast", "slow"]
advanced = true

[[sink.options]]
name = "tls"
type = "table"
doc = "TLS."

[[sink.options.children]]
name = "verify"
type = "boolean"
doc = "Check."
default = true

[[sink.options]]
name = "ports"
type = "list"
element = "integer"
doc = "Ports."
default = [1, 2]
aliases = ["port_list"]

[[groups.shared]]
name = "timeout"
type = "duration"
doc = "How long."
default = "5s"
min = 1
max = 60000

[[groups.shared]]
name = "password"
type = "secret"
doc = "A secret."
optional = true
)";

TEST(spec_data, given_a_full_spec_should_read_every_field_and_expand_groups_in_place) {
    auto s = parse_spec_data(good, "demo/spec.toml", "sink");
    ASSERT_TRUE(s) << s.error().message();
    EXPECT_EQ(s->name, "demo");
    EXPECT_EQ(s->kind, spec_kind::sink);
    EXPECT_EQ(s->summary, "One line");
    EXPECT_EQ(s->description, "First paragraph, continued.\n\nSecond.");
    EXPECT_TRUE(s->idempotent);
    EXPECT_EQ(s->plugin_aliases, std::vector<std::string>{"iggy_connector_demo_sink"});
    EXPECT_EQ(s->example, "type = \"sink\"");
    std::vector<std::string> names;
    for (const auto& o : s->options)
        names.push_back(o.name);
    EXPECT_EQ(names,
              (std::vector<std::string>{"url", "timeout", "password", "mode", "tls", "ports"}));
    const auto& url = s->options[0];
    EXPECT_FALSE(url.default_value);
    EXPECT_FALSE(url.optional);  // required
    const auto& timeout = s->options[1];
    EXPECT_EQ(timeout.type, opt_type::duration);
    EXPECT_EQ(timeout.default_value, "\"5s\"");
    EXPECT_EQ(timeout.min, 1.0);
    EXPECT_EQ(timeout.max, 60000.0);
    EXPECT_EQ(s->options[2].type, opt_type::secret);
    EXPECT_TRUE(s->options[2].optional);
    const auto& mode = s->options[3];
    EXPECT_EQ(mode.type, opt_type::enumeration);
    EXPECT_EQ(mode.choices, (std::vector<std::string>{"fast", "slow"}));
    EXPECT_TRUE(mode.advanced);
    ASSERT_EQ(s->options[4].children.size(), 1u);
    EXPECT_EQ(s->options[4].children[0].default_value, "true");
    const auto& ports = s->options[5];
    EXPECT_EQ(ports.element, opt_type::integer);
    EXPECT_EQ(ports.default_value, "[1, 2]");
    EXPECT_EQ(ports.aliases, std::vector<std::string>{"port_list"});
}

std::string problems_of(std::string_view text, std::string_view id = "sink") {
    auto s = parse_spec_data(text, "demo/spec.toml", id);
    return s ? std::string() : s.error().message();
}

TEST(spec_data, given_an_unknown_key_should_name_the_file_and_the_key_path) {
    const auto p = problems_of(R"(
[sink]
name = "demo"
kind = "sink"
sumary = "typo"

[[sink.options]]
name = "a"
doc = "A."
defualt = 1
)");
    EXPECT_NE(p.find("demo/spec.toml: sink.sumary: unknown key"), std::string::npos) << p;
    EXPECT_NE(p.find("demo/spec.toml: sink.options[0].defualt: unknown key"), std::string::npos)
        << p;
}

TEST(spec_data, given_wrong_types_should_report_each_one) {
    const auto p = problems_of(R"(
[sink]
name = 3
kind = "pipe"
idempotent = "yes"

[[sink.options]]
name = "a"
type = "strnig"
choices = [1]
min = "low"
)");
    for (const char* want :
         {"sink.name: must be a string", "sink.kind: must be \"source\" or \"sink\"",
          "sink.idempotent: must be true or false",
          "sink.options[0].type: unknown option type "
          "\"strnig\"",
          "sink.options[0].choices: must be an array of strings",
          "sink.options[0].min: must be a number"}) {
        EXPECT_NE(p.find(want), std::string::npos) << want << " in " << p;
    }
}

TEST(spec_data, given_an_unknown_group_should_say_so) {
    const auto p = problems_of(R"(
[sink]
name = "demo"
kind = "sink"

[[sink.options]]
group = "nope"
)");
    EXPECT_NE(p.find("sink.options[0].group: no [[groups.nope]] in the file"), std::string::npos)
        << p;
}

TEST(spec_data, given_a_default_the_type_refuses_should_fail_the_spec_check) {
    const auto p = problems_of(R"(
[sink]
name = "demo"
kind = "sink"

[[sink.options]]
name = "n"
type = "integer"
doc = "N."
default = 5
max = 3
)");
    EXPECT_NE(p.find("demo/spec.toml: [sink] demo: n: default 5"), std::string::npos) << p;
}

TEST(spec_data, given_bad_toml_or_a_missing_table_should_fail_naming_the_file) {
    auto p = problems_of("[sink\nname = 1\n");
    EXPECT_NE(p.find("demo/spec.toml"), std::string::npos) << p;
    EXPECT_NE(p.find("line 1"), std::string::npos) << p;
    p = problems_of(good, "source");
    EXPECT_NE(p.find("demo/spec.toml: no table [source]"), std::string::npos) << p;
}

TEST(spec_data, given_a_default_value_should_give_the_text_spec_h_keeps) {
    auto text = [](std::string_view toml) {
        auto n = parse_toml(toml, "t");
        EXPECT_TRUE(n);
        return default_text(*n->find("x"));
    };
    EXPECT_EQ(text("x = \"5s\""), "\"5s\"");
    EXPECT_EQ(text("x = \"a\\\"b\\n\""), "\"a\\\"b\\n\"");
    EXPECT_EQ(text("x = 1000"), "1000");
    EXPECT_EQ(text("x = -3"), "-3");
    EXPECT_EQ(text("x = 2.0"), "2.0");
    EXPECT_EQ(text("x = 0.25"), "0.25");
    EXPECT_EQ(text("x = false"), "false");
    EXPECT_EQ(text("x = []"), "[]");
    EXPECT_EQ(text("x = [\"A\", \"B\"]"), "[\"A\", \"B\"]");
    EXPECT_EQ(text("x = { a = 1 }"), std::nullopt);
    // The text reads back as the same value.
    auto back = parse_toml_value(*text("x = \"a\\\"b\\n\""));
    EXPECT_EQ(back.s, "a\"b\n");
}

TEST(spec_data_death, given_a_defective_builtin_spec_should_abort_naming_it) {
    EXPECT_DEATH(builtin_spec("[sink]\nname = 1\n", "demo/spec.toml", "sink"),
                 "bug: the built-in spec data is defective: demo/spec.toml: sink.name");
}

}  // namespace
}  // namespace trib::config
