// Over 1,000 lines on purpose: the Beast/Asio I/O (accept loop, rejection, the connection state
// machine for plain and TLS streams, async completion) stays one translation unit because Beast
// is heavy to compile and nothing else may see it. What needs no socket is in router.cpp and
// message.cpp.
//
// The HTTP server's I/O: Beast and Asio are heavy to compile, and nothing outside this file sees
// them. The routing table (router.cpp) and the request/response helpers (message.cpp) need no
// socket and live apart.

#include "http/server.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <exception>
#include <future>
#include <limits>
#include <mutex>
#include <set>
#include <thread>

#include "core/metrics.h"
#include "http/json.h"
#include "http/message.h"
#include "http/router.h"

namespace trib::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using boost::system::error_code;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// ---- small public pieces ---------------------------------------------------------------------

namespace {

/// The first coding listed in the `name` fields of `h` that is not `allowed`, lowercased and
/// cut to 64 bytes; empty when every coding is `allowed`.
template <class Fields>
std::string coding_other_than(const Fields& h, bhttp::field name, std::string_view allowed) {
    for (const auto& f : h) {
        if (f.name() != name)
            continue;
        std::string_view v(f.value().data(), f.value().size());
        while (!v.empty()) {
            const auto comma = v.find(',');
            std::string_view tok = v.substr(0, comma);
            v = comma == std::string_view::npos ? std::string_view{} : v.substr(comma + 1);
            tok = trim(tok.substr(0, tok.find(';')));
            if (tok.empty() || iequals(tok, allowed))
                continue;
            std::string out;
            for (char c : tok.substr(0, 64))
                out.push_back(ascii_lower(c));
            return out;
        }
    }
    return {};
}

std::string_view sv(boost::core::string_view s) {
    return {s.data(), s.size()};
}

}  // namespace

namespace {
class conn_base {
  public:
    virtual ~conn_base() = default;
    /// Any thread: the server stops; an idle connection closes now.
    virtual void notify_stop() = 0;
    /// Any thread: the deadline passed; close whatever is going on.
    virtual void force_close() = 0;
    /// Any thread: runs `fn` on the connection's strand.
    virtual void post(std::function<void()> fn) = 0;
};
}  // namespace

// ---- asynchronous completion -----------------------------------------------------------------

namespace detail {

/// One asynchronous request in progress. `state`: 0 waiting, 1 sent, 2 abandoned by the server.
struct pending_state {
    std::shared_ptr<http::request> req;
    // Weak references only: a responder may outlive the server, and nothing that holds a strand
    // or a socket may outlive its io_context.
    std::weak_ptr<void> server_life;  // the server's impl, which owns the io_context
    std::weak_ptr<conn_base> conn;    // whose strand runs the completion
    std::atomic<int> state{0};
    std::optional<response> resp;          // on the strand only
    asio::steady_timer* waiter = nullptr;  // on the strand only; null once nobody waits

    static bool deliver(const std::shared_ptr<pending_state>& st, response r) {
        int expected = 0;
        if (!st->state.compare_exchange_strong(expected, 1, std::memory_order_acq_rel))
            return false;
        // The server first, so that the io_context outlives the connection reference below.
        auto life = st->server_life.lock();
        if (!life)
            return false;
        auto c = st->conn.lock();
        if (!c)
            return false;
        c->post([st, r = std::move(r)]() mutable {
            st->resp = std::move(r);
            if (st->waiter != nullptr)
                st->waiter->cancel();
        });
        return true;
    }
    static responder make_responder(std::shared_ptr<responder_token> t) {
        return responder(std::move(t));
    }
};

/// Shared by the copies of one responder: the last copy to go answers 500 if nobody did.
struct responder_token {
    std::shared_ptr<pending_state> st;
    explicit responder_token(std::shared_ptr<pending_state> s) : st(std::move(s)) {}
    responder_token(const responder_token&) = delete;
    responder_token& operator=(const responder_token&) = delete;
    ~responder_token() {
        if (st->state.load(std::memory_order_acquire) == 0) {
            pending_state::deliver(st,
                                   response::error_json(500, "the handler dropped the request"));
        }
    }
};

}  // namespace detail

bool responder::send(response r) const {
    return token_ && detail::pending_state::deliver(token_->st, std::move(r));
}

const request& responder::request() const {
    return *token_->st->req;
}

bool responder::done() const {
    return !token_ || token_->st->state.load(std::memory_order_acquire) != 0;
}

