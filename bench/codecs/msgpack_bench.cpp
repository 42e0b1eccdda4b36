// msgpack codec decode/encode of the 20-field record (bench/codecs/README.md; the Python
// reference is msgpack_ref.py). msgpack has no decimal, uuid or date: price is a string, uid 16
// bytes (bin), day its day number; ts is the timestamp extension.
//
//   bench_codecs_msgpack [--seconds N]

#include "codecs/codec_bench.h"
#include "codecs/record20.h"

using namespace trib;

int main(int argc, char** argv) {
    const double seconds = bench::bench_seconds(argc, argv);
    constexpr std::size_t n = 10000;
    auto mp = codecs::make_msgpack_codec({});
    if (!mp)
        return 1;
    bench::record20_flavor f;
    f.decimal_as_string = true;
    f.uuid_as_bytes = true;
    f.date_as_int = true;
    codecs::arena keep;
    std::vector<codecs::record> records(n);
    std::vector<std::string> payloads;
    for (std::size_t i = 0; i < n; ++i) {
        codecs::set_typed(records[i], bench::make_record20(keep, static_cast<std::int64_t>(i), f));
        std::string out;
        if (auto s = (*mp)->encode(records[i], keep, out); !s) {
            std::fprintf(stderr, "%s\n", s.error().to_string().c_str());
            return 1;
        }
        payloads.push_back(std::move(out));
    }
    bench::bench_decode(**mp, "msgpack", payloads, seconds);
    bench::bench_encode(**mp, "msgpack", records, seconds);
    return 0;
}
