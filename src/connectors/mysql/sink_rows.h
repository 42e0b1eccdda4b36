#pragma once
// Messages to SQL rows for the MySQL sink, without a server: the table as the sink knows it
// (columns read at open), append-mode rows (payload and Iggy metadata), mapped-mode rows (JSON
// fields to columns, Debezium envelopes to upserts and deletes), and the statements built from
// runs of rows. Tested without MariaDB (tests/connectors/mysql/sink_rows_test.cpp).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/mysql/options.h"
#include "connectors/mysql/sql_text.h"
#include "core/connector.h"

namespace trib::connectors::mysql {

struct column_info {
    std::string name;
    std::string data_type;  // information_schema DATA_TYPE: "int", "varchar", "longblob"...
    bool binary = false;    // BLOB/BINARY/VARBINARY: string values go in unchanged (_binary)
};

/// What an append-mode column holds (Iggy's sink table, as the postgres sink writes it).
enum class acol {
    id,
    offset,
    timestamp,
    stream,
    topic,
    partition,
    checksum,
    origin_ts,
    headers,
    payload
};

/// The target table as read at open (or built by hand in tests).
struct table_desc {
    table_name table;
    std::vector<column_info> columns;
    std::map<std::string, std::size_t> by_name;
    std::vector<std::size_t> key_cols;  // the primary key (indices into columns)
    // append mode
    std::vector<std::pair<acol, std::size_t>> append_cols;
    bool id_unique = false;  // append: `id` is a primary or unique key (replays are no-ops)
    // mapped mode
    std::vector<std::pair<std::size_t, std::string>> mapping;  // column, dotted path
    std::optional<std::size_t> message_id_col;

    void add_column(column_info c) {
        by_name[c.name] = columns.size();
        columns.push_back(std::move(c));
    }
};

/// One row to write: a tuple "(v1,v2,...)" over `cols`, or a key tuple for deletes.
struct sql_row {
    enum class kind : std::uint8_t { upsert, remove, truncate } k = kind::upsert;
    std::vector<std::size_t> cols;  // the columns of `tuple` (indices into table_desc::columns)
    std::string tuple;
    std::uint32_t msg = 0;  // the message's index in the batch
};

/// The rows of a batch in message order, and the messages that cannot be rows.
struct row_plan {
    std::vector<sql_row> rows;
    std::vector<message_error> rejected;
};

/// Encodes messages to rows. Not thread-safe (one write at a time per sink).
class row_encoder {
  public:
    row_encoder(const sink_options& o, const table_desc& t) : o_(o), t_(t) {}
    /// Every message of `b` becomes a row or a rejection (with the reason).
    void encode(const sink_batch& b, row_plan& plan);
    /// One message as append-mode row (no failure: every payload fits a BLOB; a text or JSON
    /// column refuses bad bytes at the server, which isolates that row).
    sql_row append_row(const sink_batch& b, const message& m, std::uint32_t index) const;

  private:
    const sink_options& o_;
    const table_desc& t_;
};

/// Statements for a run of rows that share kind and columns: a multi-row INSERT (with
/// `conflict`, e.g. ON DUPLICATE KEY UPDATE ...), a DELETE by key tuples, or a whole-table
/// DELETE (truncate, transactional).
std::string insert_sql(const table_desc& t, const std::vector<std::size_t>& cols,
                       const std::vector<const sql_row*>& rows, std::string_view conflict);
std::string delete_sql(const table_desc& t, const std::vector<std::size_t>& cols,
                       const std::vector<const sql_row*>& rows);
/// The ON DUPLICATE KEY UPDATE clause for `cols` (mode and upsert options); empty: none.
std::string conflict_clause(const sink_options& o, const table_desc& t,
                            const std::vector<std::size_t>& cols);
/// LOAD DATA LOCAL INFILE content of append rows (tab-separated, \N for NULL): the same
/// values as append_row, in the infile's format.
void append_tsv_row(std::string& out, const sink_options& o, const table_desc& t,
                    const sink_batch& b, const message& m);

}  // namespace trib::connectors::mysql
