// The avro codec on the shared 20-field benchmark record (/work/briefs/bench_record.md, also in
// bench/codecs/avro_ref.py): decode (bytes -> typed record in the arena, arena reset per batch of
// 1,000) and encode (typed record -> bytes), with thread CPU time; the Avro C paths alone as
// the baselines of the same run (ops "encode_avro_c", "decode_avro_c"). Prints one JSON object per
// line. Avro types: ts timestamp-micros, day date, price decimal(10,2) on bytes, uid uuid on string
// (the logical type fastavro reads back as uuid.UUID), note ["null","string"].

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "codecs/avro.h"
#include "codecs/avro_paths.h"
#include "codecs/codec.h"
#include "codecs/codec_bench.h"
#include "codecs/value.h"

namespace {

using namespace trib::codecs;

const char* schema = R"({"type":"record","name":"BenchRecord","fields":[
{"name":"id","type":"long"},
{"name":"name","type":"string"},
{"name":"active","type":"boolean"},
{"name":"score","type":"double"},
{"name":"count","type":"int"},
{"name":"ts","type":{"type":"long","logicalType":"timestamp-micros"}},
{"name":"day","type":{"type":"int","logicalType":"date"}},
{"name":"price","type":{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}},
{"name":"uid","type":{"type":"string","logicalType":"uuid"}},
{"name":"tags","type":{"type":"array","items":"string"}},
{"name":"attrs","type":{"type":"map","values":"string"}},
{"name":"payload","type":"bytes"},
{"name":"nested","type":{"type":"record","name":"Geo","fields":[{"name":"lat","type":"double"},{"name":"lon","type":"double"}]}},
{"name":"note","type":["null","string"]},
{"name":"level","type":"string"},
{"name":"ratio","type":"float"},
{"name":"small","type":"int"},
{"name":"big","type":"long"},
{"name":"city","type":"string"},
{"name":"country","type":"string"}]})";

value rec(arena& a, std::initializer_list<std::pair<const char*, value>> fields) {
    entry* es = new_entries(a, fields.size());
    std::size_t k = 0;
    for (const auto& [n, v] : fields) {
        es[k].key = value::string_value(n);
        es[k].val = v;
        ++k;
    }
    value r;
    r.type = value_type::record;
    r.n = static_cast<std::uint32_t>(fields.size());
    r.entries = es;
    return r;
}

value str(arena& a, const std::string& s) {
    return value::string_value(copy_to_arena(a, s));
}

// Record i, as the shared definition says.
value make_record(arena& a, std::int64_t i) {
    char uid[16], payload[16];
    for (int k = 0; k < 16; ++k) {
        uid[k] = static_cast<char>((i + k) & 0xff);
        payload[k] = static_cast<char>(i & 0xff);
    }
    std::int64_t cents = i % 100000;
    std::string price = std::to_string(cents / 100) + "." + (cents % 100 < 10 ? "0" : "") +
                        std::to_string(cents % 100);
    value* tags = new_values(a, 3);
    tags[0] = str(a, "a" + std::to_string(i % 7));
    tags[1] = str(a, "b" + std::to_string(i % 5));
    tags[2] = value::string_value("c");
    value tl;
    tl.type = value_type::list;
    tl.n = 3;
    tl.items = tags;
    value attrs =
        rec(a, {{"k1", str(a, "v" + std::to_string(i % 3))}, {"k2", value::string_value("w")}});
    attrs.type = value_type::map;
    static const char* levels[] = {"low", "mid", "high"};
    return rec(a, {{"id", value::int_value(i)},
                   {"name", str(a, "user-" + std::to_string(i))},
                   {"active", value::boolean_value(i % 2 == 0)},
                   {"score", value::float_value(static_cast<double>(i) * 0.25)},
                   {"count", value::int_value(i % 1000)},
                   {"ts", value::timestamp_value((1700000000000000 + i) / 1000000,
                                                 static_cast<std::uint32_t>(
                                                     ((1700000000000000 + i) % 1000000) * 1000))},
                   {"day", value::date_value(19000 + i % 365)},
                   {"price", value::decimal_value(copy_to_arena(a, price))},
                   {"uid", value::uuid_value(copy_to_arena(a, {uid, 16}).data())},
                   {"tags", tl},
                   {"attrs", attrs},
                   {"payload", value::bytes_value(copy_to_arena(a, {payload, 16}))},
                   {"nested", rec(a, {{"lat", value::float_value(static_cast<double>(i % 90))},
                                      {"lon", value::float_value(static_cast<double>(i % 180))}})},
                   {"note", i % 2 ? value() : str(a, "n" + std::to_string(i))},
                   {"level", value::string_value(levels[i % 3])},
                   {"ratio", value::float_value(static_cast<float>(i % 100) / 100.0f)},
                   {"small", value::int_value(i % 128)},
                   {"big", value::int_value(i * 1000003)},
                   {"city", str(a, "city" + std::to_string(i % 50))},
                   {"country", str(a, "country" + std::to_string(i % 20))}});
}

