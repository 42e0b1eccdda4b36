#include "runtime/run.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "config/connector_config.h"
#include "config/runtime_config.h"
#include "connectors/registry.h"
#include "core/dir_lock.h"
#include "core/log.h"
#include "iggy/connection.h"
#include "runtime/api.h"
#include "runtime/host.h"
#include "runtime/listeners.h"
#include "server/server.h"

namespace trib::runtime {

using clock = std::chrono::steady_clock;

void block_stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

void print_problems(const std::string& text) {
    if (!text.empty())
        std::fprintf(stderr, "%s\n", text.c_str());
}

namespace {

/// True if something already listens on host:port (so a fixed port would fail to bind).
bool port_taken(const std::string& address) {
    auto a = iggy::server_address::parse(address);
    if (!a || a->port == 0)
        return false;
    auto co = iggy::connection_options_from(address);
    if (!co)
        return false;
    // A plain TCP connect is enough to tell.
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(a->port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool taken = ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
    ::close(fd);
    return taken;
}

std::string with_port_zero(const std::string& address) {
    const auto colon = address.rfind(':');
    return (colon == std::string::npos ? address : address.substr(0, colon)) + ":0";
}

std::string human_rate(double v) {
    if (v >= 1e6)
        return fmt::format("{:.2f}M", v / 1e6);
    if (v >= 1e4)
        return fmt::format("{:.1f}k", v / 1e3);
    return fmt::format("{:.0f}", v);
}

/// The live table on a terminal: one line per connector, redrawn in place every second.
class status_table {
  public:
    explicit status_table(const host& h) : h_(h) {}
    void draw() {
        const auto now = clock::now();
        const double dt = last_at_ == clock::time_point{}
                              ? 0.0
                              : std::chrono::duration<double>(now - last_at_).count();
        last_at_ = now;
        winsize ws{};
        const int width =
            ::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 100;
        std::string out;
        if (lines_ > 0)
            out += fmt::format("\x1b[{}A", lines_);  // back to the table's first line
        lines_ = 0;
        for (const auto& s : h_.connectors()) {
            const auto& st = s->stats;
            const auto msgs = st.messages_out.load(std::memory_order_relaxed);
            const auto bytes = st.bytes_out.load(std::memory_order_relaxed);
            auto& prev = prev_[s.get()];
            const double rate = dt > 0 ? static_cast<double>(msgs - prev.first) / dt : 0.0;
            const double mbps = dt > 0 ? static_cast<double>(bytes - prev.second) / dt / 1e6 : 0.0;
            prev = {msgs, bytes};
            // Rate, lag and errors first: on an 80-column terminal the end of a line is cut off.
            std::string line = fmt::format("{:<6} {:<16} {:<8} {:>7} msg/s {:>6.2f} MB/s",
                                           to_string(s->kind), s->cfg.key.substr(0, 16),
                                           to_string(s->status()), human_rate(rate), mbps);
            if (s->kind == connector_kind::sink) {
                const auto lag = st.lag.load(std::memory_order_relaxed);
                line += lag >= 0 ? fmt::format("  lag {:>7}", lag) : std::string("  lag       -");
            } else {
                line += "             ";
            }
            line += fmt::format("  errors {}", st.errors.load(std::memory_order_relaxed));
            const auto dl = st.dead_lettered.load(std::memory_order_relaxed);
            if (dl != 0)
                line += fmt::format("  dead-lettered {}", dl);
            line += fmt::format("  total {}", msgs);
            if (static_cast<int>(line.size()) > width - 1)
                line.resize(static_cast<std::size_t>(width - 1));
            out += "\r\x1b[K" + line + "\n";
            ++lines_;
        }
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fflush(stdout);
    }

  private:
    const host& h_;
    clock::time_point last_at_{};
    int lines_ = 0;
    std::map<const connector_slot*, std::pair<std::uint64_t, std::uint64_t>> prev_;
};

/// Periodic summary in the logs when there is no terminal.
void log_summary(const host& h) {
    for (const auto& s : h.connectors()) {
        const auto& st = s->stats;
        spdlog::info("{} {}: status={} in={} out={} errors={} dead_lettered={} lag={}",
                     to_string(s->kind), s->cfg.key, to_string(s->status()), st.messages_in.load(),
                     st.messages_out.load(), st.errors.load(), st.dead_lettered.load(),
                     st.lag.load());
    }
}

}  // namespace

int run_runtime(const run_options& o) {
    const auto path = config::resolve_runtime_config_path(o.config_path, o.env);
    auto rc = config::load_runtime_config(path, o.env);
    if (!rc) {
        print_problems(rc.issues.to_string());
        std::fprintf(stderr, "tributary: %zu problem(s) in the runtime configuration %s\n",
                     rc.issues.error_count(), path.c_str());
        return 2;
    }
    log::init(rc->logging.format == "json" ? log::format::json : log::format::text,
              rc->logging.level);
    for (const auto& p : rc.issues.items())
        spdlog::warn("{}", p.to_string());

    auto reg = connectors::registry::builtins();
    if (!reg) {
        spdlog::critical("{}", reg.error().to_string());
        return 1;
    }
    const config::catalog cat = make_catalog(*reg);
    auto conns = config::load_connectors(rc->connectors.config_dir, cat, o.env, rc->file);
    if (!conns) {
        print_problems(conns.issues.to_string());
        std::fprintf(stderr, "tributary: %zu problem(s) in the connector configuration\n",
                     conns.issues.error_count());
        return 2;
    }
    for (const auto& p : conns.issues.items())
        spdlog::warn("{}", p.to_string());
    // Every listening address, before anything starts: a port in use is a config problem.
    if (o.fallback_ports) {
        if (port_taken(rc->server.address))
            rc->server.address = with_port_zero(rc->server.address);
        if (port_taken(rc->http.address))
            rc->http.address = with_port_zero(rc->http.address);
    }
    if (auto lp = check_listeners(listeners_of(*rc, conns->active)); lp.has_errors()) {
        print_problems(lp.to_string());
        std::fprintf(stderr, "tributary: %zu address(es) of the configuration cannot listen\n",
                     lp.error_count());
        return 2;
    }

    run_info info;
    info.state_dir = rc->state.path;
    // One runtime per state directory: a second one (or one started while the last drains)
    // would overwrite the other's source positions. Held until run_runtime returns.
    const std::string state_path = rc->state.path.empty() ? "local_state" : rc->state.path;
    auto state_lock = dir_lock::acquire(state_path);
    if (!state_lock) {
        std::fprintf(stderr, "tributary: %s: [state] path: %s\n", rc->file.c_str(),
                     state_lock.error().message().c_str());
        return state_lock.error().code() == errc::failed_precondition ? 2 : 1;
    }
    host_options ho;
    ho.runtime = *rc;
    ho.connectors = conns->active;
    ho.registry = *reg;

    std::unique_ptr<server::embedded_server> srv;
    if (rc->use_embedded_server()) {
        server::server_options so;
        so.data_dir = rc->server.data_dir.empty() ? std::filesystem::path(rc->state.path) / "server"
                                                  : std::filesystem::path(rc->server.data_dir);
        so.address = rc->server.address;
        so.root_username = rc->server.root_username;
        so.root_password = rc->server.root_password;
        auto fp = server::storage::parse_fsync_policy(rc->server.fsync);
        if (fp)
            so.fsync = *fp;
        so.fsync_interval = rc->server.fsync_interval;
        so.max_connections = rc->server.max_connections;
        so.max_unauthenticated_connections = rc->server.max_unauthenticated_connections;
        so.login_timeout = rc->server.login_timeout;
        so.idle_timeout = rc->server.idle_timeout;
        so.login_max_failures = rc->server.login_max_failures;
        so.login_lockout_max = rc->server.login_lockout_max;
        auto started = server::embedded_server::start(so);
        if (!started && started.error().code() == errc::failed_precondition) {
            // Its data dir is served by another process.
            std::fprintf(stderr, "tributary: %s: [server] data_dir: %s\n", rc->file.c_str(),
                         started.error().message().c_str());
            return 2;
        }
        if (!started) {
            spdlog::critical("{}: server.address: cannot start the embedded Iggy server on {}: {}",
                             rc->file, so.address, started.error().to_string());
            return 1;
        }
        srv = std::move(*started);
        spdlog::info("embedded Iggy server listening on {} (data in {})", srv->address(),
                     so.data_dir.string());
        if (rc->server.root_password == "iggy") {
            // Like Iggy's --with-default-root-credentials: allowed on loopback only (validated).
            spdlog::warn(
                "embedded Iggy server root user: {} / iggy (the development default; set "
                "[server] root_password for anything beyond a trial)",
                rc->server.root_username);
        } else {
            spdlog::info(
                "embedded Iggy server root user: {} (password from [server] "
                "root_password)",
                rc->server.root_username);
        }
        iggy::client_options co;
        auto conn = iggy::connection_options_from(srv->address());
        if (!conn) {
            spdlog::critical("{}", conn.error().to_string());
            return 1;
        }
        co.conn = *conn;
        co.conn.username = rc->server.root_username;
        co.conn.password = rc->server.root_password;
        ho.client = co;
        info.embedded_server = true;
        info.server_data_dir = std::filesystem::absolute(so.data_dir).string();
        info.iggy_address = srv->address();
    } else {
        info.iggy_address = rc->iggy_address();
    }

    host h(std::move(ho));
    if (auto st = h.start(); !st) {
        spdlog::critical("{}", st.error().to_string());
        h.stop();
        if (srv)
            srv->stop();
        return 1;
    }
    std::unique_ptr<management_api> api;
    if (rc->http.enabled) {
        const auto& hc = rc->http;
        api = std::make_unique<management_api>(h, hc);
        if (auto st = api->start(); !st) {
            // Checked before the start (check_listeners); only a race gets here.
            print_problems(rc->file + ": http.address: the management API cannot listen on " +
                           hc.address + ": " + st.error().to_string());
            api.reset();
            h.stop();
            if (srv)
                srv->stop();
            return 2;
        }
        info.api_url = api->url();
    }
    if (o.on_started)
        o.on_started(info);

    // Wait for a signal, the duration or the message count.
    const bool tty = ::isatty(STDOUT_FILENO) != 0;
    bool stdout_sink = false;
    for (const auto& s : h.connectors()) {
        stdout_sink = stdout_sink || (s->entry != nullptr && s->entry->spec.name == "stdout" &&
                                      s->cfg.enabled && s->kind == connector_kind::sink);
    }
    // The stdout sink writes to the same terminal: redrawing would fight it.
    const bool table = o.status_table.value_or(tty && !stdout_sink);
    status_table st(h);
    const auto started = clock::now();
    auto last_summary = started;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    const char* why = nullptr;
    for (;;) {
        timespec ts{1, 0};
        const int sig = ::sigtimedwait(&set, nullptr, &ts);
        if (sig == SIGINT || sig == SIGTERM) {
            why = sig == SIGINT ? "SIGINT" : "SIGTERM";
            break;
        }
        if (table)
            st.draw();
        if (!table && clock::now() - last_summary >= std::chrono::seconds(30)) {
            log_summary(h);
            last_summary = clock::now();
        }
        if (o.duration && clock::now() - started >= *o.duration) {
            why = "the requested duration passed";
            break;
        }
        if (o.messages) {
            bool all = false;
            for (const auto& s : h.connectors()) {
                if (s->kind != connector_kind::sink || !s->cfg.enabled)
                    continue;
                all = s->stats.messages_out.load() >= *o.messages;
                if (!all)
                    break;
            }
            if (all) {
                why = "every sink processed the requested messages";
                break;
            }
        }
    }
    spdlog::info("stopping ({}): draining in-flight batches, committing offsets, saving state",
                 why);
    // A second signal during the drain ends the process at once.
    std::thread second([set] {
        int s = 0;
        if (::sigwait(&set, &s) == 0 && (s == SIGINT || s == SIGTERM)) {
            std::fprintf(stderr, "tributary: second signal, exiting without draining\n");
            std::_Exit(130);
        }
    });
    second.detach();
    if (table)
        st.draw();
    h.stop();
    if (api)
        api->stop();
    if (srv)
        srv->stop();
    log_summary(h);
    log::flush_suppressed();
    spdlog::info("stopped");
    return 0;
}

}  // namespace trib::runtime
