// The embedded server's network layer: a TCP (optionally TLS) listener on Boost.Asio with one
// C++20 coroutine per connection. Each connection reads a 256-byte header, then the body, hands
// the frame to the broker and writes the reply: lockstep, as Iggy's clients are.
//
// Limits before login (docs/security.md): a cap on open and on not-logged-in connections, a
// login timeout, and a small frame limit; a body buffer grows only as its bytes arrive, so a
// header that announces 64 MiB costs nothing until 64 MiB are sent.

#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "core/parse_number.h"
#include "iggy/wire/header.h"
#include "server/broker.h"
#include "server/server.h"

namespace trib::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

/// Splits "host:port" / "[v6]:port".
result<std::pair<std::string, std::uint16_t>> split_address(const std::string& address) {
    std::string host;
    std::string port;
    if (!address.empty() && address.front() == '[') {
        auto close = address.find(']');
        if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':')
            return fail(errc::invalid_argument, "bad address '" + address + "'");
        host = address.substr(1, close - 1);
        port = address.substr(close + 2);
    } else {
        auto colon = address.rfind(':');
        if (colon == std::string::npos)
            return fail(errc::invalid_argument, "address '" + address + "' needs host:port");
        host = address.substr(0, colon);
        port = address.substr(colon + 1);
    }
    const auto p = parse_u16(port);
    if (!p)
        return fail(errc::invalid_argument, "bad port in address '" + address + "'");
    if (host.empty())
        host = "0.0.0.0";
    return std::pair{host, *p};
}

/// Many idle topics keep two files open per partition: use the hard limit.
void raise_nofile_limit() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/// Connections may use at most half the file descriptors: the rest stay for segment files,
/// the data dir and the runtime, so that sockets never starve them.
std::uint32_t connection_budget() {
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return UINT32_MAX;
    const auto cur = static_cast<std::uint64_t>(rl.rlim_cur);
    return static_cast<std::uint32_t>(
        std::min<std::uint64_t>(UINT32_MAX, std::max<std::uint64_t>(8, cur / 2)));
}

// A request buffer larger than this (and than twice the next frame) is not reused, so that one
// large send does not pin its buffer for the connection's life.
constexpr std::size_t k_keep_buffer = std::size_t{1} << 20;
// Bodies are read in chunks that at most double what arrived so far.
constexpr std::size_t k_first_chunk = std::size_t{64} << 10;

/// The per-connection deadline (login timeout, idle timeout). Touched only on the
/// connection's strand.
struct conn_watch {
    explicit conn_watch(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    bool done = false;
    bool expired = false;
};

}  // namespace

struct embedded_server::impl {
    explicit impl(server_options o) : opt(std::move(o)) {}

    server_options opt;
    std::unique_ptr<broker> brk;
    root_credentials creds;
    asio::io_context ioc;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    // Requests that may wait for a disk sync run here, so that several can share one fsync
    // (group commit in the partition log) and the event loops keep serving reads.
    asio::thread_pool disk_pool{8};
    std::unique_ptr<ssl::context> tls;
    tcp::acceptor acceptor{ioc};
    asio::steady_timer housekeeping_timer{ioc};
    std::vector<std::thread> threads;
    std::string host;
    std::uint16_t port = 0;

    struct session_handle {
        std::function<void()> cancel;  // posts a cancel of the socket to its strand
        std::shared_ptr<connection_state> conn;
        bool evicted = false;  // cancelled to make room for a newer connection
    };
    std::mutex sess_mu;
    std::condition_variable sess_cv;
    std::map<std::uint32_t, session_handle> sessions;  // (sess_mu)
    std::atomic<bool> stopping{false};
    std::once_flag stop_once;

    // Connection limits (effective values: clamped by the file-descriptor budget).
    std::uint32_t max_conns = 0;
    std::uint32_t max_unauth = 0;
    std::atomic<std::uint32_t> open_conns{0};
    std::atomic<std::uint32_t> unauth_conns{0};
    std::uint64_t refused = 0;  // (accept loop only)
    std::uint64_t evicted = 0;  // (accept loop only)
    std::chrono::steady_clock::time_point evicted_logged{};
    std::chrono::steady_clock::time_point refused_logged{};

    status start();
    void stop();
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> housekeeping();
    template <class Stream>
    asio::awaitable<void> run_session(std::shared_ptr<Stream> stream,
                                      std::shared_ptr<connection_state> c,
                                      std::shared_ptr<conn_watch> w);
    template <class Stream>
    asio::awaitable<void> watchdog(std::weak_ptr<Stream> stream,
                                   std::shared_ptr<connection_state> c,
                                   std::shared_ptr<conn_watch> w);
    void spawn_session(tcp::socket sock);
    bool admit();
    bool evict_oldest_unauthenticated();
};

