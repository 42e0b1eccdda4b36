// `tributary run` (run.h): configuration, the runtime host, the management API, then waiting
// for a stop.

#include "app/run.h"

#include <unistd.h>

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>

#include "app/embedded.h"
#include "config/connector_config.h"
#include "config/runtime_config.h"
#include "connectors/registry.h"
#include "core/dir_lock.h"
#include "core/log.h"
#include "runtime/api.h"
#include "runtime/host.h"
#include "runtime/listeners.h"
#include "server/server.h"

namespace trib::app {

using namespace runtime;

using clock = std::chrono::steady_clock;

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
        int code = 1;
        auto e = start_embedded_server(*rc, code);
        if (!e)
            return code;
        ho.client = e->client;
        info.embedded_server = true;
        info.server_data_dir = e->data_dir;
        info.iggy_address = e->address;
        srv = std::move(e->server);
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
    std::string_view why;
    for (;;) {
        if (auto sig = wait_stop_signal(std::chrono::seconds(1))) {
            why = *sig;
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
    exit_on_second_signal();
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

}  // namespace trib::app