// ---- the server ------------------------------------------------------------------------------

namespace {

/// A registered route: its handler and what the server keeps for it (the router matches paths).
struct route_entry {
    std::string method;
    std::string pattern;
    handler sync;
    async_handler async;
    route_options opts;
    std::unique_ptr<concurrency_gate> gate;
    std::array<trib::counter*, 6> by_class{};  // index status / 100
    trib::histogram* latency = nullptr;
};

struct route_match {
    route_entry* route = nullptr;
    bool path_found = false;
    bool bad_encoding = false;
    std::vector<std::string> allow;
};

}  // namespace

struct server::impl : std::enable_shared_from_this<server::impl> {
    server_config cfg;
    std::vector<std::unique_ptr<route_entry>> routes;  // by id (registration order)
    router table;
    std::optional<ssl::context> tls_ctx;
    std::vector<std::string> allowed_origins_lower;

    std::atomic<bool> running{false};
    std::atomic<bool> stopping{false};
    std::atomic<std::uint16_t> bound_port{0};

    std::mutex mu;
    std::condition_variable cv;
    std::set<std::shared_ptr<conn_base>> conns;

    std::atomic<std::uint64_t> connections_total{0};
    std::atomic<std::uint64_t> connections_rejected{0};
    std::atomic<std::uint64_t> requests_total{0};
    std::atomic<std::uint64_t> requests_in_flight{0};

    trib::gauge* conn_gauge = nullptr;
    std::array<trib::counter*, 6> unmatched_by_class{};
    trib::histogram* unmatched_latency = nullptr;

    std::vector<std::thread> threads;
    // Declared last among the Asio objects' owners: destroyed first, so that coroutine frames
    // it still holds are destroyed while the routes and gates above are alive.
    asio::io_context ioc;
    std::optional<tcp::acceptor> acceptor;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

    explicit impl(server_config c) : cfg(std::move(c)) {}
    ~impl() {
        // Connections that never finished (stop() gave up on them) own sockets: close them while
        // the io_context still exists.
        std::lock_guard lk(mu);
        conns.clear();
    }

    route_match lookup(std::string_view method, std::string_view path, param_map& params) {
        route_lookup l = table.lookup(method, path, params);
        route_match m;
        m.route = l.id ? routes[*l.id].get() : nullptr;
        m.path_found = l.path_found;
        m.bad_encoding = l.bad_encoding;
        m.allow = std::move(l.allow);
        return m;
    }

    bool api_key_ok(const request& r) const { return http::api_key_ok(cfg.api_key, r); }

    bool is_public_path(std::string_view path) const {
        return std::find(cfg.public_paths.begin(), cfg.public_paths.end(), path) !=
               cfg.public_paths.end();
    }

    response preflight(const request& r) const { return cors_preflight(cfg.cors, r); }

    void apply_cors(const request& r, response& res) const { http::apply_cors(cfg.cors, r, res); }

    void record(const route_entry* r, int status, std::chrono::steady_clock::duration took) {
        if (cfg.metrics == nullptr)
            return;
        std::size_t cls = static_cast<std::size_t>(std::clamp(status / 100, 1, 5));
        const auto& by_class = r ? r->by_class : unmatched_by_class;
        if (by_class[cls] != nullptr)
            by_class[cls]->inc();
        if (auto* h = r ? r->latency : unmatched_latency)
            h->observe(took);
    }

    void register_metrics() {
        if (cfg.metrics == nullptr)
            return;
        auto& m = *cfg.metrics;
        conn_gauge =
            &m.gauge("trib_http_connections", "Open HTTP connections.", {{"server", cfg.name}});
        auto reg = [&](std::array<trib::counter*, 6>& by_class, trib::histogram*& latency,
                       const std::string& route, const std::string& method) {
            for (std::size_t c = 1; c <= 5; ++c) {
                by_class[c] = &m.counter("trib_http_requests_total", "HTTP requests answered.",
                                         {{"server", cfg.name},
                                          {"route", route},
                                          {"method", method},
                                          {"code", std::to_string(c) + "xx"}});
            }
            latency = &m.histogram("trib_http_request_duration_seconds",
                                   "Time from the end of the request header to the response.",
                                   {{"server", cfg.name}, {"route", route}, {"method", method}});
        };
        for (auto& r : routes)
            reg(r->by_class, r->latency, r->pattern, r->method);
        reg(unmatched_by_class, unmatched_latency, "", "");
    }

