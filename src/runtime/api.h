#pragma once
// The management API of a running host, on the http module's server, with Iggy's runtime paths
// and field names (GET /, /health, /stats, /metrics, /sinks, /sinks/{key}, /sinks/{key}/configs,
// /sinks/{key}/configs/active, /sinks/{key}/transforms, POST /sinks/{key}/restart, the same under
// /sources) plus GET /connectors and /connectors/{name}/spec (the option spec as JSON).

#include <cstdint>
#include <memory>
#include <string>

#include "config/runtime_config.h"
#include "core/error.h"

namespace trib::http {
class server;
}

namespace trib::runtime {

class host;

/// The /stats document (Iggy's ConnectorRuntimeStats, plus Tributary's figures).
std::string stats_json(const host& h);
/// The /metrics text: the host's metrics registry plus every connector's figures.
std::string metrics_text(host& h);

class management_api {
  public:
    /// `h` must outlive the API.
    management_api(host& h, config::http_config cfg);
    ~management_api();

    /// Binds the configured address ([http] address; port 0 picks a free one) and serves.
    [[nodiscard]] status start();
    void stop();
    std::uint16_t port() const;
    /// "http://127.0.0.1:8081" (https with TLS).
    std::string url() const;

  private:
    void add_routes();
    host& h_;
    config::http_config cfg_;
    std::string bind_host_;
    std::unique_ptr<http::server> srv_;
};

}  // namespace trib::runtime
