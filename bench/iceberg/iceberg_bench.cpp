// Iceberg sink throughput: rows/s appended through Iceberg's REST catalog server (started here
// from .deps/iceberg-rest, SQLite catalog, local warehouse in a temp dir), one snapshot per
// `--batch` rows, beside the baseline measured in the same run against the same catalog:
// pyiceberg's `table.append` of the same rows (bench/iceberg/append_ref.py). One JSON record
// per line on stdout.
//
// iceberg_bench [--messages N] [--batch N]

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/bench_util.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "connectors/iceberg/iceberg.h"
#include "core/net/http_client.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace trib;
using clock_type = std::chrono::steady_clock;

struct catalog_proc {
    pid_t pid = -1;
    fs::path dir;
    std::uint16_t port = 0;
    ~catalog_proc() {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            int st = 0;
            ::waitpid(pid, &st, 0);
        }
        std::error_code ec;
        if (!dir.empty())
            fs::remove_all(dir, ec);
    }
};

bool start_catalog(catalog_proc& c) {
    c.dir = fs::temp_directory_path() / ("trib-iceberg-bench-" + std::to_string(::getpid()));
    fs::create_directories(c.dir);
    c.port = bench::free_port();
    std::string cp = std::string(TRIB_SOURCE_DIR) + "/.deps/iceberg-rest/lib/*";
    std::vector<std::string> args = {"java", "-cp", cp,
                                     "org.apache.iceberg.rest.RESTCatalogServer"};
    std::vector<std::string> env = {"CATALOG_REST_PORT=" + std::to_string(c.port),
                                    "CATALOG_WAREHOUSE=file://" + (c.dir / "warehouse").string(),
                                    "CATALOG_URI=jdbc:sqlite:file:" + (c.dir / "cat.db").string()};
    for (char** e = environ; *e; ++e)
        env.emplace_back(*e);
    std::vector<char*> argv, envp;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const auto log = (c.dir / "catalog.log").string();
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const int rc = posix_spawnp(&c.pid, "java", &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return false;
    net::http_client h;
    const auto until = clock_type::now() + std::chrono::seconds(120);
    while (clock_type::now() < until) {
        auto r = h.get("http://127.0.0.1:" + std::to_string(c.port) + "/v1/config");
        if (r && r->ok())
            return true;
        ::usleep(200000);  // start-up poll of a process we spawned, not a test
    }
    return false;
}

std::string payload(std::uint64_t i) {
    char score[32];
    std::snprintf(score, sizeof score, "%.17g", static_cast<double>(i) * 0.25);
    return "{\"id\":" + std::to_string(i) + ",\"name\":\"user-" + std::to_string(i) +
           "\",\"score\":" + score + ",\"ts\":\"2026-12-07T10:00:00Z\"}";
}

}  // namespace

int main(int argc, char** argv) {
    spdlog::set_level(spdlog::level::warn);  // stdout carries the JSON records only
    std::uint64_t n = 100000;
    std::uint64_t batch = 10000;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--messages")
            n = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--batch")
            batch = std::strtoull(argv[i + 1], nullptr, 10);
    }
    catalog_proc cat;
    if (!start_catalog(cat)) {
        std::fprintf(stderr, "iceberg_bench: the REST catalog did not start (see %s)\n",
                     (cat.dir / "catalog.log").c_str());
        return 1;
    }
    const std::string uri = "http://127.0.0.1:" + std::to_string(cat.port);

    auto node = config::parse_toml("uri = \"" + uri +
                                       "\"\ntables = [\"bench.sink\"]\n"
                                       "schema = '[{\"name\":\"id\",\"type\":\"long\"},"
                                       "{\"name\":\"name\",\"type\":\"string\"},"
                                       "{\"name\":\"score\",\"type\":\"double\"},"
                                       "{\"name\":\"ts\",\"type\":\"timestamp\"}]'\n",
                                   "bench.toml");
    config::problems pr;
    auto spec = connectors::iceberg_sink_spec();
    auto v = config::validate(spec, *node, "bench.toml", "plugin_config", pr);
    if (pr.has_errors()) {
        std::fprintf(stderr, "%s\n", pr.to_string().c_str());
        return 1;
    }
    auto s = connectors::make_iceberg_sink(v);
    connector_context ctx;
    ctx.key = "bench";
    if (!s || !(*s)->open(ctx)) {
        std::fprintf(stderr, "iceberg_bench: the sink did not open\n");
        return 1;
    }
    std::vector<std::string> payloads;
    payloads.reserve(n);
    std::uint64_t bytes = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
        payloads.push_back(payload(i));
        bytes += payloads.back().size();
    }
    const auto start = clock_type::now();
    for (std::uint64_t first = 0; first < n; first += batch) {
        message_batch b;
        for (std::uint64_t i = first; i < std::min(n, first + batch); ++i) {
            message m;
            m.payload = payloads[i];
            m.offset = i;
            b.messages.push_back(std::move(m));
        }
        sink_batch sb{"bench", "rows", 1, "json", &b};
        auto w = (*s)->write(sb);
        if (!w || !w->rejected.empty()) {
            std::fprintf(stderr, "iceberg_bench: write failed: %s\n",
                         w ? "rejected rows" : w.error().message().c_str());
            return 1;
        }
    }
    const double secs = std::chrono::duration<double>(clock_type::now() - start).count();
    (*s)->close();
    std::printf(
        "{\"bench\":\"iceberg\",\"impl\":\"tributary-iceberg-sink\",\"messages\":%llu,"
        "\"batches\":%llu,\"bytes\":%llu,\"seconds\":%.3f,\"rows_per_s\":%.0f,"
        "\"peak_rss_kb\":%ld}\n",
        static_cast<unsigned long long>(n),
        static_cast<unsigned long long>((n + batch - 1) / batch),
        static_cast<unsigned long long>(bytes), secs, static_cast<double>(n) / secs,
        bench::peak_rss_kb());
    std::fflush(stdout);
    // The baseline: pyiceberg's append of the same rows, same catalog, same batches.
    const std::string cmd = std::string(TRIB_SOURCE_DIR) + "/.venv/bin/python " + TRIB_SOURCE_DIR +
                            "/bench/iceberg/append_ref.py " + uri + " bench.pyiceberg " +
                            std::to_string(n) + " " + std::to_string(batch);
    return std::system(cmd.c_str()) == 0 ? 0 : 1;
}
