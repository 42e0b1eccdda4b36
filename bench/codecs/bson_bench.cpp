// BSON decode/encode rate of the shared 20-field record (bench/codecs/README.md), beside
// bson_ref.py (pymongo's bson C extension). Prints JSON lines only.
//
// BSON has no date, no timestamp finer than milliseconds and no float32: `day` is a UTC
// datetime at midnight, `ts` a UTC datetime (the microseconds are cut to milliseconds), `ratio`
// a double; `price` is a decimal128, `uid` a binary of subtype 4 (uuid), `payload` a binary of
// subtype 0, `attrs` and `nested` documents, the null `note` a BSON null.
//
// Usage: bench_codecs_bson [seconds per op, default 1]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "codecs/bson.h"
#include "codecs/codec.h"
#include "codecs/formats_record20.h"
#include "codecs/value.h"

namespace {

using namespace trib::codecs;
using trib::bench::formats::record20;

double now() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void print(const char* op, long long records, long long bytes, double secs) {
    std::printf(
        "{\"format\":\"bson\",\"impl\":\"tributary\",\"op\":\"%s\",\"records\":%lld,"
        "\"bytes\":%lld,\"seconds\":%.3f,\"records_per_s\":%.0f,\"mb_per_s\":%.1f}\n",
        op, records, bytes, secs, static_cast<double>(records) / secs,
        static_cast<double>(bytes) / secs / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
    const double budget = argc > 1 ? std::atof(argv[1]) : 1.0;
    auto made = make_bson_codec(trib::config::values());
    if (!made) {
        std::fprintf(stderr, "%s\n", made.error().message().c_str());
        return 1;
    }
    const codec& bson = **made;
    constexpr int batch = 1000;
    constexpr int distinct = 10000;  // records 0..9999, reused round after round

    // Encode: typed record -> bytes, the records built once per batch slot.
    std::vector<std::string> encoded(distinct);
    {
        arena a;
        long long records = 0, bytes = 0;
        std::string out;
        std::vector<record> recs(batch);
        const double t0 = now();
        double t = t0;
        while (t - t0 < budget || records < distinct) {
            const long long base = (records / batch) % (distinct / batch) * batch;
            a.reset();
            for (int k = 0; k < batch; ++k)
                set_typed(recs[k], record20(a, base + k));
            // Building the records is not the codec's work: time only the encoding.
            const double e0 = now();
            for (int k = 0; k < batch; ++k) {
                out.clear();
                if (!bson.encode(recs[k], a, out)) {
                    std::fprintf(stderr, "encode failed\n");
                    return 1;
                }
                bytes += static_cast<long long>(out.size());
                if (records + k < distinct)
                    encoded[static_cast<std::size_t>(base + k)] = out;
            }
            t += now() - e0;
            records += batch;
        }
        print("encode", records, bytes, t - t0);
    }
    // Decode: bytes -> typed record in the arena, reset per batch of 1,000.
    {
        arena a;
        long long records = 0, bytes = 0;
        record r;
        const double t0 = now();
        double t = t0;
        while (t - t0 < budget) {
            const std::size_t base =
                static_cast<std::size_t>((records / batch) % (distinct / batch)) * batch;
            a.reset();
            for (int k = 0; k < batch; ++k) {
                const std::string& b = encoded[base + static_cast<std::size_t>(k)];
                if (!bson.decode(b, a, r)) {
                    std::fprintf(stderr, "decode failed\n");
                    return 1;
                }
                bytes += static_cast<long long>(b.size());
            }
            records += batch;
            t = now();
        }
        print("decode", records, bytes, t - t0);
    }
    return 0;
}
