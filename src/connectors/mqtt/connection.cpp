// The MQTT client's network connection (connection.h): a non-blocking socket, optionally
// wrapped in TLS, with deadline- and wake-aware waits for the connect and the handshake.

#include "connectors/mqtt/connection.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

#include "core/errno_text.h"
#include "core/net/tls_peer.h"

namespace trib::mqtt::detail {

// Waits for `events` on fd, or for the wake fd (returns -1), or the deadline (returns 0).
int wait_fd(int fd, short events, int wake_fd, clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
        if (left.count() <= 0)
            return 0;
        pollfd p[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
        int r = ::poll(p, 2, static_cast<int>(std::min<long long>(left.count(), 1000)));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -2;
        if (p[1].revents & POLLIN)
            return -1;
        if (p[0].revents)
            return 1;
    }
}

connection::~connection() {
    if (ssl_ != nullptr)
        SSL_free(ssl_);
    if (fd_ >= 0)
        ::close(fd_);
}

status connection::open_tcp(const endpoint& ep, int wake_fd, clock::time_point deadline) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(ep.port);
    int gai = ::getaddrinfo(ep.host.c_str(), port.c_str(), &hints, &res);
    if (gai != 0) {
        return error(errc::unavailable,
                     "cannot resolve " + ep.host + ": " + std::string(::gai_strerror(gai)));
    }
    std::string last = "no address";
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
        int fd =
            ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last = "socket: " + errno_text(errno);
            continue;
        }
        int r = ::connect(fd, a->ai_addr, a->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            int w = wait_fd(fd, POLLOUT, wake_fd, deadline);
            if (w == 1) {
                int soerr = 0;
                socklen_t len = sizeof soerr;
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len);
                r = soerr == 0 ? 0 : -1;
                errno = soerr;
            } else {
                ::close(fd);
                ::freeaddrinfo(res);
                if (w == -1)
                    return error(errc::cancelled, "stopped while connecting");
                return error(errc::timeout, "connect to " + ep.to_string() + " timed out");
            }
        }
        if (r != 0) {
            last = errno_text(errno);
            ::close(fd);
            continue;
        }
        int one = 1;
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fd_ = fd;
        ::freeaddrinfo(res);
        return ok();
    }
    ::freeaddrinfo(res);
    return error(errc::unavailable, "cannot connect to " + ep.to_string() + ": " + last);
}

status connection::start_tls(SSL_CTX* ctx, const endpoint& ep, const tls_options& o, int wake_fd,
                             clock::time_point deadline) {
    ssl_ = SSL_new(ctx);
    if (ssl_ == nullptr)
        return error(errc::internal, "SSL_new: " + net::ssl_error_text());
    SSL_set_fd(ssl_, fd_);
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    const std::string name = o.server_name.empty() ? ep.host : o.server_name;
    TRIB_TRY(net::expect_tls_peer(ssl_, name, o.verify));
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(ssl_);
        if (r == 1)
            return ok();
        int e = SSL_get_error(ssl_, r);
        short ev = 0;
        if (e == SSL_ERROR_WANT_READ)
            ev = POLLIN;
        else if (e == SSL_ERROR_WANT_WRITE)
            ev = POLLOUT;
        if (ev == 0) {
            long vr = SSL_get_verify_result(ssl_);
            std::string why;
            if (vr != X509_V_OK) {
                why = std::string("certificate verification failed: ") +
                      X509_verify_cert_error_string(vr);
            } else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0) {
                why = "connection closed during the handshake";
            } else {
                why = net::ssl_error_text();
            }
            // A certificate problem does not fix itself by retrying.
            return error(vr != X509_V_OK ? errc::unauthenticated : errc::unavailable,
                         vr != X509_V_OK ? retry_class::fatal : retry_class::retryable,
                         "TLS handshake with " + ep.to_string() + " failed: " + why);
        }
        int w = wait_fd(fd_, ev, wake_fd, deadline);
        if (w == -1)
            return error(errc::cancelled, "stopped during the TLS handshake");
        if (w != 1)
            return error(errc::timeout, "TLS handshake with " + ep.to_string() + " timed out");
    }
}

io_result connection::read(char* buf, std::size_t n) {
    io_result r;
    if (ssl_ == nullptr) {
        ssize_t k = ::recv(fd_, buf, n, 0);
        if (k > 0)
            r.n = static_cast<std::size_t>(k);
        else if (k == 0)
            r.closed = true;
        else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            r.want_read = true;
        else
            r.error = errno_text(errno);
        return r;
    }
    ERR_clear_error();
    int k = SSL_read(ssl_, buf, static_cast<int>(std::min<std::size_t>(n, INT32_MAX)));
    if (k > 0) {
        r.n = static_cast<std::size_t>(k);
        return r;
    }
    tls_status(k, r);
    return r;
}

io_result connection::write(const char* buf, std::size_t n) {
    io_result r;
    if (ssl_ == nullptr) {
        ssize_t k = ::send(fd_, buf, n, MSG_NOSIGNAL);
        if (k >= 0)
            r.n = static_cast<std::size_t>(k);
        else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            r.want_write = true;
        else
            r.error = errno_text(errno);
        return r;
    }
    ERR_clear_error();
    int k = SSL_write(ssl_, buf, static_cast<int>(std::min<std::size_t>(n, 1 << 20)));
    if (k > 0) {
        r.n = static_cast<std::size_t>(k);
        return r;
    }
    tls_status(k, r);
    return r;
}

void connection::finish(clock::time_point deadline) {
    if (ssl_ != nullptr) {
        ERR_clear_error();
        SSL_shutdown(ssl_);
    }
    ::shutdown(fd_, SHUT_WR);
    char buf[4096];
    for (;;) {
        ssize_t k = ::recv(fd_, buf, sizeof buf, 0);
        if (k == 0 || (k < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return;
        if (k < 0 && wait_fd(fd_, POLLIN, -1, deadline) != 1)
            return;
    }
}

void connection::tls_status(int k, io_result& r) {
    int e = SSL_get_error(ssl_, k);
    if (e == SSL_ERROR_WANT_READ)
        r.want_read = true;
    else if (e == SSL_ERROR_WANT_WRITE)
        r.want_write = true;
    else if (e == SSL_ERROR_ZERO_RETURN)
        r.closed = true;
    else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        r.closed = true;  // peer closed without close_notify
    else
        r.error = "TLS: " + net::ssl_error_text();
}

}  // namespace trib::mqtt::detail
