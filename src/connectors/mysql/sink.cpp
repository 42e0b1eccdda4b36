// The MySQL sink: reads the table's columns at open, encodes each runtime batch into rows
// (sink_rows.cpp), writes runs of rows that share a statement shape as multi-row INSERTs (ON
// DUPLICATE KEY UPDATE for upserts and replays) or DELETEs in one transaction, and when a row is
// bad finds it by bisection (InnoDB undoes a failed statement alone) so the rest still commits.

#include "connectors/mysql/sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "connectors/mysql/conn.h"
#include "connectors/mysql/errors.h"
#include "connectors/mysql/sink_rows.h"
#include "core/sink_memo.h"

namespace trib::connectors::mysql {

namespace {

// One statement stays well below the server's default max_allowed_packet (16 MiB in 10.11,
// 64 MiB in MySQL 8).
constexpr std::size_t max_statement_bytes = 8u << 20;

bool is_binary_type(std::string_view t) {
    return t == "binary" || t == "varbinary" || t == "tinyblob" || t == "blob" ||
           t == "mediumblob" || t == "longblob";
}

std::string schema_expr(const table_name& t) {
    if (t.schema.empty())
        return "DATABASE()";
    std::string s;
    append_literal(s, t.schema);
    return s;
}

}  // namespace

struct mysql_sink::impl {
    sink_options& o;
    sink_stats& stats;
    table_desc t;
    std::unique_ptr<db_conn> conn;
    row_encoder enc{o, t};

    impl(sink_options& opts, sink_stats& st) : o(opts), stats(st) {}

    status open() {
        TRIB_ASSIGN_OR_RETURN(t.table, parse_table_name(o.target_table));
        TRIB_ASSIGN_OR_RETURN(conn, db_conn::connect(o.conn));
        if (o.auto_create_table && o.mode == sink_mode::append) {
            TRIB_TRY(create_append_table());
        }
        TRIB_TRY(load_columns());
        if (o.mode == sink_mode::append)
            return setup_append();
        return setup_mapped();
    }

    status create_append_table() {
        const char* payload = o.payload == payload_format::json   ? "JSON"
                              : o.payload == payload_format::text ? "LONGTEXT"
                                                                  : "LONGBLOB";
        std::string sql = "CREATE TABLE IF NOT EXISTS " + t.table.sql() +
                          " (id DECIMAL(39,0) NOT NULL PRIMARY KEY";
        if (o.include_metadata) {
            sql +=
                ", iggy_offset BIGINT UNSIGNED, iggy_timestamp DATETIME(6), iggy_stream "
                "VARCHAR(255), iggy_topic VARCHAR(255), iggy_partition_id INT UNSIGNED";
        }
        if (o.include_checksum)
            sql += ", iggy_checksum BIGINT UNSIGNED";
        if (o.include_origin_timestamp)
            sql += ", iggy_origin_timestamp DATETIME(6)";
        if (o.include_headers)
            sql += ", iggy_headers JSON";
        sql += std::string(", payload ") + payload +
               ", created_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB "
               "DEFAULT CHARSET=utf8mb4";
        auto r = conn->exec(sql);
        if (!r)
            return unexpected(r.error().wrap("create table " + t.table.text()));
        return ok();
    }

