#pragma once
// An embeddable HTTP/1.1 server (Boost.Beast + Asio underneath, none of it in this header) for the
// management API and for listening sources such as webhooks.
//
// Usage:
//   trib::http::server srv({.address = "127.0.0.1", .port = 8081});
//   srv.route("GET", "/sinks/{key}", [](const request& r) {
//       return response::json(200, "{\"key\":\"" + std::string(r.param("key")) + "\"}");
//   });
//   if (auto st = srv.start(); !st) ...;   // srv.port() is the bound port (useful with port 0)
//   ...
//   srv.stop(std::chrono::seconds(5));
//
// What the server does before a handler runs, in this order: TLS handshake; reading the header
// (431 when too large, 408 when too slow); CORS preflight (OPTIONS with Origin and
// Access-Control-Request-Method); the API key (401) unless the route or path is public; routing
// (404, or 405 with Allow); the route's concurrency gate (503/429 with Retry-After); the body size
// limit (413, before reading the body when Content-Length says so; `Expect: 100-continue` is
// answered only when the body will be accepted); reading the body (408 when too slow).

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace trib {
class metrics_registry;
}

namespace trib::http {

/// Case-insensitive ordering for header names.
struct header_name_less {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const;
};
/// Header name to value; a header received several times holds its values joined with ", ".
using header_map = std::map<std::string, std::string, header_name_less>;

/// A request as the handler sees it: fully read, body included.
struct request {
    std::string method;        // as received, e.g. "GET"
    std::string target;        // as received, e.g. "/sinks/pg/configs?format=json"
    std::string path;          // target up to '?', still percent-encoded
    std::string query_string;  // after '?', raw
    /// Decoded query parameters in their order ('+' is a space); a key without '=' has "".
    std::vector<std::pair<std::string, std::string>> query;
    /// The matched route's {name} segments, percent-decoded.
    std::map<std::string, std::string, std::less<>> params;
    header_map headers;
    std::string body;
    std::string remote_address;  // "127.0.0.1"
    std::uint16_t remote_port = 0;
    bool tls = false;
    unsigned version = 11;  // 10 for HTTP/1.0, 11 for HTTP/1.1

    /// The header's value, or "" when absent.
    std::string_view header(std::string_view name) const;
    /// The first value of query parameter `name`.
    std::optional<std::string_view> query_param(std::string_view name) const;
    /// The route parameter `name`, or "" when the route has none of that name.
    std::string_view param(std::string_view name) const;
};

struct response {
    int status = 200;
    header_map headers;
    std::string body;
    /// Sent as Content-Type when the body is not empty (or the status is not 204/304).
    std::string content_type = "text/plain; charset=utf-8";

    static response text(int status, std::string body);
    static response json(int status, std::string body);
    /// No body (204 by default).
    static response empty(int status = 204);
    /// {"error": message} with the status; the message is JSON-escaped.
    static response error_json(int status, std::string_view message);
    /// 429 or 503 with Retry-After (seconds), for a saturated handler.
    static response overloaded(int status, std::chrono::seconds retry_after,
                               std::string_view message = "overloaded");
    response& set_header(std::string name, std::string value);
};

namespace detail {
struct pending_state;
struct responder_token;
}  // namespace detail

/// Completes an asynchronous request, once, from any thread. Copies share one completion.
/// If every copy is destroyed without send(), the client gets 500. If the server gave up
/// waiting first (the route's async timeout, stop(), or the deadline), send() does nothing.
class responder {
  public:
    responder() = default;
    /// Sends the response; later calls (and calls after the server gave up) are ignored.
    /// Returns whether this call delivered it.
    bool send(response r) const;
    /// The request being answered; valid as long as any copy of this responder exists.
    const http::request& request() const;
    /// True once send() was called or the server stopped waiting.
    bool done() const;

  private:
    friend struct detail::pending_state;
    explicit responder(std::shared_ptr<detail::responder_token> t) : token_(std::move(t)) {}
    std::shared_ptr<detail::responder_token> token_;
};

/// Runs on the server's I/O thread: must be quick and must not block. Work that blocks (an
/// Iggy send, a database call) belongs in an async_handler that completes later.
using handler = std::function<response(const request&)>;
/// Starts the work and returns; the response goes out when `done.send()` is called (from any
/// thread). `req` is the same object as done.request().
using async_handler = std::function<void(const request& req, responder done)>;

/// A simple in-flight limit: try_acquire() either takes a slot (released by the ticket's
/// destructor) or fails at once. Thread-safe.
class concurrency_gate {
  public:
    explicit concurrency_gate(std::size_t limit) : limit_(limit) {}
    class ticket {
      public:
        ticket() = default;
        ticket(ticket&& o) noexcept : gate_(std::exchange(o.gate_, nullptr)) {}
        ticket& operator=(ticket&& o) noexcept;
        ~ticket() { release(); }
        explicit operator bool() const { return gate_ != nullptr; }
        void release();

      private:
        friend class concurrency_gate;
        explicit ticket(concurrency_gate* g) : gate_(g) {}
        concurrency_gate* gate_ = nullptr;
    };
    /// A held ticket, or an empty one when `limit` slots are taken.
    ticket try_acquire();
    std::size_t in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
    std::size_t limit() const { return limit_; }

