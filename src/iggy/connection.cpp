#include "iggy/connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <thread>

#include "core/errno_text.h"
#include "core/net/tls_peer.h"
#include "iggy/wire/responses.h"

namespace trib::iggy {

using clock = std::chrono::steady_clock;

namespace {

int remaining_ms(clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 1 << 30));
}

// 0 ready, 1 timeout, -1 error.
int wait_fd(int fd, short events, clock::time_point deadline) {
    for (;;) {
        pollfd p{fd, events, 0};
        int ms = remaining_ms(deadline);
        int r = ::poll(&p, 1, ms);
        if (r > 0)
            return 0;
        if (r == 0)
            return 1;
        if (errno != EINTR)
            return -1;
    }
}

void ignore_sigpipe_once() {
    // OpenSSL writes with write(2), which raises SIGPIPE on a closed peer; plain sockets use
    // MSG_NOSIGNAL. Only replace the default action, never a handler the program installed.
    static const bool done = [] {
        struct sigaction old {};
        if (sigaction(SIGPIPE, nullptr, &old) == 0 && old.sa_handler == SIG_DFL)
            std::signal(SIGPIPE, SIG_IGN);
        return true;
    }();
    (void)done;
}

}  // namespace

struct connection::tls_state {
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    ~tls_state() {
        if (ssl)
            SSL_free(ssl);
        if (ctx)
            SSL_CTX_free(ctx);
    }
};

result<connection_options> connection_options_from(std::string_view address) {
    TRIB_ASSIGN_OR_RETURN(auto a, server_address::parse(address));
    connection_options o;
    o.address = a;
    o.tls.enabled = a.tls;
    return o;
}

connection::connection(connection_options options)
    : opts_(std::move(options)), backoff_(opts_.reconnect_base, opts_.reconnect_max) {
    if (opts_.username.empty())
        opts_.username = opts_.address.username.empty() ? "iggy" : opts_.address.username;
    if (opts_.password.empty())
        opts_.password = opts_.address.password.empty() ? "iggy" : opts_.address.password;
    if (opts_.address.tls)
        opts_.tls.enabled = true;
    head_.reserve(header_size + 512);
}

connection::~connection() {
    close();
}

void connection::close() {
    tls_.reset();
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    spill_.clear();
    session_ = 0;
}

error connection::io_failure(std::string_view what, bool timed_out) {
    close();
    if (timed_out) {
        return error(errc::timeout, retry_class::retryable,
                     fmt::format("{}: no answer from {} in time", what, opts_.address.to_string()));
    }
    return connection_lost(fmt::format("{} ({})", what, opts_.address.to_string()));
}

status connection::open_socket() {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    std::string port = std::to_string(opts_.address.port);
    int rc = ::getaddrinfo(opts_.address.host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0) {
        return error(errc::unavailable, retry_class::retryable,
                     fmt::format("resolve {}: {}", opts_.address.host, gai_strerror(rc)));
    }
    auto deadline = clock::now() + opts_.connect_timeout;
    std::string last = "no address";
    for (addrinfo* ai = res; ai; ai = ai->ai_next) {
        int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                          ai->ai_protocol);
        if (fd < 0) {
            last = errno_text(errno);
            continue;
        }
        int r = ::connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            int w = wait_fd(fd, POLLOUT, deadline);
            int err = 0;
            socklen_t len = sizeof err;
            if (w == 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) {
                r = 0;
            } else {
                last = w == 1 ? "connect timed out" : errno_text(err ? err : errno);
            }
        } else if (r != 0) {
            last = errno_text(errno);
        }
        if (r == 0) {
            if (opts_.tcp_nodelay) {
                int one = 1;
                ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            }
            fd_ = fd;
            break;
        }
        ::close(fd);
    }
    ::freeaddrinfo(res);
    if (fd_ < 0) {
        return error(errc::unavailable, retry_class::retryable,
                     fmt::format("connect {}: {}", opts_.address.to_string(), last));
    }
    if (opts_.tls.enabled) {
        auto st = tls_handshake(deadline);
        if (!st) {
            close();
            return st;
        }
    }
    return ok();
}