    status load_columns() {
        std::string name;
        append_literal(name, t.table.name);
        TRIB_ASSIGN_OR_RETURN(
            auto cols, conn->query("SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                                   "WHERE TABLE_SCHEMA = " +
                                   schema_expr(t.table) + " AND TABLE_NAME = " + name +
                                   " ORDER BY ORDINAL_POSITION"));
        if (cols.rows.empty())
            return fail(errc::not_found, "table " + t.table.text() + " does not exist");
        t.columns.clear();
        t.by_name.clear();
        for (const auto& r : cols.rows) {
            column_info c;
            c.name = r[0].value_or("");
            c.data_type = r[1].value_or("");
            c.binary = is_binary_type(c.data_type);
            t.add_column(std::move(c));
        }
        // Unique indexes: the primary key is the upsert/delete key; a unique `id` or message-id
        // column makes replays no-ops.
        TRIB_ASSIGN_OR_RETURN(auto idx,
                              conn->query("SELECT INDEX_NAME, COLUMN_NAME FROM information_schema."
                                          "STATISTICS WHERE TABLE_SCHEMA = " +
                                          schema_expr(t.table) + " AND TABLE_NAME = " + name +
                                          " AND NON_UNIQUE = 0 ORDER BY INDEX_NAME, SEQ_IN_INDEX"));
        std::map<std::string, std::vector<std::string>> unique;
        for (const auto& r : idx.rows)
            unique[r[0].value_or("")].push_back(r[1].value_or(""));
        t.key_cols.clear();
        if (auto pk = unique.find("PRIMARY"); pk != unique.end()) {
            for (const auto& c : pk->second)
                t.key_cols.push_back(t.by_name.at(c));
        }
        auto single_unique = [&](const std::string& col) {
            for (const auto& [n, cs] : unique) {
                if (cs.size() == 1 && cs[0] == col)
                    return true;
            }
            return false;
        };
        t.id_unique = single_unique("id");
        if (o.mode == sink_mode::mapped && o.upsert == upsert_mode::message_id) {
            auto it = t.by_name.find(o.message_id_column);
            if (it == t.by_name.end())
                return fail(errc::failed_precondition,
                            "table " + t.table.text() + " has no column '" + o.message_id_column +
                                "' (message_id_column)");
            if (!single_unique(o.message_id_column))
                return fail(errc::failed_precondition,
                            "message_id_column '" + o.message_id_column + "' of " + t.table.text() +
                                " needs a unique index (replays are no-ops)");
            t.message_id_col = it->second;
        }
        return ok();
    }

    status setup_append() {
        t.append_cols.clear();
        auto add = [&](acol w, const char* name) -> status {
            auto it = t.by_name.find(name);
            if (it == t.by_name.end())
                return fail(errc::failed_precondition,
                            "table " + t.table.text() + " has no column '" + name +
                                "' (append mode; auto_create_table creates it)");
            t.append_cols.emplace_back(w, it->second);
            return ok();
        };
        TRIB_TRY(add(acol::id, "id"));
        if (o.include_metadata) {
            TRIB_TRY(add(acol::offset, "iggy_offset"));
            TRIB_TRY(add(acol::timestamp, "iggy_timestamp"));
            TRIB_TRY(add(acol::stream, "iggy_stream"));
            TRIB_TRY(add(acol::topic, "iggy_topic"));
            TRIB_TRY(add(acol::partition, "iggy_partition_id"));
        }
        if (o.include_checksum)
            TRIB_TRY(add(acol::checksum, "iggy_checksum"));
        if (o.include_origin_timestamp)
            TRIB_TRY(add(acol::origin_ts, "iggy_origin_timestamp"));
        if (o.include_headers)
            TRIB_TRY(add(acol::headers, "iggy_headers"));
        TRIB_TRY(add(acol::payload, "payload"));
        return ok();
    }

    status setup_mapped() {
        t.mapping.clear();
        for (const auto& [col, path] : o.field_mapping) {
            auto it = t.by_name.find(col);
            if (it == t.by_name.end())
                return fail(errc::failed_precondition, "field_mapping: table " + t.table.text() +
                                                           " has no column '" + col + "'");
            t.mapping.emplace_back(it->second, path);
        }
        bool keyed = o.upsert == upsert_mode::key || o.envelope == envelope_kind::debezium;
        if (keyed && t.key_cols.empty())
            return fail(errc::failed_precondition,
                        "table " + t.table.text() +
                            " has no primary key (upsert = \"key\" and the debezium envelope "
                            "need one)");
        return ok();
    }

    // ---- writing --------------------------------------------------------------------------------

