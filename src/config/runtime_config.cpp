// The runtime configuration file: its spec (Iggy's sections and defaults plus Tributary's
// [server]) and the loader.

#include "config/runtime_config.h"

#include <charconv>

#include "config/node.h"
#include "config/validate.h"

namespace trib::config {
namespace {

// "127.0.0.1:8090", "localhost:8090", "[::1]:8090": a host only this machine reaches.
bool is_loopback_address(const std::string& address) {
    std::string host = address.substr(0, address.rfind(':'));
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

option str(std::string name, std::string doc, std::optional<std::string> def = std::nullopt) {
    option o;
    o.name = std::move(name);
    o.type = opt_type::string;
    o.doc = std::move(doc);
    if (def) {
        o.default_value = "\"" + *def + "\"";
    } else {
        o.optional = true;
    }
    return o;
}

option secret(std::string name, std::string doc, std::string def) {
    option o = str(std::move(name), std::move(doc), std::move(def));
    o.type = opt_type::secret;
    return o;
}

option flag(std::string name, std::string doc, bool def) {
    option o;
    o.name = std::move(name);
    o.type = opt_type::boolean;
    o.doc = std::move(doc);
    o.default_value = def ? "true" : "false";
    return o;
}

option strings(std::string name, std::string doc) {
    option o;
    o.name = std::move(name);
    o.type = opt_type::list;
    o.doc = std::move(doc);
    o.default_value = "[]";
    return o;
}

option choice(std::string name, std::string doc, std::vector<std::string> choices,
              std::string def) {
    option o;
    o.name = std::move(name);
    o.type = opt_type::enumeration;
    o.doc = std::move(doc);
    o.choices = std::move(choices);
    o.default_value = "\"" + def + "\"";
    return o;
}

option integer(std::string name, std::string doc, std::int64_t def, double min, double max) {
    option o;
    o.name = std::move(name);
    o.type = opt_type::integer;
    o.doc = std::move(doc);
    o.default_value = std::to_string(def);
    o.min = min;
    o.max = max;
    return o;
}

option duration(std::string name, std::string doc, std::string def, double min_ms) {
    option o;
    o.name = std::move(name);
    o.type = opt_type::duration;
    o.doc = std::move(doc);
    o.default_value = "\"" + def + "\"";
    o.min = min_ms;
    return o;
}

option table(std::string name, std::string doc, std::vector<option> children) {
    option o;
    o.name = std::move(name);
    o.type = opt_type::table;
    o.doc = std::move(doc);
    o.children = std::move(children);
    return o;
}

option free_form(std::string name, std::string doc) {
    option o;
    o.name = std::move(name);
    o.type = opt_type::any;
    o.doc = std::move(doc);
    o.optional = true;
    o.advanced = true;
    return o;
}

spec build_runtime_spec() {
    spec s;
    s.name = "runtime";
    s.kind = spec_kind::runtime;
    s.summary = "The runtime configuration file (Iggy connector runtime compatible).";
    s.description =
        "Sections and defaults follow Iggy's connector runtime, so its config files load "
        "unchanged. Every key can be overridden by TRIBUTARY_<SECTION>_<KEY> or Iggy's "
        "IGGY_CONNECTORS_<SECTION>_<KEY> (nested keys joined by underscores); any string may use "
        "${env:NAME} or ${file:/path}.";

    s.options.push_back(table(
        "iggy", "The Iggy server the connectors talk to.",
        {
            str("address",
                "host:port of the Iggy server (TCP). When absent, Tributary starts its embedded "
                "server ([server]) and connects to it."),
            str("username", "User name to log in with.", "iggy"),
            secret("password", "Password of that user.", "iggy"),
            secret("token", "A personal access token, used instead of username and password.", ""),
            table("tls", "TLS to the Iggy server.",
                  {
                      flag("enabled", "Connect with TLS.", false),
                      str("ca_file", "CA certificate (PEM) to verify the server with.", ""),
                      str("domain", "Server name to verify (default: the address host).", ""),
                  }),
        }));
    s.options.push_back(table(
        "state", "Where sources keep their position.",
        {
            str("path", "Directory of the source state files (one per source, written atomically).",
                "local_state"),
            choice("storage", "State backend; only \"file\" is supported.", {"file", "http"},
                   "file"),
            free_form("http", "Iggy's HTTP state backend settings (accepted, not supported)."),
        }));
    s.options.push_back(
        table("connectors", "Where connector configurations come from.",
              {
                  choice("config_type", "\"local\": one TOML file per connector in config_dir.",
                         {"local", "http"}, "local"),
                  str("config_dir", "Directory of the connector files (*.toml).", ""),
                  free_form("base_url", "Iggy's HTTP provider (accepted, not supported)."),
                  free_form("timeout", "Iggy's HTTP provider (accepted, not supported)."),
                  free_form("request_headers", "Iggy's HTTP provider (accepted, not supported)."),
                  free_form("url_templates", "Iggy's HTTP provider (accepted, not supported)."),
                  free_form("response", "Iggy's HTTP provider (accepted, not supported)."),
                  free_form("retry", "Iggy's HTTP provider (accepted, not supported)."),
              }));
    s.options.push_back(
        table("http", "The management API.",
              {
                  flag("enabled", "Serve the management API.", true),
                  str("address", "Listen address (host:port).", "127.0.0.1:8081"),
                  secret("api_key",
                         "Required in the `api-key` header of every request except / and /health; "
                         "empty disables authentication.",
                         ""),
                  strings("allowed_hosts",
                          "Without api_key, the API answers only requests whose Host is an IP "
                          "address, localhost or the bound host, or one of these names (\"*\": "
                          "any); a guard against DNS rebinding (Tributary addition)."),
                  table("cors", "CORS for browser clients.",
                        {
                            flag("enabled", "Answer CORS requests.", false),
                            strings("allowed_origins", "Allowed origins (\"*\" first: any)."),
                            strings("allowed_methods", "Allowed methods."),
                            strings("allowed_headers", "Allowed request headers."),
                            strings("exposed_headers", "Response headers exposed to scripts."),
                            flag("allow_credentials", "Allow credentials.", false),
                            flag("allow_private_network", "Allow private network access.", false),
                        }),
                  table("tls", "TLS for the management API.",
                        {
                            flag("enabled", "Serve HTTPS.", false),
                            str("cert_file", "Certificate chain (PEM).", ""),
                            str("key_file", "Private key (PEM).", ""),
                        }),
                  table("metrics", "Prometheus metrics.",
                        {
                            flag("enabled", "Serve metrics.", false),
                            str("endpoint", "Path of the metrics endpoint.", "/metrics"),
                        }),
              }));
    s.options.push_back(
        table("logging", "Log output.",
              {
                  choice("format", "Log line format.", {"text", "json"}, "text"),
                  choice("level", "Least severe level logged.",
                         {"trace", "debug", "info", "warn", "error", "off"}, "info"),
              }));
    option endpoint_table_logs =
        table("logs", "OpenTelemetry logs export.",
              {choice("transport", "Transport.", {"grpc", "http"}, "grpc"),
               str("endpoint", "Collector endpoint.", "http://localhost:4317")});
    option endpoint_table_traces = endpoint_table_logs;
    endpoint_table_traces.name = "traces";
    endpoint_table_traces.doc = "OpenTelemetry traces export.";
    s.options.push_back(
        table("telemetry", "OpenTelemetry export: accepted for compatibility and ignored.",
              {
                  flag("enabled", "Export telemetry (not supported; ignored).", false),
                  str("service_name", "Service name.", "iggy-connectors"),
                  endpoint_table_logs,
                  endpoint_table_traces,
              }));
    option enabled;
    enabled.name = "enabled";
    enabled.type = opt_type::boolean;
    enabled.doc = "Start the embedded server. Unset: only when [iggy] has no address.";
    enabled.optional = true;
    option fsync_interval;
    fsync_interval.name = "fsync_interval";
    fsync_interval.type = opt_type::duration;
    fsync_interval.doc = "With fsync = \"interval\": how often the log is flushed to disk.";
    fsync_interval.default_value = "\"1s\"";
    fsync_interval.min = 1;
    s.options.push_back(table(
        "server", "Tributary's embedded Iggy-compatible server (Tributary addition).",
        {
            enabled,
            str("address", "TCP listen address of the embedded server.", "127.0.0.1:8090"),
            str("data_dir", "Where it stores streams (default: <state.path>/server)."),
            choice("fsync",
                   "When appended messages reach the disk: on every append, on an interval, or "
                   "when the OS decides.",
                   {"always", "interval", "never"}, "interval"),
            fsync_interval,
            str("root_username", "The root user created on first start.", "iggy"),
            secret("root_password", "The root user's password.", "iggy"),
            integer("max_connections",
                    "Open client connections at most; more are closed at once (clamped to half "
                    "the open-files limit).",
                    1024, 1, 1 << 24),
            integer("max_unauthenticated_connections",
                    "Connections not logged in (yet) at most, so that idle sockets cannot take "
                    "every slot.",
                    256, 1, 1 << 24),
            duration("login_timeout",
                     "A connection that has not logged in this long after it opened is closed "
                     "(0 disables).",
                     "10s", 0),
            duration("idle_timeout",
                     "A logged-in connection that sends nothing this long is closed (0 "
                     "disables; Iggy's SDKs ping every 5 s).",
                     "0s", 0),
            integer("login_max_failures",
                    "Failed logins per peer address and per user name before further attempts "
                    "are refused for 1 s, doubling per failure (0 disables).",
                    5, 0, 1000000),
            duration("login_lockout_max", "The longest login lockout.", "5m", 1),
        }));
    s.check = [](const values& v, const check_report& report) {
        const values conns = v.table("connectors");
        if (conns.str("config_type") == "http") {
            report("connectors.config_type",
                   "\"http\" (remote connector configs) is not supported by Tributary yet; use "
                   "\"local\" with config_dir");
        } else if (conns.str("config_dir").empty()) {
            report("connectors.config_dir",
                   "must be set: the directory that holds one TOML file per connector");
        }
        if (v.table("state").str("storage") == "http") {
            report("state.storage",
                   "\"http\" state storage is not supported by Tributary yet; "
                   "use \"file\"");
        }
        const values http = v.table("http");
        if (http.boolean("enabled")) {
            if (auto a = parse_listen_address(http.str("address")); !a)
                report("http.address", a.error().message());
        }
        const values tls = http.table("tls");
        if (tls.boolean("enabled") &&
            (tls.str("cert_file").empty() || tls.str("key_file").empty())) {
            report("http.tls", "enabled needs cert_file and key_file");
        }
        // The embedded server's development credentials (iggy/iggy) only on loopback.
        const values server = v.table("server");
        const bool embedded =
            server.has("enabled") ? server.boolean("enabled") : !v.table("iggy").has("address");
        if (embedded) {
            if (auto a = parse_listen_address(server.str("address")); !a)
                report("server.address", a.error().message());
        }
        if (embedded && server.str("root_password") == "iggy" &&
            !is_loopback_address(server.str("address"))) {
            report("server.root_password",
                   "the default password \"iggy\" is refused when the embedded server listens "
                   "beyond loopback (" +
                       server.str("address") + "); set a password of your own");
        }
    };
    s.example = R"([iggy]
address = "localhost:8090"
username = "iggy"
password = "${env:IGGY_PASSWORD}"

[state]
path = "local_state"

[connectors]
config_type = "local"
config_dir = "connectors"

[http]
enabled = true
address = "127.0.0.1:8081"
)";
    return s;
}

void fill(runtime_config& rc, const values& v) {
    const values iggy = v.table("iggy");
    rc.iggy.address = iggy.opt_str("address");
    if (rc.iggy.address && rc.iggy.address->empty())
        rc.iggy.address.reset();
    rc.iggy.username = iggy.str("username");
    rc.iggy.password = iggy.str("password");
    rc.iggy.token = iggy.str("token");
    const values itls = iggy.table("tls");
    rc.iggy.tls.enabled = itls.boolean("enabled");
    rc.iggy.tls.ca_file = itls.str("ca_file");
    rc.iggy.tls.domain = itls.str("domain");

    rc.state.path = v.table("state").str("path");

    const values conns = v.table("connectors");
    rc.connectors.config_type = conns.str("config_type");
    rc.connectors.config_dir = conns.str("config_dir");

    const values http = v.table("http");
    rc.http.enabled = http.boolean("enabled");
    rc.http.address = http.str("address");
    rc.http.api_key = http.str("api_key");
    rc.http.allowed_hosts = http.list("allowed_hosts");
    const values cors = http.table("cors");
    rc.http.cors.enabled = cors.boolean("enabled");
    rc.http.cors.allowed_origins = cors.list("allowed_origins");
    rc.http.cors.allowed_methods = cors.list("allowed_methods");
    rc.http.cors.allowed_headers = cors.list("allowed_headers");
    rc.http.cors.exposed_headers = cors.list("exposed_headers");
    rc.http.cors.allow_credentials = cors.boolean("allow_credentials");
    rc.http.cors.allow_private_network = cors.boolean("allow_private_network");
    const values htls = http.table("tls");
    rc.http.tls.enabled = htls.boolean("enabled");
    rc.http.tls.cert_file = htls.str("cert_file");
    rc.http.tls.key_file = htls.str("key_file");
    const values metrics = http.table("metrics");
    rc.http.metrics.enabled = metrics.boolean("enabled");
    rc.http.metrics.endpoint = metrics.str("endpoint");

    const values logging = v.table("logging");
    rc.logging.format = logging.str("format");
    rc.logging.level = logging.str("level");

    rc.telemetry_enabled = v.table("telemetry").boolean("enabled");

    const values server = v.table("server");
    if (server.has("enabled"))
        rc.server.enabled = server.boolean("enabled");
    rc.server.address = server.str("address");
    rc.server.data_dir = server.opt_str("data_dir").value_or("");
    if (rc.server.data_dir.empty()) {
        rc.server.data_dir =
            rc.state.path.empty() ? std::string("server") : rc.state.path + "/server";
    }
    rc.server.fsync = server.str("fsync");
    rc.server.fsync_interval = server.duration("fsync_interval");
    rc.server.root_username = server.str("root_username");
    rc.server.root_password = server.str("root_password");
    rc.server.max_connections = static_cast<std::uint32_t>(server.integer("max_connections"));
    rc.server.max_unauthenticated_connections =
        static_cast<std::uint32_t>(server.integer("max_unauthenticated_connections"));
    rc.server.login_timeout = server.duration("login_timeout");
    rc.server.idle_timeout = server.duration("idle_timeout");
    rc.server.login_max_failures = static_cast<std::uint32_t>(server.integer("login_max_failures"));
    rc.server.login_lockout_max = server.duration("login_lockout_max");
    rc.raw = v;
}

loaded<runtime_config> finish(result<node> parsed, const std::string& file,
                              const environment& env) {
    loaded<runtime_config> out;
    if (!parsed) {
        out.issues.error(file, "", parsed.error().message());
        return out;
    }
    node tree = std::move(parsed).value();
    const std::vector<std::string> prefixes = {"TRIBUTARY_", "IGGY_CONNECTORS_"};
    apply_env_overrides(runtime_spec().options, tree, prefixes, env);
    // A mistyped override would silently do nothing; say so. Connector variables
    // ({SINK|SOURCE}_<KEY>_...) and the config/.env paths belong elsewhere.
    for (const auto& [name, suggestion] :
         unknown_env_overrides(runtime_spec().options, prefixes, env,
                               {"CONFIG_PATH", "ENV_PATH", "SINK_", "SOURCE_"})) {
        std::string msg = "matches no runtime option; ignored";
        if (suggestion)
            msg += "; did you mean " + *suggestion + "?";
        out.issues.warning("environment variable " + name, "", std::move(msg));
    }
    // Iggy's runtime embeds connector definitions in old config files ([sinks.x], [sources.x]);
    // they moved to config_dir long ago. Name that instead of a bare "unknown option".
    for (const char* legacy : {"sinks", "sources"}) {
        if (tree.find(legacy) != nullptr) {
            out.issues.error(file, legacy,
                             "connectors are no longer defined in the runtime file; move each to "
                             "its own file in [connectors] config_dir");
            tree.erase(legacy);
        }
    }
    validation_context ctx;
    ctx.file = file;
    ctx.env = &env;
    values v = validate(runtime_spec(), tree, ctx, out.issues);
    if (out.issues.has_errors())
        return out;
    runtime_config rc;
    rc.file = file;
    fill(rc, v);
    if (rc.telemetry_enabled) {
        out.issues.warning(file, "telemetry.enabled",
                           "OpenTelemetry export is not supported by Tributary; ignored");
    }
    out.value = std::move(rc);
    return out;
}

}  // namespace

result<listen_address> parse_listen_address(std::string_view text) {
    const std::string shown = "\"" + std::string(text) + "\"";
    listen_address out;
    std::string_view port;
    if (text.find("://") != std::string_view::npos)
        return fail(errc::invalid_argument, "expected host:port, not a URL: " + shown);
    if (!text.empty() && text.front() == '[') {
        const auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return fail(errc::invalid_argument, "expected [ipv6]:port, got " + shown);
        out.host = std::string(text.substr(1, close - 1));
        port = text.substr(close + 2);
    } else {
        const auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return fail(errc::invalid_argument, "expected host:port, got " + shown);
        out.host = std::string(text.substr(0, colon));
        port = text.substr(colon + 1);
        if (out.host.find(':') != std::string::npos) {
            return fail(errc::invalid_argument,
                        "an IPv6 address goes in brackets ([::1]:8081), got " + shown);
        }
    }
    if (out.host.empty())
        return fail(errc::invalid_argument, "the host is missing in " + shown);
    if (out.host.find_first_of(" /?#@") != std::string::npos)
        return fail(errc::invalid_argument, "not a host name or address: " + shown);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos) {
        return fail(errc::invalid_argument, "expected a port number after the colon, got " + shown);
    }
    unsigned long n = 0;
    std::from_chars(port.data(), port.data() + port.size(), n);  // 1..5 digits: cannot fail
    if (n > 65535) {
        return fail(errc::invalid_argument,
                    "port " + std::string(port) + " is out of range 0..65535");
    }
    out.port = static_cast<std::uint16_t>(n);
    return out;
}

const spec& runtime_spec() {
    static const spec s = build_runtime_spec();
    return s;
}

std::string resolve_runtime_config_path(const std::string& cli_path, const environment& env) {
    if (!cli_path.empty())
        return cli_path;
    if (auto p = env.get("TRIBUTARY_CONFIG_PATH"); p && !p->empty())
        return *p;
    if (auto p = env.get("IGGY_CONNECTORS_CONFIG_PATH"); p && !p->empty())
        return *p;
    return "config.toml";
}

loaded<runtime_config> load_runtime_config(const std::string& path, const environment& env) {
    return finish(parse_toml_file(path), path, env);
}

loaded<runtime_config> load_runtime_config(const std::string& path) {
    return load_runtime_config(path, environment::from_process());
}

loaded<runtime_config> parse_runtime_config(std::string_view toml, const std::string& file,
                                            const environment& env) {
    return finish(parse_toml(toml, file), file, env);
}

}  // namespace trib::config
