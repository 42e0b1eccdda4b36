// The MQTT client's I/O: the I/O thread with its poll loop over the shared TCP/TLS socket
// (core/net/stream_socket.h: connect, handshake and name check are the Iggy client's too), keep
// alive and reconnects, and the thread-safe API around the session state (session.h), which
// holds every protocol decision and is tested without a socket.

#include "connectors/mqtt/client.h"
#include "core/errno_text.h"
#include "core/net/stream_socket.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <random>
#include <thread>

namespace trib::mqtt {

namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
using net::stream_socket;
using net::wait_result;

// An I/O error of the blocking calls during connect and close, said from the broker's side.
error broker_io_error(const error& e, std::string_view timeout_text) {
    if (e.code() == errc::cancelled)
        return error(errc::cancelled, "stopped");
    if (e.code() == errc::timeout)
        return error(errc::timeout, std::string(timeout_text));
    return error(errc::unavailable, "connection to the broker lost: " + e.message());
}

}  // namespace

std::string endpoint::to_string() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return (tls ? "mqtts://" : "mqtt://") + h + ":" + std::to_string(port);
}

result<endpoint> parse_url(std::string_view url) {
    endpoint ep;
    std::string_view rest = url;
    auto scheme_end = url.find("://");
    if (scheme_end != std::string_view::npos) {
        std::string_view scheme = url.substr(0, scheme_end);
        if (scheme == "mqtts" || scheme == "ssl" || scheme == "tls") {
            ep.tls = true;
        } else if (scheme != "mqtt" && scheme != "tcp") {
            return fail(errc::invalid_argument, "unsupported URL scheme '" + std::string(scheme) +
                                                    "' in '" + std::string(url) +
                                                    "' (use mqtt:// or mqtts://)");
        }
        rest = url.substr(scheme_end + 3);
    }
    while (!rest.empty() && rest.back() == '/')
        rest.remove_suffix(1);
    if (rest.find('/') != std::string_view::npos)
        return fail(errc::invalid_argument,
                    "a path is not allowed in MQTT URL '" + std::string(url) + "'");
    ep.port = ep.tls ? 8883 : 1883;
    std::string_view port_text;
    if (rest.starts_with("[")) {
        auto close = rest.find(']');
        if (close == std::string_view::npos)
            return fail(errc::invalid_argument, "unclosed '[' in URL '" + std::string(url) + "'");
        ep.host = std::string(rest.substr(1, close - 1));
        auto after = rest.substr(close + 1);
        if (after.starts_with(":"))
            port_text = after.substr(1);
        else if (!after.empty())
            return fail(errc::invalid_argument, "bad URL '" + std::string(url) + "'");
    } else {
        auto colon = rest.rfind(':');
        if (colon != std::string_view::npos) {
            ep.host = std::string(rest.substr(0, colon));
            port_text = rest.substr(colon + 1);
        } else {
            ep.host = std::string(rest);
        }
    }
    if (ep.host.empty())
        return fail(errc::invalid_argument, "no host in MQTT URL '" + std::string(url) + "'");
    if (!port_text.empty()) {
        unsigned v = 0;
        for (char c : port_text) {
            if (c < '0' || c > '9' || v > 65535)
                return fail(errc::invalid_argument, "bad port in URL '" + std::string(url) + "'");
            v = v * 10 + static_cast<unsigned>(c - '0');
        }
        if (v == 0 || v > 65535)
            return fail(errc::invalid_argument, "bad port in URL '" + std::string(url) + "'");
        ep.port = static_cast<std::uint16_t>(v);
    }
    return ep;
}

struct client::impl {
    client_options opts;
    std::vector<endpoint> endpoints;
    net::tls_context tls_ctx;  // when any URL or the options ask for TLS
    int wake_fd = -1;
    std::thread thread;

    // ---- I/O thread only ----
    std::unique_ptr<stream_socket> conn;
    std::vector<char> rbuf;
    std::size_t rlen = 0;  // bytes in rbuf
    std::string wbuf;
    std::size_t wpos = 0;
    bool tls_read_wants_write = false;
    bool tls_write_wants_read = false;
    bool more_to_read = false;
    bool forced_reconnect = false;  // the next connect comes without backoff
    clock::time_point last_write{};
    clock::time_point ping_sent{};
    bool ping_outstanding = false;
    int attempt = 0;
    std::size_t next_url = 0;
    std::mt19937_64 rng{std::random_device{}()};

