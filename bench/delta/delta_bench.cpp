// The delta sink writing a local table: --rows JSON rows in batches of --batch (one Parquet file
// and one commit per batch), then the baseline, deltalake's write_deltalake of the same rows with
// the same batches (delta_ref.py, the project's .venv), in the same run. One JSON record per line
// (README.md).

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/bench_util.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "connectors/delta/delta.h"
#include "core/message.h"

namespace fs = std::filesystem;
using namespace trib;

namespace {

/// Row i, the same text delta_ref.py makes.
std::string row(std::uint64_t i) {
    return fmt::format(
        R"({{"id":{},"name":"user-{}","active":{},"score":{},"count":{},"ts":{},"city":"city{}","note":{}}})",
        i, i, i % 2 == 0 ? "true" : "false", static_cast<double>(i) * 0.25, i % 1000,
        1700000000000000ull + i, i % 50, i % 2 == 0 ? fmt::format("\"n{}\"", i) : "null");
}

constexpr const char* k_schema =
    R"(["id long", "name string", "active boolean", "score double", "count integer", "ts long", "city string", "note string"])";

std::uint64_t dir_bytes(const fs::path& d) {
    std::uint64_t n = 0;
    for (auto& e : fs::recursive_directory_iterator(d))
        if (e.is_regular_file())
            n += e.file_size();
    return n;
}

}  // namespace

int main(int argc, char** argv) {
    std::uint64_t rows = 200000, batch = 10000;
    std::string compression = "snappy";
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--rows")
            rows = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--batch")
            batch = std::strtoull(argv[i + 1], nullptr, 10);
        else if (a == "--compression")
            compression = argv[i + 1];
    }
    if (batch == 0)
        batch = 1;
    spdlog::set_level(spdlog::level::warn);  // stdout holds the JSON records only
    const fs::path dir = fs::temp_directory_path() / fmt::format("trib-delta-bench-{}", ::getpid());
    fs::remove_all(dir);
    fs::create_directories(dir);
    const fs::path ours = dir / "tributary", ref = dir / "deltalake", input = dir / "rows.jsonl";

    // The messages, in batches, built before timing.
    // Built in place: a batch's payloads are views of strings the batch owns.
    std::vector<message_batch> batches;
    batches.reserve(static_cast<std::size_t>((rows + batch - 1) / batch));
    std::uint64_t in_bytes = 0;
    {
        FILE* f = std::fopen(input.c_str(), "w");
        for (std::uint64_t first = 0; first < rows; first += batch) {
            message_batch& b = batches.emplace_back();
            for (std::uint64_t i = first; i < std::min(rows, first + batch); ++i) {
                message m;
                m.offset = i;
                const std::string text = row(i);
                in_bytes += text.size();
                if (f) {
                    std::fputs(text.c_str(), f);
                    std::fputc('\n', f);
                }
                m.payload = b.own(text);
                b.messages.push_back(std::move(m));
            }
        }
        if (f)
            std::fclose(f);
    }

    auto spec = connectors::delta_sink_spec();
    auto node =
        config::parse_toml(fmt::format("table_uri = \"{}\"\nschema = {}\ncompression = \"{}\"",
                                       ours.string(), k_schema, compression),
                           "bench.toml");
    if (!node) {
        std::fprintf(stderr, "%s\n", node.error().to_string().c_str());
        return 1;
    }
    config::problems pr;
    auto v = config::validate(spec, *node, "bench.toml", "plugin_config", pr);
    if (pr.has_errors()) {
        std::fprintf(stderr, "%s\n", pr.to_string().c_str());
        return 1;
    }
    auto s = connectors::make_delta_sink(v);
    if (!s)
        return 1;
    connector_context ctx;
    ctx.key = "bench";
    const auto t0 = std::chrono::steady_clock::now();
    if (auto st = (*s)->open(ctx); !st) {
        std::fprintf(stderr, "open: %s\n", st.error().message().c_str());
        return 1;
    }
    for (const auto& b : batches) {
        auto w = (*s)->write(sink_batch{"bench", "rows", 1, "json", &b});
        if (!w || !w->rejected.empty()) {
            std::fprintf(stderr, "write failed\n");
            return 1;
        }
    }
    (*s)->close();
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf(
        "{\"bench\":\"delta\",\"impl\":\"tributary-delta-sink\",\"op\":\"append\",\"rows\":%llu,"
        "\"commits\":%zu,\"input_bytes\":%llu,\"table_bytes\":%llu,\"seconds\":%.3f,"
        "\"rows_per_s\":%.0f,\"mb_per_s\":%.2f,\"peak_rss_kb\":%ld}\n",
        static_cast<unsigned long long>(rows), batches.size(),
        static_cast<unsigned long long>(in_bytes), static_cast<unsigned long long>(dir_bytes(ours)),
        secs, static_cast<double>(rows) / secs, static_cast<double>(in_bytes) / 1e6 / secs,
        bench::peak_rss_kb());
    std::fflush(stdout);

    // The baseline on the same rows (its own process: it prints its own record).
    const fs::path py = fs::path(TRIB_SOURCE_DIR) / ".venv/bin/python";
    const fs::path script = fs::path(TRIB_SOURCE_DIR) / "bench/delta/delta_ref.py";
    const std::string cmd = fmt::format("{} {} {} {} {} {}", py.string(), script.string(),
                                        input.string(), ref.string(), batch, compression);
    const int rc = std::system(cmd.c_str());
    fs::remove_all(dir);
    return rc == 0 ? 0 : 1;
}