    void conn_started(std::shared_ptr<conn_base> c) {
        {
            std::lock_guard lk(mu);
            conns.insert(std::move(c));
        }
        connections_total.fetch_add(1, std::memory_order_relaxed);
        if (conn_gauge)
            conn_gauge->inc();
    }

    void conn_ended(conn_base* c) {
        {
            std::lock_guard lk(mu);
            for (auto it = conns.begin(); it != conns.end(); ++it) {
                if (it->get() == c) {
                    conns.erase(it);
                    break;
                }
            }
        }
        cv.notify_all();
        if (conn_gauge)
            conn_gauge->dec();
    }

    std::size_t open_connections() {
        std::lock_guard lk(mu);
        return conns.size();
    }

    asio::awaitable<void> accept_loop();
    asio::awaitable<void> reject(tcp::socket sock);
    void start_connection(tcp::socket sock);
};

namespace {
void log_coroutine_exception(std::exception_ptr e) {
    if (!e)
        return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        spdlog::error("http: connection task failed: {}", ex.what());
    } catch (...) {
        spdlog::error("http: connection task failed");
    }
}
}  // namespace

namespace {

template <class Stream>
constexpr bool is_tls_stream = !std::is_same_v<Stream, tcp::socket>;

/// One client connection: reads requests one after the other and answers them in order.
/// Everything runs on the connection's strand.
template <class Stream>
class connection final : public conn_base, public std::enable_shared_from_this<connection<Stream>> {
  public:
    template <class... Args>
    connection(server::impl& srv, Args&&... args)
        : srv_(srv), stream_(std::forward<Args>(args)...), timer_(stream_.get_executor()) {
        error_code ec;
        auto ep = lowest().remote_endpoint(ec);
        if (!ec) {
            remote_address_ = ep.address().to_string();
            remote_port_ = ep.port();
        }
    }

    asio::any_io_executor executor() { return stream_.get_executor(); }

