#include "app/embedded.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "config/runtime_config.h"
#include "iggy/connection.h"
#include "server/server.h"

namespace trib::app {

embedded_iggy::embedded_iggy() = default;
embedded_iggy::embedded_iggy(embedded_iggy&&) noexcept = default;
embedded_iggy& embedded_iggy::operator=(embedded_iggy&&) noexcept = default;
embedded_iggy::~embedded_iggy() = default;

std::optional<embedded_iggy> start_embedded_server(const config::runtime_config& rc,
                                                   int& exit_code) {
    embedded_iggy out;
    server::server_options so;
    so.data_dir = rc.server.data_dir.empty() ? std::filesystem::path(rc.state.path) / "server"
                                             : std::filesystem::path(rc.server.data_dir);
    so.address = rc.server.address;
    so.root_username = rc.server.root_username;
    so.root_password = rc.server.root_password;
    auto fp = server::storage::parse_fsync_policy(rc.server.fsync);
    if (fp)
        so.fsync = *fp;
    so.fsync_interval = rc.server.fsync_interval;
    so.max_connections = rc.server.max_connections;
    so.max_unauthenticated_connections = rc.server.max_unauthenticated_connections;
    so.login_timeout = rc.server.login_timeout;
    so.idle_timeout = rc.server.idle_timeout;
    so.login_max_failures = rc.server.login_max_failures;
    so.login_lockout_max = rc.server.login_lockout_max;
    auto started = server::embedded_server::start(so);
    if (!started && started.error().code() == errc::failed_precondition) {
        // Its data dir is served by another process.
        std::fprintf(stderr, "tributary: %s: [server] data_dir: %s\n", rc.file.c_str(),
                     started.error().message().c_str());
        exit_code = 2;
        return std::nullopt;
    }
    if (!started) {
        spdlog::critical("{}: server.address: cannot start the embedded Iggy server on {}: {}",
                         rc.file, so.address, started.error().to_string());
        exit_code = 1;
        return std::nullopt;
    }
    out.server = std::move(*started);
    auto& srv = out.server;
    spdlog::info("embedded Iggy server listening on {} (data in {})", srv->address(),
                 so.data_dir.string());
    if (rc.server.root_password == "iggy") {
        // Like Iggy's --with-default-root-credentials: allowed on loopback only (validated).
        spdlog::warn(
            "embedded Iggy server root user: {} / iggy (the development default; set "
            "[server] root_password for anything beyond a trial)",
            rc.server.root_username);
    } else {
        spdlog::info(
            "embedded Iggy server root user: {} (password from [server] "
            "root_password)",
            rc.server.root_username);
    }
    iggy::client_options co;
    auto conn = iggy::connection_options_from(srv->address());
    if (!conn) {
        spdlog::critical("{}", conn.error().to_string());
        exit_code = 1;
        return std::nullopt;
    }
    co.conn = *conn;
    co.conn.username = rc.server.root_username;
    co.conn.password = rc.server.root_password;
    out.client = co;
    out.data_dir = std::filesystem::absolute(so.data_dir).string();
    out.address = srv->address();
    return out;
}

/// True if something already listens on host:port (so a fixed port would fail to bind).
bool port_taken(const std::string& address) {
    auto a = iggy::server_address::parse(address);
    if (!a || a->port == 0)
        return false;
    auto co = iggy::connection_options_from(address);
    if (!co)
        return false;
    // A plain TCP connect is enough to tell.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(a->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool taken = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return taken;
}

std::string with_port_zero(const std::string& address) {
    const auto colon = address.rfind(':');
    return (colon == std::string::npos ? address : address.substr(0, colon)) + ":0";
}

}  // namespace trib::app
