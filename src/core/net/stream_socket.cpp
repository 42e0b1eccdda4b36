#include "core/net/stream_socket.h"

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
#include <climits>
#include <csignal>
#include <cstring>

#include "core/errno_text.h"
#include "core/net/tls_peer.h"

namespace trib::net {

namespace {

// OpenSSL takes int lengths; larger requests are cut (the callers loop).
int clamp_len(std::size_t n) {
    return static_cast<int>(std::min<std::size_t>(n, INT_MAX));
}

std::string host_port(const std::string& host, std::uint16_t port) {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return h + ":" + std::to_string(port);
}

}  // namespace

wait_result wait_fd(int fd, short events, int wake_fd, steady_clock::time_point deadline) {
    for (;;) {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady_clock::now());
        // At (or past) the deadline, one last look without waiting: what is ready counts.
        const int ms = static_cast<int>(std::clamp<long long>(left.count(), 0, 1 << 30));
        // poll ignores negative descriptors, so -1 means "none" for either.
        pollfd p[2] = {{fd, events, 0}, {wake_fd, POLLIN, 0}};
        int r = ::poll(p, 2, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return wait_result::failed;
        if (p[1].revents & POLLIN)
            return wait_result::woken;
        if (p[0].revents)
            return wait_result::ready;
        if (p[1].revents)
            return wait_result::failed;  // the wake fd itself is broken
        if (ms == 0)
            return wait_result::timeout;
    }
}

void ignore_sigpipe_once() {
    // Only replace the default action, never a handler the program installed.
    static const bool done = [] {
        struct sigaction old {};
        if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
            std::signal(SIGPIPE, SIG_IGN);
        return true;
    }();
    (void)done;
}

// ---- tls_context ----

result<tls_context> tls_context::create(const tls_client_config& c) {
    tls_context t;
    t.ctx_ = SSL_CTX_new(TLS_client_method());
    if (t.ctx_ == nullptr)
        return error(errc::internal, "SSL_CTX_new: " + ssl_error_text());
    SSL_CTX_set_min_proto_version(t.ctx_, TLS1_2_VERSION);
    if (!c.ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(t.ctx_, c.ca_file.c_str(), nullptr) != 1) {
            return error(errc::invalid_argument, retry_class::fatal,
                         "cannot load the TLS CA file '" + c.ca_file + "': " + ssl_error_text());
        }
    } else if (c.verify) {
        // Without a system store every handshake fails verification, with that reason.
        SSL_CTX_set_default_verify_paths(t.ctx_);
    }
    if (!c.cert_file.empty()) {
        if (SSL_CTX_use_certificate_chain_file(t.ctx_, c.cert_file.c_str()) != 1) {
            return error(errc::invalid_argument, retry_class::fatal,
                         "cannot load the TLS client certificate '" + c.cert_file +
                             "': " + ssl_error_text());
        }
        const std::string& key = c.key_file.empty() ? c.cert_file : c.key_file;
        if (SSL_CTX_use_PrivateKey_file(t.ctx_, key.c_str(), SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(t.ctx_) != 1) {
            return error(errc::invalid_argument, retry_class::fatal,
                         "cannot load the TLS client key '" + key + "': " + ssl_error_text());
        }
    }
    SSL_CTX_set_verify(t.ctx_, c.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
    return t;
}

tls_context& tls_context::operator=(tls_context&& o) noexcept {
    if (this != &o) {
        if (ctx_ != nullptr)
            SSL_CTX_free(ctx_);
        ctx_ = o.ctx_;
        o.ctx_ = nullptr;
    }
    return *this;
}

tls_context::~tls_context() {
    if (ctx_ != nullptr)
        SSL_CTX_free(ctx_);
}

// ---- stream_socket: life cycle ----

stream_socket::stream_socket(stream_socket&& o) noexcept : fd_(o.fd_), ssl_(o.ssl_) {
    o.fd_ = -1;
    o.ssl_ = nullptr;
}

stream_socket& stream_socket::operator=(stream_socket&& o) noexcept {
    if (this != &o) {
        close();
        fd_ = o.fd_;
        ssl_ = o.ssl_;
        o.fd_ = -1;
        o.ssl_ = nullptr;
    }
    return *this;
}

stream_socket::~stream_socket() {
    close();
}

void stream_socket::close() {
    if (ssl_ != nullptr) {
        SSL_free(ssl_);
        ssl_ = nullptr;
    }
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
}

result<stream_socket> stream_socket::connect(const std::string& host, std::uint16_t port,
                                             steady_clock::time_point deadline, int wake_fd,
                                             bool tcp_nodelay) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    const std::string port_text = std::to_string(port);
    int gai = ::getaddrinfo(host.c_str(), port_text.c_str(), &hints, &res);
    if (gai != 0) {
        return error(errc::unavailable, retry_class::retryable,
                     "cannot resolve " + host + ": " + std::string(::gai_strerror(gai)));
    }
    std::string last = "no address";
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
        int fd =
            ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            last = "socket: " + errno_text(errno);
            continue;
        }
        stream_socket s(fd);
        int r = ::connect(fd, a->ai_addr, a->ai_addrlen);
        int err = r == 0 ? 0 : errno;
        if (r != 0 && err == EINPROGRESS) {
            auto w = wait_fd(fd, POLLOUT, wake_fd, deadline);
            if (w != wait_result::ready) {
                ::freeaddrinfo(res);
                if (w == wait_result::woken)
                    return error(errc::cancelled, "stopped while connecting");
                if (w == wait_result::failed)
                    return error(
                        errc::unavailable, retry_class::retryable,
                        "connect to " + host_port(host, port) + ": poll: " + errno_text(errno));
                return error(errc::timeout, retry_class::retryable,
                             "connect to " + host_port(host, port) + " timed out");
            }
            socklen_t len = sizeof err;
            if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
        }
        if (err != 0) {
            last = errno_text(err);
            continue;
        }
        if (tcp_nodelay) {
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        }
        ::freeaddrinfo(res);
        return s;
    }
    ::freeaddrinfo(res);
    return error(errc::unavailable, retry_class::retryable,
                 "cannot connect to " + host_port(host, port) + ": " + last);
}

