// The runtime file and connector files: Iggy's own files load unchanged, defaults match Iggy's,
// environment overrides in both conventions, versions, plugin names, problems.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/connector_config.h"
#include "config/runtime_config.h"
#include "config/validate.h"
#include "harness/peer.h"

namespace trib::config {
namespace {

using namespace std::chrono_literals;

std::string data_dir() {
    const char* src = std::getenv("TRIB_SOURCE_DIR");
    return std::string(src ? src : ".") + "/tests/config/data";
}

void write(const std::filesystem::path& p, std::string_view text) {
    std::ofstream(p) << text;
}

// A catalog with one real-looking connector spec, the way the runtime's registry answers.
struct test_catalog {
    spec pg;
    spec add_fields;
    test_catalog() {
        pg.name = "postgres";
        pg.kind = spec_kind::sink;
        option url;
        url.name = "connection_string";
        url.type = opt_type::secret;
        option batch;
        batch.name = "batch_size";
        batch.type = opt_type::integer;
        batch.default_value = "100";
        batch.min = 1;
        option table;
        table.name = "target_table";
        table.type = opt_type::string;
        pg.options = {url, table, batch};
        add_fields.name = "add_fields";
        add_fields.kind = spec_kind::transform;
        option fields;
        fields.name = "fields";
        fields.type = opt_type::table_list;
        fields.default_value = "[]";
        option key;
        key.name = "key";
        option value;
        value.name = "value";
        value.type = opt_type::any;
        fields.children = {key, value};
        add_fields.options = {fields};
    }
    catalog get() const {
        catalog c;
        c.find_connector = [this](connector_type t, std::string_view name) -> const spec* {
            if (t == connector_type::sink &&
                (name == "postgres" || name == "iggy_connector_postgres_sink")) {
                return &pg;
            }
            return nullptr;
        };
        c.connector_names = [](connector_type) {
            return std::vector<std::string>{"postgres", "iggy_connector_postgres_sink"};
        };
        c.find_transform = [this](std::string_view name) -> const spec* {
            return name == "add_fields" ? &add_fields : nullptr;
        };
        c.transform_names = [] { return std::vector<std::string>{"add_fields"}; };
        return c;
    }
};

TEST(runtime_config, iggy_example_loads_unchanged) {
    environment env;
    auto rc = load_runtime_config(data_dir() + "/iggy/config.toml", env);
    ASSERT_TRUE(rc) << rc.issues.to_string();
    EXPECT_TRUE(rc.issues.empty()) << rc.issues.to_string();
    EXPECT_EQ(rc->iggy.address, "localhost:8090");
    EXPECT_EQ(rc->iggy.username, "iggy");
    EXPECT_EQ(rc->iggy.password, "iggy");
    EXPECT_FALSE(rc->iggy.tls.enabled);
    EXPECT_EQ(rc->iggy.tls.ca_file, "core/certs/iggy_ca_cert.pem");
    EXPECT_EQ(rc->state.path, "local_state");
    EXPECT_EQ(rc->connectors.config_type, "local");
    EXPECT_EQ(rc->connectors.config_dir, "core/connectors/runtime/example_config/connectors");
    EXPECT_TRUE(rc->http.enabled);
    EXPECT_EQ(rc->http.address, "127.0.0.1:8081");
    EXPECT_EQ(rc->http.cors.allowed_methods,
              (std::vector<std::string>{"GET", "POST", "PUT", "DELETE"}));
    EXPECT_EQ(rc->http.tls.cert_file, "core/certs/iggy_cert.pem");
    EXPECT_EQ(rc->logging.format, "text");
    EXPECT_FALSE(rc->use_embedded_server());
    EXPECT_EQ(rc->iggy_address(), "localhost:8090");
}

TEST(runtime_config, defaults_and_embedded_server) {
    environment env;
    auto rc = parse_runtime_config("[connectors]\nconfig_dir = \"c\"\n", "r.toml", env);
    ASSERT_TRUE(rc) << rc.issues.to_string();
    EXPECT_FALSE(rc->iggy.address.has_value());
    EXPECT_TRUE(rc->use_embedded_server());
    EXPECT_EQ(rc->iggy_address(), "127.0.0.1:8090");
    EXPECT_EQ(rc->iggy.username, "iggy");
    EXPECT_EQ(rc->state.path, "local_state");
    EXPECT_EQ(rc->server.data_dir, "local_state/server");
    EXPECT_EQ(rc->server.fsync, "interval");
    EXPECT_EQ(rc->server.fsync_interval, 1s);
    EXPECT_TRUE(rc->http.enabled);
    EXPECT_EQ(rc->http.address, "127.0.0.1:8081");
    EXPECT_FALSE(rc->http.metrics.enabled);
    EXPECT_EQ(rc->http.metrics.endpoint, "/metrics");
    EXPECT_EQ(rc->logging.level, "info");
}

TEST(runtime_config, problems_all_at_once) {
    environment env;
    auto rc = parse_runtime_config(R"(
[iggy]
adress = "x:1"
[http]
enabled = "yes"
[logging]
format = "yaml"
[connectors]
config_type = "http"
[server]
fsync = "sometimes"
)",
                                   "runtime.toml", env);
    ASSERT_FALSE(rc);
    std::string all = rc.issues.to_string();
    EXPECT_NE(all.find(R"(runtime.toml: iggy.adress: unknown option; did you mean "address"?)"),
              std::string::npos)
        << all;
    EXPECT_NE(all.find("runtime.toml: http.enabled: expected a boolean"), std::string::npos) << all;
    EXPECT_NE(
        all.find(R"(runtime.toml: logging.format: expected one of "text", "json", got "yaml")"),
        std::string::npos)
        << all;
    EXPECT_NE(all.find("server.fsync"), std::string::npos) << all;
    EXPECT_EQ(rc.issues.error_count(), 4u)
        << all;  // the http-provider check waits for clean options
}

TEST(runtime_config, http_provider_and_empty_config_dir_are_refused) {
    environment env;
    auto http = parse_runtime_config(
        "[connectors]\nconfig_type = \"http\"\nbase_url = \"http://x\"\n", "r.toml", env);
    ASSERT_FALSE(http);
    EXPECT_NE(http.issues.to_string().find("connectors.config_type: \"http\""), std::string::npos)
        << http.issues.to_string();
    auto empty = parse_runtime_config("", "r.toml", env);
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.issues.to_string(),
              "r.toml: connectors.config_dir: must be set: the directory that holds one TOML file "
              "per connector");
}

