#pragma once
// One AMQP 0-9-1 connection with one channel, on rabbitmq-c (blocking; used from one thread at a
// time): the options both directions share (spec group "connection"), connect and login over TCP
// or TLS, declarations, and rabbitmq-c's replies mapped to trib errors (errors.cpp).

#include <amqp.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config/spec.h"
#include "core/error.h"

namespace trib::connectors::rabbitmq {

/// The connection options of both directions.
struct connection_options {
    std::string host = "localhost";
    int port = 5672;
    std::string vhost = "/";
    std::string user = "guest";
    std::string password = "guest";
    bool tls = false;
    std::string ca_file, cert_file, key_file;
    bool verify = true;
    std::chrono::seconds timeout{30};
    int heartbeat_s = 30;
    bool verbose = false;
};

/// Reads the group "connection" of a validated config; the error names the key (never the
/// password or the URL, which may hold one).
result<connection_options> connection_options_from(const config::values& v);

/// An exchange, queue or binding to check or create.
struct exchange_decl {
    std::string name;
    std::string type = "topic";
    bool durable = true;
    bool passive = true;
};

/// Maps a reply of a synchronous rabbitmq-c call to an error (`what` says which call). A channel
/// or connection close from the broker carries its reply code (403 access refused, 404 not found,
/// 406 precondition failed... fatal; 320 connection forced, 541 internal... retryable).
error reply_error(const amqp_rpc_reply_t& r, std::string_view what);
/// An error from a rabbitmq-c status code (AMQP_STATUS_*).
error status_error(int status, std::string_view what);
/// The error of a broker's channel.close / connection.close method.
error close_error(amqp_method_number_t id, const void* decoded, std::string_view what);

/// The connection. Not thread-safe.
class connection {
  public:
    static constexpr amqp_channel_t channel = 1;
    connection() = default;
    ~connection() { close(); }
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// Connects, logs in and opens the channel. A refused login is errc::unauthenticated (fatal)
    /// and names the user, never the password.
    status open(const connection_options& o);
    /// Closes the channel and the connection (politely when still up); safe to repeat.
    void close();
    bool is_open() const { return conn_ != nullptr; }
    amqp_connection_state_t get() const { return conn_; }

    status declare_exchange(const exchange_decl& d);
    /// Declares (or passively checks) a queue; `queue_type` "" leaves x-queue-type out.
    status declare_queue(const std::string& name, bool passive, bool durable,
                         std::string_view queue_type);
    status bind_queue(const std::string& queue, const std::string& exchange,
                      const std::string& routing_key);
    /// Marks the connection broken (after an I/O error) so the next open() starts afresh.
    void drop();

  private:
    amqp_connection_state_t conn_ = nullptr;
    bool channel_open_ = false;
};

}  // namespace trib::connectors::rabbitmq