    // Runs of rows with the same kind and columns, in message order.
    struct run {
        sql_row::kind k;
        const std::vector<std::size_t>* cols;
        std::vector<const sql_row*> rows;
    };

    static std::vector<run> runs_of(const row_plan& plan) {
        std::vector<run> out;
        for (const auto& r : plan.rows) {
            if (out.empty() || out.back().k != r.k || *out.back().cols != r.cols ||
                r.k == sql_row::kind::truncate)
                out.push_back(run{r.k, &r.cols, {}});
            out.back().rows.push_back(&r);
        }
        return out;
    }

    status apply(const run& ru, const std::vector<const sql_row*>& rows) {
        if (rows.empty())
            return ok();
        if (ru.k == sql_row::kind::truncate) {
            TRIB_TRY(conn->exec("DELETE FROM " + t.table.sql()));
            return ok();
        }
        const std::string conflict =
            ru.k == sql_row::kind::upsert ? conflict_clause(o, t, *ru.cols) : std::string();
        std::size_t start = 0;
        while (start < rows.size()) {
            std::size_t bytes = 0, n = 0;
            while (start + n < rows.size() && n < o.batch_size &&
                   (n == 0 || bytes + rows[start + n]->tuple.size() < max_statement_bytes)) {
                bytes += rows[start + n]->tuple.size() + 1;
                ++n;
            }
            std::vector<const sql_row*> chunk(rows.begin() + static_cast<long>(start),
                                              rows.begin() + static_cast<long>(start + n));
            std::string sql = ru.k == sql_row::kind::remove
                                  ? delete_sql(t, *ru.cols, chunk)
                                  : insert_sql(t, *ru.cols, chunk, conflict);
            TRIB_TRY(conn->exec(sql));
            start += n;
        }
        return ok();
    }

    // Bisection: a failed statement is undone by InnoDB alone (the transaction goes on), so a
    // subset with a row error is split until each bad row stands alone and is rejected.
    status isolate(const run& ru, const std::vector<const sql_row*>& rows,
                   std::vector<message_error>& rejected) {
        if (rows.empty())
            return ok();
        auto r = apply(ru, rows);
        if (r)
            return ok();
        if (!is_row_error(r.error()))
            return r;
        if (rows.size() == 1) {
            rejected.push_back({rows[0]->msg, r.error()});
            return ok();
        }
        std::size_t half = rows.size() / 2;
        std::vector<const sql_row*> a(rows.begin(), rows.begin() + static_cast<long>(half));
        std::vector<const sql_row*> b(rows.begin() + static_cast<long>(half), rows.end());
        TRIB_TRY(isolate(ru, a, rejected));
        return isolate(ru, b, rejected);
    }

    status run_transaction(const std::vector<run>& runs, bool isolating,
                           std::vector<message_error>& rejected) {
        auto body = [&]() -> status {
            TRIB_TRY(conn->exec("START TRANSACTION"));
            for (const auto& ru : runs) {
                if (isolating) {
                    TRIB_TRY(isolate(ru, ru.rows, rejected));
                } else {
                    TRIB_TRY(apply(ru, ru.rows));
                }
            }
            TRIB_TRY(conn->exec("COMMIT"));
            return ok();
        };
        auto st = body();
        if (!st)
            conn->rollback_quietly();
        return st;
    }