TEST(runtime_config, default_root_password_only_on_loopback) {
    environment env;
    const std::string base = "[connectors]\nconfig_dir = \"c\"\n[server]\n";
    for (const char* addr : {"127.0.0.1:8090", "localhost:1", "[::1]:8090"}) {
        auto rc = parse_runtime_config(base + "address = \"" + addr + "\"\n", "r.toml", env);
        EXPECT_TRUE(rc) << addr << ": " << rc.issues.to_string();
    }
    auto open = parse_runtime_config(base + "address = \"0.0.0.0:8090\"\n", "r.toml", env);
    ASSERT_FALSE(open);
    EXPECT_NE(open.issues.to_string().find("r.toml: server.root_password: the default password"),
              std::string::npos)
        << open.issues.to_string();
    auto own = parse_runtime_config(
        base + "address = \"0.0.0.0:8090\"\nroot_password = \"s3cret-enough\"\n", "r.toml", env);
    EXPECT_TRUE(own) << own.issues.to_string();
    // With an external Iggy server the embedded one does not run: nothing to refuse.
    auto external = parse_runtime_config(
        "[iggy]\naddress = \"iggy:8090\"\n" + base + "address = \"0.0.0.0:8090\"\n", "r.toml", env);
    EXPECT_TRUE(external) << external.issues.to_string();
}

TEST(runtime_config, env_overrides_both_conventions_tributary_wins) {
    environment env;
    env.set("IGGY_CONNECTORS_IGGY_USERNAME", "iggy-env-user");
    env.set("IGGY_CONNECTORS_IGGY_ADDRESS", "iggy-env:8090");
    env.set("TRIBUTARY_IGGY_ADDRESS", "trib-env:8090");
    env.set("IGGY_CONNECTORS_HTTP_CORS_ENABLED", "true");
    env.set("IGGY_CONNECTORS_HTTP_CORS_ALLOWED_ORIGINS", "[\"https://a\", \"https://b\"]");
    env.set("IGGY_CONNECTORS_LOGGING_FORMAT", "json");
    env.set("TRIBUTARY_SERVER_FSYNC_INTERVAL", "250ms");
    env.set("IGGY_CONNECTORS_CONNECTORS_CONFIG_DIR", "/etc/connectors");
    auto rc = load_runtime_config(data_dir() + "/iggy/config.toml", env);
    ASSERT_TRUE(rc) << rc.issues.to_string();
    EXPECT_EQ(rc->iggy.username, "iggy-env-user");
    EXPECT_EQ(rc->iggy.address, "trib-env:8090");
    EXPECT_TRUE(rc->http.cors.enabled);
    EXPECT_EQ(rc->http.cors.allowed_origins, (std::vector<std::string>{"https://a", "https://b"}));
    EXPECT_EQ(rc->logging.format, "json");
    EXPECT_EQ(rc->server.fsync_interval, 250ms);
    EXPECT_EQ(rc->connectors.config_dir, "/etc/connectors");
}

