#pragma once
// What the PostgreSQL sink knows of its table: the columns (read from the catalog at open), the
// append-mode column set or the mapped-mode key, mapping and message-id column, and the SQL
// built from them. Schema discovery needs a connection; the SQL builders do not.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/postgres/options.h"
#include "connectors/postgres/pg.h"
#include "connectors/postgres/sink_rows.h"
#include "core/error.h"

namespace trib::connectors::postgres {

struct sink_table {
    const sink_options& o;
    qualified_name table;
    std::vector<column_info> columns;
    std::map<std::string, std::size_t> column_by_name;
    // append mode
    std::vector<append_column> append_cols;
    bool id_unique = false;
    // mapped mode
    std::vector<std::size_t> key_cols;  // upsert / delete key (indices into columns)
    std::vector<std::pair<std::size_t, std::string>> mapping;  // column, dotted path
    std::optional<std::size_t> message_id_col;

    explicit sink_table(const sink_options& opts) : o(opts) {}

    /// Mapped mode with a key: upserts by key, or Debezium envelopes (deletes by key).
    bool keyed() const {
        return o.mode == sink_mode::mapped &&
               (o.upsert == upsert_mode::key || o.envelope == envelope_kind::debezium);
    }

    // ---- schema discovery (at open) ----------------------------------------------------------

    status load_columns(db_conn& c);

    // Column sets of the table's unique indexes without predicate or expressions (the ones an
    // ON CONFLICT (cols) clause can name).
    result<std::vector<std::vector<std::string>>> unique_keys(db_conn& c);

    bool has_unique(const std::vector<std::vector<std::string>>& keys,
                    std::vector<std::string> cols);

    status create_append_table(db_conn& c);

    status setup_append(db_conn& c);

    status setup_mapped(db_conn& c);

    // ---- SQL builders --------------------------------------------------------------------------

    std::string column_list(const row_group& g) const;

    std::string conflict_clause(const row_group& g, bool append_conflict) const;
};

}  // namespace trib::connectors::postgres
