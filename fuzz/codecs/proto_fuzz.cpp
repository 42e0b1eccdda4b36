// The proto codec on arbitrary bytes with the test corpus schema (tests/data/codecs/proto), and
// in Any mode (see typed_fuzz.h). Encoding may refuse what JSON cannot carry (a Timestamp beyond
// year 9999); what it encodes must be canonical.

#include "typed_fuzz.h"

#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"

#ifndef TRIB_SOURCE_DIR
#define TRIB_SOURCE_DIR "."
#endif

namespace {
std::unique_ptr<trib::codecs::codec> reading() {
    using namespace trib;
    const std::string dir = std::string(TRIB_SOURCE_DIR) + "/tests/data/codecs/proto";
    auto n = config::parse_toml("schema_path = \"" + dir + "/corpus.proto\"\ninclude_paths = [\"" +
                                    dir + "/include\"]\nmessage_type = \"trib.test.Reading\"\n" +
                                    "preserve_unknown_fields = true",
                                "fuzz.toml");
    config::problems p;
    auto v = config::validate(codecs::proto_codec_spec(), *n, "fuzz.toml", "codec", p);
    auto c = codecs::make_proto_codec(v);
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
    return 0;
}