TEST(runtime_config, mistyped_env_overrides_warn) {
    environment env;
    env.set("TRIBUTARY_HTTP_ADRESS", "0.0.0.0:1");
    env.set("IGGY_CONNECTORS_IGGY_USERNAME", "fine");
    env.set("IGGY_CONNECTORS_CONFIG_PATH", "/x.toml");
    env.set("IGGY_CONNECTORS_SINK_PG_PLUGIN_CONFIG_URL", "connector-level");
    env.set("TRIBUTARY_HTTP_CORS_ALLOWED_ORIGINS", "a,b");
    auto rc = parse_runtime_config("[connectors]\nconfig_dir = \"c\"\n", "r.toml", env);
    ASSERT_TRUE(rc) << rc.issues.to_string();
    EXPECT_EQ(rc.issues.to_string(),
              "environment variable TRIBUTARY_HTTP_ADRESS: warning: matches no runtime option; "
              "ignored; did you mean TRIBUTARY_HTTP_ADDRESS?");
    EXPECT_EQ(rc->http.cors.allowed_origins, (std::vector<std::string>{"a", "b"}));
}

TEST(runtime_config, secrets_in_any_string_and_redaction) {
    test::temp_dir dir("cfg");
    std::string key_file = (dir.path() / "api_key").string();
    write(key_file, "file-api-key\n");
    environment env;
    env.set("IGGY_PW", "env-password");
    env.set("CA_DIR", "/secret/ca/dir");
    auto rc = parse_runtime_config(
        "[iggy]\npassword = \"${env:IGGY_PW}\"\n[iggy.tls]\nca_file = \"${env:CA_DIR}/ca.pem\"\n"
        "[http]\napi_key = \"${file:" +
            key_file + "}\"\n[connectors]\nconfig_dir = \"c\"\n",
        "r.toml", env);
    ASSERT_TRUE(rc) << rc.issues.to_string();
    EXPECT_EQ(rc->iggy.password, "env-password");
    EXPECT_EQ(rc->iggy.tls.ca_file, "/secret/ca/dir/ca.pem");
    EXPECT_EQ(rc->http.api_key, "file-api-key");
    std::string json = rc->raw.to_redacted_json();
    for (const char* s :
         {"env-password", "file-api-key", "/secret/ca/dir", "\"password\":\"iggy\""}) {
        EXPECT_EQ(json.find(s), std::string::npos) << s << " in " << json;
    }
    EXPECT_NE(json.find(R"("root_password":"<redacted>")"), std::string::npos) << json;
}

TEST(runtime_config, legacy_inline_connectors_are_named) {
    environment env;
    auto rc = parse_runtime_config(
        "[connectors]\nconfig_dir = \"c\"\n[sinks.stdout]\nenabled = true\n", "r.toml", env);
    ASSERT_FALSE(rc);
    EXPECT_NE(rc.issues.to_string().find("r.toml: sinks: connectors are no longer defined"),
              std::string::npos);
}

TEST(runtime_config, config_path_resolution) {
    environment env;
    EXPECT_EQ(resolve_runtime_config_path("", env), "config.toml");
    env.set("IGGY_CONNECTORS_CONFIG_PATH", "/iggy.toml");
    EXPECT_EQ(resolve_runtime_config_path("", env), "/iggy.toml");
    env.set("TRIBUTARY_CONFIG_PATH", "/trib.toml");
    EXPECT_EQ(resolve_runtime_config_path("", env), "/trib.toml");
    EXPECT_EQ(resolve_runtime_config_path("/cli.toml", env), "/cli.toml");
}

TEST(plugin_names, from_iggy_paths) {
    EXPECT_EQ(plugin_name_from_path("target/release/libiggy_connector_postgres_sink"),
              "iggy_connector_postgres_sink");
    EXPECT_EQ(plugin_name_from_path("../../target/release/libiggy_connector_http_sink.so"),
              "iggy_connector_http_sink");
    EXPECT_EQ(plugin_name_from_path("/usr/lib/libiggy_connector_s3_sink.dylib"),
              "iggy_connector_s3_sink");
    EXPECT_EQ(plugin_name_from_path("stdout"), "stdout");
}