    // ---- shared, under mu ----
    mutable std::mutex mu;
    std::condition_variable cv_state;    // connection state, SUBACKs, finished publishes
    std::condition_variable cv_inbound;  // received messages
    std::condition_variable cv_space;    // room in the outgoing window
    bool stopping = false;
    bool first_done = false;
    bool first_ok = false;
    bool reconnect_requested = false;
    bool paused = false;
    error last_err{errc::ok, retry_class::retryable, ""};
    std::chrono::seconds keep_alive{30};
    std::unique_ptr<mqtt::session> sess;  // created in connect(), with the options

    std::uint64_t st_received = 0;  // under mu
    std::atomic<std::uint64_t> st_connects{0}, st_bytes_in{0}, st_bytes_out{0};

    ~impl() {
        if (wake_fd >= 0)
            ::close(wake_fd);
    }

    std::string tag() const { return "mqtt[" + opts.name + "]: "; }

    void wake() {
        std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
    }

    status setup_tls() {
        bool any_tls = opts.tls.enabled;
        for (const auto& ep : endpoints)
            any_tls = any_tls || ep.tls;
        if (!any_tls)
            return ok();
        const auto& t = opts.tls;
        TRIB_ASSIGN_OR_RETURN(tls_ctx, net::tls_context::create({.ca_file = t.ca_file,
                                                                 .cert_file = t.cert_file,
                                                                 .key_file = t.key_file,
                                                                 .verify = t.verify}));
        return ok();
    }

    // ---- connecting (I/O thread) ----

    // `wake` < 0: not interruptible (used when closing on purpose).
    status write_all(stream_socket& c, std::string_view bytes, clock::time_point deadline,
                     int wake = -2) {
        if (wake == -2)
            wake = wake_fd;
        auto st = c.write_all(bytes, deadline, wake);
        if (!st)
            return broker_io_error(st.error(), "timed out writing to the broker");
        st_bytes_out += bytes.size();
        return ok();
    }

    // Reads until one complete packet is in rbuf; returns its frame (rbuf keeps the bytes).
    result<frame> read_frame(stream_socket& c, clock::time_point deadline) {
        for (;;) {
            auto f = next_frame(std::string_view(rbuf.data(), rlen));
            if (!f)
                return f.error();
            if (*f)
                return **f;
            if (rbuf.size() - rlen < 4096)
                rbuf.resize(std::max<std::size_t>(rbuf.size() * 2, 65536));
            auto n = c.read_some(rbuf.data() + rlen, rbuf.size() - rlen, deadline, wake_fd);
            if (!n)
                return broker_io_error(n.error(), "no CONNACK within the connect timeout");
            rlen += *n;
            st_bytes_in += *n;
        }
    }

    void consume(std::size_t n) {
        std::memmove(rbuf.data(), rbuf.data() + n, rlen - n);
        rlen -= n;
    }

    // Maps a refused CONNACK to an error with a clear message and a retry class.
    error connack_error(const endpoint& ep, const connack_packet& ca) {
        std::string msg = "the MQTT broker at " + ep.to_string() + " refused the connection: " +
                          std::string(connack_reason_name(ca.reason, opts.version)) + " (" +
                          (opts.version == protocol_version::v5 ? "reason code 0x" : "code ") +
                          [&] {
                              char b[8];
                              std::snprintf(b, sizeof b, "%02X", ca.reason);
                              return std::string(b);
                          }() +
                          ")";
        if (ca.props.reason_string)
            msg += ": " + *ca.props.reason_string;
        errc code = errc::unavailable;
        retry_class rc = retry_class::retryable;
        const bool v5 = opts.version == protocol_version::v5;
        const std::uint8_t r = ca.reason;
        if ((!v5 && r == 4) || (v5 && (r == 0x86 || r == 0x8C))) {
            code = errc::unauthenticated;
            rc = retry_class::fatal;
        } else if ((!v5 && r == 5) || (v5 && (r == 0x87 || r == 0x8A))) {
            code = errc::permission_denied;
            rc = retry_class::fatal;
        } else if ((!v5 && (r == 1 || r == 2)) ||
                   (v5 && (r == 0x84 || r == 0x85 || r == 0x81 || r == 0x82 || r == 0x95 ||
                           r == 0x99 || r == 0x9A || r == 0x9B))) {
            code = errc::invalid_argument;
            rc = retry_class::fatal;
        } else if (v5 && (r == 0x89 || r == 0x97 || r == 0x9F)) {
            code = errc::resource_exhausted;
            rc = retry_class::throttled;
        }
        return error(code, rc, msg, r);
    }