status embedded_server::impl::start() {
    if (opt.max_connections == 0 || opt.max_unauthenticated_connections == 0)
        return fail(errc::invalid_argument,
                    "embedded server: max_connections and max_unauthenticated_connections must be "
                    "at least 1");
    const auto budget = connection_budget();
    max_conns = std::min(opt.max_connections, budget);
    max_unauth = std::min(opt.max_unauthenticated_connections, max_conns);
    if (max_conns < opt.max_connections)
        spdlog::warn(
            "embedded server: at most {} connections (not {}): the open-files limit "
            "leaves no more",
            max_conns, opt.max_connections);
    TRIB_ASSIGN_OR_RETURN(brk, broker::open(opt));
    creds = brk->credentials();
    if (!opt.tls_cert.empty() || !opt.tls_key.empty()) {
        if (opt.tls_cert.empty() || opt.tls_key.empty())
            return fail(errc::invalid_argument,
                        "embedded server: TLS needs both a certificate and a key");
        tls = std::make_unique<ssl::context>(ssl::context::tls_server);
        boost::system::error_code ec;
        tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                             ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                             ssl::context::no_tlsv1_1,
                         ec);
        tls->use_certificate_chain_file(opt.tls_cert.string(), ec);
        if (ec)
            return fail(errc::invalid_argument, "embedded server: TLS certificate " +
                                                    opt.tls_cert.string() + ": " + ec.message());
        tls->use_private_key_file(opt.tls_key.string(), ssl::context::pem, ec);
        if (ec)
            return fail(errc::invalid_argument,
                        "embedded server: TLS key " + opt.tls_key.string() + ": " + ec.message());
    }
    TRIB_ASSIGN_OR_RETURN(auto hp, split_address(opt.address));
    boost::system::error_code ec;
    auto addr = asio::ip::make_address(hp.first, ec);
    if (ec) {
        tcp::resolver res(ioc);
        auto found = res.resolve(hp.first, std::to_string(hp.second), ec);
        if (ec || found.empty())
            return fail(errc::invalid_argument,
                        "embedded server: cannot resolve '" + hp.first + "': " + ec.message());
        addr = found.begin()->endpoint().address();
    }
    tcp::endpoint ep(addr, hp.second);
    acceptor.open(ep.protocol(), ec);
    if (!ec)
        acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec)
        acceptor.bind(ep, ec);
    if (!ec)
        acceptor.listen(asio::socket_base::max_listen_connections, ec);
    if (ec)
        return error(errc::unavailable,
                     "embedded server: cannot listen on " + opt.address + ": " + ec.message());
    auto local = acceptor.local_endpoint(ec);
    host = local.address().to_string();
    port = local.port();
    brk->set_endpoint(host, port);

    work.emplace(ioc.get_executor());
    asio::co_spawn(ioc, accept_loop(), asio::detached);
    asio::co_spawn(ioc, housekeeping(), asio::detached);
    unsigned n = opt.threads ? opt.threads : std::max(2u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i)
        threads.emplace_back([this] { ioc.run(); });
    return ok();
}