TEST(connector_files, iggy_examples_load_unchanged) {
    environment env;
    catalog free;  // no registries: plugin_config kept as written
    auto set = load_connectors(data_dir() + "/iggy/connectors", free, env);
    ASSERT_TRUE(set) << set.issues.to_string();
    // stdout.toml is Iggy's older format: no key, [config]; both are accepted with warnings.
    EXPECT_EQ(set.issues.error_count(), 0u);
    ASSERT_EQ(set->all.size(), 5u);
    ASSERT_EQ(set->active.size(), 5u);
    const connector_config* random = nullptr;
    const connector_config* quickwit = nullptr;
    const connector_config* stdout_sink = nullptr;
    for (const auto& c : set->active) {
        if (c.key == "random")
            random = &c;
        if (c.key == "quickwit")
            quickwit = &c;
        if (c.key == "stdout")
            stdout_sink = &c;
    }
    ASSERT_TRUE(random && quickwit && stdout_sink);
    EXPECT_EQ(random->type, connector_type::source);
    EXPECT_EQ(random->plugin, "iggy_connector_random_source");
    EXPECT_TRUE(random->benchmark);
    ASSERT_EQ(random->source_streams.size(), 1u);
    EXPECT_EQ(random->source_streams[0].topic, "example_topic");
    EXPECT_EQ(random->source_streams[0].linger_time, 5ms);
    EXPECT_EQ(random->plugin_config.json("messages_range"), "[10,50]");
    ASSERT_EQ(random->transforms.size(), 1u);
    EXPECT_EQ(random->transforms[0].name, "add_fields");

    EXPECT_EQ(quickwit->plugin_config_format, "yaml");
    ASSERT_EQ(quickwit->sink_streams.size(), 1u);
    EXPECT_EQ(quickwit->sink_streams[0].consumer_group, "qw_sink_connector");
    EXPECT_EQ(quickwit->sink_streams[0].batch_length, 1000u);
    ASSERT_EQ(quickwit->transforms.size(), 2u);
    EXPECT_EQ(quickwit->transforms[0].name, "add_fields");  // file order
    EXPECT_EQ(quickwit->transforms[1].name, "delete_fields");

    EXPECT_EQ(stdout_sink->plugin_config.json("print_payload"), "false");
    EXPECT_NE(set.issues.to_string().find("stdout.toml: config: warning"), std::string::npos)
        << set.issues.to_string();
}

TEST(connector_files, iggy_plugin_configs_load_unchanged) {
    environment env;
    catalog free;
    auto set = load_connectors(data_dir() + "/iggy/plugin_configs", free, env);
    ASSERT_TRUE(set) << set.issues.to_string();
    EXPECT_TRUE(set.issues.empty()) << set.issues.to_string();
    ASSERT_EQ(set->active.size(), 3u);
    for (const auto& c : set->active) {
        EXPECT_EQ(c.type, connector_type::sink);
        EXPECT_FALSE(c.sink_streams.empty());
        if (c.key == "http") {
            EXPECT_EQ(c.plugin, "iggy_connector_http_sink");
            EXPECT_EQ(c.sink_streams[0].poll_interval, 100ms);
        }
        if (c.key == "s3") {
            EXPECT_EQ(c.sink_streams[0].topics,
                      (std::vector<std::string>{"api_requests", "errors"}));
        }
    }
}

TEST(connector_files, defaults_match_iggy) {
    environment env;
    auto c = parse_connector_config(R"(
type = "sink"
key = "pg"
path = "libiggy_connector_postgres_sink"
[[streams]]
stream = "s"
topics = ["t"]
)",
                                    "pg_sink.toml", catalog{}, env);
    ASSERT_TRUE(c) << c.issues.to_string();
    EXPECT_TRUE(c->enabled);
    EXPECT_EQ(c->version, 0u);
    EXPECT_EQ(c->name, "pg");
    const auto& s = c->sink_streams.at(0);
    EXPECT_EQ(s.schema, "json");
    EXPECT_EQ(s.batch_length, 1000u);
    EXPECT_EQ(s.poll_interval, 5ms);
    EXPECT_EQ(s.consumer_group, "iggy-connect-sink-pg");
    EXPECT_FALSE(c->error_policy.mode);  // unset: dead_letter or stop, chosen by the runtime
    EXPECT_EQ(c->delivery.max_in_flight_batches, 32u);
    EXPECT_EQ(c->error_policy.max_retries, 0u);
    EXPECT_DOUBLE_EQ(c->error_policy.jitter, 0.2);
    EXPECT_EQ(c->delivery.max_in_flight_bytes, 64u << 20);
}

