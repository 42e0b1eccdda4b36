// The polling source: SELECT the rows after the last position of each table, ordered by the
// tracking column (ties broken by the primary key in timestamp mode), and hand the new position
// to the runtime as state. Deletes and marks of delivered rows are queued by ack() and run on the
// source's own thread at the next poll() (or close()), never before Iggy has the rows.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "connectors/mysql/conn.h"
#include "connectors/mysql/row_json.h"
#include "connectors/mysql/source.h"
#include "connectors/mysql/sql_text.h"
#include "core/json_text.h"
#include "core/parse_number.h"
#include "core/poll_ledger.h"
#include "core/unix_time.h"

namespace trib::connectors::mysql {

namespace {

using clock = std::chrono::steady_clock;

struct table_cfg {
    std::string key;  // as configured (the state's key)
    table_name name;
};

// A tracking value or key in SQL: integers bare (a string compared with a BIGINT would go
// through a double), anything else a quoted literal.
std::string value_sql(std::string_view v) {
    if (parse_i64(v) || parse_u64(v))
        return std::string(v);
    std::string out;
    append_literal(out, v);
    return out;
}

int column_index(const query_result& r, std::string_view name) {
    for (std::size_t i = 0; i < r.columns.size(); ++i) {
        if (r.columns[i].name == name)
            return static_cast<int>(i);
    }
    return -1;
}

}  // namespace

struct polling_source::impl {
    source_options o;
    source_stats& st;
    std::vector<table_cfg> tables;
    std::string pk_column;
    std::unique_ptr<db_conn> conn;  // poll thread only
    poll_ledger ledger;

    impl(source_options opts, source_stats& s) : o(std::move(opts)), st(s) {
        pk_column = o.primary_key_column.empty() ? o.tracking_column : o.primary_key_column;
    }

    bool processes_rows() const { return o.delete_after_read || !o.processed_column.empty(); }
    bool tie_break() const {
        return o.tracking == tracking_mode::timestamp && pk_column != o.tracking_column;
    }

    status connect() {
        if (conn && conn->ok())
            return ok();
        if (conn)
            st.reconnects++;
        conn.reset();
        TRIB_ASSIGN_OR_RETURN(conn, db_conn::connect(o.conn));
        return ok();
    }

    status check_columns() {
        if (!o.custom_query.empty())
            return ok();
        std::vector<std::string> problems;
        for (const auto& t : tables) {
            auto r = conn->query("SELECT * FROM " + t.name.sql() + " LIMIT 0");
            if (!r) {
                if (r.error().code() == errc::not_found) {
                    // Like Iggy's source: the table may appear later (a migration); say so.
                    spdlog::warn("mysql source: table {} does not exist (yet)", t.key);
                    continue;
                }
                return unexpected(r.error());
            }
            check_poll_columns(
                needed_columns(), t.key,
                [&](const std::string& c) { return column_index(*r, c) >= 0; }, problems);
        }
        return poll_columns_status(problems);
    }

    poll_columns needed_columns() const {
        const bool key = processes_rows() || tie_break();
        return {o.tracking_column, key ? pk_column : "", o.processed_column, o.payload_column};
    }

    status open(std::string_view state) {
        tables.clear();
        for (const auto& t : o.tables) {
            TRIB_ASSIGN_OR_RETURN(auto q, parse_table_name(t));
            tables.push_back({t, std::move(q)});
        }
        for (const auto* c :
             {&o.tracking_column, &pk_column, &o.processed_column, &o.payload_column}) {
            if (!c->empty())
                TRIB_TRY(check_identifier(*c));
        }
        if (tables.empty() &&
            (o.custom_query.empty() || o.custom_query.find("$table") != std::string::npos)) {
            return fail(errc::invalid_argument, "polling needs at least one table in `tables`");
        }
        if (tables.empty())
            tables.push_back({"custom_query", table_name{}});
        std::vector<std::string> keys;
        for (const auto& t : tables)
            keys.push_back(t.key);
        TRIB_TRY(ledger.init(std::move(keys), state, "mysql source state"));
        TRIB_TRY(connect());
        return check_columns();
    }