asio::awaitable<void> embedded_server::impl::accept_loop() {
    for (;;) {
        auto [ec, sock] = co_await acceptor.async_accept(asio::make_strand(ioc), use_tuple);
        if (stopping.load())
            co_return;
        if (ec) {
            if (ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
                co_return;
            // Out of file descriptors and similar: back off briefly instead of spinning.
            spdlog::warn("embedded server: accept failed: {}", ec.message());
            asio::steady_timer t(ioc, std::chrono::milliseconds(50));
            co_await t.async_wait(use_tuple);
            continue;
        }
        if (!admit()) {
            boost::system::error_code e;
            sock.close(e);
            continue;
        }
        spawn_session(std::move(sock));
    }
}

bool embedded_server::impl::admit() {
    const auto n_open = open_conns.load();
    const auto unauth = unauth_conns.load();
    if (n_open < max_conns && unauth < max_unauth)
        return true;
    // The not-logged-in slots are full: the oldest of them goes, not the newcomer. Otherwise a
    // few hundred silent sockets would lock every real client out until their login timeout;
    // this way an attacker has to keep opening connections faster than clients log in.
    if (n_open < max_conns && evict_oldest_unauthenticated())
        return true;
    ++refused;
    const auto now = std::chrono::steady_clock::now();
    if (refused == 1 || now - refused_logged >= std::chrono::seconds(10)) {
        spdlog::warn(
            "embedded server: refusing connections: {} open (max {}), {} not logged in (max "
            "{}); {} refused so far",
            n_open, max_conns, unauth, max_unauth, refused);
        refused_logged = now;
    }
    return false;
}

bool embedded_server::impl::evict_oldest_unauthenticated() {
    std::string victim;
    {
        std::lock_guard l(sess_mu);
        // Connection ids grow, so the map is in age order.
        for (auto& [id, h] : sessions) {
            if (h.evicted || !h.conn || h.conn->authenticated.load())
                continue;
            h.evicted = true;
            victim = h.conn->address;
            h.cancel();
            break;
        }
    }
    if (victim.empty())
        return false;
    ++evicted;
    const auto now = std::chrono::steady_clock::now();
    if (evicted == 1 || now - evicted_logged >= std::chrono::seconds(10)) {
        spdlog::warn(
            "embedded server: {} connections not logged in (max {}): closed the oldest ({}) to "
            "admit a new one; {} closed this way so far",
            unauth_conns.load(), max_unauth, victim, evicted);
        evicted_logged = now;
    }
    return true;
}

void embedded_server::impl::spawn_session(tcp::socket sock) {
    boost::system::error_code ec;
    sock.set_option(tcp::no_delay(true), ec);
    auto rep = sock.remote_endpoint(ec);
    std::string peer =
        ec ? std::string("unknown") : rep.address().to_string() + ":" + std::to_string(rep.port());
    auto c = brk->connect(peer);
    auto ex = sock.get_executor();
    open_conns.fetch_add(1);
    unauth_conns.fetch_add(1);
    auto watch = std::make_shared<conn_watch>(ex);
    if (tls) {
        auto stream = std::make_shared<ssl::stream<tcp::socket>>(std::move(sock), *tls);
        {
            std::lock_guard l(sess_mu);
            sessions[c->id] = {[ex, w = std::weak_ptr(stream)] {
                                   asio::post(ex, [w] {
                                       if (auto s = w.lock()) {
                                           boost::system::error_code e;
                                           s->lowest_layer().cancel(e);
                                       }
                                   });
                               },
                               c};
        }
        asio::co_spawn(ex, run_session(stream, c, watch), asio::detached);
    } else {
        auto stream = std::make_shared<tcp::socket>(std::move(sock));
        {
            std::lock_guard l(sess_mu);
            sessions[c->id] = {[ex, w = std::weak_ptr(stream)] {
                                   asio::post(ex, [w] {
                                       if (auto s = w.lock()) {
                                           boost::system::error_code e;
                                           s->cancel(e);
                                       }
                                   });
                               },
                               c};
        }
        asio::co_spawn(ex, run_session(stream, c, watch), asio::detached);
    }
}

template <class Stream>
asio::awaitable<void> embedded_server::impl::watchdog(std::weak_ptr<Stream> ws,
                                                      std::shared_ptr<connection_state> c,
                                                      std::shared_ptr<conn_watch> w) {
    using clock = std::chrono::steady_clock;
    while (!w->done) {
        w->timer.expires_at(w->deadline);
        (void)co_await w->timer.async_wait(use_tuple);
        // A cancel means the deadline moved or the session ended; either way look again.
        if (w->done || stopping.load())
            co_return;
        const auto now = clock::now();
        if (now < w->deadline)
            continue;
        if (c->authenticated.load()) {
            if (opt.idle_timeout.count() <= 0) {
                w->deadline = clock::time_point::max();
                continue;
            }
            const auto idle = std::chrono::milliseconds(broker::now_ms() - c->last_activity_ms);
            if (idle < opt.idle_timeout) {
                w->deadline = now + (opt.idle_timeout - idle);
                continue;
            }
            spdlog::info("embedded server: closing {}: idle for {} ms", c->address, idle.count());
        } else {
            spdlog::debug("embedded server: closing {}: not logged in within {} ms", c->address,
                          opt.login_timeout.count());
        }
        w->expired = true;
        if (auto s = ws.lock()) {
            boost::system::error_code ec;
            if constexpr (std::is_same_v<Stream, tcp::socket>) {
                s->shutdown(tcp::socket::shutdown_both, ec);
                s->close(ec);
            } else {
                s->lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
                s->lowest_layer().close(ec);
            }
        }
        co_return;
    }
}

template <class Stream>
asio::awaitable<void> embedded_server::impl::run_session(std::shared_ptr<Stream> stream,
                                                         std::shared_ptr<connection_state> c,
                                                         std::shared_ptr<conn_watch> w) {
    using clock = std::chrono::steady_clock;
    // The login deadline covers the TLS handshake too.
    auto login_deadline = [this] {
        return opt.login_timeout.count() > 0 ? clock::now() + opt.login_timeout
                                             : clock::time_point::max();
    };
    w->deadline = login_deadline();
    asio::co_spawn(stream->get_executor(), watchdog(std::weak_ptr<Stream>(stream), c, w),
                   asio::detached);
    bool authed = false;
    bool run = true;
    if constexpr (!std::is_same_v<Stream, tcp::socket>) {
        auto [ec] = co_await stream->async_handshake(ssl::stream_base::server, use_tuple);
        if (ec) {
            spdlog::debug("embedded server: TLS handshake with {} failed: {}", c->address,
                          ec.message());
        }
        run = !ec && !stopping.load();
    }
    if (run) {
        iggy::bytes header(iggy::header_size);
        // The body buffer is reused unless a send's batch is still referenced by the partition
        // log's recent-batch cache (append_shared): then the next request gets a fresh one.
        auto body = std::make_shared<iggy::bytes>();
        reply rep;
        std::vector<asio::const_buffer> bufs;
        for (;;) {
            auto [ec, n] = co_await asio::async_read(*stream, asio::buffer(header), use_tuple);
            if (ec) {
                if (c->evict_stale.load() && !stopping.load() && !w->expired) {
                    iggy::eviction_header e;
                    e.client = {c->id, 0};
                    e.reason = static_cast<std::uint8_t>(iggy::eviction_reason::stale_client);
                    auto frame = iggy::encode_eviction(e);
                    co_await asio::async_write(*stream, asio::buffer(frame), use_tuple);
                }
                break;
            }
            // Before login only Register/Ping-sized frames: a larger one closes the connection
            // before anything is allocated for it.
            const std::uint32_t limit = authed ? iggy::max_frame_size : max_unauthenticated_frame;
            auto prefix = iggy::read_frame_prefix(header, limit);
            if (!prefix || prefix->command > iggy::max_frame_command) {
                if (!authed && !prefix)
                    spdlog::debug("embedded server: closing {}: {} before login", c->address,
                                  prefix.error().message());
                break;  // framing lost, or not a client frame: close without a reply
            }
            const std::size_t need = prefix->body_size;
            if (body.use_count() > 1 || body->capacity() > std::max(k_keep_buffer, 2 * need))
                body = std::make_shared<iggy::bytes>();
            // Grow with what arrives: a chunk at most doubles the bytes received so far (the
            // vector may round its capacity up to twice its size).
            std::size_t got = 0;
            bool read_failed = false;
            body->clear();
            while (got < need) {
                std::size_t chunk = need - got;
                if (got + chunk > body->capacity())
                    chunk = std::min(chunk, std::max(k_first_chunk, got));
                body->resize(got + chunk);
                auto [ec2, n2] = co_await asio::async_read(
                    *stream, asio::buffer(body->data() + got, chunk), use_tuple);
                if (ec2) {
                    read_failed = true;
                    break;
                }
                got += chunk;
            }
            if (read_failed)
                break;
            if (prefix->command != static_cast<std::uint8_t>(iggy::frame_command::request))
                continue;  // a valid command byte other than Request is ignored
            const std::size_t owner_bytes = body->capacity();
            if (brk->may_block(header)) {
                co_await asio::co_spawn(
                    disk_pool,
                    [&]() -> asio::awaitable<void> {
                        brk->handle(*c, header, *body, rep, body, owner_bytes);
                        co_return;
                    },
                    asio::use_awaitable);
            } else {
                brk->handle(*c, header, *body, rep, body, owner_bytes);
            }
            if (w->expired)
                break;
            if (const bool now_authed = c->authenticated.load(); now_authed != authed) {
                authed = now_authed;
                if (authed) {
                    unauth_conns.fetch_sub(1);
                    w->deadline = opt.idle_timeout.count() > 0 ? clock::now() + opt.idle_timeout
                                                               : clock::time_point::max();
                } else {
                    unauth_conns.fetch_add(1);  // logged out: the login timeout runs again
                    w->deadline = login_deadline();
                }
                w->timer.cancel();
            }
            if (rep.action == reply_action::drop)
                continue;
            if (rep.action == reply_action::close)
                break;
            bufs.clear();
            bufs.push_back(asio::buffer(rep.frame));
            for (const auto& t : rep.tail)
                bufs.push_back(asio::buffer(t.data(), t.size()));
            auto [ec3, n3] = co_await asio::async_write(*stream, bufs, use_tuple);
            rep.owners.clear();
            rep.tail.clear();
            if (ec3)
                break;
        }
    }
    w->done = true;
    w->timer.cancel();
    brk->disconnect(*c);
    {
        boost::system::error_code ec;
        if constexpr (std::is_same_v<Stream, tcp::socket>) {
            stream->shutdown(tcp::socket::shutdown_both, ec);
            stream->close(ec);
        } else {
            stream->lowest_layer().shutdown(tcp::socket::shutdown_both, ec);
            stream->lowest_layer().close(ec);
        }
    }
    if (!authed)
        unauth_conns.fetch_sub(1);
    open_conns.fetch_sub(1);
    {
        std::lock_guard l(sess_mu);
        sessions.erase(c->id);
    }
    sess_cv.notify_all();
}

asio::awaitable<void> embedded_server::impl::housekeeping() {
    // Offsets committed by polls and retention run every second (or the fsync interval, if
    // shorter); the heartbeat sweep runs at a tenth of the heartbeat interval.
    auto maint_every =
        std::min<std::chrono::milliseconds>(std::chrono::milliseconds(1000), opt.fsync_interval);
    if (maint_every.count() <= 0)
        maint_every = std::chrono::milliseconds(1000);
    auto hb_every = opt.heartbeat_interval.count() > 0
                        ? std::max<std::chrono::milliseconds>(std::chrono::milliseconds(10),
                                                              opt.heartbeat_interval / 10)
                        : std::chrono::milliseconds(0);
    auto tick = hb_every.count() > 0 ? std::min(maint_every, hb_every) : maint_every;
    auto last_maint = std::chrono::steady_clock::now();
    while (!stopping.load()) {
        housekeeping_timer.expires_after(tick);
        (void)co_await housekeeping_timer.async_wait(use_tuple);
        if (stopping.load())
            co_return;
        if (hb_every.count() > 0) {
            auto stale = brk->sweep_stale(opt.heartbeat_interval * 6 / 5);
            std::lock_guard l(sess_mu);
            for (auto id : stale) {
                auto it = sessions.find(id);
                if (it != sessions.end()) {
                    spdlog::info("embedded server: evicting stale consumer-group member {}", id);
                    it->second.cancel();
                }
            }
        }
        auto now = std::chrono::steady_clock::now();
        if (now - last_maint >= maint_every) {
            last_maint = now;
            co_await asio::co_spawn(
                disk_pool,
                [this]() -> asio::awaitable<void> {
                    brk->maintenance(false);
                    co_return;
                },
                asio::use_awaitable);
        }
    }
}

void embedded_server::impl::stop() {
    std::call_once(stop_once, [this] {
        stopping = true;
        asio::post(ioc, [this] {
            boost::system::error_code ec;
            acceptor.close(ec);
            housekeeping_timer.cancel();
        });
        {
            std::unique_lock l(sess_mu);
            for (auto& [id, h] : sessions)
                h.cancel();
            sess_cv.wait_for(l, std::chrono::seconds(10), [this] { return sessions.empty(); });
        }
        work.reset();
        ioc.stop();
        for (auto& t : threads)
            if (t.joinable())
                t.join();
        disk_pool.join();
        brk.reset();  // flushes offsets and syncs the logs
    });
}

embedded_server::embedded_server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

embedded_server::~embedded_server() {
    stop();
}

result<std::unique_ptr<embedded_server>> embedded_server::start(server_options options) {
    TRIB_TRY(apply_environment(options));
    TRIB_TRY(storage::validate(options.message_deduplication));
    raise_nofile_limit();
    auto i = std::make_unique<impl>(std::move(options));
    auto st = i->start();
    if (!st) {
        i->stop();
        return unexpected(st.error());
    }
    return std::unique_ptr<embedded_server>(new embedded_server(std::move(i)));
}

std::uint16_t embedded_server::port() const {
    return impl_->port;
}
std::string embedded_server::address() const {
    if (impl_->host.find(':') != std::string::npos)
        return "[" + impl_->host + "]:" + std::to_string(impl_->port);
    return impl_->host + ":" + std::to_string(impl_->port);
}
bool embedded_server::tls() const {
    return impl_->tls != nullptr;
}
const root_credentials& embedded_server::credentials() const {
    return impl_->creds;
}
const server_options& embedded_server::options() const {
    return impl_->opt;
}
void embedded_server::stop() {
    if (impl_)
        impl_->stop();
}

}  // namespace trib::server