    // Opens one connection: TCP, TLS, CONNECT, CONNACK.
    status establish_one(const endpoint& ep) {
        auto deadline = clock::now() + opts.connect_timeout;
        auto s = stream_socket::connect(ep.host, ep.port, deadline, wake_fd);
        if (!s)
            return s.error();
        auto c = std::make_unique<stream_socket>(std::move(*s));
        if (ep.tls || opts.tls.enabled) {
            const std::string& name = opts.tls.server_name.empty() ? ep.host : opts.tls.server_name;
            auto st = c->start_tls(tls_ctx, name, opts.tls.verify, deadline, wake_fd);
            if (!st && st.error().code() == errc::cancelled)
                return st;
            if (!st)
                return st.error().wrap("TLS handshake with " + ep.to_string() + " failed");
        }
        connect_packet cp;
        cp.version = opts.version;
        cp.clean_start = opts.clean_start;
        cp.keep_alive =
            static_cast<std::uint16_t>(std::min<std::int64_t>(opts.keep_alive.count(), 65535));
        cp.client_id = opts.client_id;
        cp.username = opts.username;
        cp.password = opts.password;
        cp.will = opts.will;
        if (opts.version == protocol_version::v5) {
            if (opts.session_expiry_s > 0)
                cp.props.session_expiry_interval = opts.session_expiry_s;
            if (opts.receive_maximum != 65535)
                cp.props.receive_maximum = std::max<std::uint16_t>(1, opts.receive_maximum);
        }
        std::string bytes;
        encode(bytes, cp);
        rlen = 0;
        TRIB_TRY(write_all(*c, bytes, deadline));
        TRIB_ASSIGN_OR_RETURN(frame f, read_frame(*c, deadline));
        if (f.type() != packet_type::connack) {
            return error(errc::protocol_error, "expected CONNACK from " + ep.to_string() +
                                                   ", got " + std::string(to_string(f.type())));
        }
        auto p = decode(f, opts.version);
        if (!p)
            return p.error();
        auto ca = std::get<connack_packet>(std::move(*p));
        consume(f.size);
        if (ca.reason != 0)
            return connack_error(ep, ca);
        conn = std::move(c);
        // Packets that came in the same read as the CONNACK (the broker resends right after
        // it) are in rbuf already, and TLS may hold decrypted records: read before sleeping.
        more_to_read = true;
        last_write = clock::now();
        ping_outstanding = false;
        tls_read_wants_write = tls_write_wants_read = false;
        wbuf.clear();
        wpos = 0;
        st_connects++;
        on_connected(ca);
        spdlog::info("{}connected to {} (MQTT {}, session {})", tag(), ep.to_string(),
                     opts.version == protocol_version::v5 ? "5" : "3.1.1",
                     ca.session_present ? "resumed" : "new");
        spdlog::debug("{}broker limits: receive maximum {}, maximum packet size {}, maximum QoS {}",
                      tag(), ca.props.receive_maximum.value_or(65535),
                      ca.props.maximum_packet_size.value_or(0), ca.props.maximum_qos.value_or(2));
        return ok();
    }

    status establish() {
        error last;
        for (std::size_t i = 0; i < endpoints.size(); ++i) {
            const auto& ep = endpoints[(next_url + i) % endpoints.size()];
            auto r = establish_one(ep);
            if (r) {
                next_url = (next_url + i) % endpoints.size();
                return ok();
            }
            last = r.error();
            conn.reset();
            if (last.code() == errc::cancelled)
                break;
        }
        return last;
    }

    // Logs what the session noted (under mu; spdlog does not call back into the client).
    void log_notices_locked() {
        for (auto& n : sess->take_notices()) {
            if (n.is_error)
                spdlog::error("{}{}", tag(), n.text);
            else
                spdlog::warn("{}{}", tag(), n.text);
        }
    }

    // The broker accepted us: reconcile the session (I/O thread).
    void on_connected(const connack_packet& ca) {
        std::lock_guard lk(mu);
        last_err = error(errc::ok, retry_class::retryable, "");
        keep_alive = ca.props.server_keep_alive ? std::chrono::seconds(*ca.props.server_keep_alive)
                                                : opts.keep_alive;
        sess->on_connected(ca);
        log_notices_locked();
        cv_state.notify_all();
        cv_space.notify_all();
    }