status connection::tls_handshake(clock::time_point deadline) {
    ignore_sigpipe_once();
    tls_ = std::make_unique<tls_state>();
    tls_->ctx = SSL_CTX_new(TLS_client_method());
    if (!tls_->ctx)
        return fail(errc::internal, "TLS: " + net::ssl_error_text());
    SSL_CTX_set_min_proto_version(tls_->ctx, TLS1_2_VERSION);
    const std::string& name = opts_.tls.domain.empty() ? opts_.address.host : opts_.tls.domain;
    if (opts_.tls.verify) {
        SSL_CTX_set_verify(tls_->ctx, SSL_VERIFY_PEER, nullptr);
        int ok_load =
            opts_.tls.ca_file.empty()
                ? SSL_CTX_set_default_verify_paths(tls_->ctx)
                : SSL_CTX_load_verify_locations(tls_->ctx, opts_.tls.ca_file.c_str(), nullptr);
        if (ok_load != 1) {
            return fail(errc::invalid_argument, "TLS: cannot load CA '" + opts_.tls.ca_file +
                                                    "': " + net::ssl_error_text());
        }
    } else {
        SSL_CTX_set_verify(tls_->ctx, SSL_VERIFY_NONE, nullptr);
    }
    tls_->ssl = SSL_new(tls_->ctx);
    if (!tls_->ssl)
        return fail(errc::internal, "TLS: " + net::ssl_error_text());
    SSL_set_fd(tls_->ssl, fd_);
    // Checks the certificate's names (or IP) against what we connected to.
    TRIB_TRY(net::expect_tls_peer(tls_->ssl, name, opts_.tls.verify));
    for (;;) {
        int r = SSL_connect(tls_->ssl);
        if (r == 1)
            return ok();
        int e = SSL_get_error(tls_->ssl, r);
        short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
        if (ev == 0) {
            long vr = SSL_get_verify_result(tls_->ssl);
            std::string why =
                vr != X509_V_OK ? X509_verify_cert_error_string(vr) : net::ssl_error_text();
            return error(errc::unavailable, retry_class::fatal, "TLS handshake: " + why);
        }
        int w = wait_fd(fd_, ev, deadline);
        if (w != 0)
            return error(errc::timeout, retry_class::retryable, "TLS handshake timed out");
    }
}

status connection::send_parts(std::span<const iovec> parts, clock::time_point deadline) {
    if (tls_) {
        for (const auto& p : parts) {
            const auto* d = static_cast<const std::uint8_t*>(p.iov_base);
            std::size_t left = p.iov_len;
            while (left > 0) {
                int n =
                    SSL_write(tls_->ssl, d, static_cast<int>(std::min<std::size_t>(left, 1 << 30)));
                if (n > 0) {
                    d += n;
                    left -= static_cast<std::size_t>(n);
                    continue;
                }
                int e = SSL_get_error(tls_->ssl, n);
                short ev = e == SSL_ERROR_WANT_READ    ? POLLIN
                           : e == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                       : 0;
                if (ev == 0)
                    return io_failure("TLS write failed: " + net::ssl_error_text(), false);
                int w = wait_fd(fd_, ev, deadline);
                if (w != 0)
                    return io_failure("write", w == 1);
            }
        }
        return ok();
    }
    // Plain TCP: one sendmsg for header and body parts; resume after partial writes.
    iovec local[8];
    std::size_t count = std::min<std::size_t>(parts.size(), 8);
    std::memcpy(local, parts.data(), count * sizeof(iovec));
    iovec* iov = local;
    while (count > 0) {
        msghdr msg{};
        msg.msg_iov = iov;
        msg.msg_iovlen = count;
        ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int w = wait_fd(fd_, POLLOUT, deadline);
                if (w != 0)
                    return io_failure("write", w == 1);
                continue;
            }
            return io_failure(std::string("write: ") + errno_text(errno), false);
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
    return ok();
}

result<std::size_t> connection::recv_some(std::uint8_t* p, std::size_t n,
                                          clock::time_point deadline, bool wait_first) {
    // A reply to a request just sent is (almost) never there yet: poll first, which saves the
    // recv that would fail with EAGAIN. (TLS may hold decrypted bytes already: read first.)
    if (wait_first && !tls_) {
        int w = wait_fd(fd_, POLLIN, deadline);
        if (w != 0)
            return unexpected(io_failure("read", w == 1));
    }
    for (;;) {
        if (tls_) {
            int r = SSL_read(tls_->ssl, p, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
            if (r > 0)
                return static_cast<std::size_t>(r);
            int e = SSL_get_error(tls_->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN)
                return unexpected(io_failure("server closed the TLS connection", false));
            short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
            if (ev == 0)
                return unexpected(io_failure("TLS read failed: " + net::ssl_error_text(), false));
            int w = wait_fd(fd_, ev, deadline);
            if (w != 0)
                return unexpected(io_failure("read", w == 1));
            continue;
        }
        ssize_t r = ::recv(fd_, p, n, 0);
        if (r > 0)
            return static_cast<std::size_t>(r);
        if (r == 0)
            return unexpected(io_failure("server closed the connection", false));
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(fd_, POLLIN, deadline);
            if (w != 0)
                return unexpected(io_failure("read", w == 1));
            continue;
        }
        return unexpected(io_failure(std::string("read: ") + errno_text(errno), false));
    }
}