    void notify_stop() override {
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
            if (self->idle_) {
                error_code ig;
                self->lowest().cancel(ig);
            }
        });
    }

    void post(std::function<void()> fn) override {
        asio::post(stream_.get_executor(), std::move(fn));
    }

    void force_close() override {
        asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
            self->closing_ = true;
            error_code ig;
            self->lowest().cancel(ig);
            self->lowest().close(ig);
            if (self->pending_ && self->pending_->waiter)
                self->pending_->waiter->cancel();
        });
    }

    asio::awaitable<void> run() {
        auto self = this->shared_from_this();
        co_await serve();
        error_code ig;
        lowest().close(ig);
        ended_ = true;
        timer_.cancel();
        srv_.conn_ended(this);
    }

  private:
    tcp::socket& lowest() { return beast::get_lowest_layer(stream_); }

    /// Arms the connection's single deadline: when it passes, pending I/O is cancelled and
    /// timed_out_ tells the waiting code why. The timer is re-armed lazily: moving the deadline
    /// later only records it (the timer, when it fires early, waits again), so the usual
    /// request cycle costs no timer system calls.
    void arm(std::chrono::milliseconds d) {
        timed_out_ = false;
        deadline_ = std::chrono::steady_clock::now() + d;
        if (!timer_waiting_ || timer_.expiry() > deadline_) {
            timer_.expires_at(deadline_);  // aborts a pending wait, whose handler then returns
            start_wait();
        }
    }
    void disarm() { deadline_ = std::chrono::steady_clock::time_point::max(); }

    void start_wait() {
        timer_waiting_ = true;
        timer_.async_wait([self = this->shared_from_this()](error_code ec) {
            if (ec)
                return;  // replaced by a new wait, or the connection ended
            self->on_timer();
        });
    }
    void on_timer() {
        timer_waiting_ = false;
        if (ended_ || deadline_ == std::chrono::steady_clock::time_point::max())
            return;  // nothing is timed now; the next arm() starts a wait
        if (std::chrono::steady_clock::now() < deadline_) {
            timer_.expires_at(deadline_);
            start_wait();
            return;
        }
        deadline_ = std::chrono::steady_clock::time_point::max();
        timed_out_ = true;
        error_code ig;
        lowest().cancel(ig);
    }

    asio::awaitable<bool> write(response r, bool head, bool keep, unsigned version) {
        bhttp::response<bhttp::string_body> res;
        res.version(version);
        res.result(static_cast<unsigned>(r.status));
        res.set(bhttp::field::server, "tributary");
        for (const auto& [k, v] : r.headers)
            res.set(k, v);
        bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
        if (!bodiless) {
            if (!r.content_type.empty() && !r.headers.count("Content-Type"))
                res.set(bhttp::field::content_type, r.content_type);
            res.body() = std::move(r.body);
            res.prepare_payload();
            if (head)
                res.body().clear();  // HEAD: the GET's headers (Content-Length included) only
        }
        res.keep_alive(keep);
        arm(srv_.cfg.write_timeout);
        auto [ec, n] = co_await bhttp::async_write(stream_, res, use_tuple);
        disarm();
        co_return !ec;
    }

    /// For an answer given without reading the request body: let the client finish sending
    /// (up to a bound) so that it reads our response instead of a connection reset.
    asio::awaitable<void> linger() {
        if constexpr (!is_tls_stream<Stream>) {
            error_code ig;
            lowest().shutdown(tcp::socket::shutdown_send, ig);
            std::array<char, 16384> scratch{};
            std::size_t drained = 0;
            arm(std::chrono::milliseconds(2000));
            while (drained < (8u << 20) && !timed_out_ && !closing_) {
                auto [ec, n] = co_await lowest().async_read_some(asio::buffer(scratch), use_tuple);
                if (ec)
                    break;
                drained += n;
            }
            disarm();
        }
        co_return;
    }

    asio::awaitable<void> close_gracefully() {
        if constexpr (is_tls_stream<Stream>) {
            if (!closing_) {
                arm(std::chrono::milliseconds(1000));
                auto [ec] = co_await stream_.async_shutdown(use_tuple);
                disarm();
            }
        } else {
            error_code ig;
            lowest().shutdown(tcp::socket::shutdown_send, ig);
        }
        co_return;
    }

    asio::awaitable<response> run_async(route_entry& r, std::shared_ptr<request> req) {
        auto st = std::make_shared<detail::pending_state>();
        st->req = std::move(req);
        st->server_life = srv_.weak_from_this();
        st->conn = std::weak_ptr<conn_base>(this->shared_from_this());
        asio::steady_timer waiter(stream_.get_executor());
        auto timeout =
            r.opts.async_timeout.count() > 0 ? r.opts.async_timeout : srv_.cfg.async_timeout;
        waiter.expires_after(timeout);
        st->waiter = &waiter;
        pending_ = st;
        {
            responder done = detail::pending_state::make_responder(
                std::make_shared<detail::responder_token>(st));
            try {
                r.async(*st->req, done);
            } catch (const std::exception& e) {
                spdlog::warn("http {}: handler for {} {} threw: {}", srv_.cfg.name, r.method,
                             r.pattern, e.what());
                done.send(response::error_json(500, "internal error"));
            }
        }  // if the handler kept no copy, the token has already queued a 500
        while (!st->resp && !closing_) {
            auto [ec] = co_await waiter.async_wait(use_tuple);
            if (st->resp || closing_)
                break;
            if (!ec) {
                // Timed out. A send() that won the race is already queued on this strand: take
                // it; otherwise give up on the handler.
                int expected = 0;
                if (st->state.compare_exchange_strong(expected, 2, std::memory_order_acq_rel))
                    break;
                waiter.expires_after(std::chrono::milliseconds(1000));
            }
        }
        st->waiter = nullptr;
        pending_.reset();
        int expected = 0;
        st->state.compare_exchange_strong(expected, 2, std::memory_order_acq_rel);
        if (st->resp)
            co_return std::move(*st->resp);
        co_return response::overloaded(503, std::chrono::seconds(1),
                                       "timed out waiting for the handler");
    }

    asio::awaitable<void> serve() {
        const server_config& cfg = srv_.cfg;
        if constexpr (is_tls_stream<Stream>) {
            arm(cfg.header_timeout);
            auto [ec] = co_await stream_.async_handshake(ssl::stream_base::server, use_tuple);
            disarm();
            if (ec) {
                spdlog::debug("http {}: TLS handshake with {} failed: {}", cfg.name,
                              remote_address_, ec.message());
                co_return;
            }
        }
        std::size_t served = 0;
        for (;;) {
            // Wait for the next request's first bytes without a parser, so that an idle
            // kept-alive connection can be told apart from a slow request (and closed at once on
            // stop). Reading through the stream (not waiting on the socket) matters for TLS:
            // the first request often arrives with the handshake and sits in the TLS layer.
            if (buf_.size() == 0) {
                if (srv_.stopping.load())
                    break;
                idle_ = true;
                arm(cfg.idle_timeout);
                auto [ec, n] = co_await stream_.async_read_some(buf_.prepare(4096), use_tuple);
                disarm();
                idle_ = false;
                if (!ec)
                    buf_.commit(n);
                if (ec || closing_)
                    break;
            }

            bhttp::request_parser<bhttp::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(cfg.header_limit));
            parser.body_limit(boost::none);  // checked per route below
            arm(cfg.header_timeout);
            auto [hec, hn] = co_await bhttp::async_read_header(stream_, buf_, parser, use_tuple);
            disarm();
            if (hec) {
                if (closing_ || hec == bhttp::error::end_of_stream)
                    break;
                if (timed_out_) {
                    co_await write(response::error_json(408, "request header timeout"), false,
                                   false, 11);
                } else if (hec == bhttp::error::header_limit) {
                    co_await write(response::error_json(431, "request header too large"), false,
                                   false, 11);
                } else if (hec.category() ==
                           bhttp::make_error_code(bhttp::error::bad_method).category()) {
                    co_await write(response::error_json(400, "malformed request"), false, false,
                                   11);
                }
                break;
            }
            ++served;
            srv_.requests_total.fetch_add(1, std::memory_order_relaxed);
            srv_.requests_in_flight.fetch_add(1, std::memory_order_relaxed);
            struct in_flight_guard {
                std::atomic<std::uint64_t>& n;
                ~in_flight_guard() { n.fetch_sub(1, std::memory_order_relaxed); }
            } guard{srv_.requests_in_flight};
            auto started = std::chrono::steady_clock::now();

            auto& hreq = parser.get();
            auto req = std::make_shared<request>();
            req->method = std::string(sv(hreq.method_string()));
            req->target = std::string(sv(hreq.target()));
            split_target(*req);
            for (const auto& f : hreq) {
                auto [it, inserted] =
                    req->headers.try_emplace(std::string(sv(f.name_string())), sv(f.value()));
                if (!inserted) {
                    it->second += ", ";
                    it->second += sv(f.value());
                }
            }
            req->remote_address = remote_address_;
            req->remote_port = remote_port_;
            req->tls = is_tls_stream<Stream>;
            req->version = hreq.version();
            bool head = req->method == "HEAD";
            bool keep =
                hreq.keep_alive() && !srv_.stopping.load() &&
                (cfg.max_requests_per_connection == 0 || served < cfg.max_requests_per_connection);
            bool body_pending = !parser.is_done();

            std::optional<response> early;
            route_entry* route = nullptr;
            concurrency_gate::ticket ticket;
            if (cfg.cors.enabled && req->method == "OPTIONS" && !req->header("origin").empty() &&
                !req->header("access-control-request-method").empty()) {
                early = srv_.preflight(*req);
            } else {
                auto m = srv_.lookup(req->method, req->path, req->params);
                route = m.route;
                bool is_public =
                    (route && route->opts.public_route) || srv_.is_public_path(req->path);
                if (m.bad_encoding) {
                    early = response::error_json(400, "bad percent-encoding in the path");
                } else if (!is_public && !srv_.api_key_ok(*req)) {
                    // Before 404/405: without the key, nothing about the routes is revealed.
                    early = response::error_json(401, "missing or wrong API key");
                    early->headers["WWW-Authenticate"] = "Bearer";
                } else if (route == nullptr && m.path_found) {
                    if (req->method == "OPTIONS") {
                        early = response::empty(204);
                    } else {
                        early = response::error_json(405, "method not allowed");
                    }
                    early->headers["Allow"] = allow_header(m.allow);
                } else if (route == nullptr) {
                    early = response::error_json(404, "not found");
                } else if (route->gate) {
                    ticket = route->gate->try_acquire();
                    if (!ticket) {
                        early = response::overloaded(route->opts.overload_status,
                                                     route->opts.retry_after,
                                                     "too many requests in progress");
                    }
                }
            }

            // Codings nothing here decodes, for every route. Transfer codings other than chunked
            // (RFC 9112 6.1: 501): Beast would frame "gzip" alone as no body (the rest of the
            // stream read as the next request) and hand "gzip, chunked" over still gzipped.
            // Content codings (415, RFC 7694's Accept-Encoding: identity): handlers would see
            // compressed bytes; refusing before the body is read leaves no room for zip bombs.
            bool refuse_coding = false;
            if (auto te = coding_other_than(hreq, bhttp::field::transfer_encoding, "chunked");
                !te.empty()) {
                early = response::error_json(
                    501, "Transfer-Encoding '" + te + "' is not implemented (only chunked)");
                refuse_coding = true;
            } else if (auto ce =
                           coding_other_than(hreq, bhttp::field::content_encoding, "identity");
                       !ce.empty() && !early) {
                early = response::error_json(
                    415, "Content-Encoding '" + ce + "' is not supported (send it uncompressed)");
                early->headers["Accept-Encoding"] = "identity";
                refuse_coding = true;
            }

            bool reject_body = refuse_coding;
            if (!early && body_pending) {
                std::size_t limit =
                    route->opts.body_limit != 0 ? route->opts.body_limit : cfg.body_limit;
                auto declared = parser.content_length();
                if (declared && *declared > limit) {
                    early = response::error_json(413, "request body too large");
                    reject_body = true;
                } else {
                    auto expect = hreq[bhttp::field::expect];
                    if (iequals(sv(expect), "100-continue")) {
                        bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
                        arm(cfg.write_timeout);
                        auto [cec, cn] = co_await bhttp::async_write(stream_, cont, use_tuple);
                        disarm();
                        if (cec)
                            break;
                    }
                    parser.body_limit(static_cast<std::uint64_t>(limit));
                    arm(cfg.body_timeout);
                    auto [bec, bn] = co_await bhttp::async_read(stream_, buf_, parser, use_tuple);
                    disarm();
                    if (bec) {
                        if (closing_)
                            break;
                        if (bec == bhttp::error::body_limit) {
                            early = response::error_json(413, "request body too large");
                            reject_body = true;
                        } else if (timed_out_) {
                            early = response::error_json(408, "request body timeout");
                            keep = false;
                        } else {
                            break;  // the client went away mid-body
                        }
                    }
                }
            } else if (early && body_pending) {
                reject_body = true;  // answered without reading the body
            }
            if (reject_body)
                keep = false;

            response res;
            if (early) {
                res = std::move(*early);
                if (route != nullptr && route->opts.on_refused)
                    route->opts.on_refused(res.status);
            } else {
                req->body = std::move(hreq.body());
                if (route->sync) {
                    try {
                        res = route->sync(*req);
                    } catch (const std::exception& e) {
                        spdlog::warn("http {}: handler for {} {} threw: {}", cfg.name,
                                     route->method, route->pattern, e.what());
                        res = response::error_json(500, "internal error");
                    }
                } else {
                    res = co_await run_async(*route, req);
                    if (closing_)
                        break;
                }
            }
            ticket.release();
            srv_.apply_cors(*req, res);
            if (srv_.stopping.load())
                keep = false;
            // Counted before the write so that a client that has the answer sees it counted.
            srv_.record(route, res.status, std::chrono::steady_clock::now() - started);
            bool written = co_await write(std::move(res), head, keep, req->version);
            if (!written)
                co_return;
            if (reject_body) {
                co_await linger();
                co_return;
            }
            if (!keep)
                break;
        }
        co_await close_gracefully();
    }

    server::impl& srv_;
    Stream stream_;
    beast::flat_buffer buf_;
    asio::steady_timer timer_;
    std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
    bool timer_waiting_ = false;
    bool ended_ = false;
    bool timed_out_ = false;
    bool idle_ = false;
    bool closing_ = false;
    std::shared_ptr<detail::pending_state> pending_;
    std::string remote_address_;
    std::uint16_t remote_port_ = 0;
};

}  // namespace

