#pragma once
// A reusable HTTP(S) client on libcurl for sinks and sources that speak HTTP (Elasticsearch,
// ClickHouse, InfluxDB, S3, Kinesis, SQS, webhooks out, ...). libcurl does the protocol, TLS and
// AWS SigV4 signing; this wrapper adds connection reuse, one error classification for the whole
// project (classify_status / the transport mapping in http_client.cpp), and a header that does not
// pull in curl.h.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>

#include "core/error.h"

namespace trib::net {

/// Case-insensitive ordering for header names (HTTP field names are case-insensitive).
struct header_name_less {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const;
};
/// Header name to value. A response header that came several times holds its values joined with
/// ", " (RFC 9110 5.3).
using header_map = std::map<std::string, std::string, header_name_less>;

struct tls_options {
    bool verify_peer = true;          // check the server's certificate chain
    bool verify_host = true;          // check that the certificate names the host
    std::string ca_file;              // PEM bundle of trusted CAs; empty: the system's
    std::string ca_path;              // directory of hashed CA certificates
    std::string client_cert;          // PEM client certificate for mutual TLS
    std::string client_key;           // its PEM private key
    std::string client_key_password;  // secret
};

struct basic_auth {
    std::string user;
    std::string password;  // secret
};

/// AWS Signature Version 4 on every request, signed by libcurl (CURLOPT_AWS_SIGV4).
struct aws_sigv4_options {
    std::string region;   // "eu-west-1"
    std::string service;  // "s3", "kinesis", "sqs", ...
    std::string access_key_id;
    std::string secret_access_key;  // secret
    std::string session_token;      // secret; sent as x-amz-security-token when not empty
    std::string provider = "aws:amz";
};

struct client_options {
    std::chrono::milliseconds connect_timeout{10000};
    /// The whole request, connect to last byte; a request may override it.
    std::chrono::milliseconds timeout{30000};
    tls_options tls;
    std::string user_agent;  // empty: "tributary/<version>"
    bool follow_redirects = false;
    long max_redirects = 5;
    /// Offer gzip/deflate/br/zstd and decode them transparently.
    bool accept_compressed = true;
    /// A larger body fails with errc::resource_exhausted (fatal): protects memory from a
    /// misbehaving peer.
    std::size_t max_response_bytes = 256u << 20;
    /// "http://host:port"; empty: libcurl's default (the http_proxy/https_proxy variables).
    std::string proxy;
    /// Sent with every request unless the request sets the same header.
    header_map default_headers;
    std::optional<basic_auth> basic;
    std::string bearer_token;  // secret; "Authorization: Bearer <token>"
    /// Takes precedence over `basic` (both use the request's credentials slot).
    std::optional<aws_sigv4_options> aws_sigv4;
};

struct http_request {
    std::string method = "GET";  // any token; GET, HEAD, POST, PUT, PATCH, DELETE, ...
    std::string url;
    header_map headers;
    std::string body;
    std::optional<std::chrono::milliseconds> timeout;  // overrides client_options::timeout
    /// When requested, the transfer is aborted within about a second with errc::cancelled.
    std::stop_token stop;
};

struct http_response {
    int status = 0;
    header_map headers;
    std::string body;

    /// The header's value, or "" when absent.
    std::string_view header(std::string_view name) const;
    bool ok() const { return status >= 200 && status < 300; }
};

/// An HTTP/1.1 (and HTTP/2 over TLS when the server offers it) client that keeps connections
/// open between requests to the same host.
///
/// Thread-safety: calls on one client are serialized by an internal mutex, so sharing one is
/// safe but not parallel; use one client per thread (or per connector worker) for parallel
/// requests. Calls block the calling thread: never call them on an event-loop thread.
class http_client {
  public:
    explicit http_client(client_options opts = {});
    ~http_client();
    http_client(http_client&&) noexcept;
    http_client& operator=(http_client&&) noexcept;

    /// Sends the request and returns whatever status came back. Errors are transport failures
    /// only (connect refused, timeout, TLS, too large, cancelled), classified for retries.
    [[nodiscard]] result<http_response> perform(const http_request& req);
    /// perform(), then any non-2xx status becomes an error via classify_status(); the error's
    /// vendor_code is the status.
    [[nodiscard]] result<http_response> send(const http_request& req);

    [[nodiscard]] result<http_response> get(std::string url);
    [[nodiscard]] result<http_response> post(std::string url, std::string body,
                                             std::string content_type = "application/json");

    /// TCP (or TLS) connections opened so far: stays put while connections are reused.
    std::uint64_t connections_opened() const;
    const client_options& options() const;

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// The project's one mapping from HTTP status to error (and retry class):
/// 2xx: ok. 429 and 503: throttled, with retry_after() from the Retry-After header.
/// 408 and other 5xx (except 501, 505): retryable. 3xx (not followed), 4xx, 501, 505: fatal.
/// The message names the status and the start of the body.
[[nodiscard]] status classify_status(
    const http_response& resp, std::string_view what = {},
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// Retry-After as delta-seconds ("120") or an HTTP-date (IMF-fixdate, RFC 850 or asctime),
/// relative to `now`; a date in the past gives zero. nullopt when absent or unreadable.
std::optional<std::chrono::seconds> parse_retry_after(
    std::string_view value,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

/// "Basic base64(user:password)" for an Authorization header.
std::string basic_auth_header(std::string_view user, std::string_view password);
/// "Bearer <token>" for an Authorization header.
std::string bearer_auth_header(std::string_view token);

}  // namespace trib::net
