// The text codec's encodings on arbitrary bytes: the first byte picks the encoding, the rest is
// the payload. Decode never crashes; decoded text is UTF-8, encodes back (utf-8 and the
// Unicode encodings hold every character) and decodes to the same text.

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "codecs/codec.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"

namespace {

using namespace trib;

std::unique_ptr<codecs::codec> make(const char* enc) {
    auto n = config::parse_toml(std::string("encoding = \"") + enc + "\"\n", "fuzz.toml");
    if (!n)
        std::abort();
    config::problems pr;
    auto v = config::validate(codecs::text_codec_spec(), *n, "fuzz.toml", "codec", pr);
    if (pr.has_errors())
        std::abort();
    return std::move(codecs::make_text_codec(v)).value();
}

struct codec_set {
    static constexpr const char* names[] = {"utf-8",    "latin1",   "windows-1252", "ascii",
                                            "utf-16",   "utf-16le", "utf-16be",     "utf-32",
                                            "utf-32le", "utf-32be", "iso-8859-15"};
    static constexpr std::size_t count = sizeof names / sizeof names[0];
    std::unique_ptr<codecs::codec> c[count];
    codec_set() {
        for (std::size_t i = 0; i < count; ++i)
            c[i] = make(names[i]);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const codec_set set;
    static codecs::arena a;
    if (size == 0)
        return 0;
    const std::size_t which = data[0] % codec_set::count;
    const auto& c = *set.c[which];
    a.reset();
    codecs::record r;
    if (!c.decode({reinterpret_cast<const char*>(data + 1), size - 1}, a, r))
        return 0;
    if (!codecs::valid_utf8(r.bytes)) {
        std::fprintf(stderr, "%s: decoded text is not UTF-8\n", codec_set::names[which]);
        std::abort();
    }
    std::string out;
    if (!c.encode(r, a, out)) {
        std::fprintf(stderr, "%s: decoded text does not encode back\n", codec_set::names[which]);
        std::abort();
    }
    codecs::record again;
    if (!c.decode(out, a, again) || again.bytes != r.bytes) {
        std::fprintf(stderr, "%s: round trip changed the text\n", codec_set::names[which]);
        std::abort();
    }
    return 0;
}
