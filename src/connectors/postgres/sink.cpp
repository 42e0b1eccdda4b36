// The PostgreSQL sink: encodes a runtime batch into row groups (binary or text cells), writes
// them in one transaction with COPY or multi-row INSERT (staged through a temp table when an
// ON CONFLICT clause is needed with COPY), and when a row is bad finds it by bisection under
// savepoints so that the other rows still commit.

#include "connectors/postgres/sink.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

#include "connectors/postgres/errors.h"
#include "connectors/postgres/pg.h"
#include "connectors/postgres/sink_encoder.h"

namespace trib::connectors::postgres {

// ---- the implementation -----------------------------------------------------------------------

struct postgres_sink::impl : row_encoder {
    sink_stats& stats;
    std::unique_ptr<conn_pool> pool;

    impl(sink_options& opts, sink_stats& st) : row_encoder(opts), stats(st) {}

    status open() {
        TRIB_ASSIGN_OR_RETURN(table, parse_qualified_name(o.target_table));
        pool = std::make_unique<conn_pool>(o.conn, o.max_connections);
        auto lease = pool->acquire();
        if (!lease)
            return unexpected(lease.error());
        db_conn& c = **lease;
        if (o.auto_create_table && o.mode == sink_mode::append) {
            TRIB_TRY(create_append_table(c));
        }
        TRIB_TRY(load_columns(c));
        if (o.mode == sink_mode::append) {
            TRIB_TRY(setup_append(c));
        } else {
            TRIB_TRY(setup_mapped(c));
        }
        return ok();
    }

    std::string stage_name(db_conn& c, const row_group& g) const {
        auto it = c.session().find("stage:" + g.signature);
        return it == c.session().end() ? std::string() : it->second;
    }

    bool needs_stage(const row_group& g, bool append_conflict) const {
        return o.method == write_method::copy && g.k == row_group::kind::upsert &&
               !conflict_clause(g, append_conflict).empty();
    }

    // Temp tables for COPY + INSERT ... SELECT ... ON CONFLICT, created outside the batch's
    // transaction so that a rollback does not take them away.
    status ensure_stages(db_conn& c, const batch_plan& plan, bool append_conflict) {
        for (const auto& g : plan.groups) {
            if (!needs_stage(g, append_conflict) || !stage_name(c, g).empty())
                continue;
            std::string name = "trib_stage_" + std::to_string(c.session().size());
            auto r = c.exec("CREATE TEMP TABLE IF NOT EXISTS " + quote_ident(name) +
                            " ON COMMIT DELETE ROWS AS SELECT " + column_list(g) + " FROM " +
                            table.sql() + " WITH NO DATA");
            if (!r)
                return unexpected(r.error().wrap("create staging table"));
            c.session()["stage:" + g.signature] = name;
        }
        return ok();
    }

    std::size_t rows_per_insert(const row_group& g) const {
        std::size_t by_params = 65535 / std::max<std::size_t>(1, g.width());
        return std::max<std::size_t>(1, std::min(o.batch_size, by_params));
    }

    status apply(db_conn& c, const row_group& g, const std::vector<std::size_t>& rows,
                 bool append_conflict, bool isolating) {
        if (rows.empty())
            return ok();
        const std::string cols = column_list(g);
        if (g.k == row_group::kind::remove)
            return apply_delete(c, g, rows);
        const std::string conflict = conflict_clause(g, append_conflict);
        if (o.method == write_method::copy) {
            std::string fmt = g.binary ? " (FORMAT binary)" : "";
            std::string stream = copy_stream(g, rows);
            if (conflict.empty()) {
                auto r =
                    c.copy_in("COPY " + table.sql() + " (" + cols + ") FROM STDIN" + fmt, stream);
                if (!r)
                    return unexpected(r.error());
                return ok();
            }
            std::string stage = quote_ident(stage_name(c, g));
            auto r = c.copy_in("COPY " + stage + " (" + cols + ") FROM STDIN" + fmt, stream);
            if (!r)
                return unexpected(r.error());
            auto ins = c.exec("INSERT INTO " + table.sql() + " (" + cols + ") SELECT " + cols +
                              " FROM " + stage + conflict);
            if (!ins)
                return unexpected(ins.error());
            if (isolating) {  // the next attempt in this transaction must start empty
                TRIB_TRY(c.exec("DELETE FROM " + stage));
            }
            return ok();
        }
        // Multi-row INSERT with parameters (binary cells in append mode).
        std::size_t per = rows_per_insert(g);
        std::vector<const char*> values;
        std::vector<int> lengths, formats;
        for (std::size_t start = 0; start < rows.size(); start += per) {
            std::size_t n = std::min(per, rows.size() - start);
            std::string sql = "INSERT INTO " + table.sql() + " (" + cols + ") VALUES ";
            values.clear();
            lengths.clear();
            formats.clear();
            std::size_t p = 1;
            for (std::size_t i = 0; i < n; ++i) {
                sql += i ? ",(" : "(";
                std::size_t r = rows[start + i];
                for (std::size_t col = 0; col < g.width(); ++col) {
                    if (col)
                        sql += ',';
                    sql += '$';
                    sql += std::to_string(p++);
                    const cell& ce = g.cells[r * g.width() + col];
                    values.push_back(ce.len < 0 ? nullptr : g.data.data() + ce.off);
                    lengths.push_back(ce.len < 0 ? 0 : ce.len);
                    formats.push_back(g.binary ? 1 : 0);
                }
                sql += ')';
            }
            sql += conflict;
            auto res = c.exec_params(sql, values, lengths, formats);
            if (!res)
                return unexpected(res.error());
        }
        return ok();
    }

