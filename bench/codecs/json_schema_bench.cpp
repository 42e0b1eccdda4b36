// JSON Schema validation rate (records/s) of the shared 20-field record in its JSON form against
// record20.schema.json (2020-12), beside json_schema_ref.py (Python jsonschema 4.26,
// Draft202012Validator). Validates parsed records (the DOM a JSON stream holds); parsing is
// not timed, as the Python side validates dicts. Prints JSON lines only.
//
// Usage: bench_codecs_json_schema SCHEMA_PATH [seconds, default 1]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "codecs/codec.h"
#include "codecs/formats_record20.h"
#include "codecs/json_dom.h"
#include "codecs/json_schema.h"
#include "codecs/value.h"

using namespace trib::codecs;

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s SCHEMA_PATH [seconds]\n", argv[0]);
        return 2;
    }
    std::ifstream f(argv[1]);
    std::stringstream ss;
    ss << f.rdbuf();
    const double budget = argc > 2 ? std::atof(argv[2]) : 1.0;
    auto v = json_schema_validator::compile(ss.str());
    if (!v) {
        std::fprintf(stderr, "%s\n", v.error().message().c_str());
        return 1;
    }
    auto json = make_json_codec(trib::config::values());
    constexpr int batch = 1000, distinct = 10000;
    std::vector<std::string> texts;
    {
        arena a;
        for (int i = 0; i < distinct; ++i) {
            a.reset();
            record r;
            set_typed(r, trib::bench::formats::record20(a, i));
            std::string out;
            if (!(*json)->encode(r, a, out))
                return 1;
            texts.push_back(std::move(out));
        }
    }
    arena a;
    std::vector<record> recs(batch);
    long long records = 0, bytes = 0;
    double spent = 0;
    while (spent < budget) {
        const int base = static_cast<int>((records / batch) % (distinct / batch)) * batch;
        a.reset();
        for (int k = 0; k < batch; ++k) {
            if (!(*json)->decode(texts[static_cast<std::size_t>(base + k)], a, recs[k]))
                return 1;
        }
        const auto t0 = std::chrono::steady_clock::now();
        for (int k = 0; k < batch; ++k) {
            if (!v->validate(recs[k])) {
                std::fprintf(stderr, "record %d does not validate: %s\n", base + k,
                             v->validate(recs[k]).error().message().c_str());
                return 1;
            }
            bytes += static_cast<long long>(texts[static_cast<std::size_t>(base + k)].size());
        }
        spent += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        records += batch;
    }
    std::printf(
        "{\"format\":\"json_schema\",\"impl\":\"tributary\",\"op\":\"validate\",\"records\":%lld,"
        "\"bytes\":%lld,\"seconds\":%.3f,\"records_per_s\":%.0f,\"mb_per_s\":%.1f}\n",
        records, bytes, spent, static_cast<double>(records) / spent,
        static_cast<double>(bytes) / spent / 1e6);
    return 0;
}
