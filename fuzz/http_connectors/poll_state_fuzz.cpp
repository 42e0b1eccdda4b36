// Feeds arbitrary bytes to the HTTP polling source's state loader: a position or an error, never
// a crash (the parse is iterative: no nesting exhausts the stack). An accepted position saved
// again loads back the same.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connectors/http/poll_state.h"

using namespace trib::connectors::http_detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    if (auto p = from_state(in)) {
        auto again = from_state(to_state(*p));
        if (!again || !(*again == *p))
            std::abort();
    }
    return 0;
}