    std::string query(std::size_t i, const table_position& p) const {
        const table_cfg& t = tables[i];
        const std::string offset = p.has_offset ? p.offset : o.initial_offset;
        const bool has_offset = p.has_offset || o.has_initial_offset;
        if (!o.custom_query.empty()) {
            return expand_poll_query(o.custom_query, t.name.sql(), has_offset ? offset : "",
                                     o.batch_size, unix_now_us());
        }
        const std::string trk = quote_ident(o.tracking_column);
        const std::string pk = quote_ident(pk_column);
        std::vector<std::string> where;
        if (has_offset) {
            if (tie_break() && p.has_tie) {
                where.push_back("(" + trk + ", " + pk + ") > (" + value_sql(offset) + ", " +
                                value_sql(p.tie) + ")");
            } else {
                where.push_back(trk + " > " + value_sql(offset));
            }
        }
        if (!o.processed_column.empty())
            where.push_back(quote_ident(o.processed_column) + " IS NOT TRUE");
        std::string q = "SELECT * FROM " + t.name.sql();
        for (std::size_t w = 0; w < where.size(); ++w)
            q += (w == 0 ? " WHERE " : " AND ") + where[w];
        q += " ORDER BY " + trk;
        if (tie_break())
            q += ", " + pk;
        q += " LIMIT " + std::to_string(o.batch_size);
        return q;
    }

    std::string row_payload(const query_result& r, std::size_t row, const table_cfg& t,
                            int payload_col) const {
        const auto& cells = r.rows[row];
        if (payload_col >= 0)
            return cells[static_cast<std::size_t>(payload_col)].value_or("");
        std::string data = "{";
        for (std::size_t c = 0; c < r.columns.size(); ++c) {
            if (c)
                data += ',';
            const std::string& name = r.columns[c].name;
            append_json_string(data, o.snake_case_columns ? snake_case(name) : name);
            data += ':';
            if (!cells[c])
                data += "null";
            else
                append_cell_json(data, r.columns[c], *cells[c]);
        }
        data += '}';
        if (!o.include_metadata)
            return data;
        // Iggy's DatabaseRecord.
        std::string out = "{\"table_name\":";
        append_json_string(out, t.name.name.empty() ? t.key : t.name.name);
        out += ",\"operation_type\":\"SELECT\",\"timestamp\":";
        append_json_string(out, rfc3339_us(unix_now_us()));
        out += ",\"data\":";
        out += data;
        out += ",\"old_data\":null}";
        return out;
    }

    void apply_todo() {
        std::deque<delivered_rows> ops = ledger.take_todo();
        while (!ops.empty()) {
            auto r = apply_op(ops.front());
            if (!r) {
                st.failed_ops++;
                spdlog::warn("mysql source: {} of {} delivered rows of {} failed, will retry: {}",
                             o.delete_after_read ? "delete" : "marking", ops.front().keys.size(),
                             tables[ops.front().table].key, r.error().to_string());
                ledger.requeue(std::move(ops));
                return;
            }
            st.acked_ops++;
            ops.pop_front();
        }
    }

