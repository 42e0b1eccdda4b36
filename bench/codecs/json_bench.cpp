// JSON codec decode/encode of the 20-field record (bench/codecs/README.md) beside simdjson's own
// DOM parse of the same documents (the codec parses with simdjson and builds RapidJSON values in
// the arena, so simdjson's parse alone is the bound). The documents are the record's JSON form
// (decimal and uuid as strings, bytes as base64, ts as RFC 3339, day as YYYY-MM-DD).
//
//   bench_codecs_json [--seconds N] [--only tributary|simdjson]
//
// --only runs one side's decode (for `perf stat -e instructions` or callgrind per side).

#include <simdjson.h>

#include "codecs/codec_bench.h"
#include "codecs/record20.h"

using namespace trib;

int main(int argc, char** argv) {
    const double seconds = bench::bench_seconds(argc, argv);
    std::string_view only;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string_view(argv[i]) == "--only")
            only = argv[i + 1];
    }
    if (!only.empty() && only != "tributary" && only != "simdjson") {
        std::fprintf(stderr, "--only takes tributary or simdjson\n");
        return 2;
    }
    constexpr std::size_t n = 10000;
    auto json = codecs::make_json_codec({});
    if (!json) {
        std::fprintf(stderr, "%s\n", json.error().to_string().c_str());
        return 1;
    }
    std::vector<std::string> docs;
    {
        codecs::arena a;
        for (std::size_t i = 0; i < n; ++i) {
            codecs::record r;
            codecs::set_typed(r, bench::make_record20(a, static_cast<std::int64_t>(i)));
            std::string out;
            if (auto s = (*json)->encode(r, a, out); !s) {
                std::fprintf(stderr, "%s\n", s.error().to_string().c_str());
                return 1;
            }
            docs.push_back(std::move(out));
        }
    }
    if (only.empty() || only == "tributary")
        bench::bench_decode(**json, "json", docs, seconds);
    if (only == "tributary")
        return 0;

    if (only.empty()) {
        // Encode: the decoded DOM records (kept), marked modified so that the codec writes them.
        codecs::arena keep;
        std::vector<codecs::record> records(n);
        for (std::size_t i = 0; i < n; ++i) {
            if (auto s = (*json)->decode(docs[i], keep, records[i]); !s)
                return 1;
            records[i].modified = true;
        }
        bench::bench_encode(**json, "json", records, seconds);
    }

    // simdjson's DOM parse of the same documents (padded copies, as simdjson wants them).
    std::vector<simdjson::padded_string> padded;
    padded.reserve(n);
    for (const auto& d : docs)
        padded.emplace_back(d);
    std::uint64_t total = 0;
    simdjson::dom::parser parser;
    std::uint64_t sink = 0;
    auto [done, secs] = bench::timed_batches(n, seconds, [&](std::size_t first, std::size_t count) {
        for (std::size_t k = 0; k < count; ++k) {
            auto doc = parser.parse(padded[first + k]);
            if (doc.error()) {
                std::fprintf(stderr, "simdjson: %s\n", simdjson::error_message(doc.error()));
                std::exit(1);
            }
            sink += doc.value_unsafe().is_object() ? 1 : 0;
            total += docs[first + k].size();
        }
    });
    if (sink == 0)
        return 1;
    bench::print_codec_result("json", "simdjson", "decode", done, total, secs,
                              bench::last_cpu_seconds());
    return 0;
}
