#pragma once
// The one TCP client socket, optionally wrapped in TLS, that Tributary's own protocol clients
// share (the Iggy client and the MQTT client): resolving and connecting, the TLS context and
// handshake with the peer-name check of tls_peer.h, and I/O in two modes over the same object:
// blocking with a deadline (the Iggy client's lockstep requests, the MQTT CONNECT exchange) and
// non-blocking (the MQTT client's poll loop). Every wait can also be ended early through a
// caller's wake fd (an eventfd that becomes readable on stop). OpenSSL's types are only
// forward-declared here.

#include <sys/uio.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace trib::net {

using steady_clock = std::chrono::steady_clock;

/// What a wait ended with.
enum class wait_result { ready, timeout, woken, failed };

/// Waits until `fd` (-1: none) has one of `events`, `wake_fd` (-1: none) is readable, or the
/// deadline passes. A readable wake fd wins over a ready `fd` (a stop is not delayed by
/// traffic); the wake fd is not read.
wait_result wait_fd(int fd, short events, int wake_fd, steady_clock::time_point deadline);

/// Ignores SIGPIPE for the process, unless the program installed a handler of its own. OpenSSL
/// writes with write(2), which raises SIGPIPE when the peer has closed; a client whose I/O runs
/// on threads it does not own calls this (one that owns its thread may block the signal there).
void ignore_sigpipe_once();

/// TLS client settings.
struct tls_client_config {
    std::string ca_file;    // PEM CA bundle; empty: the system's default trust store
    std::string cert_file;  // client certificate chain (PEM), for mutual TLS; empty: none
    std::string key_file;   // its private key (PEM); empty: in cert_file
    bool verify = true;     // verify the peer's chain (the name is checked per connection)
};

/// An OpenSSL client context (TLS 1.2 at least), shared by the connections of one client.
/// Move-only; thread-safe to use from several connections once created.
class tls_context {
  public:
    /// Loads the CA bundle and client certificate. A file that cannot be loaded is a fatal
    /// `invalid_argument` naming it.
    [[nodiscard]] static result<tls_context> create(const tls_client_config& config);

    tls_context() = default;
    tls_context(tls_context&& o) noexcept : ctx_(o.ctx_) { o.ctx_ = nullptr; }
    tls_context& operator=(tls_context&& o) noexcept;
    tls_context(const tls_context&) = delete;
    tls_context& operator=(const tls_context&) = delete;
    ~tls_context();

    explicit operator bool() const { return ctx_ != nullptr; }
    ssl_ctx_st* native() const { return ctx_; }

  private:
    ssl_ctx_st* ctx_ = nullptr;
};

/// What one non-blocking read or write did.
struct io_result {
    std::size_t n = 0;        // bytes read or written
    bool want_read = false;   // wait for the socket to become readable, then call again
    bool want_write = false;  // wait for the socket to become writable, then call again
    bool closed = false;      // orderly end of stream (or a TLS peer that left without notify)
    std::string error;        // a fatal socket or TLS error
};

/// A connected TCP stream, plain or TLS. The file descriptor is non-blocking; the blocking
/// calls wait with poll. Not thread-safe: one thread uses it at a time. Move-only; closing
/// (or destroying) it frees the TLS state and the descriptor.
///
/// Errors of the blocking calls: `timeout` (retryable) at the deadline, `cancelled` when the
/// wake fd became readable, `unavailable` (retryable) when the peer closed or the socket or TLS
/// failed. The socket stays open after an error: the caller decides (a timed-out request has
/// lost its framing, so the Iggy client closes).
class stream_socket {
  public:
    stream_socket() = default;
    stream_socket(stream_socket&& o) noexcept;
    stream_socket& operator=(stream_socket&& o) noexcept;
    stream_socket(const stream_socket&) = delete;
    stream_socket& operator=(const stream_socket&) = delete;
    ~stream_socket();

    /// Resolves `host` and connects to the first of its addresses that accepts before the
    /// deadline. Errors: `unavailable` (cannot resolve, refused, unreachable), `timeout`,
    /// `cancelled`; all retryable but `cancelled`.
    [[nodiscard]] static result<stream_socket> connect(const std::string& host, std::uint16_t port,
                                                       steady_clock::time_point deadline,
                                                       int wake_fd = -1, bool tcp_nodelay = true);

    /// The TLS handshake over the connected socket. `peer_name` is sent as SNI (host names
    /// only) and, with `verify`, must be named by the certificate (expect_tls_peer). A
    /// certificate that fails verification is `unauthenticated` and fatal (retrying does not fix
    /// it); other handshake failures are retryable.
    [[nodiscard]] status start_tls(const tls_context& ctx, const std::string& peer_name,
                                   bool verify, steady_clock::time_point deadline,
                                   int wake_fd = -1);

    // ---- blocking, with a deadline ----

    /// Writes all of `parts` (plain TCP: one sendmsg for up to 8 parts, resumed after a partial
    /// write).
    [[nodiscard]] status write_all(std::span<const iovec> parts, steady_clock::time_point deadline,
                                   int wake_fd = -1);
    [[nodiscard]] status write_all(std::string_view bytes, steady_clock::time_point deadline,
                                   int wake_fd = -1);
    /// Reads at least one byte (at most `n`). `poll_first`: wait for readability before the
    /// first read, which saves a read that would fail when no data can be there yet (a reply
    /// to a request just sent); ignored with TLS, which may hold decrypted bytes already.
    [[nodiscard]] result<std::size_t> read_some(void* p, std::size_t n,
                                                steady_clock::time_point deadline, int wake_fd = -1,
                                                bool poll_first = false);
    /// Reads exactly `n` bytes.
    [[nodiscard]] status read_exact(void* p, std::size_t n, steady_clock::time_point deadline,
                                    int wake_fd = -1);

    // ---- non-blocking ----

    io_result try_read(void* p, std::size_t n);
    io_result try_write(const void* p, std::size_t n);

    /// Sends TLS close_notify, half-closes and discards what the peer still sends until it
    /// closes too (or the deadline): closing with unread data would make the kernel reset the
    /// connection, which can destroy our last bytes before the peer has read them.
    void finish(steady_clock::time_point deadline);
    void close();

    int fd() const { return fd_; }
    bool is_open() const { return fd_ >= 0; }
    bool is_tls() const { return ssl_ != nullptr; }

  private:
    explicit stream_socket(int fd) : fd_(fd) {}
    void tls_status(int k, io_result& r);
    status wait_for(const io_result& r, steady_clock::time_point deadline, int wake_fd);

    int fd_ = -1;
    ssl_st* ssl_ = nullptr;
};

}  // namespace trib::net