    // Connection lost or closed (I/O thread).
    void on_lost(const error& why) {
        conn.reset();
        rlen = 0;
        wbuf.clear();
        wpos = 0;
        std::lock_guard lk(mu);
        if (!sess->connected())
            return;
        sess->on_lost();
        last_err = why;
        cv_state.notify_all();
        cv_space.notify_all();
    }

    // ---- the I/O loop ----

    // Writes everything queued, best effort, before a deliberate close.
    void flush_queued(clock::time_point deadline) {
        std::string out;
        {
            std::lock_guard lk(mu);
            out = wbuf.substr(wpos);
            sess->drain_output(out);
        }
        wbuf.clear();
        wpos = 0;
        if (conn && !out.empty())
            (void)write_all(*conn, out, deadline, -1);
    }

    // A deliberate close: what is queued, a DISCONNECT (normal: the session stays), then wait
    // for the broker to close its side, so that it has read everything we sent.
    void graceful_close(clock::time_point deadline) {
        {
            std::lock_guard lk(mu);
            sess->queue_disconnect();
        }
        flush_queued(deadline);
        if (conn)
            conn->finish(deadline);
    }

    // Decodes and handles every complete packet in rbuf (under one lock per read chunk).
    void handle_frames(std::size_t& consumed, status& st) {
        std::lock_guard lk(mu);
        auto r = sess->on_bytes(std::string_view(rbuf.data(), rlen));
        consumed = r.consumed;
        st = std::move(r.st);
        log_notices_locked();
        if (r.pingresp)
            ping_outstanding = false;
        if (r.delivered > 0) {
            st_received += r.delivered;
            cv_inbound.notify_all();
        }
        if (r.wake_waiters) {
            cv_state.notify_all();
            cv_space.notify_all();
        }
    }

    // One round of the connected loop: poll, read, write, keep alive. Returns an error when
    // the connection is lost.
    status service() {
        bool want_reconnect = false;
        {
            std::lock_guard lk(mu);
            if (wpos == wbuf.size() && sess->has_output()) {
                wpos = 0;
                sess->take_output(wbuf);
            }
            paused = sess->inbound_size() >= opts.max_queued;
            want_reconnect = reconnect_requested;
            reconnect_requested = false;
            if (stopping)
                return ok();
        }
        if (want_reconnect) {
            // Acknowledgements queued before the request must reach the broker first, or it
            // would resend those messages too.
            graceful_close(clock::now() + 2s);
            forced_reconnect = true;
            return error(errc::unavailable,
                         "reconnecting (rejected messages are to be resent, "
                         "or a test dropped the connection)");
        }
        const auto now = clock::now();
        const auto ka = keep_alive;
        short ev = 0;
        if (!paused || tls_write_wants_read)
            ev |= POLLIN;
        if (wpos < wbuf.size() || tls_read_wants_write)
            ev |= POLLOUT;
        int timeout_ms = 1000;
        if (ka.count() > 0) {
            auto next = (ping_outstanding ? ping_sent + ka : last_write + ka) - now;
            timeout_ms = static_cast<int>(std::clamp<std::int64_t>(
                std::chrono::duration_cast<std::chrono::milliseconds>(next).count(), 0, 1000));
        }
        if (more_to_read && !paused)
            timeout_ms = 0;
        pollfd p[2] = {{conn->fd(), ev, 0}, {wake_fd, POLLIN, 0}};
        int r = ::poll(p, 2, timeout_ms);
        if (r < 0 && errno != EINTR)
            return error(errc::io_error, "poll: " + errno_text(errno));
        if (p[1].revents & POLLIN) {
            std::uint64_t v;
            [[maybe_unused]] auto n = ::read(wake_fd, &v, sizeof v);
        }
        if (p[0].revents & POLLNVAL)
            return error(errc::unavailable, "socket error");
        const bool io = (p[0].revents & (POLLIN | POLLOUT | POLLHUP | POLLERR)) != 0;
        if ((io || more_to_read) && (!paused || tls_write_wants_read))
            TRIB_TRY(do_read());
        if (wpos < wbuf.size() || io)
            TRIB_TRY(do_write());
        // Keep alive: a PINGREQ after keep_alive of silence from our side; the connection is
        // dead if its PINGRESP does not come within another keep_alive (unless we stopped
        // reading ourselves).
        if (ka.count() > 0) {
            auto t = clock::now();
            if (ping_outstanding && !paused && t - ping_sent > ka)
                return error(errc::timeout, "no PINGRESP from the broker within the keep alive");
            if (!ping_outstanding && t - last_write >= ka) {
                std::lock_guard lk(mu);
                sess->queue_pingreq();
                ping_outstanding = true;
                ping_sent = t;
            }
        }
        return ok();
    }