    // Append mode through LOAD DATA LOCAL INFILE: one statement for the batch. LOCAL turns data
    // errors and duplicate keys into warnings, so any warning (or a row count short of the
    // batch) undoes it and the batch goes the INSERT way, which reports bad rows one by one.
    result<bool> try_load_data(const sink_batch& b) {
        std::string data;
        for (const auto& m : b.messages->messages)
            append_tsv_row(data, o, t, b, m);
        std::string cols;
        for (const auto& [what, col] : t.append_cols) {
            (void)what;
            cols += (cols.empty() ? "" : ",") + quote_ident(t.columns[col].name);
        }
        std::size_t payload_col = t.append_cols.back().second;
        std::string sql = "LOAD DATA LOCAL INFILE 'tributary-batch' INTO TABLE " + t.table.sql() +
                          " CHARACTER SET " +
                          (t.columns[payload_col].binary ? "binary" : "utf8mb4") + " (" + cols +
                          ")";
        TRIB_TRY(conn->exec("START TRANSACTION"));
        auto r = conn->load_data(sql, data);
        if (r && mysql_warning_count(conn->get()) == 0 && *r == b.messages->size()) {
            auto c = conn->exec("COMMIT");
            if (!c) {
                conn->rollback_quietly();
                return unexpected(c.error());
            }
            return true;
        }
        conn->rollback_quietly();
        if (!r && !is_row_error(r.error()))
            return unexpected(r.error());
        stats.load_fallbacks++;
        return false;
    }

    result<write_outcome> write(const sink_batch& b) {
        write_outcome out;
        if (b.messages == nullptr || b.messages->empty())
            return out;
        if (!conn || !conn->ok()) {
            conn.reset();
            TRIB_ASSIGN_OR_RETURN(conn, db_conn::connect(o.conn));
            stats.reconnects++;
        }
        if (o.method == write_method::load_data && o.mode == sink_mode::append) {
            auto loaded = try_load_data(b);
            if (!loaded)
                return fail_write(loaded.error());
            if (*loaded) {
                stats.transactions++;
                stats.rows_written += b.messages->size();
                return out;
            }
        }
        row_plan plan;
        enc.encode(b, plan);
        std::vector<message_error> rejected;
        if (!plan.rows.empty()) {
            auto runs = runs_of(plan);
            status st = run_transaction(runs, false, rejected);
            if (!st && is_row_error(st.error())) {
                stats.isolations++;
                rejected.clear();
                st = run_transaction(runs, true, rejected);
            }
            if (!st)
                return fail_write(st.error());
            stats.transactions++;
        }
        out.rejected = std::move(plan.rejected);
        out.rejected.insert(out.rejected.end(), rejected.begin(), rejected.end());
        sort_rejected(out);
        stats.rows_rejected += out.rejected.size();
        stats.rows_written += b.messages->size() - out.rejected.size();
        if (o.verbose_logging) {
            spdlog::info("mysql sink: wrote {} of {} messages to {}",
                         b.messages->size() - out.rejected.size(), b.messages->size(),
                         t.table.text());
        }
        return out;
    }

    unexpected fail_write(const error& e) {
        if (is_connection_error(e) || (conn && !conn->ok()))
            conn.reset();  // the next write connects again
        return unexpected(e.wrap("write to " + t.table.text()));
    }
};

mysql_sink::mysql_sink(sink_options opts) : opts_(std::move(opts)) {}

mysql_sink::~mysql_sink() {
    close();
}

status mysql_sink::open(connector_context&) {
    return open_impl();
}

status mysql_sink::open_impl() {
    impl_ = std::make_unique<impl>(opts_, stats_);
    auto st = impl_->open();
    if (!st) {
        impl_.reset();
        return st;
    }
    return ok();
}

result<write_outcome> mysql_sink::write(const sink_batch& batch) {
    if (!impl_) {
        // The runtime reopens after a lost connection; when the server was still down that
        // reopen failed. Open here so the caller sees the connection's (retryable) error.
        auto st = open_impl();
        if (!st)
            return unexpected(st.error().wrap("mysql sink: open"));
        stats_.reconnects++;
    }
    return impl_->write(batch);
}

void mysql_sink::close() {
    impl_.reset();
}

bool mysql_sink::idempotent() const {
    if (!impl_)
        return false;
    if (opts_.mode == sink_mode::append)
        return impl_->t.id_unique;
    return opts_.upsert != upsert_mode::none || opts_.envelope == envelope_kind::debezium;
}

}  // namespace trib::connectors::mysql
