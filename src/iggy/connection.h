#pragma once
// One connection to an Iggy server: TCP (optionally TLS), the Register login, lockstep requests
// with the request-number rules of iggy-protocol.md 1.6, resends on 57/58, evictions, timeouts and
// reconnects with capped exponential backoff and a fresh login.

#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "core/error.h"
#include "core/net/stream_socket.h"
#include "iggy/address.h"
#include "iggy/wire/bytes.h"
#include "iggy/wire/codes.h"
#include "iggy/wire/header.h"
#include "iggy/wire/requests.h"

namespace trib::iggy {

/// How to reach and log in to a server.
struct connection_options {
    server_address address;  // host and port (tls flag and credentials, if any, are used too)
    tls_options tls;         // TLS is on if `tls.enabled` or `address.tls`
    std::string username;    // default: the address's, else "iggy"
    std::string password;    // default: the address's, else "iggy"
    std::string token;       // a personal access token: used instead of username/password
    std::chrono::milliseconds connect_timeout{5000};
    /// How long to wait for a reply. A reply may never come (silent drops); after a timeout the
    /// framing position is unknown, so the connection is closed.
    std::chrono::milliseconds request_timeout{30000};
    /// How long to keep resending on 57/58 (TransientNotCommitted/NotAccepted).
    std::chrono::milliseconds transient_retry_budget{30000};
    /// Reconnect (and log in again) on the next request after the connection broke.
    bool reconnect = true;
    /// Reconnect attempts per request before giving up with `unavailable`; 0 = until
    /// `reconnect_timeout`.
    unsigned reconnect_attempts = 0;
    std::chrono::milliseconds reconnect_timeout{30000};
    std::chrono::milliseconds reconnect_base{100};
    std::chrono::milliseconds reconnect_max{5000};
    /// Stamp metadata requests with XXH3(body) at offset 144, as the Rust SDK does.
    bool stamp_requests = false;
    bool tcp_nodelay = true;
};

/// Parses an address string into options (`iggy+tcp+tls://user:pass@host:port`, `host:port`).
[[nodiscard]] result<connection_options> connection_options_from(std::string_view address);

/// A single connection. Not thread-safe: one caller at a time (the `client` facade serialises).
/// Requests are lockstep: one in flight. Reply payloads returned by `call` stay valid until the
/// next call.
class connection {
  public:
    explicit connection(connection_options options);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// Connects and logs in (one attempt). On success the session is bound.
    [[nodiscard]] status connect();
    /// Connects if not connected, retrying with backoff within the reconnect policy, then runs
    /// `on_reconnect` (re-join groups ...) when this was a reconnect.
    [[nodiscard]] status ensure_connected();
    /// Closes the socket (no logout).
    void close();
    bool connected() const { return sock_.is_open(); }

    /// Sends a request whose body is the concatenation of `body` parts, and returns the reply
    /// payload (result section stripped). The command code picks the operation and the request
    /// number rule. Errors: the Iggy code as vendor_code; `unavailable`/`timeout` (retryable) when
    /// the connection broke, after which it is closed.
    [[nodiscard]] result<bytes_view> call(std::uint32_t code, std::span<const bytes_view> body);
    /// Encodes `req` and calls it.
    template <class R>
    [[nodiscard]] result<bytes_view> call(const R& req) {
        // Connect first: a reconnect logs in and re-joins groups through `scratch_` too.
        TRIB_TRY(ensure_connected());
        scratch_.clear();
        writer w(scratch_);
        req.encode(w);
        bytes_view part(scratch_);
        return call(R::code, std::span<const bytes_view>(&part, 1));
    }
    /// The buffer the last reply was read into; a caller may swap it out to keep a payload.
    bytes& reply_buffer() { return reply_; }

    /// LOGOUT, then close.
    [[nodiscard]] status logout();

    std::uint64_t session() const { return session_; }
    std::uint32_t user_id() const { return user_id_; }
    const u128& client_id() const { return client_id_; }
    const std::string& server_version() const { return server_version_; }
    std::chrono::steady_clock::time_point last_activity() const { return last_activity_; }
    std::uint64_t reconnects() const { return reconnects_; }
    const connection_options& options() const { return opts_; }

    /// Runs after a successful reconnect (not after the first connect), with the connection
    /// logged in. Its error fails the request that triggered the reconnect.
    std::function<status(connection&)> on_reconnect;

  private:
    status open_socket();
    status login();
    result<bytes_view> exchange(std::span<const iovec> parts, std::uint32_t code);
    result<bytes_view> read_reply(std::uint64_t request, std::uint8_t op,
                                  std::chrono::steady_clock::time_point deadline);
    // Closes the connection after a failed read or write and says what broke, for whom.
    error io_failure(std::string_view what, const error& cause);

    connection_options opts_;
    net::stream_socket sock_;
    net::tls_context tls_ctx_;  // made at the first TLS connect, kept for reconnects
    u128 client_id_;
    std::uint64_t session_ = 0;
    std::uint32_t user_id_ = 0;
    std::uint64_t counter_ = 1;
    std::string server_version_;
    bool ever_connected_ = false;
    std::uint64_t reconnects_ = 0;
    std::chrono::steady_clock::time_point last_activity_{};
    backoff backoff_;
    bytes head_;     // request header (+ small bodies)
    bytes scratch_;  // encoded request bodies
    bytes reply_;    // the last reply frame
    bytes spill_;    // bytes read past the last reply (the start of the next frame)
    static constexpr std::size_t min_read_size = 16 * 1024;
};

}  // namespace trib::iggy
