// The request decoders the embedded server runs on whatever a client sends: the first two bytes
// pick the command code, the rest is the body. Decoders must fail cleanly; a body that decodes
// must re-encode to a body that decodes again.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <variant>

#include "iggy/wire/requests.h"

using namespace trib::iggy;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return 0;
    static const std::uint32_t codes[] = {
        1,   10,  12,  20,  21,  22,  31,  32,  33,  34,  35,  36,  37,  38,  39,  40,  41,
        42,  43,  44,  45,  100, 101, 102, 120, 121, 122, 200, 201, 202, 203, 204, 205, 300,
        301, 302, 303, 304, 305, 402, 403, 503, 600, 601, 602, 603, 604, 605, 606};
    std::uint32_t code = codes[data[0] % (sizeof codes / sizeof codes[0])];
    bytes_view body(data + 1, size - 1);
    (void)request_header::decode(body);
    (void)login_protocol_version(body);
    auto r = decode_request(code, body);
    if (!r)
        return 0;
    if (std::holds_alternative<send_messages_request>(*r))
        (void)send_messages_request::decode(body, true);
    bytes out;
    writer w(out);
    std::visit([&](const auto& req) { req.encode(w); }, *r);
    auto again = decode_request(code, out);
    if (!again || again->index() != r->index())
        std::abort();
    return 0;
}
