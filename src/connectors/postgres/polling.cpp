// The polling source: SELECT the rows after the last position of each table, ordered by the
// tracking column (ties broken by the primary key in timestamp mode), and hand the new position
// to the runtime as state. Deletes and marks of delivered rows are queued by ack() and run on the
// source's own thread at the next poll() (or close()), never before Iggy has the rows.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <thread>

#include "connectors/postgres/errors.h"
#include "connectors/postgres/json.h"
#include "connectors/postgres/pg.h"
#include "connectors/postgres/source.h"
#include "connectors/postgres/source_common.h"
#include "connectors/postgres/state.h"
#include "core/json_text.h"
#include "core/message_id.h"
#include "core/poll_ledger.h"

namespace trib::connectors::postgres {

namespace {

using clock = std::chrono::steady_clock;
using table_pos = table_position;

struct table_cfg {
    std::string key;  // as configured (the state's key)
    qualified_name name;
};

// {"a","b\"c"} for `col = ANY($1)`: the server infers the array's element type from col.
std::string array_literal(const std::vector<std::string>& items) {
    std::string s = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        if (i)
            s += ',';
        s += '"';
        for (char c : items[i]) {
            if (c == '"' || c == '\\')
                s += '\\';
            s += c;
        }
        s += '"';
    }
    return s + "}";
}

}  // namespace

/// A row's message id: core/poll_ledger.h polled_row_id with domain "postgres" (the layout the
/// ids had before it moved there, so they do not change).
static message_id row_id(std::string_view table, const pg_result& r, int row, int pk_col,
                         int tracking_col, std::string_view payload) {
    auto text = [&](int col) -> std::optional<std::string_view> {
        if (col < 0 || r.is_null(row, col))
            return std::nullopt;
        return r.value(row, col);
    };
    return polled_row_id("postgres", table, text(pk_col), text(tracking_col), payload);
}

struct polling_source::impl {
    source_options o;
    source_stats& st;
    std::vector<table_cfg> tables;
    std::string pk_column;
    db_conn conn;  // poll thread only

    poll_ledger ledger;  // positions, flights, acknowledged deletes/marks (the ack gate)

    impl(source_options opts, source_stats& s) : o(std::move(opts)), st(s) {
        pk_column = o.primary_key_column.empty() ? o.tracking_column : o.primary_key_column;
    }

    bool processes_rows() const { return o.delete_after_read || !o.processed_column.empty(); }
    bool tie_break() const {
        return o.tracking == tracking_mode::timestamp && pk_column != o.tracking_column;
    }

    status connect() {
        if (conn.ok())
            return ok();
        if (conn)
            st.reconnects++;
        TRIB_ASSIGN_OR_RETURN(conn, db_conn::connect(o.conn));
        return conn.set_output_defaults();
    }

    status check_columns() {
        if (!o.custom_query.empty())
            return ok();
        std::vector<std::string> problems;
        for (const auto& t : tables) {
            auto r = conn.exec_params(
                "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = $1::regclass AND "
                "a.attnum > 0 AND NOT a.attisdropped",
                {t.name.sql().c_str()});
            if (!r) {
                if (r.error().code() == errc::not_found) {
                    // Like Iggy's source: the table may appear later (a migration); say so.
                    spdlog::warn("postgres source: table {} does not exist (yet)", t.key);
                    continue;
                }
                return unexpected(r.error());
            }
            std::vector<std::string> cols;
            for (int i = 0; i < r->rows(); ++i)
                cols.push_back(r->str(i, 0));
            const bool key = processes_rows() || tie_break();
            check_poll_columns(
                {o.tracking_column, key ? pk_column : "", o.processed_column, o.payload_column},
                t.key,
                [&](const std::string& c) {
                    return std::find(cols.begin(), cols.end(), c) != cols.end();
                },
                problems);
        }
        return poll_columns_status(problems);
    }

    status open(std::string_view state) {
        tables.clear();
        for (const auto& t : o.tables) {
            TRIB_ASSIGN_OR_RETURN(auto q, parse_qualified_name(t));
            tables.push_back({t, std::move(q)});
        }
        if (tables.empty() &&
            (o.custom_query.empty() || o.custom_query.find("$table") != std::string::npos)) {
            return fail(errc::invalid_argument, "polling needs at least one table in `tables`");
        }
        if (tables.empty())
            tables.push_back({"custom_query", qualified_name{}});
        std::vector<std::string> keys;
        for (const auto& t : tables)
            keys.push_back(t.key);
        TRIB_TRY(ledger.init(std::move(keys), state, "postgres source state"));
        TRIB_TRY(connect());
        TRIB_TRY(check_columns());
        return ok();
    }