status connection::recv_exact(std::uint8_t* p, std::size_t n, clock::time_point deadline) {
    while (n > 0) {
        if (tls_) {
            int r = SSL_read(tls_->ssl, p, static_cast<int>(std::min<std::size_t>(n, 1 << 30)));
            if (r > 0) {
                p += r;
                n -= static_cast<std::size_t>(r);
                continue;
            }
            int e = SSL_get_error(tls_->ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN)
                return io_failure("server closed the TLS connection", false);
            short ev = e == SSL_ERROR_WANT_READ ? POLLIN : e == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
            if (ev == 0)
                return io_failure("TLS read failed: " + net::ssl_error_text(), false);
            int w = wait_fd(fd_, ev, deadline);
            if (w != 0)
                return io_failure("read", w == 1);
            continue;
        }
        ssize_t r = ::recv(fd_, p, n, 0);
        if (r > 0) {
            p += r;
            n -= static_cast<std::size_t>(r);
            continue;
        }
        if (r == 0)
            return io_failure("server closed the connection", false);
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int w = wait_fd(fd_, POLLIN, deadline);
            if (w != 0)
                return io_failure("read", w == 1);
            continue;
        }
        return io_failure(std::string("read: ") + errno_text(errno), false);
    }
    return ok();
}

result<bytes_view> connection::read_reply(std::uint64_t request, std::uint8_t op,
                                          clock::time_point deadline) {
    // The header and a small body usually arrive together: wait, then read whatever is there
    // into the buffer (size kept at its high-water mark, never shrunk: resize() would
    // zero-fill), then the rest of a large reply. Bytes past the frame (a frame the server sent
    // right after, e.g. an eviction) are kept in `spill_` for the next read, since a caller may
    // take `reply_` away (reply_buffer()).
    if (reply_.size() < std::max(min_read_size, spill_.size()))
        reply_.resize(std::max(min_read_size, spill_.size()));
    std::size_t have = spill_.size();
    if (have > 0) {
        std::memcpy(reply_.data(), spill_.data(), have);
        spill_.clear();
    }
    const bool had_spill = have > 0;
    while (have < header_size) {
        TRIB_ASSIGN_OR_RETURN(auto n, recv_some(reply_.data() + have, reply_.size() - have,
                                                deadline, have == 0 && !had_spill));
        have += n;
    }
    auto prefix = read_frame_prefix(bytes_view(reply_.data(), header_size));
    if (!prefix) {
        close();
        return unexpected(prefix.error());
    }
    if (reply_.size() < prefix->size)
        reply_.resize(prefix->size);
    if (have < prefix->size) {
        TRIB_TRY(recv_exact(reply_.data() + have, prefix->size - have, deadline));
    } else if (have > prefix->size) {
        spill_.assign(reply_.begin() + static_cast<std::ptrdiff_t>(prefix->size),
                      reply_.begin() + static_cast<std::ptrdiff_t>(have));
    }
    last_activity_ = clock::now();
    bytes_view frame(reply_.data(), prefix->size);
    auto f = decode_server_frame(frame);
    if (!f) {
        close();
        return unexpected(f.error());
    }
    if (f->kind == frame_command::eviction) {
        close();
        return f->eviction.to_error();
    }
    // The operation is not compared: some replies carry an internal op (CreateTopic answers
    // with 64, CreatePartitions with 65). The request number is echoed; lockstep makes a
    // mismatch impossible unless the stream lost its framing.
    if (f->reply.request != request) {
        close();
        return fail(errc::protocol_error,
                    fmt::format("reply for request {} while waiting for {} (op {})",
                                f->reply.request, request, op));
    }
    return reply_payload(f->reply, f->body);
}