// Encodes records 0..n-1 (built per batch of 1,000, not timed) with `c`; adds the payloads to
// `payloads` when it is not null. Returns false when a record does not encode.
bool encode_all(const codec& c, std::size_t n, std::vector<std::string>* payloads,
                std::size_t& bytes, double& secs, double& cpu) {
    using clock = std::chrono::steady_clock;
    constexpr std::size_t batch = 1000;
    arena a;
    std::vector<record> recs(batch);
    bytes = 0;
    secs = cpu = 0;
    for (std::size_t start = 0; start < n; start += batch) {
        a.reset();
        const std::size_t m = std::min(batch, n - start);
        for (std::size_t k = 0; k < m; ++k)
            set_typed(recs[k], new_value(a, make_record(a, static_cast<std::int64_t>(start + k))));
        const double c0 = trib::bench::thread_cpu_seconds();
        auto t0 = clock::now();
        for (std::size_t k = 0; k < m; ++k) {
            std::string out;
            if (!c.encode(recs[k], a, out)) {
                std::fprintf(stderr, "encode failed\n");
                return false;
            }
            bytes += out.size();
            if (payloads != nullptr)
                payloads->push_back(std::move(out));
        }
        secs += std::chrono::duration<double>(clock::now() - t0).count();
        cpu += trib::bench::thread_cpu_seconds() - c0;
    }
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 300000;
    constexpr std::size_t batch = 1000;
    auto made = make_avro_codec_for_schema(schema, "");
    // The baselines in the same run: the Avro C paths alone (the only ones before the direct
    // encoder and decoder), printed as ops "encode_avro_c" and "decode_avro_c".
    auto made_c = make_avro_codec_for_schema_with(schema, "", avro_paths{false, true, false});
    if (!made || !made_c) {
        std::fprintf(stderr, "%s\n", (made ? made_c.error() : made.error()).to_string().c_str());
        return 1;
    }
    const codec& c = **made;
    using clock = std::chrono::steady_clock;

    std::vector<std::string> payloads;
    payloads.reserve(n);
    std::size_t bytes = 0, bytes_c = 0;
    double secs = 0, cpu = 0;
    if (!encode_all(c, n, &payloads, bytes, secs, cpu))
        return 1;
    trib::bench::print_codec_result("avro", "tributary", "encode", n, bytes, secs, cpu);
    if (!encode_all(**made_c, n, nullptr, bytes_c, secs, cpu))
        return 1;
    trib::bench::print_codec_result("avro", "tributary", "encode_avro_c", n, bytes_c, secs, cpu);
    if (bytes_c != bytes) {
        std::fprintf(stderr, "the two encode paths wrote %zu and %zu bytes\n", bytes, bytes_c);
        return 1;
    }

    // Decode: every payload into the arena, reset per batch of 1,000.
    const codec* decoders[] = {&c, made_c->get()};
    for (const codec* dc : decoders) {
        arena a;
        record r;
        const double c0 = trib::bench::thread_cpu_seconds();
        auto t0 = clock::now();
        for (std::size_t k = 0; k < n; ++k) {
            if (k % batch == 0)
                a.reset();
            if (!dc->decode(payloads[k], a, r)) {
                std::fprintf(stderr, "decode failed at %zu\n", k);
                return 1;
            }
        }
        const double dsecs = std::chrono::duration<double>(clock::now() - t0).count();
        trib::bench::print_codec_result("avro", "tributary", dc == &c ? "decode" : "decode_avro_c",
                                        n, bytes, dsecs, trib::bench::thread_cpu_seconds() - c0);
    }
    return 0;
}