TEST(connector_files, plugin_config_validated_against_the_spec_with_every_problem) {
    test_catalog tc;
    environment env;
    auto c = parse_connector_config(R"(
type = "sink"
key = "pg_sink"
enabled = true
version = 1
name = "PG"
path = "target/release/libiggy_connector_postgres_sink"

[[streams]]
stream = "s"
topics = ["t"]
schema = "jsn"
batch_lenght = 5

[plugin_config]
connection_string = "postgres://localhost"
batch_size = "abc"
target_tabel = "x"

[transforms.add_fields]
enabled = true
feilds = []

[transforms.delete_fileds]
enabled = true
)",
                                    "connectors/pg_sink.toml", tc.get(), env);
    ASSERT_FALSE(c);
    std::string all = c.issues.to_string();
    for (
        const char* line : {
            R"(connectors/pg_sink.toml: plugin_config.batch_size: expected an integer, got "abc")",
            R"(connectors/pg_sink.toml: plugin_config.target_tabel: unknown option; did you mean "target_table"?)",
            R"(connectors/pg_sink.toml: plugin_config.target_table: required option is missing)",
            R"(connectors/pg_sink.toml: streams[0].batch_lenght: unknown option; did you mean "batch_length"?)",
            R"(connectors/pg_sink.toml: streams[0].schema: unknown schema "jsn"; did you mean "json"?)",
            R"(connectors/pg_sink.toml: transforms.add_fields.feilds: unknown option; did you mean "fields"?)",
            "connectors/pg_sink.toml: transforms.delete_fileds: unknown transform\n",
        }) {
        EXPECT_NE(all.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << all;
    }
    EXPECT_EQ(c.issues.error_count(), 7u) << all;
}

TEST(connector_files, codec_options_on_the_stream_table_or_in_schema_options) {
    // A codec spec as the transforms registry answers it: "blob" with a required `path` and a
    // bounded `depth`; `check_codec` refuses a path that "does not load".
    test_catalog tc;
    spec blob;
    blob.name = "blob";
    blob.kind = spec_kind::codec;
    option path;
    path.name = "path";
    option depth;
    depth.name = "depth";
    depth.type = opt_type::integer;
    depth.default_value = "8";
    depth.min = 1;
    blob.options = {path, depth};
    catalog cat = tc.get();
    cat.find_connector = nullptr;  // plugins unchecked: this is about [[streams]]
    cat.codec_names = [] { return std::vector<std::string>{"json", "raw", "text", "blob"}; };
    cat.find_codec = [&blob](std::string_view n) -> const spec* {
        return n == "blob" ? &blob : nullptr;
    };
    std::vector<std::string> built;
    cat.check_codec = [&built](std::string_view n, const values& v) -> status {
        built.push_back(std::string(n) + ":" + v.str("path"));
        if (v.str("path") == "broken")
            return fail(errc::invalid_argument, "blob: broken does not load");
        return ok();
    };
    environment env;
    auto good = parse_connector_config(R"(
type = "source"
key = "s"
path = "x"
[[streams]]
stream = "s"
topic = "a"
schema = "blob"
path = "on-the-table"
[[streams]]
stream = "s"
topic = "b"
schema = "json"
source_schema = "blob"
[streams.source_schema_options]
path = "in-the-sub-table"
depth = 3
)",
                                       "c/s.toml", cat, env);
    ASSERT_TRUE(good) << good.issues.to_string();
    ASSERT_EQ(good->source_streams.size(), 2u);
    EXPECT_EQ(good->source_streams[0].schema_options.str("path"), "on-the-table");
    EXPECT_EQ(good->source_streams[0].schema_options.integer("depth"), 8);  // the default
    EXPECT_EQ(good->source_streams[1].source_schema, "blob");
    EXPECT_EQ(good->source_streams[1].source_schema_options.str("path"), "in-the-sub-table");
    EXPECT_EQ(good->source_streams[1].source_schema_options.integer("depth"), 3);
    EXPECT_EQ(built, (std::vector<std::string>{"blob:on-the-table", "blob:in-the-sub-table"}));
    // The API's view of the file keeps them.
    const std::string raw = good->raw.to_redacted_json();
    EXPECT_NE(raw.find("on-the-table"), std::string::npos) << raw;
    EXPECT_NE(raw.find("in-the-sub-table"), std::string::npos) << raw;

    auto bad = parse_connector_config(R"(
type = "sink"
key = "k"
path = "x"
[[streams]]
stream = "s"
topics = ["t"]
schema = "blob"
pathh = "x"
depth = 2
[streams.schema_options]
depth = 0
[[streams]]
stream = "s"
topics = ["u"]
schema = "blob"
path = "broken"
)",
                                      "c/k.toml", cat, env);
    ASSERT_FALSE(bad);
    const std::string all = bad.issues.to_string();
    for (const char* line : {
             "c/k.toml: streams[0].pathh: unknown option",
             "c/k.toml: streams[0].schema_options.depth: given twice",
             "c/k.toml: streams[0].path: required option is missing",
             "c/k.toml: streams[1].schema: blob: broken does not load",
         }) {
        EXPECT_NE(all.find(line), std::string::npos) << "missing: " << line << "\nin:\n" << all;
    }
}

