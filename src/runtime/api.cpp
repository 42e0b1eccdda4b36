#include "runtime/api.h"

#include <sys/sysinfo.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <fstream>
#include <mutex>
#include <sstream>

#include "config/docs.h"
#include "core/parse_number.h"
#include "core/redact.h"
#include "http/json.h"
#include "http/server.h"
#include "runtime/api_access.h"
#include "runtime/host.h"

namespace trib::runtime {

namespace {

// ---- process figures (Linux /proc) ----------------------------------------------------------

struct cpu_sample {
    double process_s = 0;  // user + system CPU seconds of this process
    std::uint64_t total_jiffies = 0;
    std::uint64_t idle_jiffies = 0;
    std::chrono::steady_clock::time_point at;
};

cpu_sample sample_cpu() {
    cpu_sample s;
    s.at = std::chrono::steady_clock::now();
    {
        std::ifstream f("/proc/self/stat");
        std::string line;
        std::getline(f, line);
        // Fields after the command name (which may hold spaces) start after the last ')'.
        const auto rp = line.rfind(')');
        if (rp != std::string::npos) {
            std::istringstream in(line.substr(rp + 2));
            std::string field;
            std::uint64_t utime = 0;
            std::uint64_t stime = 0;
            for (int i = 3; i <= 15 && in >> field; ++i) {
                if (i == 14)
                    utime = parse_u64(field).value_or(0);
                if (i == 15)
                    stime = parse_u64(field).value_or(0);
            }
            s.process_s =
                static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
        }
    }
    {
        std::ifstream f("/proc/stat");
        std::string cpu;
        f >> cpu;
        std::uint64_t v = 0;
        for (int i = 0; i < 10 && f >> v; ++i) {
            s.total_jiffies += v;
            if (i == 3 || i == 4)
                s.idle_jiffies += v;  // idle, iowait
        }
    }
    return s;
}

struct cpu_usage {
    double process_pct = 0;  // of one core, like sysinfo's process cpu_usage
    double total_pct = 0;    // of the whole machine
};

cpu_usage usage_since_last() {
    static std::mutex mu;
    static cpu_sample last = sample_cpu();
    std::lock_guard lk(mu);
    const cpu_sample now = sample_cpu();
    cpu_usage u;
    const double wall = std::chrono::duration<double>(now.at - last.at).count();
    if (wall > 0)
        u.process_pct = 100.0 * (now.process_s - last.process_s) / wall;
    const auto dt = now.total_jiffies - last.total_jiffies;
    if (dt > 0) {
        u.total_pct = 100.0 * static_cast<double>(dt - (now.idle_jiffies - last.idle_jiffies)) /
                      static_cast<double>(dt);
    }
    if (wall > 0.2)
        last = now;  // keep a window long enough to mean something
    return u;
}

std::uint64_t rss_bytes() {
    std::ifstream f("/proc/self/statm");
    std::uint64_t size = 0;
    std::uint64_t resident = 0;
    f >> size >> resident;
    return resident * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

std::uint64_t meminfo(std::string_view key) {
    std::ifstream f("/proc/meminfo");
    std::string k;
    std::uint64_t v = 0;
    std::string unit;
    while (f >> k >> v >> unit) {
        if (k.size() == key.size() + 1 && k.starts_with(key))
            return v * 1024;
    }
    return 0;
}

std::string version_string() {
    return TRIB_VERSION;
}

// ---- JSON pieces ------------------------------------------------------------------------------

void write_error(http::json_writer& w, const std::optional<connector_error>& e) {
    if (!e)
        return;
    w.key("last_error").begin_object();
    w.field("message", redact(e->message));
    w.field("timestamp", e->timestamp_us);
    if (e->halted)
        w.field("halted", true);  // Tributary: stopped by its error policy until restarted
    w.end_object();
}

void write_info(http::json_writer& w, const connector_slot& s, std::size_t id) {
    w.begin_object();
    w.field("id", static_cast<std::uint64_t>(id));
    w.field("key", s.cfg.key);
    w.field("name", s.cfg.name);
    w.field("path", s.cfg.path.empty() ? s.cfg.plugin : s.cfg.path);
    w.field("enabled", s.cfg.enabled);
    w.field("status", to_string(s.status()));
    write_error(w, s.last_error());
    if (!s.cfg.plugin_config_format.empty()) {
        w.field("plugin_config_format", s.cfg.plugin_config_format);
    }
    // Additions.
    w.field("plugin", s.entry != nullptr ? s.entry->spec.name : s.cfg.plugin);
    w.field("version", s.cfg.version);
    w.field("idempotent", s.entry != nullptr && s.entry->spec.idempotent);
    w.end_object();
}

void write_stats(http::json_writer& w, const connector_slot& s) {
    const auto& st = s.stats;
    const bool sink = s.kind == connector_kind::sink;
    auto rd = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    w.begin_object();
    w.field("key", s.cfg.key);
    w.field("name", s.cfg.name);
    w.field("connector_type", std::string(to_string(s.kind)));
    w.field("version", std::to_string(s.cfg.version));
    w.field("status", to_string(s.status()));
    w.field("enabled", s.cfg.enabled);
    if (sink) {
        w.field("messages_consumed", rd(st.messages_in));
        w.field("messages_processed", rd(st.messages_out));
    } else {
        w.field("messages_produced", rd(st.messages_in));
        w.field("messages_sent", rd(st.messages_out));
    }
    w.field("messages_filtered", rd(st.messages_filtered));
    w.field("errors", rd(st.errors));
    // Additions.
    w.field("plugin", s.entry != nullptr ? s.entry->spec.name : s.cfg.plugin);
    w.field("bytes_in", rd(st.bytes_in));
    w.field("bytes_out", rd(st.bytes_out));
    w.field("batches", rd(st.batches_out));
    w.field("dead_lettered", rd(st.dead_lettered));
    w.field("skipped", rd(st.skipped));
    w.field("retries", rd(st.retries));
    w.field("restarts", rd(st.restarts));
    w.key("errors_by_class").begin_object();
    w.field("retryable", rd(st.errors_by_class[0]));
    w.field("throttled", rd(st.errors_by_class[1]));
    w.field("fatal", rd(st.errors_by_class[2]));
    w.end_object();
    if (sink) {
        const auto lag = st.lag.load(std::memory_order_relaxed);
        if (lag >= 0) {
            w.field("lag", lag);
        } else {
            w.key("lag").null();
        }
        w.field("commits", rd(st.commits));
    }
    w.field("in_flight_batches", rd(st.in_flight_batches));
    w.field("in_flight_bytes", rd(st.in_flight_bytes));
    w.field("batch_latency_p50_ms", st.batch_latency.quantile_s(0.5) * 1000.0);
    w.field("batch_latency_p99_ms", st.batch_latency.quantile_s(0.99) * 1000.0);
    write_error(w, s.last_error());
    w.end_object();
}

std::optional<connector_kind> kind_of(std::string_view plural) {
    if (plural == "sinks")
        return connector_kind::sink;
    if (plural == "sources")
        return connector_kind::source;
    return std::nullopt;
}

// ---- Prometheus text ---------------------------------------------------------------------------

void prom_escape(std::string& out, std::string_view v) {
    for (char c : v) {
        if (c == '\\' || c == '"') {
            out.push_back('\\');
            out.push_back(c);
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out.push_back(c);
        }
    }
}

std::string labels_of(const connector_slot& s, std::string_view extra = {}) {
    std::string l = "{connector=\"";
    prom_escape(l, s.cfg.key);
    l += "\",kind=\"";
    l += to_string(s.kind);
    l += "\",plugin=\"";
    prom_escape(l, s.entry != nullptr ? s.entry->spec.name : s.cfg.plugin);
    l += "\"";
    if (!extra.empty()) {
        l += ",";
        l += extra;
    }
    l += "}";
    return l;
}

}  // namespace

std::string stats_json(const host& h) {
    const auto cpu = usage_since_last();
    std::uint32_t sources_total = 0;
    std::uint32_t sources_running = 0;
    std::uint32_t sinks_total = 0;
    std::uint32_t sinks_running = 0;
    for (const auto& s : h.connectors()) {
        const bool running = s->status() == connector_status::running;
        if (s->kind == connector_kind::sink) {
            ++sinks_total;
            sinks_running += running ? 1 : 0;
        } else {
            ++sources_total;
            sources_running += running ? 1 : 0;
        }
    }
    const auto now = now_us();
    http::json_writer w;
    w.begin_object();
    w.field("connectors_runtime_version", version_string());
    w.field("process_id", static_cast<std::uint64_t>(::getpid()));
    w.field("cpu_usage", cpu.process_pct);
    w.field("total_cpu_usage", cpu.total_pct);
    w.field("memory_usage", rss_bytes());
    w.field("total_memory", meminfo("MemTotal"));
    w.field("available_memory", meminfo("MemAvailable"));
    w.field("run_time", now - h.start_time_us());
    w.field("start_time", h.start_time_us());
    w.field("sources_total", sources_total);
    w.field("sources_running", sources_running);
    w.field("sinks_total", sinks_total);
    w.field("sinks_running", sinks_running);
    w.field("iggy_address", h.iggy_address());
    w.key("connectors").begin_array();
    for (const auto& s : h.connectors())
        write_stats(w, *s);
    w.end_array();
    w.end_object();
    return w.take();
}

std::string metrics_text(host& h) {
    std::string out = h.metrics().prometheus_text();
    struct family {
        const char* name;
        const char* type;
        const char* help;
        std::function<void(std::string&, const connector_slot&)> samples;
    };
    auto counter_of = [](std::atomic<std::uint64_t> connector_stats::*m) {
        return [m](std::string& o, const connector_slot& s) {
            fmt::format_to(std::back_inserter(o), "{} {}\n", labels_of(s),
                           (s.stats.*m).load(std::memory_order_relaxed));
        };
    };
    std::vector<family> fams;
    fams.push_back({"tributary_connector_messages_in_total", "counter",
                    "Messages polled from the source system (sources) or from Iggy (sinks).",
                    counter_of(&connector_stats::messages_in)});
    fams.push_back({"tributary_connector_messages_out_total", "counter",
                    "Messages acknowledged by Iggy (sources) or accepted by the sink (sinks).",
                    counter_of(&connector_stats::messages_out)});
    fams.push_back({"tributary_connector_bytes_in_total", "counter", "Payload bytes in.",
                    counter_of(&connector_stats::bytes_in)});
    fams.push_back({"tributary_connector_bytes_out_total", "counter", "Payload bytes out.",
                    counter_of(&connector_stats::bytes_out)});
    fams.push_back({"tributary_connector_messages_filtered_total", "counter",
                    "Messages dropped on purpose by a transform.",
                    counter_of(&connector_stats::messages_filtered)});
    fams.push_back({"tributary_connector_dead_lettered_total", "counter",
                    "Messages sent to the dead-letter topic.",
                    counter_of(&connector_stats::dead_lettered)});
    fams.push_back({"tributary_connector_skipped_total", "counter",
                    "Messages skipped by the error policy.",
                    counter_of(&connector_stats::skipped)});
    fams.push_back({"tributary_connector_retries_total", "counter", "Retried writes and sends.",
                    counter_of(&connector_stats::retries)});
    fams.push_back({"tributary_connector_restarts_total", "counter",
                    "Restarts of the connector after a failure.",
                    counter_of(&connector_stats::restarts)});
    fams.push_back({"tributary_connector_commits_total", "counter", "Iggy offset commits (sinks).",
                    counter_of(&connector_stats::commits)});
    fams.push_back({"tributary_connector_errors_total", "counter",
                    "Failed attempts by retry class.", [](std::string& o, const connector_slot& s) {
                        static constexpr const char* cls[] = {"retryable", "throttled", "fatal"};
                        for (std::size_t i = 0; i < 3; ++i) {
                            // One line per class, each with the family name.
                            fmt::format_to(
                                std::back_inserter(o), "tributary_connector_errors_total{} {}\n",
                                labels_of(s, fmt::format("class=\"{}\"", cls[i])),
                                s.stats.errors_by_class[i].load(std::memory_order_relaxed));
                        }
                    }});
    fams.push_back({"tributary_connector_lag_messages", "gauge",
                    "Messages in Iggy not yet committed by the sink (-1: unknown).",
                    [](std::string& o, const connector_slot& s) {
                        if (s.kind != connector_kind::sink)
                            return;
                        fmt::format_to(std::back_inserter(o), "{} {}\n", labels_of(s),
                                       s.stats.lag.load(std::memory_order_relaxed));
                    }});
    fams.push_back({"tributary_connector_in_flight_bytes", "gauge",
                    "Payload bytes between Iggy and the connector.",
                    counter_of(&connector_stats::in_flight_bytes)});
    fams.push_back({"tributary_connector_in_flight_batches", "gauge",
                    "Batches between Iggy and the connector.",
                    counter_of(&connector_stats::in_flight_batches)});
    fams.push_back({"tributary_connector_up", "gauge", "1 while the connector runs.",
                    [](std::string& o, const connector_slot& s) {
                        fmt::format_to(std::back_inserter(o), "{} {}\n", labels_of(s),
                                       s.status() == connector_status::running ? 1 : 0);
                    }});
    fams.push_back(
        {"tributary_connector_batch_latency_seconds", "histogram",
         "From poll to commit (sinks) or to Iggy's acknowledgement (sources), per batch.",
         [](std::string& o, const connector_slot& s) {
             const auto& hgm = s.stats.batch_latency;
             const auto c = hgm.counts();
             std::uint64_t cum = 0;
             for (std::size_t i = 0; i < latency_histogram::bounds_s.size(); ++i) {
                 cum += c[i];
                 fmt::format_to(
                     std::back_inserter(o),
                     "tributary_connector_batch_latency_seconds_bucket{} {}\n",
                     labels_of(s, fmt::format("le=\"{}\"", latency_histogram::bounds_s[i])), cum);
             }
             cum += c.back();
             fmt::format_to(std::back_inserter(o),
                            "tributary_connector_batch_latency_seconds_bucket{} {}\n",
                            labels_of(s, "le=\"+Inf\""), cum);
             fmt::format_to(std::back_inserter(o),
                            "tributary_connector_batch_latency_seconds_sum{} {}\n", labels_of(s),
                            hgm.sum_s());
             fmt::format_to(std::back_inserter(o),
                            "tributary_connector_batch_latency_seconds_count{} {}\n", labels_of(s),
                            cum);
         }});
    for (const auto& f : fams) {
        fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", f.name, f.help,
                       f.name, f.type);
        for (const auto& s : h.connectors()) {
            // Families with several lines per connector write their names themselves.
            if (std::string_view(f.type) == "histogram" ||
                std::string_view(f.name) == "tributary_connector_errors_total") {
                f.samples(out, *s);
                continue;
            }
            const auto before = out.size();
            out += f.name;
            const auto name_end = out.size();
            f.samples(out, *s);
            if (out.size() == name_end)
                out.resize(before);  // no sample for this connector
        }
    }
    fmt::format_to(std::back_inserter(out),
                   "# HELP tributary_process_resident_memory_bytes Resident memory of the "
                   "runtime.\n# TYPE tributary_process_resident_memory_bytes gauge\n"
                   "tributary_process_resident_memory_bytes {}\n",
                   rss_bytes());
    fmt::format_to(std::back_inserter(out),
                   "# HELP tributary_process_start_time_seconds When the runtime started.\n# TYPE "
                   "tributary_process_start_time_seconds gauge\n"
                   "tributary_process_start_time_seconds {}\n",
                   static_cast<double>(h.start_time_us()) / 1e6);
    return out;
}

management_api::management_api(host& h, config::http_config cfg) : h_(h), cfg_(std::move(cfg)) {}

management_api::~management_api() {
    stop();
}

status management_api::start() {
    http::server_config sc;
    sc.name = "api";
    // "host:port"; IPv6 in brackets.
    std::string hostpart = cfg_.address;
    std::uint16_t port = 8081;
    const auto colon = cfg_.address.rfind(':');
    if (colon != std::string::npos && colon + 1 < cfg_.address.size() &&
        cfg_.address.find(']', colon) == std::string::npos) {
        hostpart = cfg_.address.substr(0, colon);
        const auto ps = std::string_view(cfg_.address).substr(colon + 1);
        if (std::from_chars(ps.data(), ps.data() + ps.size(), port).ec != std::errc()) {
            return fail(errc::invalid_argument, "bad [http] address " + cfg_.address);
        }
    }
    if (hostpart.size() >= 2 && hostpart.front() == '[' && hostpart.back() == ']') {
        hostpart = hostpart.substr(1, hostpart.size() - 2);
    }
    bind_host_ = hostpart.empty() ? "127.0.0.1" : hostpart;
    sc.address = bind_host_;
    sc.port = port;
    sc.api_key = cfg_.api_key;
    sc.public_paths = {"/", "/health"};
    if (cfg_.tls.enabled)
        sc.tls = http::tls_config{cfg_.tls.cert_file, cfg_.tls.key_file};
    if (cfg_.cors.enabled) {
        sc.cors.enabled = true;
        sc.cors.allowed_origins = cfg_.cors.allowed_origins;
        if (!cfg_.cors.allowed_methods.empty())
            sc.cors.allowed_methods = cfg_.cors.allowed_methods;
        if (!cfg_.cors.allowed_headers.empty())
            sc.cors.allowed_headers = cfg_.cors.allowed_headers;
        sc.cors.exposed_headers = cfg_.cors.exposed_headers;
        sc.cors.allow_credentials = cfg_.cors.allow_credentials;
    }
    sc.metrics = &h_.metrics();
    sc.threads = 1;
    srv_ = std::make_unique<http::server>(std::move(sc));
    add_routes();
    TRIB_TRY(srv_->start());
    if (cfg_.api_key.empty() && bind_host_ != "127.0.0.1" && bind_host_ != "localhost" &&
        bind_host_ != "::1") {
        spdlog::warn(
            "the management API on {} has no api_key: anyone who reaches it can read "
            "the configuration and restart connectors",
            cfg_.address);
    }
    spdlog::info("management API on {}", url());
    return ok();
}

void management_api::stop() {
    if (srv_)
        srv_->stop(std::chrono::seconds(2));
}

std::uint16_t management_api::port() const {
    return srv_ ? srv_->port() : 0;
}

std::string management_api::url() const {
    const bool v6 = bind_host_.find(':') != std::string::npos;
    const std::string hostpart =
        bind_host_ == "0.0.0.0" ? "127.0.0.1" : (v6 ? "[" + bind_host_ + "]" : bind_host_);
    return fmt::format("{}://{}:{}", cfg_.tls.enabled ? "https" : "http", hostpart, port());
}

namespace {

/// Registers routes on `srv` behind the api_access checks (Host and Origin) of every request.
class guarded_routes {
  public:
    guarded_routes(http::server& srv, std::shared_ptr<const api_access> access)
        : srv_(srv), access_(std::move(access)) {}
    void route(std::string method, std::string pattern, http::handler h) {
        auto access = access_;
        srv_.route(
            method, std::move(pattern),
            [access, h = std::move(h)](const http::request& r) -> http::response {
                if (auto refused = access->check(r.method, r.header("Host"), r.header("Origin"))) {
                    spdlog::warn("management API: {} {} from {} refused: {}", r.method, r.path,
                                 r.remote_address, refused->message);
                    return http::response::error_json(refused->status, refused->message);
                }
                return h(r);
            });
    }

