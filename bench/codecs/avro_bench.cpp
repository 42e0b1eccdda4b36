// The avro codec on the shared 20-field benchmark record (/work/briefs/bench_record.md, also in
// bench/codecs/avro_ref.py): decode (bytes -> typed record in the arena, arena reset per batch of
// 1,000) and encode (typed record -> bytes). Prints one JSON object per line.
// Avro types: ts timestamp-micros, day date, price decimal(10,2) on bytes, uid uuid on string
// (the logical type fastavro reads back as uuid.UUID), note ["null","string"].

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "codecs/avro.h"
#include "codecs/codec.h"
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

void print(const char* op, std::size_t records, std::size_t bytes, double seconds) {
    std::printf(
        "{\"format\":\"avro\",\"impl\":\"tributary\",\"op\":\"%s\",\"records\":%zu,"
        "\"bytes\":%zu,\"seconds\":%.4f,\"records_per_s\":%.0f,\"mb_per_s\":%.2f}\n",
        op, records, bytes, seconds, static_cast<double>(records) / seconds,
        static_cast<double>(bytes) / seconds / 1e6);
    std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
    const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 300000;
    constexpr std::size_t batch = 1000;
    auto made = make_avro_codec_for_schema(schema, "");
    if (!made) {
        std::fprintf(stderr, "%s\n", made.error().to_string().c_str());
        return 1;
    }
    const codec& c = **made;
    using clock = std::chrono::steady_clock;

    // Encode: records are built per batch (not timed), then encoded (timed).
    std::vector<std::string> payloads;
    payloads.reserve(n);
    std::size_t bytes = 0;
    double enc = 0;
    {
        arena a;
        std::vector<record> recs(batch);
        for (std::size_t start = 0; start < n; start += batch) {
            a.reset();
            const std::size_t m = std::min(batch, n - start);
            for (std::size_t k = 0; k < m; ++k)
                set_typed(recs[k],
                          new_value(a, make_record(a, static_cast<std::int64_t>(start + k))));
            auto t0 = clock::now();
            for (std::size_t k = 0; k < m; ++k) {
                std::string out;
                if (!c.encode(recs[k], a, out)) {
                    std::fprintf(stderr, "encode failed\n");
                    return 1;
                }
                bytes += out.size();
                payloads.push_back(std::move(out));
            }
            enc += std::chrono::duration<double>(clock::now() - t0).count();
        }
    }
    print("encode", n, bytes, enc);

    // Decode: every payload into the arena, reset per batch of 1,000.
    arena a;
    record r;
    auto t0 = clock::now();
    for (std::size_t k = 0; k < n; ++k) {
        if (k % batch == 0)
            a.reset();
        if (!c.decode(payloads[k], a, r)) {
            std::fprintf(stderr, "decode failed at %zu\n", k);
            return 1;
        }
    }
    print("decode", n, bytes, std::chrono::duration<double>(clock::now() - t0).count());
    return 0;
}
