// Generated documentation: markdown, describe text and JSON from one spec, deterministic.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "config/docs.h"
#include "config/runtime_config.h"

namespace trib::config {
namespace {

spec demo() {
    spec s;
    s.name = "demo";
    s.kind = spec_kind::sink;
    s.summary = "Writes to demo.";
    s.description = "A demo | sink.";
    s.plugin_aliases = {"iggy_connector_demo_sink"};
    option url;
    url.name = "url";
    url.doc = "Where to write.";
    option pw;
    pw.name = "password";
    pw.type = opt_type::secret;
    pw.optional = true;
    option mode;
    mode.name = "mode";
    mode.type = opt_type::enumeration;
    mode.choices = {"a", "b"};
    mode.default_value = "\"a\"";
    mode.aliases = {"write_mode"};
    option tls;
    tls.name = "tls";
    tls.type = opt_type::table;
    option en;
    en.name = "enabled";
    en.type = opt_type::boolean;
    en.default_value = "false";
    tls.children = {en};
    option batch;
    batch.name = "batch";
    batch.type = opt_type::integer;
    batch.default_value = "10";
    batch.min = 1;
    batch.max = 100;
    batch.advanced = true;
    s.options = {url, pw, mode, tls, batch};
    s.example = "[plugin_config]\nurl = \"x\"";
    return s;
}

TEST(docs, markdown_golden) {
    EXPECT_EQ(render_markdown(demo()), R"(# demo (sink)

<!-- Generated from the spec in the source; do not edit by hand. -->

Writes to demo.

A demo | sink.

Iggy plugin names accepted in `path`: `iggy_connector_demo_sink`.

## Options

| option | type | default | description |
| --- | --- | --- | --- |
| `url` | string | **required** | Where to write. |
| `password` | secret |  | (secret: accepts ${env:NAME} and ${file:/path}) |
| `mode` | enum | `"a"` | (one of: a, b; deprecated alias: write_mode) |
| `tls` | table |  |  |
| `tls.enabled` | boolean | `false` |  |
| `batch` | integer | `10` | (range 1..100; advanced) |

## Example

```toml
[plugin_config]
url = "x"
```
)");
}

TEST(docs, text_hides_advanced_on_request) {
    std::string all = render_text(demo(), true);
    std::string brief = render_text(demo(), false);
    EXPECT_NE(all.find("batch (integer, default 10)"), std::string::npos) << all;
    EXPECT_EQ(brief.find("batch (integer"), std::string::npos) << brief;
    EXPECT_NE(brief.find("url (string, required)"), std::string::npos) << brief;
    EXPECT_NE(brief.find("tls.enabled (boolean, default false)"), std::string::npos) << brief;
}

TEST(docs, json_is_valid_and_complete) {
    std::string j = to_json(demo());
    rapidjson::Document d;
    d.Parse(j.c_str(), j.size());
    ASSERT_FALSE(d.HasParseError()) << j;
    EXPECT_STREQ(d["name"].GetString(), "demo");
    EXPECT_STREQ(d["kind"].GetString(), "sink");
    const auto& opts = d["options"];
    ASSERT_EQ(opts.Size(), 5u);
    EXPECT_TRUE(opts[0]["required"].GetBool());
    EXPECT_TRUE(opts[1]["secret"].GetBool());
    EXPECT_EQ(opts[2]["choices"].Size(), 2u);
    EXPECT_STREQ(opts[3]["children"][0]["name"].GetString(), "enabled");
    EXPECT_EQ(opts[4]["max"].GetInt(), 100);
    EXPECT_EQ(to_json(demo()), j) << "deterministic";
}

TEST(docs, runtime_spec_renders) {
    std::string md = render_markdown(runtime_spec());
    EXPECT_NE(md.find("| `iggy.tls.ca_file` | string |"), std::string::npos);
    EXPECT_NE(md.find("| `server.fsync` | enum | `\"interval\"` |"), std::string::npos);
    rapidjson::Document d;
    std::string j = to_json(runtime_spec());
    d.Parse(j.c_str(), j.size());
    EXPECT_FALSE(d.HasParseError());
}

}  // namespace
}  // namespace trib::config
