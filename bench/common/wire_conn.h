#pragma once
// A blocking client of Iggy's binary protocol over loopback TCP for the server benchmarks
// (server_bench, dedup_bench): connect, log in, send a request and read its reply frame. No TLS,
// no reconnects: a benchmark that loses its connection stops.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>

#include "iggy/wire/batch.h"
#include "iggy/wire/header.h"
#include "iggy/wire/requests.h"
#include "iggy/wire/responses.h"

namespace trib::iggy::bench {

class conn {
  public:
    ~conn() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    bool open(std::uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0)
            return false;
        int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        timeval tv{30, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        client_ = random_u128();
        return true;
    }
    template <class R>
    bool call(const R& req, bytes& reply) {
        request_header h;
        h.client = client_;
        h.session = session_;
        auto op = operation_for_command(R::code);
        auto opv = static_cast<std::uint8_t>(op ? *op : operation::non_replicated);
        h.request = is_metadata_operation(opv) ? counter_++ : counter_;
        if (opv == static_cast<std::uint8_t>(operation::register_session))
            h.request = 0;
        encode_request_frame(buf_, req, h);
        return write_all(buf_) && read_frame(reply);
    }
    /// The reply's payload, or the status / error text.
    template <class R>
    result<bytes> request(const R& req) {
        bytes reply;
        if (!call(req, reply))
            return fail(errc::unavailable, "connection lost");
        TRIB_ASSIGN_OR_RETURN(auto p, decode_reply(reply));
        return bytes(p.begin(), p.end());
    }
    bool login() {
        login_register_request r;
        r.username = "iggy";
        r.password = "iggy";
        auto p = request(r);
        if (!p)
            return false;
        auto lr = login_reply::decode(*p);
        if (!lr)
            return false;
        session_ = lr->session;
        return true;
    }

    int fd() const { return fd_; }

  private:
    bool write_all(bytes_view b) {
        std::size_t done = 0;
        while (done < b.size()) {
            auto n = ::send(fd_, b.data() + done, b.size() - done, MSG_NOSIGNAL);
            if (n <= 0)
                return false;
            done += static_cast<std::size_t>(n);
        }
        return true;
    }
    bool read_exact(std::uint8_t* p, std::size_t n) {
        std::size_t done = 0;
        while (done < n) {
            auto r = ::recv(fd_, p + done, n - done, 0);
            if (r <= 0)
                return false;
            done += static_cast<std::size_t>(r);
        }
        return true;
    }
    bool read_frame(bytes& f) {
        f.resize(header_size);
        if (!read_exact(f.data(), header_size))
            return false;
        auto p = read_frame_prefix(f);
        if (!p)
            return false;
        f.resize(p->size);
        return p->body_size == 0 || read_exact(f.data() + header_size, p->body_size);
    }

    int fd_ = -1;
    u128 client_;
    std::uint64_t session_ = 0;
    std::uint64_t counter_ = 1;
    bytes buf_;
};

}  // namespace trib::iggy::bench
