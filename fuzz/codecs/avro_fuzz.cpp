// The avro codec on arbitrary bytes. The first byte picks the reader: 0 the corpus schema
// (tests/data/codecs/avro/event.avsc: every type and logical type), 1 a container file read
// with it, 2 its single-object encoding, 3 resolved to event_reader.avsc, 4 a recursive list.
// Decoding never crashes, hangs or allocates without bound; what a bare datum decodes to
// re-encodes canonically (typed_fuzz.h); a container that decodes re-encodes and decodes again.

#include <fstream>
#include <sstream>

#include "codecs/avro.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "typed_fuzz.h"

#ifndef TRIB_SOURCE_DIR
#define TRIB_SOURCE_DIR "."
#endif

namespace {

using namespace trib;

std::string slurp(const std::string& name) {
    std::ifstream f(std::string(TRIB_SOURCE_DIR) + "/tests/data/codecs/avro/" + name);
    std::ostringstream ss;
    ss << f.rdbuf();
    if (ss.str().empty()) {
        std::fprintf(stderr, "cannot read %s\n", name.c_str());
        std::abort();
    }
    return ss.str();
}

std::unique_ptr<codecs::codec> make(const std::string& toml) {
    auto n = config::parse_toml(toml, "fuzz.toml");
    config::problems p;
    auto v = config::validate(codecs::avro_codec_spec(), *n, "fuzz.toml", "codec", p);
    auto c = codecs::make_avro_codec(v);
    if (!c || p.has_errors()) {
        std::fprintf(stderr, "%s\n", c ? p.to_string().c_str() : c.error().to_string().c_str());
        std::abort();
    }
    return std::move(c).value();
}

std::unique_ptr<codecs::codec> must(result<std::unique_ptr<codecs::codec>> c) {
    if (!c) {
        std::fprintf(stderr, "%s\n", c.error().to_string().c_str());
        std::abort();
    }
    return std::move(c).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace trib::codecs;
    static const std::string event = slurp("event.avsc");
    static const auto bare = must(make_avro_codec_for_schema(event, ""));
    static const auto ocf = make("schema_json = '''" + event +
                                 "'''\nframing = \"container\"\ncontainer_codec = \"deflate\"\n"
                                 "max_block_bytes = \"4MiB\"");
    static const auto single =
        make("schema_json = '''" + event + "'''\nframing = \"single_object\"");
    static const auto resolved =
        must(make_avro_codec_for_schema(event, slurp("event_reader.avsc")));
    static const auto list = must(make_avro_codec_for_schema(
        R"({"type":"record","name":"Node","fields":[{"name":"v","type":"int"},)"
        R"({"name":"next","type":["null","Node"]},{"name":"kids","type":{"type":"array",)"
        R"("items":"Node"}}]})",
        ""));
    if (size == 0)
        return 0;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 5) {
        case 0:
            fuzz::check_canonical(*bare, in, false);
            break;
        case 1: {
            // A new sync marker each time: not byte-canonical, but it must read back.
            static arena a;
            a.reset();
            record r;
            if (!ocf->decode(in, a, r))
                break;
            r.modified = true;
            std::string file;
            if (!ocf->encode(r, a, file))
                break;  // a decimal beyond its precision, ...
            record again;
            status s = ocf->decode(file, a, again);
            if (!s) {
                std::fprintf(stderr, "re-decode failed: %s\n", s.error().to_string().c_str());
                std::abort();
            }
            break;
        }
        case 2:
            fuzz::check_canonical(*single, in, false);
            break;
        case 3: {
            static arena a;
            a.reset();
            record r;
            (void)resolved->decode(in, a, r);
            break;
        }
        case 4:
            fuzz::check_canonical(*list, in, true);
            break;
    }
    return 0;
}