TEST(connector_files, unknown_plugin_with_suggestion_and_disabled_is_a_warning) {
    test_catalog tc;
    environment env;
    const char* body = R"(
type = "sink"
key = "x"
enabled = %s
plugin = "postgress"
[[streams]]
stream = "s"
topics = ["t"]
)";
    char buf[512];
    std::snprintf(buf, sizeof buf, body, "true");
    auto on = parse_connector_config(buf, "x.toml", tc.get(), env);
    ASSERT_FALSE(on);
    EXPECT_EQ(on.issues.to_string(),
              R"(x.toml: plugin: unknown sink plugin "postgress"; did you mean "postgres"?)");
    std::snprintf(buf, sizeof buf, body, "false");
    auto off = parse_connector_config(buf, "x.toml", tc.get(), env);
    ASSERT_TRUE(off) << off.issues.to_string();
    EXPECT_EQ(off.issues.warning_count(), 1u);
}

TEST(connector_files, env_overrides_iggy_convention) {
    test_catalog tc;
    environment env;
    env.set("IGGY_CONNECTORS_SINK_PG_SINK_PLUGIN_CONFIG_BATCH_SIZE", "42");
    env.set("IGGY_CONNECTORS_SINK_PG_SINK_PLUGIN_CONFIG_CONNECTION_STRING", "postgres://env");
    env.set("TRIBUTARY_SINK_PG_SINK_PLUGIN_CONFIG_TARGET_TABLE", "trib_table");
    env.set("IGGY_CONNECTORS_SINK_PG_SINK_PLUGIN_CONFIG_TARGET_TABLE", "iggy_table");
    env.set("IGGY_CONNECTORS_SINK_PG_SINK_STREAMS_0_STREAM", "env_stream");
    env.set("IGGY_CONNECTORS_SINK_PG_SINK_STREAMS_0_TOPICS", "[a, b]");
    env.set("IGGY_CONNECTORS_SINK_PG_SINK_ENABLED", "false");
    env.set("IGGY_CONNECTORS_SINK_OTHER_PLUGIN_CONFIG_BATCH_SIZE", "7");  // another connector
    auto c = parse_connector_config(R"(
type = "sink"
key = "pg_sink"
path = "libiggy_connector_postgres_sink"
[[streams]]
stream = "s"
topics = ["t"]
[plugin_config]
connection_string = "postgres://file"
target_table = "file_table"
)",
                                    "pg.toml", tc.get(), env);
    ASSERT_TRUE(c) << c.issues.to_string();
    EXPECT_FALSE(c->enabled);
    EXPECT_EQ(c->plugin_config.integer("batch_size"), 42);
    EXPECT_EQ(c->plugin_config.str("connection_string"), "postgres://env");
    EXPECT_EQ(c->plugin_config.str("target_table"), "trib_table");
    EXPECT_EQ(c->sink_streams.at(0).stream, "env_stream");
    EXPECT_EQ(c->sink_streams.at(0).topics, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(c->raw.to_redacted_json().find("postgres://env"), std::string::npos);
}

TEST(connector_files, env_override_of_unknown_field_is_reported_with_the_variable) {
    test_catalog tc;
    environment env;
    env.set("IGGY_CONNECTORS_SINK_PG_PLUGIN_CONFIG_BATCHSIZE", "9");
    auto c = parse_connector_config(R"(
type = "sink"
key = "pg"
plugin = "postgres"
[[streams]]
stream = "s"
topics = ["t"]
[plugin_config]
connection_string = "x"
target_table = "t"
)",
                                    "pg.toml", tc.get(), env);
    ASSERT_FALSE(c);
    EXPECT_EQ(c.issues.to_string(),
              "environment variable IGGY_CONNECTORS_SINK_PG_PLUGIN_CONFIG_BATCHSIZE: "
              "plugin_config.batchsize: unknown option; did you mean \"batch_size\"?");
}

TEST(connector_files, free_form_env_inference_without_a_spec) {
    environment env;
    env.set("IGGY_CONNECTORS_SOURCE_RANDOM_PLUGIN_CONFIG_MAX_COUNT", "5");
    env.set("IGGY_CONNECTORS_SOURCE_RANDOM_PLUGIN_CONFIG_MESSAGES_RANGE", "[1, 2]");
    auto c =
        load_connector_file(data_dir() + "/iggy/connectors/random_source_v0.toml", catalog{}, env);
    ASSERT_TRUE(c) << c.issues.to_string();
    EXPECT_EQ(c->plugin_config.json("max_count"), "5");
    EXPECT_EQ(c->plugin_config.json("messages_range"), "[1,2]");
}