    // The rows' query for table i and the parameters it binds.
    std::string query(std::size_t i, const table_pos& p, std::vector<std::string>& params) const {
        const table_cfg& t = tables[i];
        params.clear();
        const std::string offset = p.has_offset ? p.offset : o.initial_offset;
        const bool has_offset = p.has_offset || o.has_initial_offset;
        if (!o.custom_query.empty()) {
            return expand_poll_query(o.custom_query, t.name.sql(),
                                     has_offset ? offset : std::string(), o.batch_size,
                                     unix_now_us());
        }
        const std::string trk = quote_ident(o.tracking_column);
        const std::string pk = quote_ident(pk_column);
        std::vector<std::string> where;
        if (has_offset) {
            params.push_back(offset);
            if (tie_break() && p.has_tie) {
                params.push_back(p.tie);
                where.push_back("(" + trk + ", " + pk + ") > ($1, $2)");
            } else {
                where.push_back(trk + " > $1");
            }
        }
        if (!o.processed_column.empty())
            where.push_back(quote_ident(o.processed_column) + " IS NOT TRUE");
        if (o.tracking == tracking_mode::timestamp && o.timestamp_delay.count() > 0) {
            // Rows younger than the delay may belong to transactions still committing with an
            // earlier timestamp; leave them for a later poll.
            params.push_back(std::to_string(o.timestamp_delay.count()) + " milliseconds");
            where.push_back(trk + " <= now() - $" + std::to_string(params.size()) + "::interval");
        }
        std::string q = "SELECT * FROM " + t.name.sql();
        for (std::size_t w = 0; w < where.size(); ++w)
            q += (w == 0 ? " WHERE " : " AND ") + where[w];
        q += " ORDER BY " + trk;
        if (tie_break())
            q += ", " + pk;
        q += " LIMIT " + std::to_string(o.batch_size);
        return q;
    }

    std::string row_payload(const pg_result& r, int row, const table_cfg& t, int payload_col) {
        if (payload_col >= 0) {
            if (r.is_null(row, payload_col))
                return {};
            std::string_view v = r.value(row, payload_col);
            if (o.payload == source_payload::bytea) {
                // Text output of bytea is "\x" + hex (bytea_output = hex for this session).
                std::string out;
                if (v.size() >= 2 && v[0] == '\\' && v[1] == 'x') {
                    out.reserve((v.size() - 2) / 2);
                    auto hv = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
                    for (std::size_t i = 2; i + 1 < v.size(); i += 2)
                        out += static_cast<char>(hv(v[i]) * 16 + hv(v[i + 1]));
                    return out;
                }
                return std::string(v);
            }
            return std::string(v);  // text, json_direct: the column's text as it is
        }
        std::string data = "{";
        for (int c = 0; c < r.cols(); ++c) {
            if (c)
                data += ',';
            std::string name = PQfname(r.get(), c);
            append_json_string(data, o.snake_case_columns ? detail::snake_case(name) : name);
            data += ':';
            if (r.is_null(row, c))
                data += "null";
            else
                json::append_pg_value(data, PQftype(r.get(), c), r.value(row, c));
        }
        data += '}';
        if (!o.include_metadata)
            return data;
        // Iggy's DatabaseRecord.
        std::string out = "{\"table_name\":";
        append_json_string(out, t.name.name.empty() ? t.key : t.name.name);
        out += ",\"operation_type\":\"SELECT\",\"timestamp\":";
        append_json_string(out, detail::rfc3339(unix_now_us()));
        out += ",\"data\":";
        out += data;
        out += ",\"old_data\":null}";
        return out;
    }