    status apply_op(const delivered_rows& op) {
        TRIB_TRY(connect());
        const table_cfg& t = tables[op.table];
        std::string in;
        for (const auto& k : op.keys)
            in += (in.empty() ? "" : ",") + value_sql(k);
        std::string cond = quote_ident(pk_column) + " IN (" + in + ")";
        if (op.has_max_offset) {
            // As Iggy's source: a row changed after it was read (a newer tracking value) stays.
            cond += " AND " + quote_ident(o.tracking_column) + " <= " + value_sql(op.max_offset);
        }
        std::string sql = o.delete_after_read
                              ? "DELETE FROM " + t.name.sql() + " WHERE " + cond
                              : "UPDATE " + t.name.sql() + " SET " +
                                    quote_ident(o.processed_column) + " = TRUE WHERE " + cond;
        TRIB_TRY(conn->exec(sql));
        return ok();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) {
        poll_ledger::start snap = ledger.begin();
        if (snap.has_todo)
            apply_todo();
        auto now = clock::now();
        if (now < snap.not_before) {
            auto wait = std::min(
                std::chrono::duration_cast<std::chrono::milliseconds>(snap.not_before - now),
                max_wait);
            std::this_thread::sleep_for(wait);
            if (clock::now() < snap.not_before)
                return source_batch{};
        }
        TRIB_TRY(connect());
        snap = ledger.begin();
        std::vector<table_position> end = snap.pos;
        source_batch out;
        std::vector<delivered_rows> ops;
        bool full = false;
        for (std::size_t i = 0; i < tables.size(); ++i) {
            auto r = conn->query(query(i, snap.pos[i]));
            if (!r) {
                if (r.error().code() == errc::not_found)
                    continue;  // the table does not exist yet
                return unexpected(r.error().wrap("poll " + tables[i].key));
            }
            int trk = column_index(*r, o.tracking_column);
            int pkc = column_index(*r, pk_column);
            int payload_col = o.payload_column.empty() ? -1 : column_index(*r, o.payload_column);
            delivered_rows op;
            op.table = i;
            for (std::size_t row = 0; row < r->rows.size(); ++row) {
                const auto& cells = r->rows[row];
                auto cell = [&](int c) -> std::optional<std::string_view> {
                    if (c < 0 || !cells[static_cast<std::size_t>(c)])
                        return std::nullopt;
                    return std::string_view(*cells[static_cast<std::size_t>(c)]);
                };
                message m;
                m.payload = out.batch.own(row_payload(*r, row, tables[i], payload_col));
                m.id = polled_row_id("mysql", tables[i].key, cell(pkc), cell(trk), m.payload);
                out.batch.messages.push_back(std::move(m));
                if (auto v = cell(trk)) {
                    end[i].offset = std::string(*v);
                    end[i].has_offset = true;
                    op.max_offset = end[i].offset;
                    op.has_max_offset = true;
                }
                if (auto k = cell(pkc)) {
                    if (tie_break()) {
                        end[i].tie = std::string(*k);
                        end[i].has_tie = true;
                    }
                    if (processes_rows())
                        op.keys.emplace_back(*k);
                }
            }
            if (r->rows.size() >= o.batch_size)
                full = true;
            if (!op.keys.empty())
                ops.push_back(std::move(op));
        }
        const std::size_t rows = out.batch.size();
        auto state =
            ledger.commit(snap, std::move(end), std::move(ops), rows, full, o.poll_interval);
        if (!state)
            return source_batch{};  // nothing read, or a nack rewound the position meanwhile
        out.state = std::move(*state);
        out.has_state = true;
        st.rows += rows;
        if (o.verbose_logging)
            spdlog::info("mysql source: {} rows", rows);
        return out;
    }

    void close() {
        if (conn && conn->ok())
            apply_todo();  // best effort: what still fails stays undone (the offset skips them)
        conn.reset();
    }
};

polling_source::polling_source(source_options o)
    : impl_(std::make_unique<impl>(std::move(o), stats_)) {}

polling_source::~polling_source() = default;

status polling_source::open(connector_context&, std::string_view state) {
    return impl_->open(state);
}

result<source_batch> polling_source::poll(std::chrono::milliseconds max_wait) {
    return impl_->poll(max_wait);
}

void polling_source::ack(std::uint64_t seq) {
    impl_->ledger.ack(seq);
}

void polling_source::nack(std::uint64_t seq) {
    impl_->ledger.nack(seq);
}

void polling_source::close() {
    impl_->close();
}

}  // namespace trib::connectors::mysql
