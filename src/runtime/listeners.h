#pragma once
// Every address the configuration asks `tributary run` to listen on ([http] address, the
// embedded [server] address, listening sources such as webhooks), checked before anything
// starts: an address in use, one that cannot be bound or resolved, or one two keys share, is a
// configuration problem named "file: key: message" (exit 2), not a half-started runtime.

#include <cstdint>
#include <string>
#include <vector>

#include "config/connector_config.h"
#include "config/problems.h"
#include "config/runtime_config.h"

namespace trib::runtime {

/// One address a config key asks to listen on.
struct configured_listener {
    std::string file;
    std::string key;  // "http.address", "plugin_config.port"
    std::string host;
    std::uint16_t port = 0;  // 0: any free port (never conflicts)
};

/// The listeners `rc` and the enabled `connectors` ask for (with the addresses as run will use
/// them: `http_address` and `server_address` after any fallback to port 0).
std::vector<configured_listener> listeners_of(const config::runtime_config& rc,
                                              const std::vector<config::connector_config>& active);

/// Binds each listener for a moment (SO_REUSEADDR, then closes it) and reports those that
/// cannot listen: "address in use (127.0.0.1:8081)", "cannot listen on ...: <reason>", or a
/// port another key of the config uses too.
config::problems check_listeners(const std::vector<configured_listener>& ls);

}  // namespace trib::runtime