  private:
    std::size_t limit_;
    std::atomic<std::size_t> in_flight_{0};
};

struct route_options {
    /// No API key needed (health checks).
    bool public_route = false;
    /// Request body limit for this route; 0: server_config::body_limit.
    std::size_t body_limit = 0;
    /// Requests handled at once on this route; 0: no limit. Over it the server answers
    /// `overload_status` with Retry-After: `retry_after` without calling the handler.
    std::size_t max_in_flight = 0;
    int overload_status = 503;
    std::chrono::seconds retry_after{1};
    /// Async handlers: how long the server waits for send(); then 503 with Retry-After.
    /// 0: server_config::async_timeout.
    std::chrono::milliseconds async_timeout{0};
    /// Called with the status when the server answers a request of this route itself, without
    /// calling the handler (401 API key, the concurrency gate, 413, 408), so that the route's
    /// owner can count refusals by reason. Runs on an I/O thread: must be quick.
    std::function<void(int status)> on_refused;
};

struct tls_config {
    std::string cert_file;  // PEM certificate chain
    std::string key_file;   // PEM private key
};

struct cors_config {
    bool enabled = false;
    /// Exact origins ("https://ui.example.com") or "*" for any.
    std::vector<std::string> allowed_origins;
    std::vector<std::string> allowed_methods{"GET", "POST", "PUT", "DELETE", "OPTIONS"};
    /// Request headers a browser may send; "*" echoes what the preflight asks for.
    std::vector<std::string> allowed_headers{"content-type", "api-key", "authorization"};
    std::vector<std::string> exposed_headers;
    bool allow_credentials = false;
    std::chrono::seconds max_age{3600};
};

struct server_config {
    /// A server's name in logs and metric labels ("api", "webhook:orders").
    std::string name = "http";
    /// The bind address; loopback unless the operator opens it up on purpose.
    std::string address = "127.0.0.1";
    std::uint16_t port = 0;  // 0: any free port, see server::port()
    /// TLS when set.
    std::optional<tls_config> tls;
    /// Empty: no API key. Otherwise requests must carry `api-key: <key>` (as Iggy's runtime
    /// uses) or `Authorization: Bearer <key>`; compared in constant time.
    std::string api_key;
    /// Exact paths that never need the API key (Iggy's runtime exempts "/" and "/health").
    std::vector<std::string> public_paths;
    cors_config cors;
    std::size_t body_limit = 1u << 20;
    std::size_t header_limit = 16u << 10;
    /// From the first byte of a request to its last header byte (408 after).
    std::chrono::milliseconds header_timeout{10000};
    /// Reading the body (408 after).
    std::chrono::milliseconds body_timeout{30000};
    /// A kept-alive connection with no request in progress is closed after this.
    std::chrono::milliseconds idle_timeout{60000};
    std::chrono::milliseconds write_timeout{30000};
    std::chrono::milliseconds async_timeout{30000};
    /// Open connections; one more is answered 503 (plain HTTP) or closed (TLS) at once.
    std::size_t max_connections = 1024;
    /// 0: unlimited.
    std::size_t max_requests_per_connection = 0;
    /// I/O threads; handlers run on them.
    unsigned threads = 1;
    /// Used by the destructor when stop() was not called.
    std::chrono::milliseconds shutdown_timeout{5000};
    /// When set, counts requests and latency per route (trib_http_requests_total,
    /// trib_http_request_duration_seconds) and open connections (trib_http_connections).
    metrics_registry* metrics = nullptr;
};

/// Counters for tests and the management API.
struct server_stats {
    std::uint64_t connections_total = 0;
    std::uint64_t connections_open = 0;
    std::uint64_t connections_rejected = 0;  // over max_connections
    std::uint64_t requests_total = 0;
    std::uint64_t requests_in_flight = 0;
};

/// The server. Register routes, then start(), then stop() (or destroy it).
/// Thread-safety: route()/route_async() only before start(); start() and stop() from one
/// controlling thread (never from a handler); port(), running() and stats() from anywhere.
class server {
  public:
    explicit server(server_config cfg = {});
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// `pattern` is a path with literal segments, `{name}` segments (one segment each) and an
    /// optional last `{name*}` that takes the rest of the path. Literal segments win over
    /// parameters, whatever the order of registration. A GET route also answers HEAD.
    void route(std::string method, std::string pattern, handler h, route_options opts = {});
    void route_async(std::string method, std::string pattern, async_handler h,
                     route_options opts = {});

    /// Binds, listens and starts the I/O threads. Fails on a bad address, a port in use or
    /// unreadable TLS files.
    [[nodiscard]] status start();
    /// The bound port (after start()).
    std::uint16_t port() const;
    bool running() const;
    /// Stops accepting at once, closes idle connections, lets requests in progress finish
    /// (their responses say Connection: close) until `deadline`, then closes what is left and
    /// joins the I/O threads. Idempotent.
    void stop(std::chrono::milliseconds deadline);
    server_stats stats() const;

    struct impl;  // opaque; public only so that the implementation file's helpers can name it

  private:
    std::shared_ptr<impl> impl_;
};

/// Constant-time equality of two secrets (the time does not depend on where they differ, nor on
/// their lengths beyond one hashing pass).
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace trib::http
