#pragma once
// What the NATS source and sink share: the connection options both declare (servers, auth, TLS,
// reconnect backoff) and a connection made from them. Internal to the connector.

#include <nats/nats.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/spec.h"
#include "core/error.h"

namespace trib::connectors::nats {

/// The connection options of either direction, validated.
struct connection_options {
    std::vector<std::string> urls;
    std::string name;  // `{key}` already replaced
    std::optional<std::string> user, password, token, credentials_file;
    bool tls = false;
    std::optional<std::string> tls_ca_file, tls_cert_file, tls_key_file, tls_server_name;
    bool tls_verify = true;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds reconnect_wait{100};
    std::chrono::milliseconds reconnect_wait_max{5000};
    std::chrono::milliseconds request_timeout{5000};  // JetStream API calls and publish acks
};

/// The JetStream stream a direction works with, and whether to create it when missing.
struct stream_options {
    std::string name;                   // empty: none named (the sink then checks nothing)
    bool create = false;                // create when missing
    std::vector<std::string> subjects;  // for a created stream (default: `<name>.>`)
    std::chrono::milliseconds duplicate_window{120000};
    bool memory_storage = false;
};

/// Reads `stream`, `create_stream`, `stream_subjects`, `duplicate_window`, `storage`.
stream_options stream_options_from(const config::values& v);

/// Checks that the stream exists, or creates it (`create`); logs its duplicate window. An
/// existing stream is left as it is (its subjects and window are the operator's).
status ensure_stream(jsCtx* js, const stream_options& s, std::string_view log_name);

/// `s` with every `{key}` replaced by `key`.
std::string with_key(std::string s, std::string_view key);

/// Reads the shared options (`key` fills `{key}` in `name`).
connection_options connection_options_from(const config::values& v, std::string_view key);

/// The shared cross-option rules for a spec's `check` (user and password together, one way of
/// authenticating, TLS files with TLS, URLs that parse).
void check_connection_options(const config::values& v, const config::check_report& report);

/// Reconnect delay after `attempts` failed attempts: `wait` doubled per attempt up to `max`
/// (the first attempt waits `wait`).
std::chrono::milliseconds backoff_delay(int attempts, std::chrono::milliseconds wait,
                                        std::chrono::milliseconds max);

/// An open connection (and its JetStream context when asked). cnats reconnects by itself with
/// the backoff above and buffers publishes meanwhile; the log says when it drops and returns.
/// Thread-safe as cnats is: publish from one thread while another acknowledges.
class connection {
  public:
    /// Connects; the error says why (no server at the URLs, auth refused, TLS failed).
    /// With `jetstream`, a JetStream context is made too; `tune` may adjust its options (the
    /// sink's async-publish handler) before.
    static result<std::unique_ptr<connection>> open(
        const connection_options& o, std::string_view log_name, bool jetstream,
        const std::function<void(jsOptions&)>& tune = {});
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    natsConnection* nc() const { return nc_; }
    jsCtx* js() const { return js_; }
    /// The URL of the server connected to (for logs), or empty.
    std::string connected_url() const;
    /// True while cnats is connected (not reconnecting, not closed).
    bool connected() const;

  private:
    connection() = default;
    struct callbacks;
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
    std::unique_ptr<callbacks> cb_;
};

}  // namespace trib::connectors::nats