void server::impl::start_connection(tcp::socket sock) {
    error_code ig;
    sock.set_option(tcp::no_delay(true), ig);
    if (tls_ctx) {
        auto c = std::make_shared<connection<ssl::stream<tcp::socket>>>(*this, std::move(sock),
                                                                        *tls_ctx);
        conn_started(c);
        asio::co_spawn(c->executor(), c->run(), log_coroutine_exception);
    } else {
        auto c = std::make_shared<connection<tcp::socket>>(*this, std::move(sock));
        conn_started(c);
        asio::co_spawn(c->executor(), c->run(), log_coroutine_exception);
    }
}

asio::awaitable<void> server::impl::reject(tcp::socket sock) {
    // Over the connection limit: a plain-HTTP client gets a real 503 (it can back off); a TLS
    // client just sees the connection close (answering would cost a handshake).
    error_code ig;
    if (!tls_ctx) {
        static constexpr std::string_view msg =
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: "
            "application/json\r\nContent-Length: 40\r\nConnection: close\r\n\r\n"
            "{\"error\":\"too many connections, retry\"}\n";
        auto [ec, n] = co_await asio::async_write(sock, asio::buffer(msg), use_tuple);
        sock.shutdown(tcp::socket::shutdown_send, ig);
        if (!ec) {
            // Drain briefly so the client reads the 503 rather than a reset.
            asio::steady_timer t(sock.get_executor());
            t.expires_after(std::chrono::milliseconds(500));
            t.async_wait([&sock](error_code e) {
                if (!e) {
                    error_code i2;
                    sock.cancel(i2);
                }
            });
            std::array<char, 4096> scratch{};
            for (;;) {
                auto [rec, rn] = co_await sock.async_read_some(asio::buffer(scratch), use_tuple);
                if (rec)
                    break;
            }
            t.cancel();
        }
    }
    sock.close(ig);
}