    status apply_delete(db_conn& c, const row_group& g, const std::vector<std::size_t>& rows) {
        std::size_t per = rows_per_insert(g);
        std::string alias_cols, match;
        for (std::size_t i = 0; i < g.width(); ++i) {
            const std::string q = quote_ident(columns[g.cols[i]].name);
            alias_cols += (i ? ", " : "") + q;
            match += (i ? " AND t." : "t.") + q + " = v." + q;
        }
        std::vector<const char*> values;
        for (std::size_t start = 0; start < rows.size(); start += per) {
            std::size_t n = std::min(per, rows.size() - start);
            std::string sql = "DELETE FROM " + table.sql() + " t USING (VALUES ";
            values.clear();
            std::size_t p = 1;
            for (std::size_t i = 0; i < n; ++i) {
                sql += i ? ",(" : "(";
                std::size_t r = rows[start + i];
                for (std::size_t col = 0; col < g.width(); ++col) {
                    if (col)
                        sql += ',';
                    sql += '$' + std::to_string(p++) + "::" + columns[g.cols[col]].type_sql;
                    const cell& ce = g.cells[r * g.width() + col];
                    values.push_back(ce.len < 0 ? nullptr : g.data.data() + ce.off);
                }
                sql += ')';
            }
            sql += ") AS v(" + alias_cols + ") WHERE " + match;
            auto res = c.exec_params(sql, values);
            if (!res)
                return unexpected(res.error());
        }
        return ok();
    }

    // Bisection under savepoints: a subset that fails with a row error is split until the bad
    // rows stand alone; those are rejected, every other row is written.
    status isolate(db_conn& c, const row_group& g, const std::vector<std::size_t>& rows,
                   bool append_conflict, std::vector<message_error>& rejected) {
        if (rows.empty())
            return ok();
        TRIB_TRY(c.exec("SAVEPOINT trib_isolate"));
        auto r = apply(c, g, rows, append_conflict, true);
        if (r) {
            TRIB_TRY(c.exec("RELEASE SAVEPOINT trib_isolate"));
            return ok();
        }
        TRIB_TRY(c.exec("ROLLBACK TO SAVEPOINT trib_isolate; RELEASE SAVEPOINT trib_isolate"));
        if (!is_row_error(r.error()))
            return r;
        if (rows.size() == 1) {
            rejected.push_back({g.msg[rows[0]], r.error()});
            return ok();
        }
        std::size_t half = rows.size() / 2;
        std::vector<std::size_t> a(rows.begin(), rows.begin() + static_cast<long>(half));
        std::vector<std::size_t> b(rows.begin() + static_cast<long>(half), rows.end());
        TRIB_TRY(isolate(c, g, a, append_conflict, rejected));
        return isolate(c, g, b, append_conflict, rejected);
    }

