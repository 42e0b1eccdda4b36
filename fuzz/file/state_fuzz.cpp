// Feeds arbitrary bytes to every loader of the file connector's state. Each must return a value
// or an error, never crash, and never allocate more than the input justifies (ASan's allocation
// limit catches a length taken from the input). What is accepted must encode back to something
// the loader reads to the same value.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connectors/file/state.h"

using namespace trib::connectors::file_detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto p = decode_source_position(in)) {
        if (p->fp_len > k_fp_len)
            std::abort();
        auto again = decode_source_position(p->encode());
        if (!again || !(*again == *p))
            std::abort();
    }
    if (auto s = decode_sidecar(in)) {
        const std::string text = encode_sidecar(*s);
        auto again = decode_sidecar(text);
        if (!again || again->marks != s->marks || again->current != s->current)
            std::abort();
    }
    line_key k;
    (void)parse_line_key(in, k);
    (void)is_our_torn_line(in, true);
    (void)is_our_torn_line(in, false);
    return 0;
}