asio::awaitable<void> server::impl::accept_loop() {
    // No shared_from_this here: a frame left in the stopped io_context must not keep the impl
    // (which owns that io_context) alive. stop() joins the threads before the impl goes.
    for (;;) {
        // Each connection gets its own strand (any_io_executor keeps the socket type plain).
        asio::any_io_executor conn_ex = asio::make_strand(ioc);
        auto [ec, sock] = co_await acceptor->async_accept(conn_ex, use_tuple);
        if (stopping.load() || !acceptor->is_open())
            co_return;
        if (ec) {
            spdlog::warn("http {}: accept failed: {}", cfg.name, ec.message());
            if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
                // Out of file descriptors: give connections time to close instead of spinning.
                asio::steady_timer t(acceptor->get_executor());
                t.expires_after(std::chrono::milliseconds(100));
                co_await t.async_wait(use_tuple);
            }
            continue;
        }
        if (open_connections() >= cfg.max_connections) {
            connections_rejected.fetch_add(1, std::memory_order_relaxed);
            auto ex = sock.get_executor();
            asio::co_spawn(ex, reject(std::move(sock)), log_coroutine_exception);
            continue;
        }
        start_connection(std::move(sock));
    }
}

// ---- server ----------------------------------------------------------------------------------

server::server(server_config cfg) : impl_(std::make_shared<impl>(std::move(cfg))) {}

