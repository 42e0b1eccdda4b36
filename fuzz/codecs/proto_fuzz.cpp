// The proto codec on arbitrary bytes with the test corpus schema (tests/data/codecs/proto), and
// in Any mode (see typed_fuzz.h). Encoding may refuse what JSON cannot carry (a Timestamp beyond
// year 9999); what it encodes must be canonical. Differential: what decodes encodes through the
// direct encoder exactly as through the JSON path (src/codecs/proto_wire.h), or both refuse.

#include "typed_fuzz.h"

#include "codecs/proto_paths.h"

#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"

#ifndef TRIB_SOURCE_DIR
#define TRIB_SOURCE_DIR "."
#endif

namespace {
std::unique_ptr<trib::codecs::codec> reading(trib::codecs::proto_paths paths = {}) {
    using namespace trib;
    const std::string dir = std::string(TRIB_SOURCE_DIR) + "/tests/data/codecs/proto";
    auto n = config::parse_toml("schema_path = \"" + dir + "/corpus.proto\"\ninclude_paths = [\"" +
                                    dir + "/include\"]\nmessage_type = \"trib.test.Reading\"\n" +
                                    "preserve_unknown_fields = true",
                                "fuzz.toml");
    config::problems p;
    auto v = config::validate(codecs::proto_codec_spec(), *n, "fuzz.toml", "codec", p);
    auto c = codecs::make_proto_codec_with(v, paths);
    if (!c) {
        std::fprintf(stderr, "%s\n", c.error().to_string().c_str());
        std::abort();
    }
    return std::move(c).value();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace trib::codecs;
    static const auto schema = reading();
    static const auto any = std::move(make_proto_codec({})).value();
    std::string_view in(reinterpret_cast<const char*>(data), size);
    fuzz::check_canonical(*schema, in, false);
    fuzz::check_canonical(*any, in, true);

    static const auto json_path = reading(proto_paths{false, true});
    static arena a;
    a.reset();
    record r;
    if (!schema->decode(in, a, r))
        return 0;
    std::string direct;
    std::string reference;
    const bool direct_ok = static_cast<bool>(schema->encode(r, a, direct));
    const bool reference_ok = static_cast<bool>(json_path->encode(r, a, reference));
    if (direct_ok != reference_ok || direct != reference) {
        std::fprintf(stderr,
                     "direct encoder (%d, %zu bytes) differs from the JSON path (%d, %zu "
                     "bytes) for %s\n",
                     direct_ok, direct.size(), reference_ok, reference.size(),
                     debug_string(typed_of(r)).c_str());
        std::abort();
    }
    return 0;
}