    status run_transaction(db_conn& c, const batch_plan& plan, bool append_conflict, bool isolating,
                           std::vector<message_error>& rejected) {
        TRIB_TRY(ensure_stages(c, plan, append_conflict));
        auto body = [&]() -> status {
            TRIB_TRY(c.exec("BEGIN"));
            if (plan.truncate) {
                TRIB_TRY(c.exec("TRUNCATE " + table.sql()));
            }
            // Deletes before upserts: after de-duplication each key has one change, and a
            // deleted row may free a unique value an upserted row takes.
            for (int pass = 0; pass < 2; ++pass) {
                auto want = pass == 0 ? row_group::kind::remove : row_group::kind::upsert;
                for (const auto& g : plan.groups) {
                    if (g.k != want)
                        continue;
                    std::vector<std::size_t> rows;
                    rows.reserve(g.rows());
                    for (std::size_t r = 0; r < g.rows(); ++r) {
                        if (g.alive[r])
                            rows.push_back(r);
                    }
                    if (isolating) {
                        TRIB_TRY(isolate(c, g, rows, append_conflict, rejected));
                    } else {
                        TRIB_TRY(apply(c, g, rows, append_conflict, false));
                    }
                }
            }
            TRIB_TRY(c.exec("COMMIT"));
            return ok();
        };
        auto st = body();
        if (!st)
            c.rollback_quietly();
        return st;
    }

    std::size_t alive_rows(const batch_plan& plan) const {
        std::size_t n = 0;
        for (const auto& g : plan.groups)
            n += static_cast<std::size_t>(std::count(g.alive.begin(), g.alive.end(), 1));
        return n;
    }

    result<write_outcome> write(const sink_batch& b) {
        write_outcome out;
        if (b.messages == nullptr || b.messages->empty())
            return out;
        batch_plan plan;
        encode(b, plan);
        if (alive_rows(plan) == 0 && !plan.truncate) {
            out.rejected = std::move(plan.rejected);
            stats.rows_rejected += out.rejected.size();
            return out;
        }
        auto lease = pool->acquire();
        if (!lease)
            return unexpected(lease.error());
        db_conn& c = **lease;
        bool append_conflict = o.mode == sink_mode::append && o.method == write_method::insert;
        std::vector<message_error> rejected;
        status st = run_transaction(c, plan, append_conflict, false, rejected);
        if (!st && o.mode == sink_mode::append && !append_conflict && id_unique &&
            sqlstate_text(st.error().vendor_code()) == "23505") {
            // A replay of messages already written (a crash between COMMIT and the offset
            // commit): write again, skipping ids that are there.
            append_conflict = true;
            st = run_transaction(c, plan, append_conflict, false, rejected);
        }
        if (!st && is_row_error(st.error())) {
            stats.isolations++;
            rejected.clear();
            st = run_transaction(c, plan, append_conflict, true, rejected);
        }
        if (!st) {
            if (is_connection_error(st.error()) || !c.ok()) {
                lease->discard();
                stats.reconnects++;
            }
            return unexpected(st.error().wrap("write to " + table.text()));
        }
        stats.transactions++;
        out.rejected = std::move(plan.rejected);
        out.rejected.insert(out.rejected.end(), rejected.begin(), rejected.end());
        std::sort(out.rejected.begin(), out.rejected.end(),
                  [](const auto& a, const auto& b2) { return a.index < b2.index; });
        stats.rows_rejected += out.rejected.size();
        stats.rows_written += b.messages->size() - out.rejected.size();
        if (o.verbose_logging) {
            spdlog::info("postgres sink: wrote {} of {} messages to {}",
                         b.messages->size() - out.rejected.size(), b.messages->size(),
                         table.text());
        }
        return out;
    }
};

postgres_sink::postgres_sink(sink_options opts) : opts_(std::move(opts)) {}

postgres_sink::~postgres_sink() {
    close();
}

status postgres_sink::open(connector_context&) {
    return open_impl();
}

status postgres_sink::open_impl() {
    impl_ = std::make_unique<impl>(opts_, stats_);
    auto st = impl_->open();
    if (!st) {
        impl_.reset();
        return st;
    }
    return ok();
}

result<write_outcome> postgres_sink::write(const sink_batch& batch) {
    if (!impl_) {
        // The runtime closes and reopens the sink after a lost connection; when PostgreSQL was
        // still down that reopen failed. Open again here so that the caller sees the
        // connection's error (retryable) and the batch is retried, not a fatal "not open".
        auto st = open_impl();
        if (!st)
            return unexpected(st.error().wrap("postgres sink: open"));
        stats_.reconnects++;
    }
    return impl_->write(batch);
}

void postgres_sink::close() {
    impl_.reset();
}

bool postgres_sink::idempotent() const {
    if (!impl_)
        return false;
    if (opts_.mode == sink_mode::append)
        return impl_->id_unique;
    return opts_.upsert != upsert_mode::none || opts_.envelope == envelope_kind::debezium;
}

}  // namespace trib::connectors::postgres
