// proto codec decode/encode of the 20-field record (bench/codecs/README.md, schema
// record20.proto, compiled at start as the codec does; the Python reference is proto_ref.py,
// protobuf's upb runtime). The payloads are encoded by the codec itself from the typed records.
// The codec's former encoder, the JSON path (record -> proto3 JSON -> libprotobuf's parser), is
// measured in the same run as `tributary-json-path`: the baseline of the direct encoder.
//
//   bench_codecs_proto [--seconds N] [--schema path/to/record20.proto]

#include "codecs/codec_bench.h"
#include "codecs/proto_paths.h"
#include "codecs/record20.h"
#include "config/node.h"
#include "config/validate.h"

using namespace trib;

int main(int argc, char** argv) {
    const double seconds = bench::bench_seconds(argc, argv);
    std::string schema = std::string(TRIB_BENCH_CODECS_DIR) + "/record20.proto";
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string_view(argv[i]) == "--schema")
            schema = argv[i + 1];
    }
    config::node opts = config::node::make_table();
    opts.set("schema_path", config::node::make_string(schema));
    opts.set("message_type", config::node::make_string("bench.Record20"));
    config::problems p;
    const auto spec = codecs::proto_codec_spec();
    const auto v = config::validate(spec, opts, "bench", "", p);
    if (p.has_errors()) {
        std::fprintf(stderr, "%s\n", p.to_string().c_str());
        return 1;
    }
    auto proto = codecs::make_proto_codec(v);
    if (!proto) {
        std::fprintf(stderr, "%s\n", proto.error().to_string().c_str());
        return 1;
    }
    constexpr std::size_t n = 10000;
    bench::record20_flavor f;
    f.decimal_as_string = true;
    f.uuid_as_bytes = true;
    f.date_as_int = true;
    f.omit_null = true;
    codecs::arena keep;
    std::vector<codecs::record> records(n);
    std::vector<std::string> payloads;
    for (std::size_t i = 0; i < n; ++i) {
        codecs::set_typed(records[i], bench::make_record20(keep, static_cast<std::int64_t>(i), f));
        std::string out;
        if (auto s = (*proto)->encode(records[i], keep, out); !s) {
            std::fprintf(stderr, "%s\n", s.error().to_string().c_str());
            return 1;
        }
        payloads.push_back(std::move(out));
    }
    bench::bench_decode(**proto, "proto", payloads, seconds);
    bench::bench_encode(**proto, "proto", records, seconds);
    auto json_path = codecs::make_proto_codec_with(v, codecs::proto_paths{false, true});
    if (!json_path) {
        std::fprintf(stderr, "%s\n", json_path.error().to_string().c_str());
        return 1;
    }
    bench::bench_encode(**json_path, "proto", records, seconds, "tributary-json-path");
    return 0;
}