server::~server() {
    stop(impl_->cfg.shutdown_timeout);
}

void server::route(std::string method, std::string pattern, handler h, route_options opts) {
    auto r = std::make_unique<route_entry>();
    impl_->table.add(method, pattern, impl_->routes.size());
    r->method = std::move(method);
    r->pattern = std::move(pattern);
    r->sync = std::move(h);
    r->opts = opts;
    impl_->routes.push_back(std::move(r));
}

void server::route_async(std::string method, std::string pattern, async_handler h,
                         route_options opts) {
    auto r = std::make_unique<route_entry>();
    impl_->table.add(method, pattern, impl_->routes.size());
    r->method = std::move(method);
    r->pattern = std::move(pattern);
    r->async = std::move(h);
    r->opts = opts;
    impl_->routes.push_back(std::move(r));
}

status server::start() {
    impl& s = *impl_;
    if (s.running.load())
        return fail(errc::failed_precondition, "http server " + s.cfg.name + " already started");
    if (s.stopping.load())
        return fail(errc::failed_precondition,
                    "http server " + s.cfg.name + " was stopped; make a new one");

    // Most specific first: literal segments before parameters before the rest.
    s.table.sort();
    for (auto& r : s.routes) {
        if (r->opts.max_in_flight > 0)
            r->gate = std::make_unique<concurrency_gate>(r->opts.max_in_flight);
    }

    if (s.cfg.tls) {
        try {
            s.tls_ctx.emplace(ssl::context::tls_server);
            s.tls_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                                   ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
            s.tls_ctx->use_certificate_chain_file(s.cfg.tls->cert_file);
            s.tls_ctx->use_private_key_file(s.cfg.tls->key_file, ssl::context::pem);
        } catch (const boost::system::system_error& e) {
            s.tls_ctx.reset();
            return fail(errc::invalid_argument,
                        "http server " + s.cfg.name + ": cannot load TLS certificate/key (" +
                            s.cfg.tls->cert_file + ", " + s.cfg.tls->key_file + "): " + e.what());
        }
    }

    error_code ec;
    auto addr = asio::ip::make_address(s.cfg.address, ec);
    if (ec)
        return fail(errc::invalid_argument,
                    "http server " + s.cfg.name + ": bad address '" + s.cfg.address + "'");
    tcp::endpoint ep(addr, s.cfg.port);
    s.acceptor.emplace(asio::make_strand(s.ioc));
    auto& acc = *s.acceptor;
    std::string where = s.cfg.address + ":" + std::to_string(s.cfg.port);
    if (acc.open(ep.protocol(), ec); ec)
        return fail(errc::io_error, "http server " + s.cfg.name + ": socket: " + ec.message());
    if (acc.set_option(asio::socket_base::reuse_address(true), ec); ec)
        return fail(errc::io_error, "http server " + s.cfg.name + ": " + ec.message());
    if (acc.bind(ep, ec); ec) {
        acc.close(ec);
        return fail(errc::unavailable,
                    "http server " + s.cfg.name + ": cannot bind " + where + ": " + ec.message());
    }
    if (acc.listen(asio::socket_base::max_listen_connections, ec); ec)
        return fail(errc::io_error, "http server " + s.cfg.name + ": listen: " + ec.message());
    s.bound_port = acc.local_endpoint().port();

    s.register_metrics();
    s.work.emplace(s.ioc.get_executor());
    asio::co_spawn(acc.get_executor(), s.accept_loop(), log_coroutine_exception);
    s.running = true;
    unsigned n = std::max(1u, s.cfg.threads);
    for (unsigned i = 0; i < n; ++i) {
        s.threads.emplace_back([&s] { s.ioc.run(); });
    }
    spdlog::info("http {}: listening on {}:{}{}", s.cfg.name, s.cfg.address, s.bound_port.load(),
                 s.cfg.tls ? " (TLS)" : "");
    return ok();
}

