// FlatBuffers codec throughput on the shared 20-field record (bench/README.md): decode (payload
// -> typed record in the arena, arena reset per batch of 1,000) and encode (typed record ->
// payload), each for about --seconds. One JSON object per line; flatbuffers_ref.py measures the
// Python flatbuffers library on the same records.
//
//   bench_codecs_flatbuffers [--seconds N] [--schema PATH]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "codecs/codec.h"
#include "codecs/value.h"
#include "config/node.h"
#include "config/validate.h"

using namespace trib;
using clock_type = std::chrono::steady_clock;

namespace {

// The record of index i as JSON (bytes as base64), encoded by the codec into a payload.
std::string record_json(std::uint64_t i) {
    static const char* levels[] = {"low", "mid", "high"};
    std::string uid(16, '\0'), payload(16, static_cast<char>(i & 0xff));
    for (int k = 0; k < 8; ++k) {
        uid[static_cast<std::size_t>(k)] = static_cast<char>((i >> (8 * k)) & 0xff);
        uid[static_cast<std::size_t>(8 + k)] = static_cast<char>(((i * 31) >> (8 * k)) & 0xff);
    }
    std::string uid64, payload64;
    codecs::append_base64(uid64, uid);
    codecs::append_base64(payload64, payload);
    const std::uint64_t cents = i % 100000;
    char buf[1024];
    std::snprintf(
        buf, sizeof buf,
        R"({"id":%llu,"name":"user-%llu","active":%s,"score":%.2f,"count":%llu,)"
        R"("ts":%llu,"day":%llu,"price":"%llu.%02llu","uid":"%s","tags":["a%llu","b%llu","c"],)"
        R"("attrs":[{"key":"k1","value":"v%llu"},{"key":"k2","value":"w"}],"payload":"%s",)"
        R"("nested":{"lat":%llu.0,"lon":%llu.0},%s"level":"%s","ratio":%.2f,"small":%llu,)"
        R"("big":%llu,"city":"city%llu","country":"country%llu"})",
        (unsigned long long)i, (unsigned long long)i, i % 2 == 0 ? "true" : "false", i * 0.25,
        (unsigned long long)(i % 1000), (unsigned long long)(1700000000000000ull + i),
        (unsigned long long)(19000 + i % 365), (unsigned long long)(cents / 100),
        (unsigned long long)(cents % 100), uid64.c_str(), (unsigned long long)(i % 7),
        (unsigned long long)(i % 5), (unsigned long long)(i % 3), payload64.c_str(),
        (unsigned long long)(i % 90), (unsigned long long)(i % 180),
        i % 2 == 1 ? "" : ("\"note\":\"n" + std::to_string(i) + "\",").c_str(), levels[i % 3],
        static_cast<double>(i % 100) / 100.0, (unsigned long long)(i % 128),
        (unsigned long long)(i * 1000003), (unsigned long long)(i % 50),
        (unsigned long long)(i % 20));
    return buf;
}

void print(const char* op, std::uint64_t records, std::uint64_t bytes, double seconds) {
    std::printf(
        "{\"format\":\"flatbuffers\",\"impl\":\"tributary\",\"op\":\"%s\",\"records\":%llu,"
        "\"bytes\":%llu,\"seconds\":%.3f,\"records_per_s\":%.0f,\"mb_per_s\":%.1f}\n",
        op, (unsigned long long)records, (unsigned long long)bytes, seconds,
        static_cast<double>(records) / seconds, static_cast<double>(bytes) / seconds / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
    double seconds = 1.0;
    std::string schema = std::string(TRIB_SOURCE_DIR) + "/bench/codecs/flatbuffers_bench.fbs";
    for (int k = 1; k + 1 < argc; k += 2) {
        if (std::strcmp(argv[k], "--seconds") == 0)
            seconds = std::atof(argv[k + 1]);
        else if (std::strcmp(argv[k], "--schema") == 0)
            schema = argv[k + 1];
    }
    const std::string toml = "schema_path = \"" + schema + "\"\n";
    auto tree = config::parse_toml(toml, "bench.toml");
    config::problems pr;
    auto values = config::validate(codecs::flat_buffer_codec_spec(), *tree, "bench.toml", "", pr);
    auto made = codecs::make_flat_buffer_codec(values);
    if (!made) {
        std::fprintf(stderr, "%s\n", made.error().to_string().c_str());
        return 1;
    }
    const codecs::codec& fb = **made;
    auto json = std::move(codecs::make_json_codec({})).value();

    constexpr std::size_t batch = 1000, distinct = 10000;
    std::vector<std::string> payloads;
    {
        codecs::arena a;
        for (std::uint64_t i = 0; i < distinct; ++i) {
            const std::string text = record_json(i);
            codecs::record j;
            std::string out;
            if (!json->decode(text, a, j) || !fb.encode(j, a, out)) {
                std::fprintf(stderr, "cannot build record %llu\n", (unsigned long long)i);
                return 1;
            }
            payloads.push_back(std::move(out));
            a.reset();
        }
    }

    // Decode: payload -> typed record, arena reset per batch.
    {
        codecs::arena a;
        std::uint64_t n = 0, bytes = 0;
        const auto t0 = clock_type::now();
        double el = 0;
        do {
            for (std::size_t k = 0; k < batch; ++k) {
                const std::string& p = payloads[(n + k) % distinct];
                codecs::record r;
                if (!fb.decode(p, a, r)) {
                    std::fprintf(stderr, "decode failed\n");
                    return 1;
                }
                bytes += p.size();
            }
            n += batch;
            a.reset();
            el = std::chrono::duration<double>(clock_type::now() - t0).count();
        } while (el < seconds);
        print("decode", n, bytes, el);
    }

    // Encode: typed records (decoded once, 1,000 at a time) -> payloads.
    {
        codecs::arena a;
        std::vector<codecs::record> recs(batch);
        for (std::size_t k = 0; k < batch; ++k)
            if (!fb.decode(payloads[k], a, recs[k]))
                return 1;
        std::uint64_t n = 0, bytes = 0;
        std::string out;
        const auto t0 = clock_type::now();
        double el = 0;
        codecs::arena scratch;
        do {
            for (std::size_t k = 0; k < batch; ++k) {
                out.clear();
                if (!fb.encode(recs[k], scratch, out)) {
                    std::fprintf(stderr, "encode failed\n");
                    return 1;
                }
                bytes += out.size();
            }
            n += batch;
            scratch.reset();
            el = std::chrono::duration<double>(clock_type::now() - t0).count();
        } while (el < seconds);
        print("encode", n, bytes, el);
    }
    return 0;
}