    // Handles the complete packets in rbuf and drops their bytes.
    status take_frames() {
        std::size_t consumed = 0;
        status st;
        handle_frames(consumed, st);
        if (consumed > 0)
            consume(consumed);
        return st;
    }

    // The error of a non-blocking read or write that found the connection gone.
    static status still_connected(const net::io_result& r) {
        if (!r.error.empty())
            return error(errc::unavailable, "connection lost: " + r.error);
        if (r.closed)
            return error(errc::unavailable, "the broker closed the connection");
        return ok();
    }

    // Reads and handles what the socket has, up to a budget per round so that writes and keep
    // alive are not starved; `more_to_read` asks the next round not to sleep.
    status do_read() {
        tls_read_wants_write = false;
        more_to_read = false;
        if (rlen > 0)
            TRIB_TRY(take_frames());  // left over from the connect handshake
        std::size_t budget = 4 << 20;
        for (;;) {
            if (rbuf.size() - rlen < 16384)
                rbuf.resize(std::max<std::size_t>(rbuf.size() * 2, 256 * 1024));
            auto r = conn->try_read(rbuf.data() + rlen, rbuf.size() - rlen);
            TRIB_TRY(still_connected(r));
            if (r.n == 0) {
                tls_read_wants_write = r.want_write;
                return ok();
            }
            rlen += r.n;
            st_bytes_in += r.n;
            TRIB_TRY(take_frames());
            budget -= std::min(budget, r.n);
            std::lock_guard lk(mu);
            if (sess->inbound_size() >= opts.max_queued) {
                paused = true;
                return ok();
            }
            if (budget == 0) {
                more_to_read = true;
                return ok();
            }
        }
    }

    status do_write() {
        tls_write_wants_read = false;
        while (wpos < wbuf.size()) {
            auto r = conn->try_write(wbuf.data() + wpos, wbuf.size() - wpos);
            TRIB_TRY(still_connected(r));
            if (r.n == 0) {
                tls_write_wants_read = r.want_read;
                break;
            }
            wpos += r.n;
            st_bytes_out += r.n;
            last_write = clock::now();
            std::lock_guard lk(mu);
            if (sess->on_written(r.n))
                cv_state.notify_all();
            // Refill from the queue when the buffer is done, so one wake-up writes it all.
            if (wpos == wbuf.size() && sess->has_output()) {
                wpos = 0;
                sess->take_output(wbuf);
            }
        }
        return ok();
    }

    std::chrono::milliseconds backoff() {
        auto base = opts.reconnect_min * (1LL << std::min(attempt, 20));
        auto capped = std::min<std::chrono::milliseconds>(
            std::chrono::duration_cast<std::chrono::milliseconds>(base), opts.reconnect_max);
        std::uniform_real_distribution<double> jitter(0.5, 1.0);
        return std::chrono::milliseconds(
            static_cast<std::int64_t>(static_cast<double>(capped.count()) * jitter(rng)));
    }

    bool is_stopping() {
        std::lock_guard lk(mu);
        return stopping;
    }

    // Sleeps until `until` unless the client is stopped first. Returns false when stopping.
    bool sleep_until(clock::time_point until) {
        for (;;) {
            if (is_stopping())
                return false;
            if (net::wait_fd(-1, 0, wake_fd, until) == wait_result::timeout)
                return true;
            std::uint64_t v;
            [[maybe_unused]] auto n = ::read(wake_fd, &v, sizeof v);
        }
    }