std::uint16_t server::port() const {
    return impl_->bound_port.load();
}

bool server::running() const {
    return impl_->running.load();
}

server_stats server::stats() const {
    server_stats st;
    st.connections_total = impl_->connections_total.load();
    st.connections_open = impl_->open_connections();
    st.connections_rejected = impl_->connections_rejected.load();
    st.requests_total = impl_->requests_total.load();
    st.requests_in_flight = impl_->requests_in_flight.load();
    return st;
}

void server::stop(std::chrono::milliseconds deadline) {
    impl& s = *impl_;
    for (const auto& t : s.threads) {
        if (t.get_id() == std::this_thread::get_id()) {
            spdlog::error("http {}: stop() called from a handler thread; ignored", s.cfg.name);
            return;
        }
    }
    bool was_running = s.running.exchange(false);
    s.stopping = true;
    if (!was_running && s.threads.empty())
        return;
    auto until = std::chrono::steady_clock::now() + deadline;
    if (s.acceptor) {
        std::promise<void> closed;
        auto done = closed.get_future();
        asio::post(s.acceptor->get_executor(), [&s, &closed] {
            error_code ig;
            s.acceptor->close(ig);
            closed.set_value();
        });
        done.wait_until(until);
    }
    std::vector<std::shared_ptr<conn_base>> snapshot;
    {
        std::lock_guard lk(s.mu);
        snapshot.assign(s.conns.begin(), s.conns.end());
    }
    for (auto& c : snapshot)
        c->notify_stop();
    {
        std::unique_lock lk(s.mu);
        s.cv.wait_until(lk, until, [&] { return s.conns.empty(); });
        snapshot.assign(s.conns.begin(), s.conns.end());
    }
    if (!snapshot.empty()) {
        spdlog::warn("http {}: closing {} connection(s) still busy at the stop deadline",
                     s.cfg.name, snapshot.size());
        for (auto& c : snapshot)
            c->force_close();
        std::unique_lock lk(s.mu);
        s.cv.wait_for(lk, std::chrono::milliseconds(1000), [&] { return s.conns.empty(); });
    }
    s.work.reset();
    s.ioc.stop();
    for (auto& t : s.threads) {
        if (t.joinable())
            t.join();
    }
    s.threads.clear();
}

}  // namespace trib::http