result<bytes_view> connection::exchange(std::span<const iovec> parts, std::uint32_t code) {
    // `head_` holds the header; parts[0] points at it. Transient rejections resend the identical
    // frame (same request number) until the budget is spent.
    const std::uint64_t request = load_u64(head_.data() + 168);
    const std::uint8_t op = head_[176];
    auto budget_end = clock::now() + opts_.transient_retry_budget;
    for (;;) {
        auto deadline = clock::now() + opts_.request_timeout;
        TRIB_TRY(send_parts(parts, deadline));
        auto r = read_reply(request, op, deadline);
        if (r)
            return r;
        auto vc = r.error().vendor_code();
        bool transient = vc == code::transient_not_committed || vc == code::transient_not_accepted;
        if (!transient || !connected() ||
            clock::now() + std::chrono::milliseconds(50) > budget_end) {
            return unexpected(std::move(r).error().wrap(command_name(code)));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

status connection::login() {
    client_id_ = random_u128();
    session_ = 0;
    counter_ = 1;
    scratch_.clear();
    writer w(scratch_);
    std::uint32_t code;
    if (!opts_.token.empty()) {
        login_register_pat_request l;
        l.token = opts_.token;
        l.encode(w);
        code = cmd::login_register_with_pat;
    } else {
        login_register_request l;
        l.username = opts_.username;
        l.password = opts_.password;
        l.encode(w);
        code = cmd::login_register;
    }
    request_header h;
    h.client = client_id_;
    h.operation = static_cast<std::uint8_t>(operation::register_session);
    h.size = static_cast<std::uint32_t>(header_size + scratch_.size());
    if (opts_.stamp_requests)
        h.request_checksum = body_checksum(scratch_);
    head_.resize(header_size);
    h.encode(head_.data());
    iovec parts[2] = {{head_.data(), header_size}, {scratch_.data(), scratch_.size()}};
    auto payload = exchange(parts, code);
    if (!payload)
        return unexpected(std::move(payload).error());
    auto l = login_reply::decode(*payload);
    if (!l) {
        close();
        return unexpected(l.error());
    }
    session_ = l->session;
    user_id_ = l->user_id;
    server_version_ = l->server_version;
    if (session_ == 0) {
        close();
        return fail(errc::protocol_error, "login: server returned session 0");
    }
    return ok();
}

status connection::connect() {
    close();
    TRIB_TRY(open_socket());
    auto st = login();
    if (!st) {
        close();
        return st;
    }
    ever_connected_ = true;
    last_activity_ = clock::now();
    return ok();
}

status connection::ensure_connected() {
    if (connected())
        return ok();
    const bool was_connected = ever_connected_;
    if (!was_connected || !opts_.reconnect) {
        auto st = connect();
        if (!st || !was_connected)
            return st;
    } else {
        auto give_up = clock::now() + opts_.reconnect_timeout;
        unsigned attempts = 0;
        backoff_.reset();
        for (;;) {
            auto st = connect();
            if (st)
                break;
            ++attempts;
            // Wrong credentials or a refused TLS certificate do not heal by waiting.
            if (st.error().retry() == retry_class::fatal)
                return st;
            if ((opts_.reconnect_attempts && attempts >= opts_.reconnect_attempts) ||
                clock::now() >= give_up) {
                return unexpected(
                    st.error().wrap(fmt::format("reconnect gave up after {} attempts", attempts)));
            }
            auto wait = backoff_.next();
            auto left = give_up - clock::now();
            std::this_thread::sleep_for(std::min<clock::duration>(wait, left));
        }
    }
    ++reconnects_;
    if (on_reconnect) {
        auto st = on_reconnect(*this);
        if (!st)
            return st;
    }
    return ok();
}

result<bytes_view> connection::call(std::uint32_t code, std::span<const bytes_view> body) {
    TRIB_TRY(ensure_connected());
    auto op = operation_for_command(code);
    if (!op)
        return fail(errc::invalid_argument, fmt::format("unknown command code {}", code));
    std::size_t body_size = 0;
    for (auto b : body)
        body_size += b.size();
    if (header_size + body_size > max_frame_size)
        return fail(errc::invalid_argument, "request larger than the 64 MiB frame limit");
    request_header h;
    h.client = client_id_;
    h.session = session_;
    h.operation = static_cast<std::uint8_t>(*op);
    h.size = static_cast<std::uint32_t>(header_size + body_size);
    h.request = counter_;
    if (*op == operation::non_replicated)
        h.code = code;
    // Metadata ops and logout consume a number; partition and NR ops reuse the current one.
    const auto opb = static_cast<std::uint8_t>(*op);
    if (is_metadata_operation(opb) || *op == operation::logout)
        ++counter_;
    if (opts_.stamp_requests && (is_metadata_operation(opb) || *op == operation::logout)) {
        bytes joined;
        for (auto b : body)
            joined.insert(joined.end(), b.begin(), b.end());
        h.request_checksum = body_checksum(joined);
    }
    head_.resize(header_size);
    h.encode(head_.data());
    iovec parts[8];
    std::size_t n = 0;
    parts[n++] = {head_.data(), header_size};
    // More than 7 body parts are joined into one (callers pass one to three).
    if (body.size() <= 7) {
        for (auto b : body) {
            if (!b.empty())
                parts[n++] = {const_cast<std::uint8_t*>(b.data()), b.size()};
        }
    } else {
        for (auto b : body)
            head_.insert(head_.end(), b.begin(), b.end());
        parts[0].iov_base = head_.data();
        parts[0].iov_len = head_.size();
    }
    return exchange(std::span<const iovec>(parts, n), code);
}

status connection::logout() {
    if (!connected())
        return ok();
    auto r = call(logout_request{});
    close();
    if (!r)
        return unexpected(r.error());
    return ok();
}

}  // namespace trib::iggy
