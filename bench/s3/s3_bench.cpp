// S3 sink throughput into MinIO: JSON lines objects written by the `s3` sink, beside two ceilings
// measured in the same run on the same bytes: a plain libcurl PUT loop of the very objects the
// sink wrote (core/net's client, SigV4, no formatting), and `curl --aws-sigv4` uploading them
// (one process per object, as a user would); then the same messages as Parquet objects beside
// the PUT loop of those. One JSON record per line on stdout.
//
// s3_bench [--messages N] [--payload BYTES] [--batch N] [--minio PATH]
//
// With --partitions P it measures only the sink's memory over P open partitions: the messages go
// to P partitions of one topic, one batch of --batch messages per write, round robin (as the
// runtime hands over batches of many partitions), in --format json_lines or parquet; the record
// holds the process's VmRSS before the sink (the messages themselves) and its VmHWM after.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/bench_util.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "connectors/s3/format.h"
#include "connectors/s3/s3.h"
#include "core/net/http_client.h"

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace trib;
using clock_type = std::chrono::steady_clock;

constexpr const char* k_user = "benchuser";
constexpr const char* k_pass = "bench-secret-123";

struct minio_proc {
    pid_t pid = -1;
    fs::path dir;
    std::uint16_t port = 0;
    ~minio_proc() {
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

net::http_client signed_client() {
    net::client_options o;
    net::aws_sigv4_options sig;
    sig.region = "us-east-1";
    sig.service = "s3";
    sig.access_key_id = k_user;
    sig.secret_access_key = k_pass;
    o.aws_sigv4 = sig;
    o.timeout = std::chrono::milliseconds(120000);
    return net::http_client(o);
}

bool start_minio(minio_proc& m, const std::string& program) {
    m.dir = fs::temp_directory_path() / fmt::format("trib-s3-bench-{}", ::getpid());
    fs::create_directories(m.dir);
    m.port = bench::free_port();
    const auto console = bench::free_port();
    std::vector<std::string> args = {program,
                                     "server",
                                     (m.dir / "data").string(),
                                     "--address",
                                     fmt::format("127.0.0.1:{}", m.port),
                                     "--console-address",
                                     fmt::format("127.0.0.1:{}", console),
                                     "--quiet"};
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env = {fmt::format("MINIO_ROOT_USER={}", k_user),
                                    fmt::format("MINIO_ROOT_PASSWORD={}", k_pass),
                                    "MINIO_BROWSER=off", "MINIO_UPDATE=off"};
    for (char** e = environ; *e; ++e)
        env.emplace_back(*e);
    std::vector<char*> envp;
    for (auto& e : env)
        envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    const auto log = (m.dir / "minio.log").string();
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    const int rc = posix_spawn(&m.pid, argv[0], &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        return false;
    auto c = signed_client();
    const auto until = clock_type::now() + std::chrono::seconds(60);
    while (clock_type::now() < until) {
        net::http_request req;
        req.method = "PUT";
        req.url = fmt::format("http://127.0.0.1:{}/bench", m.port);
        auto r = c.perform(req);
        if (r && (r->ok() || r->status == 409))
            return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

config::values sink_values(std::uint16_t port, const std::string& prefix, bool conditional,
                           const std::string& format = "json_lines") {
    const std::string toml = fmt::format(
        "bucket = \"bench\"\nendpoint = \"http://127.0.0.1:{}\"\naccess_key_id = \"{}\"\n"
        "secret_access_key = \"{}\"\nprefix = \"{}\"\npath_template = \"{{stream}}/{{topic}}\"\n"
        "output_format = \"{}\"\nmax_file_size = \"64MiB\"\nconditional_put = {}\n",
        port, k_user, k_pass, prefix, format, conditional);
    auto n = config::parse_toml(toml, "bench.toml");
    config::problems pr;
    auto v = config::validate(connectors::s3_sink_spec(), *n, "bench.toml", "plugin_config", pr);
    if (pr.has_errors()) {
        std::fprintf(stderr, "%s\n", pr.to_string().c_str());
        std::exit(2);
    }
    return v;
}

struct listed {
    std::vector<std::string> keys;
    std::uint64_t bytes = 0;
};

/// Keys and total size under a prefix (ListObjectsV2 through the sink's own parser is internal:
/// a plain regex-free scan of the XML is enough here).
listed list_prefix(std::uint16_t port, const std::string& prefix) {
    listed out;
    auto c = signed_client();
    std::string token;
    for (;;) {
        std::string url =
            fmt::format("http://127.0.0.1:{}/bench?list-type=2&prefix={}", port, prefix);
        if (!token.empty())
            url += "&continuation-token=" + token;
        auto r = c.get(url);
        if (!r || !r->ok())
            break;
        const std::string& b = r->body;
        for (std::size_t at = 0; (at = b.find("<Key>", at)) != std::string::npos;) {
            const auto end = b.find("</Key>", at);
            out.keys.push_back(b.substr(at + 5, end - at - 5));
            at = end;
        }
        for (std::size_t at = 0; (at = b.find("<Size>", at)) != std::string::npos;) {
            out.bytes += std::strtoull(b.c_str() + at + 6, nullptr, 10);
            at += 6;
        }
        const auto t = b.find("<NextContinuationToken>");
        if (t == std::string::npos)
            break;
        const auto te = b.find("</NextContinuationToken>", t);
        token = b.substr(t + 23, te - t - 23);
    }
    return out;
}

/// Messages [first, end): JSON payloads of about `payload` bytes.
message_batch make_batch(std::uint64_t first, std::uint64_t end, std::size_t payload,
                         std::uint32_t partition) {
    message_batch b;
    for (std::uint64_t o = first; o < end; ++o) {
        message msg;
        msg.offset = o;
        msg.partition = partition;
        msg.timestamp_us = 1'773'669'600'000'000ull + o;
        std::string p = fmt::format(R"({{"n":{},"device":"d{}","v":")", o, o % 100);
        p.append(payload > p.size() + 2 ? payload - p.size() - 2 : 1, 'x');
        p += "\"}";
        msg.payload = b.own(std::move(p));
        b.messages.push_back(std::move(msg));
    }
    return b;
}

/// The s3 sink made and opened with `v`; nullptr (the reason on stderr) when that fails.
std::unique_ptr<sink> open_sink(const config::values& v) {
    auto made = connectors::make_s3_sink(v);
    if (!made) {
        std::fprintf(stderr, "%s\n", made.error().to_string().c_str());
        return nullptr;
    }
    connector_context ctx;
    ctx.key = "bench";
    if (auto st = (*made)->open(ctx); !st) {
        std::fprintf(stderr, "%s\n", st.error().to_string().c_str());
        return nullptr;
    }
    return std::move(made).value();
}

/// A field of /proc/self/status in KiB (VmRSS, VmHWM).
long self_status_kb(const char* field) {
    std::ifstream f("/proc/self/status");
    std::string line;
    const std::string want = std::string(field) + ":";
    while (std::getline(f, line))
        if (line.rfind(want, 0) == 0)
            return std::strtol(line.c_str() + want.size(), nullptr, 10);
    return 0;
}

/// The sink over `partitions` partitions of one topic, writes interleaved round robin.
int partitions_run(const minio_proc& m, std::uint64_t messages, std::size_t payload,
                   std::size_t batch, std::uint32_t partitions, const std::string& format) {
    // batches[p][k]: partition p's k-th batch.
    std::vector<std::vector<message_batch>> batches(partitions);
    const std::uint64_t per = messages / partitions;
    for (std::uint32_t p = 0; p < partitions; ++p) {
        for (std::uint64_t first = 0; first < per; first += batch)
            batches[p].push_back(
                make_batch(first, std::min<std::uint64_t>(per, first + batch), payload, p + 1));
    }
    const long baseline_kb = self_status_kb("VmRSS");
    const std::string prefix = "parts-" + format;
    auto opened = open_sink(sink_values(m.port, prefix, true, format));
    if (!opened)
        return 1;
    auto& sink = *opened;
    const auto t0 = clock_type::now();
    for (std::size_t k = 0; k < batches[0].size(); ++k) {
        for (std::uint32_t p = 0; p < partitions; ++p) {
            if (k >= batches[p].size())
                continue;
            auto r = sink.write(sink_batch{"bench", "events", p + 1, "json", &batches[p][k]});
            if (!r) {
                std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
                return 1;
            }
        }
    }
    const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
    const long peak_kb = self_status_kb("VmHWM");
    sink.close();
    auto w = list_prefix(m.port, prefix + "/");
    std::uint64_t n = per * partitions;
    std::printf(
        "{\"bench\":\"s3\",\"impl\":\"tributary-s3-sink-partitions\",\"op\":\"put\","
        "\"format\":\"%s\",\"partitions\":%u,\"batch\":%zu,\"messages\":%llu,"
        "\"objects\":%zu,\"bytes\":%llu,\"seconds\":%.3f,\"messages_per_s\":%.0f,"
        "\"mb_per_s\":%.2f,\"baseline_rss_kb\":%ld,\"peak_rss_kb\":%ld,"
        "\"sink_peak_kb\":%ld}\n",
        format.c_str(), partitions, batch, static_cast<unsigned long long>(n), w.keys.size(),
        static_cast<unsigned long long>(w.bytes), s, s > 0 ? n / s : 0.0,
        s > 0 ? w.bytes / s / 1e6 : 0.0, baseline_kb, peak_kb, peak_kb - baseline_kb);
    std::fflush(stdout);
    return 0;
}

/// `format`: the objects' format; `bytes`: the objects' bytes (mb_per_s is of those).
void record(const std::string& impl, std::uint64_t messages, std::uint64_t objects,
            std::uint64_t bytes, double seconds, long rss_kb,
            const std::string& format = "json_lines") {
    std::printf(
        "{\"bench\":\"s3\",\"impl\":\"%s\",\"op\":\"put\",\"format\":\"%s\","
        "\"messages\":%llu,\"objects\":%llu,\"bytes\":%llu,\"seconds\":%.3f,"
        "\"messages_per_s\":%.0f,\"mb_per_s\":%.2f,\"peak_rss_kb\":%ld}\n",
        impl.c_str(), format.c_str(), static_cast<unsigned long long>(messages),
        static_cast<unsigned long long>(objects), static_cast<unsigned long long>(bytes), seconds,
        seconds > 0 ? messages / seconds : 0.0, seconds > 0 ? bytes / seconds / 1e6 : 0.0, rss_kb);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t messages = 200000;
    std::size_t payload = 200;
    std::size_t batch = 10000;
    std::string minio = std::string(TRIB_SOURCE_DIR) + "/.deps/go/bin/minio";
    std::uint32_t partitions = 0;
    std::string format = "json_lines";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--messages")
            messages = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--payload")
            payload = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--batch")
            batch = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--minio")
            minio = argv[i + 1];
        else if (a == "--partitions")
            partitions = static_cast<std::uint32_t>(std::strtoul(argv[i + 1], nullptr, 10));
        else if (a == "--format")
            format = argv[i + 1];
    }
    minio_proc m;
    if (!start_minio(m, minio)) {
        std::fprintf(stderr, "MinIO (%s) did not start\n", minio.c_str());
        return 1;
    }
    if (partitions > 0)
        return partitions_run(m, messages, payload, std::max<std::size_t>(batch, 1), partitions,
                              format);
    // The messages: JSON payloads of about `payload` bytes.
    std::vector<message_batch> batches;
    for (std::uint64_t first = 0; first < messages; first += batch)
        batches.push_back(
            make_batch(first, std::min<std::uint64_t>(messages, first + batch), payload, 0));

    // 0. Formatting alone (the sink's CPU share): the JSON lines of every batch, no upload.
    {
        auto w = connectors::s3_detail::make_format_writer(
            connectors::s3_detail::output_format::json_lines, {true, false});
        const connectors::s3_detail::object_context octx{"bench", "events", 1, "json"};
        std::string out;
        std::uint64_t bytes = 0;
        const auto tf = clock_type::now();
        for (const auto& b : batches) {
            out.clear();
            w->begin(out, octx);
            for (const auto& msg : b.messages)
                w->add(out, octx, msg);
            w->finish(out);
            bytes += out.size();
        }
        const double fs_ = std::chrono::duration<double>(clock_type::now() - tf).count();
        record("tributary-format-only", messages, batches.size(), bytes, fs_, bench::peak_rss_kb());
    }

    // 0b. The same for Parquet (snappy, inferred columns): JSON parsing, columns, Arrow.
    {
        auto w = connectors::s3_detail::make_format_writer(
            connectors::s3_detail::output_format::parquet, {true, false},
            connectors::s3_detail::columnar_options{});
        if (!w) {
            std::fprintf(stderr, "%s\n", w.error().to_string().c_str());
            return 1;
        }
        const connectors::s3_detail::object_context octx{"bench", "events", 1, "json"};
        std::string out;
        std::uint64_t bytes = 0;
        const auto tf = clock_type::now();
        for (const auto& b : batches) {
            out.clear();
            (*w)->begin(out, octx);
            for (const auto& msg : b.messages)
                (*w)->add(out, octx, msg);
            if (auto st = (*w)->end(out); !st) {
                std::fprintf(stderr, "%s\n", st.error().to_string().c_str());
                return 1;
            }
            bytes += out.size();
        }
        const double fs_ = std::chrono::duration<double>(clock_type::now() - tf).count();
        record("tributary-format-only", messages, batches.size(), bytes, fs_, bench::peak_rss_kb(),
               "parquet");
    }

    // 1. The sink, with its conditional put (the exactly-once default) and without.
    listed written;
    for (const bool conditional : {true, false}) {
        const std::string prefix = conditional ? "sink" : "sinku";
        auto opened = open_sink(sink_values(m.port, prefix, conditional));
        if (!opened)
            return 1;
        auto& sink = *opened;
        const auto t0 = clock_type::now();
        for (const auto& b : batches) {
            auto r = sink.write(sink_batch{"bench", "events", 1, "json", &b});
            if (!r) {
                std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
                return 1;
            }
        }
        const double sink_s = std::chrono::duration<double>(clock_type::now() - t0).count();
        sink.close();
        auto w = list_prefix(m.port, prefix + "/");
        record(conditional ? "tributary-s3-sink" : "tributary-s3-sink-unconditional", messages,
               w.keys.size(), w.bytes, sink_s, bench::peak_rss_kb());
        if (conditional)
            written = std::move(w);
    }

    // The objects' bytes, to upload again as they are.
    auto c = signed_client();
    std::vector<std::string> bodies;
    for (const auto& k : written.keys) {
        auto r = c.get(fmt::format("http://127.0.0.1:{}/bench/{}", m.port, k));
        bodies.push_back(r ? r->body : std::string());
    }

    // 2. A plain libcurl PUT loop (core/net's client with SigV4): the HTTP ceiling.
    const auto t1 = clock_type::now();
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        net::http_request req;
        req.method = "PUT";
        req.url = fmt::format("http://127.0.0.1:{}/bench/plain/{}.jsonl", m.port, i);
        req.body = bodies[i];
        auto r = c.perform(req);
        if (!r || !r->ok()) {
            std::fprintf(stderr, "plain put failed\n");
            return 1;
        }
    }
    const double plain_s = std::chrono::duration<double>(clock_type::now() - t1).count();
    record("libcurl-put-loop", messages, bodies.size(), written.bytes, plain_s, 0);

    // 3. curl --aws-sigv4, one process per object, from files.
    std::vector<fs::path> files;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        files.push_back(m.dir / fmt::format("obj{}.jsonl", i));
        std::ofstream(files.back(), std::ios::binary) << bodies[i];
    }
    const auto t2 = clock_type::now();
    for (std::size_t i = 0; i < files.size(); ++i) {
        const std::string cmd = fmt::format(
            "curl -sf -o /dev/null --aws-sigv4 aws:amz:us-east-1:s3 --user {}:{} "
            "-H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -T {} "
            "http://127.0.0.1:{}/bench/cli/{}.jsonl",
            k_user, k_pass, files[i].string(), m.port, i);
        if (std::system(cmd.c_str()) != 0) {
            std::fprintf(stderr, "curl upload failed: %s\n", cmd.c_str());
            return 1;
        }
    }
    const double cli_s = std::chrono::duration<double>(clock_type::now() - t2).count();
    record("curl-cli-aws-sigv4", messages, files.size(), written.bytes, cli_s, 0);

    // 4. Parquet (snappy, inferred columns): the sink, then the PUT loop of its objects. Its
    // messages/s compare with the JSON-lines sink's above (same messages, same ceiling loop);
    // its mb_per_s is of the smaller Parquet bytes, so `json_lines_equivalent_mb_per_s` gives the
    // JSON-lines bytes of the same messages per second as well.
    {
        auto opened = open_sink(sink_values(m.port, "sinkpq", true, "parquet"));
        if (!opened)
            return 1;
        auto& sink = *opened;
        const auto t3 = clock_type::now();
        for (const auto& b : batches) {
            auto r = sink.write(sink_batch{"bench", "events", 1, "json", &b});
            if (!r) {
                std::fprintf(stderr, "%s\n", r.error().to_string().c_str());
                return 1;
            }
        }
        const double pq_s = std::chrono::duration<double>(clock_type::now() - t3).count();
        sink.close();
        auto w = list_prefix(m.port, "sinkpq/");
        record("tributary-s3-sink", messages, w.keys.size(), w.bytes, pq_s, bench::peak_rss_kb(),
               "parquet");
        std::printf(
            "{\"bench\":\"s3\",\"impl\":\"tributary-s3-sink\",\"op\":\"put\","
            "\"format\":\"parquet\",\"json_lines_equivalent_mb_per_s\":%.2f}\n",
            pq_s > 0 ? written.bytes / pq_s / 1e6 : 0.0);
        std::vector<std::string> pq_bodies;
        for (const auto& k : w.keys) {
            auto r = c.get(fmt::format("http://127.0.0.1:{}/bench/{}", m.port, k));
            pq_bodies.push_back(r ? r->body : std::string());
        }
        const auto t4 = clock_type::now();
        for (std::size_t i = 0; i < pq_bodies.size(); ++i) {
            net::http_request req;
            req.method = "PUT";
            req.url = fmt::format("http://127.0.0.1:{}/bench/plainpq/{}.parquet", m.port, i);
            req.body = pq_bodies[i];
            auto r = c.perform(req);
            if (!r || !r->ok()) {
                std::fprintf(stderr, "plain put failed\n");
                return 1;
            }
        }
        const double ppq_s = std::chrono::duration<double>(clock_type::now() - t4).count();
        record("libcurl-put-loop", messages, pq_bodies.size(), w.bytes, ppq_s, 0, "parquet");
    }
    return 0;
}