TEST(connector_files, versions_highest_wins_or_pinned) {
    test::temp_dir dir("conns");
    auto file = [&](const char* name, int version, bool enabled) {
        write(
            dir.path() / name,
            "type = \"sink\"\nkey = \"pg\"\nenabled = " + std::string(enabled ? "true" : "false") +
                "\nversion = " + std::to_string(version) +
                "\nplugin = \"postgres\"\n[[streams]]\nstream = \"s\"\ntopics = [\"t\"]\n"
                "[plugin_config]\nconnection_string = \"x\"\ntarget_table = \"v" +
                std::to_string(version) + "\"\n");
    };
    file("pg_sink.toml", 0, true);
    file("pg_sink_v1.toml", 1, true);
    file("pg_sink_v2.toml", 2, false);
    write(dir.path() / "Cargo.toml", "[package]\nname = \"x\"\n");
    write(dir.path() / ".hidden.toml", "garbage = = =");
    write(dir.path() / "notes.txt", "not toml");
    test_catalog tc;
    environment env;
    auto set = load_connectors(dir.path().string(), tc.get(), env);
    ASSERT_TRUE(set) << set.issues.to_string();
    EXPECT_EQ(set->all.size(), 3u);
    ASSERT_EQ(set->active.size(), 1u);
    EXPECT_EQ(set->active[0].version, 2u);  // Iggy's rule: the highest, even when disabled
    EXPECT_FALSE(set->active[0].enabled);

    write(dir.path() / ".active_versions.toml", "[sinks]\npg = 1\n");
    auto pinned = load_connectors(dir.path().string(), tc.get(), env);
    ASSERT_TRUE(pinned) << pinned.issues.to_string();
    ASSERT_EQ(pinned->active.size(), 1u);
    EXPECT_EQ(pinned->active[0].version, 1u);
    EXPECT_EQ(pinned->active[0].plugin_config.str("target_table"), "v1");

    // A broken inactive version only warns; a broken active one is an error.
    write(dir.path() / "pg_sink.toml",
          "type = \"sink\"\nkey = \"pg\"\nversion = 0\nplugin = \"postgres\"\n[[streams]]\n"
          "stream = \"s\"\ntopics = [\"t\"]\n[plugin_config]\nbogus = 1\n");
    auto warned = load_connectors(dir.path().string(), tc.get(), env);
    ASSERT_TRUE(warned) << warned.issues.to_string();
    EXPECT_GT(warned.issues.warning_count(), 0u);
    write(dir.path() / ".active_versions.toml", "[sinks]\npg = 0\n");
    auto failed = load_connectors(dir.path().string(), tc.get(), env);
    EXPECT_FALSE(failed);
}

TEST(connector_files, mistyped_connector_env_vars_warn_in_a_directory) {
    test::temp_dir dir("conns");
    const char* body =
        "type = \"sink\"\nkey = \"%s\"\nplugin = \"postgres\"\n[[streams]]\n"
        "stream = \"s\"\ntopics = [\"t\"]\n[plugin_config]\n"
        "connection_string = \"x\"\ntarget_table = \"t\"\n";
    char buf[512];
    std::snprintf(buf, sizeof buf, body, "pg");
    write(dir.path() / "pg_sink.toml", buf);
    std::snprintf(buf, sizeof buf, body, "pg_backup");
    write(dir.path() / "pg_backup_sink.toml", buf);
    environment env;
    env.set("IGGY_CONNECTORS_SINK_PG_ENABLD", "false");
    env.set("IGGY_CONNECTORS_SINK_PG_BACKUP_ENABLED", "false");  // pg_backup's, not a typo of pg's
    test_catalog tc;
    auto set = load_connectors(dir.path().string(), tc.get(), env);
    ASSERT_TRUE(set) << set.issues.to_string();
    EXPECT_EQ(set.issues.to_string(),
              "environment variable IGGY_CONNECTORS_SINK_PG_ENABLD: warning: matches no option of "
              "this connector; ignored; did you mean IGGY_CONNECTORS_SINK_PG_ENABLED?");
    for (const auto& c : set->active)
        EXPECT_EQ(c.enabled, c.key == "pg");
}

TEST(connector_files, duplicate_versions_and_bad_toml_are_errors) {
    test::temp_dir dir("conns");
    const char* body =
        "type = \"source\"\nkey = \"r\"\nversion = 3\nplugin = \"random\"\n"
        "[[streams]]\nstream = \"s\"\ntopic = \"t\"\n";
    write(dir.path() / "a.toml", body);
    write(dir.path() / "b.toml", body);
    write(dir.path() / "c.toml", "type = \"sink\"\nkey = = 1\n");
    environment env;
    auto set = load_connectors(dir.path().string(), catalog{}, env);
    ASSERT_FALSE(set);
    std::string all = set.issues.to_string();
    EXPECT_NE(all.find("b.toml: version: source \"r\" version 3 is also defined in"),
              std::string::npos)
        << all;
    EXPECT_NE(all.find("c.toml: line 2"), std::string::npos) << all;
}

