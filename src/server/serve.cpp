// `tributary serve`: option parsing and the foreground run loop of the embedded server.

#include "server/serve.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <string>

#include "server/model.h"
#include "server/server.h"

namespace trib::server {

int serve_main(int argc, char** argv) {
    CLI::App app{"Run the embedded Iggy-compatible server (binary protocol 0.11, server 0.9.x)",
                 "tributary serve"};
    server_options opt;
    std::string data_dir, fsync = "interval", fsync_interval = "1s", segment_size = "1GiB",
                          heartbeat = "30s", tls_cert, tls_key, login_timeout = "10s",
                          idle_timeout = "0s", lockout_max = "5m", config_file;
    app.add_option("--data-dir", data_dir, "Directory for streams, messages and metadata")
        ->required();
    app.add_option("--address", opt.address, "host:port to listen on (loopback by default)")
        ->capture_default_str();
    app.add_option("--config", config_file,
                   "An Iggy server.toml: [system.message_deduplication] is read from it (other "
                   "tables are Iggy's and are ignored; IGGY_SYSTEM_MESSAGE_DEDUPLICATION_* "
                   "variables override it)");
    app.add_option("--tls-cert", tls_cert, "PEM certificate chain: serve TLS instead of TCP");
    app.add_option("--tls-key", tls_key, "PEM private key of --tls-cert");
    app.add_option("--root-username", opt.root_username,
                   "Root user name for a new data dir (default: $IGGY_ROOT_USERNAME or iggy)");
    app.add_option("--root-password", opt.root_password,
                   "Root password for a new data dir (default: $IGGY_ROOT_PASSWORD or a random "
                   "password, printed once)");
    app.add_flag("--with-default-root-credentials", opt.default_root_credentials,
                 "Root user iggy/iggy (development only)");
    app.add_option("--fsync", fsync, "When messages are synced: always, interval or never")
        ->capture_default_str();
    app.add_option("--fsync-interval", fsync_interval, "Sync interval for --fsync interval")
        ->capture_default_str();
    app.add_option("--segment-size", segment_size, "Default segment size of new topics")
        ->capture_default_str();
    app.add_option("--heartbeat-interval", heartbeat,
                   "Evict consumer-group members silent for 1.2 x this (0 disables)")
        ->capture_default_str();
    app.add_option("--threads", opt.threads, "Network threads (0: one per core)");
    app.add_option("--max-connections", opt.max_connections,
                   "Open connections at most; more are closed at once")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1u << 24));
    app.add_option("--max-unauthenticated-connections", opt.max_unauthenticated_connections,
                   "Connections not logged in at most")
        ->capture_default_str()
        ->check(CLI::Range(1u, 1u << 24));
    app.add_option("--login-timeout", login_timeout,
                   "Close a connection that has not logged in by then (0 disables)")
        ->capture_default_str();
    app.add_option("--idle-timeout", idle_timeout,
                   "Close a logged-in connection silent this long (0 disables)")
        ->capture_default_str();
    app.add_option("--login-max-failures", opt.login_max_failures,
                   "Failed logins per address or user name before lockouts (0 disables)")
        ->capture_default_str();
    app.add_option("--login-lockout-max", lockout_max,
                   "Longest lockout (lockouts start at 1s and double per failure)")
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        int code = app.exit(e);
        return code == 0 ? 0 : 2;
    }
    opt.data_dir = data_dir;
    opt.tls_cert = tls_cert;
    opt.tls_key = tls_key;
    auto policy = storage::parse_fsync_policy(fsync);
    if (!policy) {
        fmt::print(stderr, "tributary serve: --fsync: {}\n", policy.error().message());
        return 2;
    }
    opt.fsync = *policy;
    auto interval = parse_duration_us(fsync_interval);
    if (!interval || *interval == 0 || *interval == UINT64_MAX) {
        fmt::print(stderr, "tributary serve: --fsync-interval: bad duration '{}'\n",
                   fsync_interval);
        return 2;
    }
    opt.fsync_interval = std::chrono::milliseconds(std::max<std::uint64_t>(1, *interval / 1000));
    auto seg = parse_size(segment_size);
    if (!seg || *seg < 4096 || *seg > (std::uint64_t{2} << 30)) {
        fmt::print(stderr, "tributary serve: --segment-size: '{}' is not 4KiB..2GiB\n",
                   segment_size);
        return 2;
    }
    opt.segment_size = *seg;
    auto hb = parse_duration_us(heartbeat);
    if (!hb || *hb == UINT64_MAX) {
        fmt::print(stderr, "tributary serve: --heartbeat-interval: bad duration '{}'\n", heartbeat);
        return 2;
    }
    opt.heartbeat_interval = std::chrono::milliseconds(*hb / 1000);
    struct duration_flag {
        const char* name;
        const std::string& text;
        std::chrono::milliseconds& out;
        bool zero_ok;
    };
    for (const duration_flag& d :
         {duration_flag{"--login-timeout", login_timeout, opt.login_timeout, true},
          duration_flag{"--idle-timeout", idle_timeout, opt.idle_timeout, true},
          duration_flag{"--login-lockout-max", lockout_max, opt.login_lockout_max, false}}) {
        auto us = parse_duration_us(d.text);
        if (!us || *us == UINT64_MAX || (*us == 0 && !d.zero_ok)) {
            fmt::print(stderr, "tributary serve: {}: bad duration '{}'\n", d.name, d.text);
            return 2;
        }
        d.out = std::chrono::milliseconds(*us / 1000);
    }

    // Block the stop signals in every thread the server starts; this thread waits for them.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);

    if (!config_file.empty()) {
        if (auto st = apply_iggy_server_config(config_file, opt); !st) {
            fmt::print(stderr, "tributary serve: --config: {}\n", st.error().message());
            return 2;
        }
    }
    if (auto st = apply_environment(opt); !st) {
        fmt::print(stderr, "tributary serve: {}\n", st.error().message());
        return 2;
    }
    if (auto st = storage::validate(opt.message_deduplication); !st) {
        fmt::print(stderr, "tributary serve: [system.message_deduplication]: {}\n",
                   st.error().message());
        return 2;
    }
    auto srv = embedded_server::start(opt);
    if (!srv) {
        // Another process serving the same data dir: a problem with the options (exit 2).
        if (srv.error().code() == errc::failed_precondition) {
            fmt::print(stderr, "tributary serve: --data-dir: {}\n", srv.error().message());
            return 2;
        }
        fmt::print(stderr, "tributary serve: {}\n", srv.error().message());
        return 1;
    }
    const auto& creds = (*srv)->credentials();
    if (!creds.password.empty() && (opt.default_root_credentials || opt.root_password.empty())) {
        // Printed on stdout as well as logged, as Iggy prints a generated root password.
        fmt::print("root user: {} / {}\n", creds.username, creds.password);
    }
    if (const auto& d = opt.message_deduplication; d.enabled) {
        spdlog::info("embedded server: message de-duplication on (max_entries {}, expiry {} ms)",
                     d.max_entries, d.expiry_us / 1000);
    }
    fmt::print("listening on {}{}\n", (*srv)->address(), (*srv)->tls() ? " (TLS)" : "");
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    spdlog::info("embedded server: stopping (signal {})", sig);
    (*srv)->stop();
    return 0;
}

}  // namespace trib::server