  private:
    http::server& srv_;
    std::shared_ptr<const api_access> access_;
};

}  // namespace

void management_api::add_routes() {
    using http::request;
    using http::response;
    api_access_settings as;
    as.bind_host = bind_host_;
    as.allowed_hosts = cfg_.allowed_hosts;
    if (cfg_.cors.enabled)
        as.allowed_origins = cfg_.cors.allowed_origins;
    as.api_key_set = !cfg_.api_key.empty();
    as.tls = cfg_.tls.enabled;
    guarded_routes s(*srv_, std::make_shared<const api_access>(std::move(as)));
    host& h = h_;

    s.route("GET", "/", [](const request&) {
        return response::text(200, "Connector Runtime API (Tributary " + version_string() + ")");
    });
    s.route("GET", "/health",
            [](const request&) { return response::json(200, "{\"status\":\"healthy\"}"); });
    s.route("GET", "/stats", [&h](const request&) { return response::json(200, stats_json(h)); });
    auto metrics = [&h](const request&) {
        response r = response::text(200, metrics_text(h));
        r.content_type = std::string(prometheus_content_type);
        return r;
    };
    s.route("GET", "/metrics", metrics);
    if (cfg_.metrics.enabled && !cfg_.metrics.endpoint.empty() &&
        cfg_.metrics.endpoint != "/metrics") {
        s.route("GET", cfg_.metrics.endpoint, metrics);
    }

    for (const std::string plural : {"sinks", "sources"}) {
        const auto kind = *kind_of(plural);
        s.route("GET", "/" + plural, [&h, kind](const request&) {
            http::json_writer w;
            w.begin_array();
            std::size_t id = 0;
            for (const auto& c : h.connectors()) {
                ++id;
                if (c->kind == kind)
                    write_info(w, *c, id);
            }
            w.end_array();
            return response::json(200, w.take());
        });
        auto find = [&h, kind](const request& r) { return h.find(kind, r.param("key")); };
        auto not_found = [kind](const request& r) {
            return response::error_json(
                404, fmt::format("{} {} not found", to_string(kind), r.param("key")));
        };
        s.route("GET", "/" + plural + "/{key}", [&h, find, not_found](const request& r) {
            auto* c = find(r);
            if (c == nullptr)
                return not_found(r);
            std::size_t id = 0;
            for (const auto& x : h.connectors()) {
                ++id;
                if (x.get() == c)
                    break;
            }
            http::json_writer w;
            write_info(w, *c, id);
            return response::json(200, w.take());
        });
        auto config_of = [](const connector_slot& c) {
            http::json_writer w;
            w.begin_object();
            w.field("key", c.cfg.key);
            w.field("version", c.cfg.version);
            w.field("active", true);
            w.field("file", c.cfg.file);
            w.key("config").raw(c.cfg.raw.to_redacted_json());
            w.end_object();
            return w.take();
        };
        s.route("GET", "/" + plural + "/{key}/configs",
                [find, not_found, config_of](const request& r) {
                    auto* c = find(r);
                    if (c == nullptr)
                        return not_found(r);
                    return response::json(200, "[" + config_of(*c) + "]");
                });
        s.route("GET", "/" + plural + "/{key}/configs/active",
                [find, not_found, config_of](const request& r) {
                    auto* c = find(r);
                    if (c == nullptr)
                        return not_found(r);
                    return response::json(200, config_of(*c));
                });
        s.route("GET", "/" + plural + "/{key}/configs/plugin", [find, not_found](const request& r) {
            auto* c = find(r);
            if (c == nullptr)
                return not_found(r);
            return response::json(200, c->cfg.plugin_config.to_redacted_json());
        });
        s.route("GET", "/" + plural + "/{key}/transforms", [find, not_found](const request& r) {
            auto* c = find(r);
            if (c == nullptr)
                return not_found(r);
            http::json_writer w;
            w.begin_object();
            for (const auto& t : c->cfg.transforms) {
                w.key(t.name).begin_object();
                w.field("enabled", t.enabled);
                w.key("options").raw(t.options.to_redacted_json());
                w.end_object();
            }
            w.end_object();
            return response::json(200, w.take());
        });
        s.route("POST", "/" + plural + "/{key}/restart", [&h, kind](const request& r) {
            auto st = h.restart(kind, r.param("key"));
            if (st)
                return response::empty(204);
            return response::error_json(st.error().code() == errc::not_found ? 404 : 409,
                                        st.error().message());
        });
    }

    s.route("GET", "/connectors", [&h](const request&) {
        http::json_writer w;
        w.begin_array();
        auto add = [&w](const connectors::connector_entry& e, std::string_view kind) {
            w.begin_object();
            w.field("name", e.spec.name);
            w.field("kind", kind);
            w.field("summary", e.spec.summary);
            w.field("idempotent", e.spec.idempotent);
            w.key("plugin_names").begin_array();
            for (const auto& p : e.plugin_names)
                w.value(p);
            w.end_array();
            w.end_object();
        };
        for (const auto& e : h.registry().sources())
            add(e, "source");
        for (const auto& e : h.registry().sinks())
            add(e, "sink");
        w.end_array();
        return response::json(200, w.take());
    });
    s.route("GET", "/connectors/{name}/spec", [&h](const request& r) {
        auto found = h.registry().find_connectors(r.param("name"));
        if (auto kind = r.query_param("kind")) {
            std::erase_if(found, [&](const connectors::connector_entry* e) {
                return (e->spec.kind == config::spec_kind::sink) != (*kind == "sink");
            });
        }
        if (found.empty()) {
            return response::error_json(404, fmt::format("no connector named {}", r.param("name")));
        }
        if (found.size() == 1)
            return response::json(200, config::to_json(found[0]->spec));
        http::json_writer w;
        w.begin_object();
        for (const auto* e : found) {
            w.key(e->spec.kind == config::spec_kind::sink ? "sink" : "source")
                .raw(config::to_json(e->spec));
        }
        w.end_object();
        return response::json(200, w.take());
    });
}

}  // namespace trib::runtime