    // Runs acknowledged deletes/marks. A failure keeps the op queued for the next poll.
    void apply_todo() {
        std::deque<delivered_rows> ops = ledger.take_todo();
        while (!ops.empty()) {
            delivered_rows& op = ops.front();
            auto st_ = apply_op(op);
            if (!st_) {
                st.failed_ops++;
                spdlog::warn(
                    "postgres source: {} of {} delivered rows of {} failed, will retry: {}",
                    o.delete_after_read ? "delete" : "marking", op.keys.size(),
                    tables[op.table].key, st_.error().to_string());
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
        std::string keys = array_literal(op.keys);
        std::vector<const char*> params = {keys.c_str()};
        std::string cond = quote_ident(pk_column) + " = ANY($1)";
        if (op.has_max_offset) {
            // As Iggy's source: a row changed after it was read (a newer tracking value) stays.
            params.push_back(op.max_offset.c_str());
            cond += " AND " + quote_ident(o.tracking_column) + " <= $2";
        }
        std::string sql = o.delete_after_read
                              ? "DELETE FROM " + t.name.sql() + " WHERE " + cond
                              : "UPDATE " + t.name.sql() + " SET " +
                                    quote_ident(o.processed_column) + " = TRUE WHERE " + cond;
        auto r = conn.exec_params(sql, params);
        if (!r)
            return unexpected(r.error());
        return ok();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) {
        poll_ledger::start snap = ledger.begin();
        if (snap.has_todo)
            apply_todo();
        const clock::time_point not_before = snap.not_before;
        auto now = clock::now();
        if (now < not_before) {
            auto wait = std::min(
                std::chrono::duration_cast<std::chrono::milliseconds>(not_before - now), max_wait);
            std::this_thread::sleep_for(wait);
            if (clock::now() < not_before)
                return source_batch{};
        }
        TRIB_TRY(connect());
        snap = ledger.begin();
        const std::vector<table_pos>& start = snap.pos;
        std::vector<table_pos> end = start;
        source_batch out;
        std::vector<delivered_rows> ops;
        bool full = false;
        std::vector<std::string> params;
        for (std::size_t i = 0; i < tables.size(); ++i) {
            std::string q = query(i, start[i], params);
            std::vector<const char*> pv;
            for (const auto& p : params)
                pv.push_back(p.c_str());
            auto r = conn.exec_params(q, pv);
            if (!r) {
                if (r.error().code() == errc::not_found)
                    continue;  // the table does not exist yet
                return unexpected(r.error().wrap("poll " + tables[i].key));
            }
            int trk = PQfnumber(r->get(), quote_ident(o.tracking_column).c_str());
            int pkc = PQfnumber(r->get(), quote_ident(pk_column).c_str());
            int payload_col = o.payload_column.empty()
                                  ? -1
                                  : PQfnumber(r->get(), quote_ident(o.payload_column).c_str());
            delivered_rows op;
            op.table = i;
            for (int row = 0; row < r->rows(); ++row) {
                message m;
                m.payload = out.batch.own(row_payload(*r, row, tables[i], payload_col));
                m.id = row_id(tables[i].key, *r, row, pkc, trk, m.payload);
                out.batch.messages.push_back(std::move(m));
                if (trk >= 0 && !r->is_null(row, trk)) {
                    end[i].offset = r->str(row, trk);
                    end[i].has_offset = true;
                    op.max_offset = end[i].offset;
                    op.has_max_offset = true;
                }
                if (pkc >= 0 && !r->is_null(row, pkc)) {
                    if (tie_break()) {
                        end[i].tie = r->str(row, pkc);
                        end[i].has_tie = true;
                    }
                    if (processes_rows())
                        op.keys.push_back(r->str(row, pkc));
                }
            }
            if (static_cast<std::size_t>(r->rows()) >= o.batch_size)
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
            spdlog::info("postgres source: {} rows", rows);
        return out;
    }

    void ack(std::uint64_t seq) { ledger.ack(seq); }

    void nack(std::uint64_t seq) { ledger.nack(seq); }

    void close() {
        apply_todo();  // best effort: what still fails stays undone (the offset skips the rows)
        conn = db_conn();
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
    impl_->ack(seq);
}

void polling_source::nack(std::uint64_t seq) {
    impl_->nack(seq);
}

void polling_source::close() {
    impl_->close();
}

std::unique_ptr<source> make_source(source_options o) {
    if (o.mode == source_mode::cdc)
        return std::make_unique<cdc_source>(std::move(o));
    return std::make_unique<polling_source>(std::move(o));
}

}  // namespace trib::connectors::postgres
