// The avro codec on arbitrary bytes. The first byte picks the reader: 0 the corpus schema
// (tests/data/codecs/avro/event.avsc: every type and logical type), 1 a container file read
// with it, 2 its single-object encoding, 3 resolved to event_reader.avsc, 4 a recursive list.
// Decoding never crashes, hangs or allocates without bound; what a bare datum decodes to
// re-encodes canonically (typed_fuzz.h); a container that decodes re-encodes and decodes again.
// Differential check (selectors 0 and 4): the direct decoder reads the input as Avro C does (when
// it takes it); the input read as an Avro datum and as JSON text gives records that the direct
// encoder writes as the Avro C path does (when it takes them); and the codec (direct, else
// Avro C) answers what the Avro C paths answer, value, bytes or error.

#include <fstream>
#include <sstream>

#include "codecs/avro.h"
#include "codecs/avro_paths.h"
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

struct paths {
    std::unique_ptr<codecs::codec> direct, c, both;
};

paths make_paths(const std::string& schema) {
    return {must(codecs::make_avro_codec_for_schema_with(schema, "", {true, false, true})),
            must(codecs::make_avro_codec_for_schema_with(schema, "", {false, true, false})),
            must(codecs::make_avro_codec_for_schema_with(schema, "", {}))};
}

void same_encoding(const paths& p, const codecs::record& r, codecs::arena& a) {
    std::string d, c, b;
    status sd = p.direct->encode(r, a, d);
    status sc = p.c->encode(r, a, c);
    status sb = p.both->encode(r, a, b);
    if (sd && (!sc || d != c)) {
        std::fprintf(
            stderr, "the direct encoder wrote %zu bytes, Avro C: %s\n%s\n", d.size(),
            sc ? (std::to_string(c.size()) + " bytes").c_str() : sc.error().to_string().c_str(),
            r.kind == codecs::record_kind::typed ? codecs::debug_string(codecs::typed_of(r)).c_str()
                                                 : std::string(r.bytes).c_str());
        std::abort();
    }
    if (bool(sb) != bool(sc) || (sb && b != c) ||
        (!sb && sb.error().message() != sc.error().message())) {
        std::fprintf(stderr, "the codec and the Avro C path differ: %s / %s\n",
                     sb ? "ok" : sb.error().to_string().c_str(),
                     sc ? "ok" : sc.error().to_string().c_str());
        std::abort();
    }
}

// The decoders: the direct one (when it takes the datum) reads what Avro C reads, and the codec
// answers what the Avro C path answers.
void same_decoding(const paths& p, std::string_view in, codecs::arena& a) {
    codecs::record d, c, b;
    status sd = p.direct->decode(in, a, d);
    status sc = p.c->decode(in, a, c);
    status sb = p.both->decode(in, a, b);
    const std::string tc = sc ? codecs::debug_string(codecs::typed_of(c)) : "";
    if (sd && (!sc || codecs::debug_string(codecs::typed_of(d)) != tc)) {
        std::fprintf(stderr, "the direct decoder read %s, Avro C: %s\n",
                     codecs::debug_string(codecs::typed_of(d)).c_str(),
                     sc ? tc.c_str() : sc.error().to_string().c_str());
        std::abort();
    }
    if (bool(sb) != bool(sc) || (sb && codecs::debug_string(codecs::typed_of(b)) != tc) ||
        (!sb && sb.error().message() != sc.error().message())) {
        std::fprintf(stderr, "the codec and the Avro C path decode differently: %s / %s\n",
                     sb ? "ok" : sb.error().to_string().c_str(),
                     sc ? "ok" : sc.error().to_string().c_str());
        std::abort();
    }
}

void differential(const paths& p, std::string_view in) {
    static codecs::arena a;
    static const auto json = must(codecs::make_json_codec({}));
    a.reset();
    same_decoding(p, in, a);
    codecs::record r;
    if (p.c->decode(in, a, r)) {
        r.modified = true;
        same_encoding(p, r, a);
    }
    codecs::record j;
    if (json->decode(in, a, j))
        same_encoding(p, j, a);
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
    static const paths event_paths = make_paths(event);
    static const paths list_paths = make_paths(
        R"({"type":"record","name":"Node","fields":[{"name":"v","type":"int"},)"
        R"({"name":"next","type":["null","Node"]},{"name":"kids","type":{"type":"array",)"
        R"("items":"Node"}}]})");
    if (size == 0)
        return 0;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 5) {
        case 0:
            fuzz::check_canonical(*bare, in, false);
            differential(event_paths, in);
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
            differential(list_paths, in);
            break;
    }
    return 0;
}
