// The csv codec on arbitrary bytes (see typed_fuzz.h), with string columns and with typed ones.

#include "typed_fuzz.h"

#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"

namespace {
std::unique_ptr<trib::codecs::codec> typed_csv() {
    using namespace trib;
    auto n = config::parse_toml(
        "types = { a = \"int\", b = \"float\", c = \"timestamp\", d = \"bytes\", e = \"uuid\", "
        "f = \"decimal\", g = \"date\", h = \"bool\" }",
        "fuzz.toml");
    config::problems p;
    auto v = config::validate(codecs::csv_codec_spec(), *n, "fuzz.toml", "codec", p);
    return std::move(codecs::make_csv_codec(v)).value();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace trib::codecs;
    static const auto plain = std::move(make_csv_codec({})).value();
    static const auto typed = typed_csv();
    std::string_view in(reinterpret_cast<const char*>(data), size);
    fuzz::check_canonical(*plain, in, true);
    fuzz::check_canonical(*typed, in, false);
    return 0;
}