    void run() {
        // OpenSSL writes with write(2), which raises SIGPIPE on a closed connection; blocked in
        // this thread (the only one touching the socket), the write fails with EPIPE instead.
        sigset_t pipe_set;
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);
        bool first = true;
        for (;;) {
            if (is_stopping())
                break;
            if (!conn) {
                if (!first && !forced_reconnect && !sleep_until(clock::now() + backoff()))
                    break;
                forced_reconnect = false;
                auto st = establish();
                if (!st) {
                    if (first) {
                        std::lock_guard lk(mu);
                        last_err = st.error();
                        first_done = true;
                        cv_state.notify_all();
                        return;
                    }
                    ++attempt;
                    {
                        std::lock_guard lk(mu);
                        last_err = st.error();
                    }
                    if (st.error().code() != errc::cancelled)
                        spdlog::warn("{}reconnect failed (attempt {}): {}", tag(), attempt,
                                     st.error().message());
                    continue;
                }
                attempt = 0;
                if (first) {
                    first = false;
                    std::lock_guard lk(mu);
                    first_done = true;
                    first_ok = true;
                    cv_state.notify_all();
                }
            }
            auto st = service();
            if (!st) {
                if (forced_reconnect)
                    spdlog::info("{}{}", tag(), st.error().message());
                else
                    spdlog::warn("{}{}", tag(), st.error().message());
                on_lost(st.error());
            }
        }
        // Stopping: send what is queued and a DISCONNECT, briefly.
        if (conn) {
            graceful_close(clock::now() + 2s);
            on_lost(error(errc::cancelled, "client stopped"));
        }
        std::lock_guard lk(mu);
        sess->on_lost();
        cv_state.notify_all();
        cv_space.notify_all();
        cv_inbound.notify_all();
    }
};