TEST(connector_files, missing_or_empty_dir) {
    environment env;
    // A runtime without its connectors must not start: an error naming the file and key.
    auto missing = load_connectors("/nonexistent/connectors/dir", catalog{}, env, "rt.toml");
    ASSERT_FALSE(missing);
    EXPECT_NE(
        missing.issues.to_string().find("rt.toml: connectors.config_dir: the connector directory "
                                        "\"/nonexistent/connectors/dir\" does not exist"),
        std::string::npos)
        << missing.issues.to_string();
    auto empty = load_connectors("", catalog{}, env);
    EXPECT_FALSE(empty);
}

TEST(connector_files, error_policy_and_delivery) {
    environment env;
    auto c = parse_connector_config(R"(
type = "sink"
key = "k"
plugin = "stdout"
[[streams]]
stream = "s"
topics = ["t"]
[error_policy]
mode = "dead_letter"
max_retries = 3
backoff_initial = "50ms"
backoff_max = "2s"
dead_letter_stream = "dlq"
dead_letter_topic = "k_dlq"
[delivery]
max_in_flight_batches = 8
max_in_flight_bytes = "16MiB"
)",
                                    "k.toml", catalog{}, env);
    ASSERT_TRUE(c) << c.issues.to_string();
    EXPECT_EQ(c->error_policy.mode, error_mode::dead_letter);
    EXPECT_EQ(c->error_policy.max_retries, 3u);
    EXPECT_EQ(c->error_policy.backoff_initial, 50ms);
    EXPECT_EQ(c->error_policy.dead_letter_topic, "k_dlq");
    EXPECT_EQ(c->delivery.max_in_flight_batches, 8u);
    EXPECT_EQ(c->delivery.max_in_flight_bytes, 16u << 20);

    auto bad = parse_connector_config(R"(
type = "sink"
key = "k"
plugin = "stdout"
[[streams]]
stream = "s"
topics = ["t"]
[error_policy]
mode = "dead_letter"
)",
                                      "k.toml", catalog{}, env);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.issues.to_string(),
              "k.toml: error_policy: mode = \"dead_letter\" needs dead_letter_stream and "
              "dead_letter_topic");
}

TEST(connector_files, type_problems) {
    environment env;
    auto none = parse_connector_config("key = \"k\"\n", "k.toml", catalog{}, env);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.issues.to_string(),
              "k.toml: type: required option is missing (\"sink\" or \"source\")");
    auto typo = parse_connector_config("type = \"snk\"\n", "k.toml", catalog{}, env);
    ASSERT_FALSE(typo);
    EXPECT_EQ(typo.issues.to_string(),
              R"(k.toml: type: expected one of "sink", "source", got "snk"; did you mean "sink"?)");
}

TEST(connector_files, file_specs_are_sound) {
    EXPECT_TRUE(check_spec(connector_file_spec(connector_type::sink)).empty());
    EXPECT_TRUE(check_spec(connector_file_spec(connector_type::source)).empty());
    auto defects = check_spec(runtime_spec());
    EXPECT_TRUE(defects.empty()) << defects.front();
}

}  // namespace
}  // namespace trib::config

namespace trib::config {
namespace {

// Issue 12: every hostile runtime file in tests/data/hostile/config is refused with an error
// naming the file and the key (its first line: `# expect: key: message`), and no message shows
// a password.
TEST(hostile_config, every_file_is_refused_naming_file_and_key) {
    const char* src = std::getenv("TRIB_SOURCE_DIR");
    const std::filesystem::path dir =
        std::filesystem::path(src != nullptr ? src : ".") / "tests/data/hostile/config";
    environment env;
    std::size_t files = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().extension() != ".toml")
            continue;
        ++files;
        const std::string path = e.path().string();
        std::ifstream f(path);
        std::string first;
        std::getline(f, first);
        ASSERT_TRUE(first.starts_with("# expect: ")) << path;
        const std::string expect = path + ": " + first.substr(10);
        auto rc = load_runtime_config(path, env);
        std::string text = rc.issues.to_string();
        bool refused = !rc;
        if (rc) {
            auto conns = load_connectors(rc->connectors.config_dir, catalog{}, env, path);
            text += conns.issues.to_string();
            refused = !conns;
        }
        EXPECT_TRUE(refused) << path;
        EXPECT_NE(text.find(expect), std::string::npos) << expect << "\n" << text;
        EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
    }
    EXPECT_GE(files, 7u);
}

}  // namespace
}  // namespace trib::config
