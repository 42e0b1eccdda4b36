// GET_STATS, cluster metadata and option descriptions.

#include "server/handlers/request_ops.h"

#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <thread>

namespace trib::server::handlers {

namespace {

// ---- system figures for GET_STATS ----

struct proc_figures {
    std::uint64_t rss = 0, total_mem = 0, avail_mem = 0, read_bytes = 0, written_bytes = 0;
    std::uint32_t threads = 0;
    double cpu_seconds = 0;
};

/// The first unsigned number after `prefix` in a /proc line ("VmRSS:   1234 kB"); 0 when the
/// line holds none (a checked conversion: /proc text is not trusted to be what we expect).
std::uint64_t proc_number(std::string_view line, std::size_t prefix) {
    line.remove_prefix(std::min(prefix, line.size()));
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
        line.remove_prefix(1);
    std::uint64_t v = 0;
    auto r = std::from_chars(line.data(), line.data() + line.size(), v);
    return r.ec == std::errc() ? v : 0;
}

std::uint64_t kib_to_bytes(std::uint64_t kib) {
    return kib > UINT64_MAX / 1024 ? UINT64_MAX : kib * 1024;
}

proc_figures read_proc() {
    proc_figures f;
    {
        std::ifstream in("/proc/self/status");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("VmRSS:", 0) == 0)
                f.rss = kib_to_bytes(proc_number(line, 6));
            else if (line.rfind("Threads:", 0) == 0)
                f.threads = static_cast<std::uint32_t>(
                    std::min<std::uint64_t>(proc_number(line, 8), UINT32_MAX));
        }
    }
    {
        std::ifstream in("/proc/meminfo");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("MemTotal:", 0) == 0)
                f.total_mem = kib_to_bytes(proc_number(line, 9));
            else if (line.rfind("MemAvailable:", 0) == 0)
                f.avail_mem = kib_to_bytes(proc_number(line, 13));
        }
    }
    {
        std::ifstream in("/proc/self/io");
        std::string k;
        std::uint64_t v = 0;
        while (in >> k >> v) {
            if (k == "read_bytes:")
                f.read_bytes = v;
            else if (k == "write_bytes:")
                f.written_bytes = v;
        }
    }
    rusage ru{};
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        f.cpu_seconds = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                        static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    }
    return f;
}

std::string os_pretty_name() {
    std::ifstream in("/etc/os-release");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("PRETTY_NAME=", 0) == 0) {
            auto v = line.substr(12);
            if (v.size() >= 2 && v.front() == '"')
                v = v.substr(1, v.size() - 2);
            return v;
        }
    }
    return "Linux";
}

}  // namespace

void request_ops::get_stats() {
    stats s;
    {
        std::shared_lock l(m.mu);
        if (!who().read_servers())
            return status_reply(code::unauthorized);
        s.streams_count = static_cast<std::uint32_t>(m.streams.size());
        for (const auto& [sid, st] : m.streams) {
            s.topics_count += static_cast<std::uint32_t>(st.topics.size());
            for (const auto& [tid, t] : st.topics) {
                s.consumer_groups_count += static_cast<std::uint32_t>(t->groups.size());
                for (const auto& p : t->partitions) {
                    auto ls = p->log->stats();
                    ++s.partitions_count;
                    s.segments_count += ls.segment_count;
                    s.messages_count += ls.message_count;
                    s.messages_size_bytes += ls.size_bytes;
                }
            }
        }
        std::lock_guard cl(m.conn_mu);
        for (const auto& [id, cs] : m.connections)
            if (cs->session != 0)
                ++s.clients_count;
    }
    auto pf = read_proc();
    const auto now = now_us();
    s.process_id = static_cast<std::uint32_t>(::getpid());
    const double run_s = static_cast<double>(now - m.start_time_us) / 1e6;
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    s.cpu_usage = run_s > 0 ? static_cast<float>(100.0 * pf.cpu_seconds / run_s / cores) : 0.f;
    {
        double load[1] = {0};
        if (getloadavg(load, 1) == 1)
            s.total_cpu_usage = static_cast<float>(std::min(100.0, 100.0 * load[0] / cores));
    }
    s.memory_usage = pf.rss;
    s.total_memory = pf.total_mem;
    s.available_memory = pf.avail_mem;
    s.run_time = now - m.start_time_us;
    s.start_time = m.start_time_us;
    s.read_bytes = pf.read_bytes;
    s.written_bytes = pf.written_bytes;
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    s.hostname = host;
    utsname un{};
    uname(&un);
    s.os_name = os_pretty_name();
    s.os_version = std::string(un.sysname) + " (" + s.os_name + ")";
    s.kernel_version = un.release;
    s.iggy_server_version = std::string(k_server_version);
    s.iggy_server_semver = k_server_semver;
    s.threads_count = pf.threads;
    struct statvfs vfs {};
    if (statvfs(opt.data_dir.c_str(), &vfs) == 0) {
        s.free_disk_space = static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
        s.total_disk_space = static_cast<std::uint64_t>(vfs.f_blocks) * vfs.f_frsize;
    }
    payload_ok([&](writer& w) { s.encode(w); });
}

void request_ops::get_cluster_metadata() {
    cluster_metadata cm;
    cm.name = "single-node";
    cluster_node n;
    n.name = "iggy-node";
    n.ip = m.host;
    n.tcp_port = m.port;
    n.role = 0;
    n.status = 0;
    cm.nodes.push_back(n);
    payload_ok([&](writer& w) { cm.encode(w); });
}

void request_ops::describe_options(bytes_view body) {
    auto r = describe_options_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    options_catalog cat;
    if (r->scope == describe_options_request::topic_scope) {
        // The defaults a topic created with an empty options block gets (derived options).
        topic_settings defaults;
        defaults.segment_size = opt.segment_size;
        static const std::map<std::string, std::string> docs = {
            {"compression_algorithm",
             "Compression recorded for the topic: none or gzip "
             "(metadata only; payloads are stored as sent)"},
            {"consumer_offset_durability",
             "replicated or persisted: persisted syncs explicit offset stores before answering"},
            {"durability",
             "replicated or persisted: persisted syncs messages to disk before acknowledging"},
            {"max_topic_size",
             "Bytes kept per topic before the oldest segments are deleted "
             "(0 server default, u64::MAX unlimited)"},
            {"message_expiry", "Microseconds a message is kept (0 server default, u64::MAX never)"},
            {"messages_required_to_save", "Message-count flush threshold (recorded)"},
            {"preallocate_segments", "Reserve segment bytes on open (recorded)"},
            {"segment_size", "Segment file size in bytes (multiple of 512, 1 MiB..1 GiB)"},
            {"size_of_messages_required_to_save", "Byte flush threshold (recorded)"},
        };
        for (const auto& o : derived_topic_options(defaults, {})) {
            auto it = docs.find(o.key);
            cat.entries.push_back({o.key, o.kind, o.value, it == docs.end() ? "" : it->second});
        }
    }
    payload_ok([&](writer& w) { cat.encode(w); });
}

}  // namespace trib::server::handlers
