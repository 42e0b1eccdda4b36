// Feeds arbitrary bytes to the Delta log reader as a commit file, a checkpoint row,
// `_last_checkpoint` and a schema string. Each must return a value or an error, never crash or
// hang. What is accepted must survive a round trip: a schema read writes back to a schema that
// reads the same, and a table read from a commit accepts the commit this writer makes next.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connectors/delta/delta_log.h"

using namespace trib::connectors::delta;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    table_state st;
    if (apply_commit(st, 7, in)) {
        if (st.version != 7)
            std::abort();
        if (check_writable(st)) {
            const auto next = commit_text(st, false, "app", 42, {"f.parquet", 1, 2, 3}, 4);
            table_state again = st;
            if (!apply_commit(again, 8, next) || again.txns.at("app") != 42 ||
                again.schema != st.schema)
                std::abort();
        }
    }
    table_state row;
    (void)apply_action_json(row, in);
    if (auto r = parse_last_checkpoint(in)) {
        if (checkpoint_file_names(*r).size() != static_cast<std::size_t>(r->parts ? r->parts : 1))
            std::abort();
    }
    if (auto f = parse_schema_string(in)) {
        auto back = parse_schema_string(schema_string(*f));
        if (!back || *back != *f)
            std::abort();
    }
    (void)parse_log_file_name(in);
    return 0;
}
