#pragma once
// The runtime configuration: one TOML file with the sections of Iggy's connector runtime ([iggy],
// [state], [connectors], [http], [logging], [telemetry]) plus Tributary's own ([server] for the
// embedded Iggy-compatible server). Iggy's files load unchanged.
//
// Environment overrides: TRIBUTARY_<SECTION>_<KEY> and Iggy's IGGY_CONNECTORS_<SECTION>_<KEY>
// (nested keys joined by underscores: IGGY_CONNECTORS_HTTP_CORS_ENABLED); TRIBUTARY_ wins when
// both are set. Any string value may use ${env:NAME} / ${file:/path}.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/environment.h"
#include "config/problems.h"
#include "config/spec.h"
#include "core/error.h"

namespace trib::config {

struct iggy_tls_config {
    bool enabled = false;
    std::string ca_file;
    std::string domain;  // empty: the host part of the address
};

/// [iggy]: the Iggy server the runtime connects to.
struct iggy_config {
    /// "host:port". Absent: Tributary starts its embedded server ([server]) and connects to it.
    std::optional<std::string> address;
    std::string username = "iggy";
    std::string password = "iggy";  // secret
    std::string token;              // secret; a personal access token instead of the password
    iggy_tls_config tls;
};

/// [state]: where sources keep their position, one file per source.
struct state_config {
    std::string path = "local_state";
};

/// [connectors]: where connector configs come from. Only "local" (one TOML per connector in
/// config_dir) is supported; "http" is recognised and refused with a clear message.
struct connectors_config {
    std::string config_type = "local";
    std::string config_dir;
};

struct cors_config {
    bool enabled = false;
    std::vector<std::string> allowed_origins;
    std::vector<std::string> allowed_methods;
    std::vector<std::string> allowed_headers;
    std::vector<std::string> exposed_headers;
    bool allow_credentials = false;
    bool allow_private_network = false;
};

struct http_tls_config {
    bool enabled = false;
    std::string cert_file;
    std::string key_file;
};

struct metrics_config {
    bool enabled = false;
    std::string endpoint = "/metrics";
};

/// [http]: the management API. Enabled by default on loopback, as in Iggy's runtime.
struct http_config {
    bool enabled = true;
    std::string address = "127.0.0.1:8081";
    std::string api_key;  // secret; empty: no authentication (header `api-key`)
    /// Host names the API answers besides IP literals, localhost and the bound host (DNS
    /// rebinding guard, used without api_key); "*": any.
    std::vector<std::string> allowed_hosts;
    cors_config cors;
    http_tls_config tls;
    metrics_config metrics;
};

struct logging_config {
    std::string format = "text";  // "text" | "json"
    std::string level = "info";   // trace, debug, info, warn, error
};

/// [server]: Tributary's embedded Iggy-compatible server, used when [iggy] has no address (or
/// when `enabled = true`).
struct server_config {
    std::optional<bool> enabled;             // unset: on exactly when [iggy] address is absent
    std::string address = "127.0.0.1:8090";  // TCP listener
    std::string data_dir;                    // default: <state.path>/server
    std::string fsync = "interval";          // "always" | "interval" | "never"
    std::chrono::milliseconds fsync_interval{1000};
    std::string root_username = "iggy";
    std::string root_password = "iggy";  // secret
    // Limits (docs/security.md; the same defaults as server::server_options).
    std::uint32_t max_connections = 1024;
    std::uint32_t max_unauthenticated_connections = 256;
    std::chrono::milliseconds login_timeout{10000};
    std::chrono::milliseconds idle_timeout{0};
    std::uint32_t login_max_failures = 5;
    std::chrono::milliseconds login_lockout_max{300000};
};

/// The whole runtime configuration.
struct runtime_config {
    std::string file;  // the path it was loaded from
    iggy_config iggy;
    state_config state;
    connectors_config connectors;
    http_config http;
    logging_config logging;
    server_config server;
    bool telemetry_enabled = false;  // accepted for compatibility, ignored (with a warning)
    /// The validated values as loaded (for the management API: raw.to_redacted_json()).
    values raw;

    /// Whether `tributary run` starts the embedded server.
    bool use_embedded_server() const { return server.enabled.value_or(!iggy.address.has_value()); }
    /// The address the runtime's Iggy clients connect to.
    std::string iggy_address() const { return iggy.address.value_or(server.address); }
};

/// A listening address of the config ("host:port", "[::1]:port").
struct listen_address {
    std::string host;  // without brackets; never empty
    std::uint16_t port = 0;
};

/// Parses a "host:port" listening address; the error says what is wrong ("port 99999 is out of
/// range 0..65535", "expected host:port").
result<listen_address> parse_listen_address(std::string_view text);

/// The spec of the runtime file (for validation, docs and env overrides).
const spec& runtime_spec();

/// The config path to use: `cli_path` if non-empty, else TRIBUTARY_CONFIG_PATH, else
/// IGGY_CONNECTORS_CONFIG_PATH, else "config.toml".
std::string resolve_runtime_config_path(const std::string& cli_path, const environment& env);

/// Loads, overrides from the environment and validates the runtime file.
loaded<runtime_config> load_runtime_config(const std::string& path, const environment& env);
loaded<runtime_config> load_runtime_config(const std::string& path);  // process environment

/// The same from TOML text (tests, the API); `file` names it in problems.
loaded<runtime_config> parse_runtime_config(std::string_view toml, const std::string& file,
                                            const environment& env);

}  // namespace trib::config
