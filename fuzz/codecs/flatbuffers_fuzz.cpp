// The flat_buffer codec on arbitrary bytes with the test schemas (tests/data/codecs/flatbuffers:
// corpus.fbs, and struct_union.fbs for unions of structs and vectors of unions): verification
// refuses or the buffer decodes, and what decodes re-encodes canonically (see typed_fuzz.h).
// Also the schema-less (Iggy) mode.

#include "typed_fuzz.h"

#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"

#ifndef TRIB_SOURCE_DIR
#define TRIB_SOURCE_DIR "."
#endif

namespace {
std::unique_ptr<trib::codecs::codec> load(const char* schema) {
    using namespace trib;
    const std::string dir = std::string(TRIB_SOURCE_DIR) + "/tests/data/codecs/flatbuffers";
    auto n = config::parse_toml(
        "schema_path = \"" + dir + "/" + schema + "\"\ninclude_paths = [\"" + dir + "/include\"]\n",
        "fuzz.toml");
    config::problems p;
    auto v = config::validate(codecs::flat_buffer_codec_spec(), *n, "fuzz.toml", "codec", p);
    auto c = codecs::make_flat_buffer_codec(v);
    if (!c) {
        std::fprintf(stderr, "%s\n", c.error().to_string().c_str());
        std::abort();
    }
    return std::move(c).value();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace trib::codecs;
    static const auto schema = load("corpus.fbs");
    static const auto unions = load("struct_union.fbs");
    static const auto described = std::move(make_flat_buffer_codec({})).value();
    std::string_view in(reinterpret_cast<const char*>(data), size);
    fuzz::check_canonical(*schema, in, true);
    fuzz::check_canonical(*unions, in, true);
    arena a;
    record r;
    (void)described->decode(in, a, r);
    return 0;
}