client::client(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

client::~client() {
    {
        std::lock_guard lk(impl_->mu);
        impl_->stopping = true;
    }
    impl_->wake();
    if (impl_->thread.joinable())
        impl_->thread.join();
}

result<std::unique_ptr<client>> client::connect(client_options opts) {
    auto p = std::make_unique<impl>();
    if (opts.urls.empty())
        return fail(errc::invalid_argument, "no MQTT broker URL");
    for (const auto& u : opts.urls) {
        TRIB_ASSIGN_OR_RETURN(auto ep, parse_url(u));
        p->endpoints.push_back(std::move(ep));
    }
    if (opts.client_id.empty() && !opts.clean_start)
        return fail(errc::invalid_argument,
                    "a persistent session (clean start off) needs a client id");
    if (opts.version == protocol_version::v311 && opts.password && !opts.username)
        return fail(errc::invalid_argument,
                    "MQTT 3.1.1 does not allow a password without a "
                    "user name");
    opts.max_inflight = std::clamp<std::size_t>(opts.max_inflight, 1, 65000);
    opts.max_queued = std::max<std::size_t>(opts.max_queued, 1);
    p->opts = std::move(opts);
    p->keep_alive = p->opts.keep_alive;
    impl* raw = p.get();
    p->sess = std::make_unique<session>(
        session_options{p->opts.version, p->opts.client_id, p->opts.max_inflight},
        [raw] { raw->wake(); });
    TRIB_TRY(p->setup_tls());
    p->wake_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (p->wake_fd < 0)
        return fail(errc::io_error, "eventfd: " + errno_text(errno));
    p->thread = std::thread([raw] { raw->run(); });
    std::unique_lock lk(raw->mu);
    raw->cv_state.wait(lk, [&] { return raw->first_done; });
    if (!raw->first_ok) {
        error e = raw->last_err;
        raw->stopping = true;
        lk.unlock();
        raw->wake();
        raw->thread.join();
        return e;
    }
    lk.unlock();
    return std::unique_ptr<client>(new client(std::move(p)));
}

status client::subscribe(const std::vector<subscription>& list, std::chrono::milliseconds timeout) {
    auto& s = *impl_;
    for (const auto& sub : list) {
        if (!valid_topic_filter(sub.filter))
            return fail(errc::invalid_argument, "invalid MQTT topic filter '" + sub.filter + "'");
        if (sub.options.qos > 2)
            return fail(errc::invalid_argument, "QoS must be 0, 1 or 2");
    }
    std::unique_lock lk(s.mu);
    auto& ss = *s.sess;
    // With MQTT 5 each subscription gets its own SUBSCRIBE and identifier, so that messages say
    // which subscription they matched.
    std::vector<std::uint16_t> pids;
    if (ss.per_subscription_ids()) {
        for (const auto& sub : list)
            pids.push_back(ss.queue_subscribe({sub}, ss.subscription_count() + pids.size() + 1));
    } else {
        pids.push_back(ss.queue_subscribe(list, 0));
    }
    bool done = s.cv_state.wait_for(lk, timeout, [&] {
        return s.stopping || std::all_of(pids.begin(), pids.end(),
                                         [&](std::uint16_t pid) { return ss.subscribe_done(pid); });
    });
    std::string refused;
    for (auto pid : pids) {
        std::string r = ss.finish_subscribe(pid, done);
        if (!r.empty())
            refused += (refused.empty() ? "" : "; ") + r;
    }
    if (!done)
        return fail(errc::timeout, "no SUBACK from the MQTT broker in time");
    if (s.stopping)
        return fail(errc::cancelled, "client stopped");
    if (!refused.empty())
        return error(errc::permission_denied, retry_class::fatal,
                     "the MQTT broker refused the subscription " + refused);
    ss.add_subscriptions(list);
    return ok();
}

std::size_t client::receive(std::vector<message>& out, std::size_t max,
                            std::chrono::milliseconds wait) {
    auto& s = *impl_;
    std::unique_lock lk(s.mu);
    if (s.sess->inbound_size() == 0 && wait.count() > 0)
        s.cv_inbound.wait_for(lk, wait, [&] { return s.sess->inbound_size() > 0 || s.stopping; });
    std::size_t n = s.sess->take_inbound(out, max);
    if (n > 0 && s.paused && s.sess->inbound_size() < s.opts.max_queued) {
        s.paused = false;
        s.wake();
    }
    return n;
}

void client::acknowledge(std::span<const std::uint64_t> handles) {
    std::lock_guard lk(impl_->mu);
    impl_->sess->acknowledge(handles);
}

void client::reject(std::span<const std::uint64_t> handles) {
    auto& s = *impl_;
    std::lock_guard lk(s.mu);
    if (s.sess->reject(handles) && s.sess->connected()) {
        s.reconnect_requested = true;
        s.wake();
    }
}

result<std::uint64_t> client::publish(const publish_packet& p, clock::time_point deadline) {
    auto& s = *impl_;
    if (!valid_topic_name(p.topic))
        return error(errc::invalid_argument, retry_class::fatal,
                     "invalid MQTT topic name '" + std::string(p.topic) + "'");
    if (p.qos > 2)
        return error(errc::invalid_argument, retry_class::fatal, "QoS must be 0, 1 or 2");
    std::unique_lock lk(s.mu);
    if (s.stopping)
        return fail(errc::cancelled, "client stopped");
    TRIB_TRY(s.sess->check_publish(p));
    if (p.qos > 0) {
        if (!s.cv_space.wait_until(lk, deadline, [&] { return s.stopping || s.sess->has_room(); }))
            return fail(errc::timeout,
                        "no room to publish: the broker has not acknowledged earlier "
                        "messages in time");
        if (s.stopping)
            return fail(errc::cancelled, "client stopped");
    }
    return s.sess->publish(p);
}

result<std::vector<client::refusal>> client::wait_published(std::uint64_t ticket,
                                                            clock::time_point deadline) {
    auto& s = *impl_;
    std::unique_lock lk(s.mu);
    auto finished = [&] { return s.sess->published_through(ticket) || s.stopping; };
    if (!s.cv_state.wait_until(lk, deadline, finished)) {
        std::string why =
            s.sess->connected() ? "" : " (disconnected: " + s.last_err.message() + ")";
        return fail(errc::timeout,
                    "the MQTT broker did not acknowledge the messages in time" + why);
    }
    auto out = s.sess->take_refusals(ticket);
    if (s.stopping && !s.sess->published_through(ticket))
        return fail(errc::cancelled, "client stopped");
    return out;
}

bool client::connected() const {
    std::lock_guard lk(impl_->mu);
    return impl_->sess->connected();
}

error client::last_error() const {
    std::lock_guard lk(impl_->mu);
    return impl_->last_err;
}

client_stats client::stats() const {
    const auto& s = *impl_;
    std::lock_guard lk(s.mu);
    return {s.st_received,        s.sess->duplicates(), s.sess->acknowledged(), s.sess->published(),
            s.st_connects.load(), s.st_bytes_in.load(), s.st_bytes_out.load()};
}

protocol_version client::version() const {
    return impl_->opts.version;
}

bool client::session_present() const {
    std::lock_guard lk(impl_->mu);
    return impl_->sess->session_present();
}

void client::drop_connection() {
    std::lock_guard lk(impl_->mu);
    impl_->reconnect_requested = true;
    impl_->wake();
}

}  // namespace trib::mqtt
