#pragma once
// The MQTT client's network connection: a non-blocking socket, optionally wrapped in TLS
// (OpenSSL, whose types are only forward-declared here). Used by the client's I/O thread only;
// every wait also returns when the client's wake fd becomes readable (a stop or new work), so
// a connect or handshake never holds up a stop. Internal to the MQTT connector.

#include <chrono>
#include <cstddef>
#include <string>

#include "connectors/mqtt/client.h"
#include "core/error.h"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace trib::mqtt::detail {

using clock = std::chrono::steady_clock;

/// Waits for `events` on `fd` (-1: none), or for `wake_fd` (-1: none). Returns 1 when fd is
/// ready, -1 when woken, 0 at the deadline, -2 on a poll error.
int wait_fd(int fd, short events, int wake_fd, clock::time_point deadline);

struct io_result {
    std::size_t n = 0;
    bool want_read = false;   // TLS needs the socket readable to continue
    bool want_write = false;  // TLS needs the socket writable to continue
    bool closed = false;      // orderly end of stream
    std::string error;        // fatal socket/TLS error
};

class connection {
  public:
    connection() = default;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection();
    int fd() const { return fd_; }

    /// Resolves and connects (the first address that accepts), interruptible through `wake_fd`.
    status open_tcp(const endpoint& ep, int wake_fd, clock::time_point deadline);
    /// The TLS handshake, verifying the broker's chain and name per `o`. A certificate problem
    /// is fatal (retrying will not fix it); the rest is retryable.
    status start_tls(ssl_ctx_st* ctx, const endpoint& ep, const tls_options& o, int wake_fd,
                     clock::time_point deadline);
    /// Non-blocking: what was read or written, or what the socket/TLS needs first.
    io_result read(char* buf, std::size_t n);
    io_result write(const char* buf, std::size_t n);
    /// Half-closes and discards what the peer still sends until it closes too (or the
    /// deadline): closing with unread data would make the kernel reset the connection, which
    /// can destroy our last packets before the peer has read them.
    void finish(clock::time_point deadline);

  private:
    void tls_status(int k, io_result& r);

    int fd_ = -1;
    ssl_st* ssl_ = nullptr;
};

}  // namespace trib::mqtt::detail
