#pragma once
// A minimal blocking Iggy protocol 0.11 client for the embedded server's tests: whole frames over
// a plain TCP socket, with a read timeout so that a missing reply fails the test instead of
// hanging it. Built on the wire codec; no retries, no pipelining.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>

#include "core/error.h"
#include "iggy/wire/batch.h"
#include "iggy/wire/header.h"
#include "iggy/wire/requests.h"
#include "iggy/wire/responses.h"

namespace trib::server::test {

using iggy::bytes;
using iggy::bytes_view;

class raw_client {
  public:
    raw_client() = default;
    ~raw_client() { close(); }
    raw_client(const raw_client&) = delete;
    raw_client& operator=(const raw_client&) = delete;

    /// Connects to 127.0.0.1:port with a read timeout; from `source` (e.g. "127.0.0.2", another
    /// loopback address) when given.
    status connect(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                   const char* source = nullptr) {
        close();
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        if (fd_ < 0)
            return fail(errc::io_error, "socket");
        if (source) {
            sockaddr_in from{};
            from.sin_family = AF_INET;
            ::inet_pton(AF_INET, source, &from.sin_addr);
            if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof(from)) != 0) {
                close();
                return fail(errc::io_error, std::string("bind: ") + std::strerror(errno));
            }
        }
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
            close();
            return fail(errc::unavailable, std::string("connect: ") + std::strerror(errno));
        }
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        set_timeout(timeout);
        client_ = iggy::random_u128();
        return ok();
    }
    void set_timeout(std::chrono::milliseconds timeout) {
        timeval tv{};
        tv.tv_sec = static_cast<long>(timeout.count() / 1000);
        tv.tv_usec = static_cast<long>((timeout.count() % 1000) * 1000);
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    }
    void close() {
        if (fd_ >= 0)
            ::close(fd_);
        fd_ = -1;
    }
    bool connected() const { return fd_ >= 0; }
    int fd() const { return fd_; }

    status send_frame(bytes_view frame) {
        std::size_t done = 0;
        while (done < frame.size()) {
            auto n = ::send(fd_, frame.data() + done, frame.size() - done, MSG_NOSIGNAL);
            if (n <= 0)
                return fail(errc::unavailable, std::string("send: ") + std::strerror(errno));
            done += static_cast<std::size_t>(n);
        }
        return ok();
    }
    /// Reads one whole frame (header + body).
    result<bytes> read_frame() {
        bytes f(iggy::header_size);
        TRIB_TRY(read_exact(f.data(), f.size()));
        auto p = iggy::read_frame_prefix(f);
        if (!p)
            return unexpected(p.error());
        f.resize(p->size);
        if (p->body_size)
            TRIB_TRY(read_exact(f.data() + iggy::header_size, p->body_size));
        return f;
    }
    /// True when the server closed the connection (read returns 0) within the timeout.
    bool closed_by_peer() {
        std::uint8_t b;
        auto n = ::recv(fd_, &b, 1, 0);
        return n == 0;
    }

    // ---- typed requests ----

    const iggy::u128& client_id() const { return client_; }
    std::uint64_t session() const { return session_; }

    /// Sends `req` with the request-number rules of section 1.6 and returns the reply frame.
    template <class R>
    result<bytes> call(const R& req) {
        iggy::request_header h;
        h.client = client_;
        h.session = session_;
        auto op = iggy::operation_for_command(R::code);
        const auto opv = static_cast<std::uint8_t>(op ? *op : iggy::operation::non_replicated);
        if (opv == static_cast<std::uint8_t>(iggy::operation::register_session)) {
            h.request = 0;
            h.session = 0;
        } else if (iggy::is_metadata_operation(opv) ||
                   opv == static_cast<std::uint8_t>(iggy::operation::logout)) {
            h.request = counter_++;
        } else {
            h.request = counter_;
        }
        bytes buf;
        auto frame = iggy::encode_request_frame(buf, req, h);
        TRIB_TRY(send_frame(frame));
        return read_frame();
    }
    /// `call` and then the reply's payload (errors: status, result section, eviction).
    template <class R>
    result<bytes> request(const R& req) {
        TRIB_ASSIGN_OR_RETURN(auto frame, call(req));
        TRIB_ASSIGN_OR_RETURN(auto payload, iggy::decode_reply(frame));
        return bytes(payload.begin(), payload.end());
    }
    status login(const std::string& user, const std::string& password) {
        iggy::login_register_request r;
        r.username = user;
        r.password = password;
        TRIB_ASSIGN_OR_RETURN(auto payload, request(r));
        TRIB_ASSIGN_OR_RETURN(auto lr, iggy::login_reply::decode(payload));
        session_ = lr.session;
        return ok();
    }
    status login_token(const std::string& token) {
        iggy::login_register_pat_request r;
        r.token = token;
        TRIB_ASSIGN_OR_RETURN(auto payload, request(r));
        TRIB_ASSIGN_OR_RETURN(auto lr, iggy::login_reply::decode(payload));
        session_ = lr.session;
        return ok();
    }

  private:
    status read_exact(std::uint8_t* p, std::size_t n) {
        std::size_t done = 0;
        while (done < n) {
            auto r = ::recv(fd_, p + done, n - done, 0);
            if (r == 0)
                return fail(errc::unavailable, "connection closed by the server");
            if (r < 0) {
                if (errno == EINTR)
                    continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    return fail(errc::timeout, "no reply within the timeout");
                return fail(errc::unavailable, std::string("recv: ") + std::strerror(errno));
            }
            done += static_cast<std::size_t>(r);
        }
        return ok();
    }

    int fd_ = -1;
    iggy::u128 client_;
    std::uint64_t session_ = 0;
    std::uint64_t counter_ = 1;
};

}  // namespace trib::server::test
