#pragma once
// The embedded Iggy server of `tributary run` when [iggy] names none: started from [server], and
// the client options the connectors use to reach it. Also the quickstart's free-port fallback.

#include <memory>
#include <optional>
#include <string>

#include "iggy/client.h"

namespace trib::config {
struct runtime_config;
}
namespace trib::server {
class embedded_server;
}

namespace trib::app {

struct embedded_iggy {
    std::unique_ptr<server::embedded_server> server;
    iggy::client_options client;  // root user of [server]
    std::string data_dir;         // absolute
    std::string address;          // where it listens
    embedded_iggy();
    embedded_iggy(embedded_iggy&&) noexcept;
    embedded_iggy& operator=(embedded_iggy&&) noexcept;
    ~embedded_iggy();
};

/// Starts the embedded server from rc.server; on failure logs or prints why and returns the
/// process exit code in `exit_code` (2: its data dir is served by another process, 1: otherwise).
std::optional<embedded_iggy> start_embedded_server(const config::runtime_config& rc,
                                                   int& exit_code);

/// True if something already listens on host:port (so a fixed port would fail to bind).
bool port_taken(const std::string& address);
/// `address` with port 0 (any free port).
std::string with_port_zero(const std::string& address);

}  // namespace trib::app
