// Feeds arbitrary bytes to the PostgreSQL sources' state loaders (polling and CDC): a value or an
// error, never a crash, whatever the nesting or the numbers.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "connectors/postgres/state.h"

using namespace trib::connectors::postgres;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    (void)parse_cdc_state(in);
    (void)parse_polling_state(in);
    return 0;
}