status stream_socket::start_tls(const tls_context& ctx, const std::string& peer_name, bool verify,
                                steady_clock::time_point deadline, int wake_fd) {
    if (!ctx || fd_ < 0)
        return fail(errc::internal, "TLS: no context or no connection");
    ssl_ = SSL_new(ctx.native());
    if (ssl_ == nullptr)
        return error(errc::internal, "SSL_new: " + ssl_error_text());
    SSL_set_fd(ssl_, fd_);
    // Writes resume with the rest of a buffer that may have moved (the MQTT write buffer).
    SSL_set_mode(ssl_, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    TRIB_TRY(expect_tls_peer(ssl_, peer_name, verify));
    for (;;) {
        ERR_clear_error();
        int r = SSL_connect(ssl_);
        if (r == 1)
            return ok();
        int e = SSL_get_error(ssl_, r);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (ev == 0) {
            long vr = SSL_get_verify_result(ssl_);
            if (vr != X509_V_OK) {
                return error(errc::unauthenticated, retry_class::fatal,
                             std::string("certificate verification failed: ") +
                                 X509_verify_cert_error_string(vr));
            }
            if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
                return error(errc::unavailable, retry_class::retryable,
                             "connection closed during the TLS handshake");
            return error(errc::unavailable, retry_class::retryable,
                         "TLS handshake: " + ssl_error_text());
        }
        auto w = wait_fd(fd_, ev, wake_fd, deadline);
        if (w == wait_result::woken)
            return error(errc::cancelled, "stopped during the TLS handshake");
        if (w != wait_result::ready)
            return error(errc::timeout, retry_class::retryable, "TLS handshake timed out");
    }
}

// ---- non-blocking I/O ----

void stream_socket::tls_status(int k, io_result& r) {
    int e = SSL_get_error(ssl_, k);
    if (e == SSL_ERROR_WANT_READ)
        r.want_read = true;
    else if (e == SSL_ERROR_WANT_WRITE)
        r.want_write = true;
    else if (e == SSL_ERROR_ZERO_RETURN)
        r.closed = true;
    else if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
        r.closed = true;  // the peer closed without close_notify
    else
        r.error = "TLS: " + ssl_error_text();
}

io_result stream_socket::try_read(void* p, std::size_t n) {
    io_result r;
    if (ssl_ == nullptr) {
        ssize_t k = ::recv(fd_, p, n, 0);
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
    int k = SSL_read(ssl_, p, clamp_len(n));
    if (k > 0)
        r.n = static_cast<std::size_t>(k);
    else
        tls_status(k, r);
    return r;
}

io_result stream_socket::try_write(const void* p, std::size_t n) {
    io_result r;
    if (ssl_ == nullptr) {
        ssize_t k = ::send(fd_, p, n, MSG_NOSIGNAL);
        if (k >= 0)
            r.n = static_cast<std::size_t>(k);
        else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            r.want_write = true;
        else
            r.error = errno_text(errno);
        return r;
    }
    ERR_clear_error();
    int k = SSL_write(ssl_, p, clamp_len(n));
    if (k > 0)
        r.n = static_cast<std::size_t>(k);
    else
        tls_status(k, r);
    return r;
}

// ---- blocking I/O ----

status stream_socket::wait_for(const io_result& r, steady_clock::time_point deadline, int wake_fd) {
    if (!r.error.empty())
        return error(errc::unavailable, retry_class::retryable, r.error);
    if (r.closed)
        return error(errc::unavailable, retry_class::retryable, "the peer closed the connection");
    auto w = wait_fd(fd_, r.want_write ? POLLOUT : POLLIN, wake_fd, deadline);
    switch (w) {
        case wait_result::ready:
            return ok();
        case wait_result::woken:
            return error(errc::cancelled, "stopped");
        case wait_result::timeout:
            return error(errc::timeout, retry_class::retryable, "timed out");
        case wait_result::failed:
            break;
    }
    return error(errc::unavailable, retry_class::retryable, "poll: " + errno_text(errno));
}

status stream_socket::write_all(std::span<const iovec> parts, steady_clock::time_point deadline,
                                int wake_fd) {
    if (ssl_ != nullptr) {
        for (const auto& part : parts) {
            const auto* d = static_cast<const char*>(part.iov_base);
            std::size_t left = part.iov_len;
            while (left > 0) {
                auto r = try_write(d, left);
                d += r.n;
                left -= r.n;
                if (r.n == 0)
                    TRIB_TRY(wait_for(r, deadline, wake_fd));
            }
        }
        return ok();
    }
    // Plain TCP: one sendmsg for all parts; resume after partial writes.
    iovec local[8];
    std::size_t count = std::min<std::size_t>(parts.size(), 8);
    std::memcpy(local, parts.data(), count * sizeof(iovec));
    iovec* iov = local;
    std::size_t rest = parts.size() - count;  // parts past the 8th go out one by one
    while (count > 0) {
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = count;
        ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            io_result r;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                r.want_write = true;
            else
                r.error = errno_text(errno);
            TRIB_TRY(wait_for(r, deadline, wake_fd));
            continue;
        }
        auto done = static_cast<std::size_t>(n);
        while (count > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            ++iov;
            --count;
        }
        if (count > 0) {
            iov->iov_base = static_cast<std::uint8_t*>(iov->iov_base) + done;
            iov->iov_len -= done;
        }
    }
    if (rest > 0)
        return write_all(parts.subspan(8), deadline, wake_fd);
    return ok();
}

status stream_socket::write_all(std::string_view bytes, steady_clock::time_point deadline,
                                int wake_fd) {
    iovec part{const_cast<char*>(bytes.data()), bytes.size()};
    return write_all(std::span<const iovec>(&part, 1), deadline, wake_fd);
}

result<std::size_t> stream_socket::read_some(void* p, std::size_t n,
                                             steady_clock::time_point deadline, int wake_fd,
                                             bool poll_first) {
    if (poll_first && ssl_ == nullptr) {
        io_result want;
        want.want_read = true;
        TRIB_TRY(wait_for(want, deadline, wake_fd));
    }
    for (;;) {
        auto r = try_read(p, n);
        if (r.n > 0)
            return r.n;
        TRIB_TRY(wait_for(r, deadline, wake_fd));
    }
}

status stream_socket::read_exact(void* p, std::size_t n, steady_clock::time_point deadline,
                                 int wake_fd) {
    auto* d = static_cast<char*>(p);
    while (n > 0) {
        TRIB_ASSIGN_OR_RETURN(auto k, read_some(d, n, deadline, wake_fd));
        d += k;
        n -= k;
    }
    return ok();
}

void stream_socket::finish(steady_clock::time_point deadline) {
    if (fd_ < 0)
        return;
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
        if (k < 0 && wait_fd(fd_, POLLIN, -1, deadline) != wait_result::ready)
            return;
    }
}

}  // namespace trib::net
