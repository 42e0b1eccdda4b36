#pragma once
// The PostgreSQL sources' persisted state (polling: per-table tracking offsets; CDC: the last
// LSNs delivered), with loaders that check every field before use. Internal to
// connectors/postgres; public to its tests and fuzz target.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"
#include "core/poll_ledger.h"

namespace trib::connectors::postgres {

/// {"lsn":"X/Y","commit_lsn":"X/Y","snapshot_done":bool,"slot":".."}
struct cdc_state {
    std::uint64_t lsn = 0;
    std::uint64_t commit_lsn = 0;
    bool snapshot_done = false;
    std::string slot;
};
/// Members absent are zero/false/empty; present ones must have their type and an LSN must be
/// "X/Y" hex (else errc::data_loss with the reason). The parse is iterative (no recursion).
result<cdc_state> parse_cdc_state(std::string_view text);

/// {"tracking_offsets":{table:value},"tie_breakers":{table:value},"processed_rows":N}
/// (core/poll_ledger.h, shared with the mysql source).
using polling_state = poll_state;
/// Values may be strings or numbers (kept as written); null means none. Anything else, or a
/// processed_rows that is not an unsigned 64-bit integer: errc::data_loss with the reason.
result<polling_state> parse_polling_state(std::string_view text);

}  // namespace trib::connectors::postgres
