// Fuzzes the HTTP connectors' parsers of outside input. The first byte picks the parser; the
// checks are properties, not just "does not crash": slices lie inside the input and are valid
// JSON, minified JSON stays valid and minifying is idempotent, decoders round-trip.

#include <rapidjson/document.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/http/json.h"
#include "connectors/http/util.h"

using namespace trib::connectors::http_detail;
using trib::base64_decode;
using trib::base64_encode;
using trib::hex_decode;
using trib::hex_encode;

namespace {

void check(bool ok) {
    if (!ok)
        std::abort();
}

bool inside(std::string_view part, std::string_view whole) {
    return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    const std::uint8_t which = data[0];
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (which % 8) {
        case 0: {  // webhook JSON bodies
            std::vector<std::string_view> parts;
            split_error err;
            if (split_json(in, parts, err)) {
                check(is_valid_json(in));
                for (auto p : parts) {
                    check(inside(p, in));
                    check(is_valid_json(p));
                }
            }
            break;
        }
        case 1: {  // NDJSON bodies
            std::vector<std::string_view> parts;
            split_error err;
            if (split_ndjson(in, parts, err)) {
                for (auto p : parts) {
                    check(inside(p, in));
                    check(is_valid_json(p));
                }
            }
            break;
        }
        case 2: {  // minify (the sink's payload path)
            std::string once;
            if (append_minified(in, once)) {
                check(is_valid_json(once));
                std::string twice;
                check(append_minified(once, twice));
                check(once == twice);
            } else {
                check(once.empty());
            }
            break;
        }
        case 3: {  // a JSON path (before '\n') applied to a document (after it)
            auto nl = in.find('\n');
            if (nl == std::string_view::npos)
                break;
            auto path = json_path::parse(in.substr(0, nl));
            rapidjson::Document d;
            std::string err;
            if (path && parse_exact(in.substr(nl + 1), d, err)) {
                std::vector<const rapidjson::Value*> out;
                path->select(d, out);
                for (const auto* v : out) {
                    std::string text;
                    append_json(*v, text);
                    check(is_valid_json(text));
                    (void)scalar_text(*v);
                }
            }
            break;
        }
        case 4: {  // Link headers and relative URLs
            if (auto next = link_next(in))
                (void)resolve_url("http://example.test/a/b?c=d", *next);
            (void)set_query_param("http://h/p?x=1", "cursor", in);
            (void)list_values(in, "v1");
            break;
        }
        case 5: {  // signature headers
            signature_scheme s;
            s.secrets = {"secret"};
            s.format =
                (which & 8) ? signature_scheme::format::keyed : signature_scheme::format::plain;
            s.signed_payload = "{timestamp}.{body}";
            s.timestamp_header = "T";
            const std::string header(in.substr(0, std::min<std::size_t>(in.size(), 256)));
            (void)verify_signature(
                s,
                [&](std::string_view n) -> std::string_view {
                    return n == "T" ? std::string_view("1700000000") : std::string_view(header);
                },
                in, std::chrono::system_clock::now());
            break;
        }
        case 6: {  // encodings round-trip
            if (auto b = base64_decode(in))
                check(base64_decode(base64_encode(*b)) == *b);
            if (auto h = hex_decode(in))
                check(hex_decode(hex_encode(*h)) == *h);
            break;
        }
        case 7: {  // templates
            if (auto t = text_template::parse(in)) {
                const auto out = t->expand([](std::string_view) { return std::string("v"); }, true);
                (void)out;
                check(t->is_literal() == t->names().empty());
            }
            break;
        }
    }
    return 0;
}
