// Throughput of decode -> transforms -> encode over batches of 1000 JSON messages (~330 B each),
// against a baseline measured in the same run: copying the same payload bytes once (the least
// any rewrite costs). Cases: passthrough (no transforms), json decode+encode with one added
// field, and a typical chain (add_fields static + timestamp, delete_fields, filter dropping
// ~10%). One JSON object per line.
//
//   bench_transforms_chain [--seconds N]

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "common/bench_util.h"
#include "config/node.h"
#include "config/validate.h"
#include "transforms/chain.h"

using namespace trib;
using clock_type = std::chrono::steady_clock;

namespace {

using namespace trib::bench;

double pct(std::vector<double>& v, double p) {
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

config::transform_config transform(const char* name, const char* toml) {
    auto tree = config::parse_toml(toml, "bench.toml");
    config::problems p;
    config::transform_config tc;
    tc.name = name;
    tc.options =
        config::validate(*transforms::builtins().transform_spec(name), *tree, "bench.toml", "", p);
    if (p.has_errors() || !tree) {
        std::fprintf(stderr, "%s\n", p.to_string().c_str());
        std::exit(1);
    }
    return tc;
}

std::vector<std::string> make_payloads(std::size_t n) {
    std::vector<std::string> out;
    char buf[512];
    for (std::size_t i = 0; i < n; ++i) {
        std::snprintf(buf, sizeof buf,
                      R"({"id":%zu,"user_id":"user-%05zu","email":"user%zu@example.com",)"
                      R"("created_at":"2026-08-01T12:%02zu:%02zu.123Z","type":"order",)"
                      R"("amount":%zu.%02zu,"currency":"EUR","items":[{"sku":"A-%zu","qty":2},)"
                      R"({"sku":"B-%zu","qty":1}],"reading":{"temp":%zu.5,"unit":"C"},)"
                      R"("tags":["web","eu","premium"],"active":true,"note":null})",
                      i, i % 50000, i, i % 60, (i * 7) % 60, i % 1000, i % 100, i, i + 1, i % 40);
        out.emplace_back(buf);
    }
    return out;
}

struct stats {
    const char* name;
    std::size_t messages = 0;
    std::size_t bytes = 0;
    double seconds = 0;
    std::vector<double> batch_us;
};

void print(stats& s, double baseline_mb_s) {
    double mps = static_cast<double>(s.messages) / s.seconds;
    double mbs = static_cast<double>(s.bytes) / s.seconds / 1e6;
    std::printf(
        "{\"bench\":\"transforms_chain\",\"case\":\"%s\",\"batch\":1000,\"msgs_per_s\":%.0f,"
        "\"mb_per_s\":%.1f,\"p50_batch_us\":%.1f,\"p99_batch_us\":%.1f,\"peak_rss_kb\":%ld,"
        "\"baseline_copy_mb_per_s\":%.1f}\n",
        s.name, mps, mbs, pct(s.batch_us, 0.5), pct(s.batch_us, 0.99), peak_rss_kb(),
        baseline_mb_s);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 3;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::strcmp(argv[i], "--seconds") == 0)
            seconds = std::atof(argv[i + 1]);
    }
    const std::size_t batch_size = 1000;
    const auto payloads = make_payloads(batch_size);
    std::size_t batch_bytes = 0;
    for (const auto& p : payloads)
        batch_bytes += p.size();

    auto fresh_batch = [&] {
        message_batch b;
        b.messages.resize(batch_size);
        for (std::size_t i = 0; i < batch_size; ++i) {
            b.messages[i].offset = i;
            b.messages[i].payload = payloads[i];
        }
        return b;
    };

    auto run = [&](const char* name, auto&& body) {
        stats s{name};
        auto end = clock_type::now() + std::chrono::duration<double>(seconds);
        while (clock_type::now() < end) {
            message_batch b = fresh_batch();
            auto t0 = clock_type::now();
            body(b);
            auto t1 = clock_type::now();
            s.seconds += std::chrono::duration<double>(t1 - t0).count();
            s.batch_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
            s.messages += batch_size;
            s.bytes += batch_bytes;
        }
        return s;
    };

    // Baseline: copy every payload once into one buffer the batch owns.
    stats base = run("baseline_copy", [&](message_batch& b) {
        std::string buf;
        buf.reserve(batch_bytes);
        for (auto& m : b.messages)
            buf.append(m.payload);
        std::string_view v = b.own(std::move(buf));
        std::size_t off = 0;
        for (auto& m : b.messages) {
            std::size_t n = m.payload.size();
            m.payload = v.substr(off, n);
            off += n;
        }
    });
    double base_mbs = static_cast<double>(base.bytes) / base.seconds / 1e6;
    print(base, base_mbs);

    auto bench_chain = [&](const char* name, std::vector<config::transform_config> ts) {
        auto c = transforms::make_chain("json", ts);
        if (!c) {
            std::fprintf(stderr, "%s\n", c.error().to_string().c_str());
            std::exit(1);
        }
        transforms::chain_report report;
        stats s = run(name, [&](message_batch& b) {
            report.failed.clear();
            c->process(b, "stream", "topic", report);
        });
        if (!report.failed.empty()) {
            std::fprintf(stderr, "%s: unexpected failures\n", name);
            std::exit(1);
        }
        print(s, base_mbs);
    };

    bench_chain("passthrough", {});
    bench_chain("json_decode_add_one_field_encode",
                {transform("add_fields", "[[fields]]\nkey = \"src\"\nvalue.static = \"iggy\"\n")});
    bench_chain(
        "typical_add_delete_filter",
        {transform("add_fields",
                   "[[fields]]\nkey = \"src\"\nvalue.static = \"iggy\"\n"
                   "[[fields]]\nkey = \"ingested_at\"\nvalue.computed = \"timestamp_millis\"\n"),
         transform("delete_fields", "fields = [\"email\", \"note\"]"),
         transform("filter", "field = \"reading.temp\"\nop = \"lt\"\nvalue = 36\n")});
    return 0;
}
