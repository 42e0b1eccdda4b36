// The CDC source: a logical replication connection (replication=database) streaming a slot with
// pgoutput (or wal2json format-version 2), changes turned into Debezium-style envelopes. The
// flushed LSN reported to PostgreSQL is the end of the last transaction whose changes Iggy has
// acknowledged (ack()), so a crash anywhere replays, never skips. An optional initial snapshot
// reads the tables under the slot's exported snapshot before streaming starts.
//
// This file: set-up, snapshot, streaming and the public functions; cdc_events.cpp: relations,
// keys and changes to messages; cdc_impl.h: the state they share.

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "connectors/postgres/cdc_impl.h"
#include "connectors/postgres/errors.h"
#include "connectors/postgres/json.h"
#include "connectors/postgres/pg.h"
#include "connectors/postgres/pgoutput.h"
#include "connectors/postgres/source.h"
#include "connectors/postgres/source_common.h"
#include "connectors/postgres/state.h"
#include "core/json_text.h"
#include "core/parse_number.h"

namespace trib::connectors::postgres {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
using namespace cdc_detail;

namespace cdc_detail {

std::string lower(std::string s) {
    for (auto& c : s)
        c = static_cast<char>((c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c);
    return s;
}

// wal2json's add-tables wants schema.table with '.' ',' '*' and '\' escaped by a backslash.
std::string wal2json_table(const std::string& schema, const std::string& name) {
    auto esc = [](const std::string& s) {
        std::string o;
        for (char c : s) {
            if (c == ',' || c == '.' || c == '*' || c == '\\' || c == ' ')
                o += '\\';
            o += c;
        }
        return o;
    };
    return esc(schema) + "." + esc(name);
}

// "2024-01-15 10:30:00.123456+00" -> µs since the epoch (wal2json's commit timestamp).
std::uint64_t parse_pg_timestamp(std::string_view s) {
    if (s.size() < 19)
        return 0;
    std::tm tm{};
    auto num = [&](std::size_t at, std::size_t n) {
        int v = 0;
        for (std::size_t i = 0; i < n && at + i < s.size(); ++i)
            v = v * 10 + (s[at + i] - '0');
        return v;
    };
    tm.tm_year = num(0, 4) - 1900;
    tm.tm_mon = num(5, 2) - 1;
    tm.tm_mday = num(8, 2);
    tm.tm_hour = num(11, 2);
    tm.tm_min = num(14, 2);
    tm.tm_sec = num(17, 2);
    std::int64_t us = static_cast<std::int64_t>(::timegm(&tm)) * 1000000;
    std::size_t i = 19;
    if (i < s.size() && s[i] == '.') {
        std::int64_t frac = 0;
        int digits = 0;
        for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++digits) {
            if (digits < 6)
                frac = frac * 10 + (s[i] - '0');
        }
        for (; digits < 6; ++digits)
            frac *= 10;
        us += frac;
    }
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int sign = s[i] == '+' ? 1 : -1;
        int h = num(i + 1, 2);
        int m = (i + 4 <= s.size() && s.size() > i + 3 && s[i + 3] == ':') ? num(i + 4, 2) : 0;
        us -= sign * (static_cast<std::int64_t>(h) * 3600 + m * 60) * 1000000;
    }
    return us < 0 ? 0 : static_cast<std::uint64_t>(us);
}

}  // namespace cdc_detail

// ---- set-up ------------------------------------------------------------------------------

status cdc_source::impl::connect_meta() {
    if (meta.ok())
        return ok();
    TRIB_ASSIGN_OR_RETURN(meta, db_conn::connect(o.conn));
    return meta.set_output_defaults();
}

std::string cdc_source::impl::state_json() const {
    std::string s = "{\"lsn\":\"" + format_lsn(emitted_end) + "\",\"commit_lsn\":\"" +
                    format_lsn(emitted_commit) +
                    "\",\"snapshot_done\":" + (snapshot_done ? "true" : "false") + ",\"slot\":";
    append_json_string(s, o.replication_slot);
    return s + "}";
}

status cdc_source::impl::load_state(std::string_view state) {
    if (state.empty())
        return ok();
    TRIB_ASSIGN_OR_RETURN(const cdc_state s, parse_cdc_state(state));
    emitted_end = s.lsn;
    emitted_commit = s.commit_lsn;
    state_commit = emitted_commit;
    acked_end = emitted_end;
    acked_commit = emitted_commit;
    snapshot_done = s.snapshot_done;
    return ok();
}

status cdc_source::impl::resolve_tables() {
    tables.clear();
    for (const auto& t : o.tables) {
        TRIB_ASSIGN_OR_RETURN(auto q, parse_qualified_name(t));
        auto r = meta.exec_params(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE c.oid = $1::regclass",
            {q.sql().c_str()});
        if (!r)
            return unexpected(r.error().wrap("CDC table " + t));
        tables.push_back({r->str(0, 0), r->str(0, 1)});
    }
    return ok();
}

std::string cdc_source::impl::table_list_sql(const std::vector<table_ref>& ts) const {
    std::string s;
    for (std::size_t i = 0; i < ts.size(); ++i)
        s += (i ? ", " : "") + quote_ident(ts[i].schema) + "." + quote_ident(ts[i].name);
    return s;
}

status cdc_source::impl::ensure_publication() {
    auto r = meta.exec_params("SELECT puballtables FROM pg_publication WHERE pubname = $1",
                              {publication.c_str()});
    if (!r)
        return unexpected(r.error());
    if (r->rows() == 0) {
        if (!o.create_publication)
            return fail(errc::not_found, "publication " + publication +
                                             " does not exist (create_publication = false)");
        std::string publish;
        for (const char* op : {"insert", "update", "delete", "truncate"}) {
            if (captures(op))
                publish += (publish.empty() ? "" : ", ") + std::string(op);
        }
        std::string sql = "CREATE PUBLICATION " + quote_ident(publication) +
                          (tables.empty() ? std::string(" FOR ALL TABLES")
                                          : " FOR TABLE " + table_list_sql(tables)) +
                          " WITH (publish = " + quote_literal(publish) + ")";
        auto c = meta.exec(sql);
        // Two connectors starting together: the other one created it; fine.
        if (!c && c.error().code() != errc::already_exists)
            return unexpected(c.error().wrap("create publication"));
        return ok();
    }
    if (r->value(0, 0) == "t" || tables.empty())
        return ok();
    // Reusing a publication: add the configured tables it lacks.
    for (const auto& t : tables) {
        auto has = meta.exec_params(
            "SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = $2 AND "
            "tablename = $3",
            {publication.c_str(), t.schema.c_str(), t.name.c_str()});
        if (!has)
            return unexpected(has.error());
        if (has->rows() > 0)
            continue;
        if (!o.create_publication)
            return fail(
                errc::failed_precondition,
                "publication " + publication + " does not include " + t.schema + "." + t.name);
        auto a = meta.exec("ALTER PUBLICATION " + quote_ident(publication) + " ADD TABLE " +
                           table_list_sql({t}));
        if (!a)
            return unexpected(a.error().wrap("alter publication"));
    }
    return ok();
}

void cdc_source::impl::warn_replica_identity() {
    for (const auto& t : tables) {
        auto r =
            meta.exec_params("SELECT c.relreplident FROM pg_class c WHERE c.oid = $1::regclass",
                             {(quote_ident(t.schema) + "." + quote_ident(t.name)).c_str()});
        if (r && r->rows() > 0 && r->value(0, 0) != "f") {
            spdlog::info(
                "postgres cdc: {}.{} has REPLICA IDENTITY {}; update/delete events carry only "
                "the key columns as `before` (ALTER TABLE ... REPLICA IDENTITY FULL for whole "
                "rows)",
                t.schema, t.name, r->str(0, 0) == "d" ? "DEFAULT" : r->str(0, 0));
        }
    }
}

const char* cdc_source::impl::plugin_name() const {
    return o.plugin == cdc_plugin::wal2json ? "wal2json" : "pgoutput";
}

status cdc_source::impl::connect_repl() {
    conn_settings s = o.conn;
    s.replication = true;
    TRIB_ASSIGN_OR_RETURN(repl, db_conn::connect(s));
    return ok();
}

// Creates the slot when missing; with `export_snapshot` the snapshot name is returned and
// stays valid until the replication connection runs its next command.
result<std::string> cdc_source::impl::ensure_slot(bool export_snapshot, bool& created) {
    created = false;
    auto r = meta.exec_params(
        "SELECT plugin, database, slot_type FROM pg_replication_slots WHERE slot_name = $1",
        {o.replication_slot.c_str()});
    if (!r)
        return unexpected(r.error());
    if (r->rows() > 0) {
        if (r->str(0, 2) != "logical" || r->str(0, 0) != plugin_name()) {
            return fail(errc::failed_precondition,
                        "replication slot " + o.replication_slot + " exists with plugin '" +
                            r->str(0, 0) + "', not '" + plugin_name() +
                            "' (drop it with SELECT pg_drop_replication_slot('" +
                            o.replication_slot + "') or choose another replication_slot)");
        }
        if (r->str(0, 1) != dbname) {
            return fail(errc::failed_precondition, "replication slot " + o.replication_slot +
                                                       " belongs to database " + r->str(0, 1));
        }
        return std::string();
    }
    TRIB_TRY(connect_repl());
    std::string sql =
        "CREATE_REPLICATION_SLOT " + quote_ident(o.replication_slot) + " LOGICAL " + plugin_name();
    if (repl.server_version() >= 150000)
        sql += export_snapshot ? " (SNAPSHOT 'export')" : " (SNAPSHOT 'nothing')";
    else
        sql += export_snapshot ? " EXPORT_SNAPSHOT" : " NOEXPORT_SNAPSHOT";
    auto c = repl.exec(sql);
    if (!c) {
        if (c.error().code() == errc::already_exists)
            return std::string();  // created concurrently
        return unexpected(c.error().wrap("create replication slot"));
    }
    created = true;
    snap_lsn = parse_lsn(c->str(0, 1)).value_or(0);
    return c->is_null(0, 2) ? std::string() : c->str(0, 2);
}

status cdc_source::impl::open(connector_context& ctx, std::string_view state) {
    server_name = o.server_name.empty() ? ctx.key : o.server_name;
    if (server_name.empty())
        server_name = "tributary";
    TRIB_TRY(load_state(state));
    TRIB_TRY(connect_meta());
    auto wl = meta.exec("SHOW wal_level");
    if (!wl)
        return unexpected(wl.error());
    if (wl->str(0, 0) != "logical") {
        return fail(errc::failed_precondition,
                    "CDC needs wal_level = logical (it is '" + wl->str(0, 0) +
                        "'); set it in postgresql.conf and restart PostgreSQL");
    }
    dbname = PQdb(meta.get());
    TRIB_TRY(resolve_tables());
    if (o.plugin == cdc_plugin::pgoutput)
        TRIB_TRY(ensure_publication());
    warn_replica_identity();
    bool want_snapshot = o.snapshot == snapshot_mode::initial && !snapshot_done;
    bool created = false;
    TRIB_ASSIGN_OR_RETURN(auto snapshot_name, ensure_slot(want_snapshot, created));
    if (!want_snapshot) {
        snapshot_done = true;
        return start_streaming();
    }
    return begin_snapshot(snapshot_name);
}

// ---- snapshot ----------------------------------------------------------------------------

status cdc_source::impl::begin_snapshot(const std::string& snapshot_name) {
    TRIB_ASSIGN_OR_RETURN(snap, db_conn::connect(o.conn));
    TRIB_TRY(snap.set_output_defaults());
    TRIB_TRY(snap.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    if (!snapshot_name.empty()) {
        TRIB_TRY(snap.exec("SET TRANSACTION SNAPSHOT " + quote_literal(snapshot_name)));
    } else {
        // The slot existed already (a restart during the snapshot, or made by hand): a
        // plain consistent read. Changes since the slot's position replay after it, so the
        // target converges; some rows come twice.
        auto l = snap.exec("SELECT pg_current_wal_lsn()::text");
        if (!l)
            return unexpected(l.error());
        snap_lsn = parse_lsn(l->str(0, 0)).value_or(0);
    }
    snap_tables = tables;
    if (snap_tables.empty()) {
        auto r = o.plugin == cdc_plugin::pgoutput
                     ? snap.exec_params(
                           "SELECT schemaname, tablename FROM "
                           "pg_publication_tables WHERE pubname = $1 ORDER BY 1, 2",
                           {publication.c_str()})
                     : snap.exec(
                           "SELECT table_schema, table_name FROM "
                           "information_schema.tables WHERE table_type = 'BASE TABLE' "
                           "AND table_schema NOT IN ('pg_catalog', "
                           "'information_schema') ORDER BY 1, 2");
        if (!r)
            return unexpected(r.error());
        for (int i = 0; i < r->rows(); ++i)
            snap_tables.push_back({r->str(i, 0), r->str(i, 1)});
    }
    snapshot_active = true;
    snap_table = 0;
    snap_cursor = false;
    return ok();
}

result<source_batch> cdc_source::impl::snapshot_batch() {
    source_batch out;
    while (out.batch.empty()) {
        if (snap_table >= snap_tables.size()) {
            (void)snap.exec("COMMIT");
            snap = db_conn();
            snapshot_active = false;
            snapshot_done = true;
            // The end of the snapshot is a position of its own, persisted in order.
            out.state = state_json();
            out.has_state = true;
            TRIB_TRY(start_streaming());
            return out;
        }
        const table_ref& t = snap_tables[snap_table];
        const rel_info* rel = nullptr;
        TRIB_ASSIGN_OR_RETURN(rel, rel_by_name(t.schema, t.name));
        if (!snap_cursor) {
            TRIB_TRY(snap.exec("DECLARE trib_snapshot NO SCROLL CURSOR FOR SELECT * FROM " +
                               quote_ident(t.schema) + "." + quote_ident(t.name)));
            snap_cursor = true;
        }
        auto r = snap.exec("FETCH FORWARD " + std::to_string(o.batch_size) + " FROM trib_snapshot");
        if (!r)
            return unexpected(r.error().wrap("snapshot of " + t.schema + "." + t.name));
        for (int row = 0; row < r->rows(); ++row) {
            change_event ev;
            ev.op = 'r';
            ev.rel = rel;
            ev.lsn = snap_lsn;
            std::string obj = "{";
            std::vector<std::string> keyvals(rel->key.size());
            for (int c = 0; c < r->cols(); ++c) {
                if (c)
                    obj += ',';
                std::string name = PQfname(r->get(), c);
                append_json_string(obj, name);
                obj += ':';
                if (r->is_null(row, c))
                    obj += "null";
                else
                    json::append_pg_value(obj, PQftype(r->get(), c), r->value(row, c));
                for (std::size_t k = 0; k < rel->key.size(); ++k) {
                    if (rel->columns[rel->key[k]].name == name)
                        keyvals[k] = r->str(row, c);
                }
            }
            obj += '}';
            ev.after = std::move(obj);
            ev.key = partition_key(*rel, keyvals);
            commit_time_us = unix_now_us();
            emit(out.batch, ev, message_id{(1ULL << 63) | ++snap_ordinal, snap_lsn}, true);
        }
        if (static_cast<std::size_t>(r->rows()) < o.batch_size) {
            TRIB_TRY(snap.exec("CLOSE trib_snapshot"));
            snap_cursor = false;
            ++snap_table;
        }
    }
    std::lock_guard lk(mu);
    flights.push_back({next_seq++, 0, 0});
    out.state = state_json();  // snapshot_done = false until the last table is through
    out.has_state = true;
    st.rows += out.batch.size();
    return out;
}

// ---- streaming ---------------------------------------------------------------------------

status cdc_source::impl::start_streaming() {
    if (!repl.ok()) {
        TRIB_TRY(connect_repl());
    }
    std::string opts;
    if (o.plugin == cdc_plugin::pgoutput) {
        opts = "proto_version '1', publication_names " + quote_literal(quote_ident(publication));
    } else {
        std::string tables_opt;
        for (const auto& t : tables)
            tables_opt += (tables_opt.empty() ? "" : ",") + wal2json_table(t.schema, t.name);
        std::string actions;
        for (const char* op : {"insert", "update", "delete", "truncate"}) {
            if (captures(op))
                actions += (actions.empty() ? "" : ",") + std::string(op);
        }
        opts =
            "\"format-version\" '2', \"include-transaction\" 'true', \"include-xids\" "
            "'true', \"include-timestamp\" 'true', \"include-type-oids\" 'true', "
            "\"include-lsn\" 'true', \"actions\" " +
            quote_literal(actions);
        if (!tables_opt.empty())
            opts += ", \"add-tables\" " + quote_literal(tables_opt);
    }
    // 0/0: PostgreSQL starts at the slot's confirmed_flush_lsn, which is never past what
    // Iggy acknowledged.
    std::string sql =
        "START_REPLICATION SLOT " + quote_ident(o.replication_slot) + " LOGICAL 0/0 (" + opts + ")";
    pg_result r(PQexec(repl.get(), sql.c_str()));
    if (!r || PQresultStatus(r.get()) != PGRES_COPY_BOTH) {
        error e = from_result(repl.get(), r.get(), "START_REPLICATION");
        repl = db_conn();
        return unexpected(std::move(e));
    }
    streaming = true;
    in_txn = false;
    skip_txn = false;
    last_status = clock::time_point{};
    return ok();
}

void cdc_source::impl::drop_stream() {
    streaming = false;
    repl = db_conn();
    in_txn = false;
    skip_txn = false;
}

// The LSN to report as flushed: the end of what Iggy acknowledged, or, when nothing is in
// flight and no transaction is open, everything received (so that idle WAL is released).
std::uint64_t cdc_source::impl::flush_lsn(bool building_empty) {
    std::lock_guard lk(mu);
    std::uint64_t f = acked_end;
    if (flights.empty() && !in_txn && building_empty && !rewind)
        f = std::max(f, consumed);
    return f;
}

status cdc_source::impl::send_status(bool force, bool building_empty) {
    if (!streaming)
        return ok();
    std::uint64_t f = flush_lsn(building_empty);
    auto now = clock::now();
    bool due = now - last_status >= o.status_interval;
    bool changed = f != last_sent_flush && now - last_status >= 100ms;
    if (!force && !due && !changed)
        return ok();
    auto pg_now = static_cast<std::int64_t>(unix_now_us()) - pgoutput::pg_epoch_us;
    std::string msg = pgoutput::status_update(f, f, f, pg_now);
    if (PQputCopyData(repl.get(), msg.data(), static_cast<int>(msg.size())) != 1 ||
        PQflush(repl.get()) != 0) {
        error e = from_result(repl.get(), nullptr, "standby status update");
        drop_stream();
        return unexpected(std::move(e));
    }
    last_status = now;
    last_sent_flush = f;
    st.confirmed_lsn = f;
    return ok();
}

result<source_batch> cdc_source::impl::poll(std::chrono::milliseconds max_wait) {
    const auto deadline = clock::now() + max_wait;
    {
        std::lock_guard lk(mu);
        if (rewind) {
            // A batch was not delivered: start again from what Iggy acknowledged.
            rewind = false;
            flights.clear();
            emitted_end = acked_end;
            emitted_commit = acked_commit;
            if (streaming)
                drop_stream();
        }
    }
    if (snapshot_active)
        return snapshot_batch();
    if (!streaming) {
        if (clock::now() < reconnect_after)
            return fail(errc::unavailable, "postgres cdc: reconnecting");
        auto s = start_streaming();
        if (!s) {
            st.reconnects++;
            reconnect_after = clock::now() + 1s;
            return unexpected(s.error().wrap("postgres cdc reconnect"));
        }
    }
    source_batch out;
    std::uint64_t batch_end = 0, batch_commit = 0;
    std::optional<error> failure;
    while (out.batch.size() < o.batch_size) {
        if (auto s = send_status(false, out.batch.empty()); !s) {
            failure = s.error();
            break;
        }
        char* buf = nullptr;
        int n = PQgetCopyData(repl.get(), &buf, 1);
        if (n > 0) {
            std::string_view data(buf, static_cast<std::size_t>(n));
            auto f = pgoutput::decode_frame(data);
            status handled = ok();
            if (!f) {
                handled = unexpected(f.error());
            } else if (f->type == 'k') {
                if (!in_txn)
                    consumed = std::max(consumed, f->alive.wal_end);
                if (f->alive.reply_requested)
                    handled = send_status(true, out.batch.empty());
            } else {
                handled = o.plugin == cdc_plugin::pgoutput
                              ? on_pgoutput(f->data, out.batch, batch_end, batch_commit)
                              : on_wal2json(f->data, out.batch, batch_end, batch_commit);
            }
            PQfreemem(buf);
            if (!handled) {
                failure = handled.error();
                drop_stream();
                break;
            }
            continue;
        }
        if (n == 0) {
            // Deliver what we have at a transaction boundary; inside a transaction wait
            // (up to max_wait) for its end, so that a batch's position is a commit.
            if (!out.batch.empty() && !in_txn)
                break;
            auto now = clock::now();
            if (now >= deadline)
                break;
            auto wait = std::min(deadline - now,
                                 std::chrono::duration_cast<clock::duration>(o.status_interval));
            pollfd p{PQsocket(repl.get()), POLLIN, 0};
            int ms = static_cast<int>(
                std::chrono::duration_cast<std::chrono::milliseconds>(wait).count());
            (void)::poll(&p, 1, std::max(1, ms));
            if (PQconsumeInput(repl.get()) == 0) {
                failure = from_result(repl.get(), nullptr, "replication stream");
                drop_stream();
                break;
            }
            continue;
        }
        // -1: the server ended the stream; -2: the connection failed.
        pg_result end(PQgetResult(repl.get()));
        failure = from_result(repl.get(), end.get(), "replication stream ended");
        if (failure->code() != errc::unavailable)
            failure = error(errc::unavailable, retry_class::retryable, failure->message());
        drop_stream();
        break;
    }
    if (failure) {
        st.reconnects++;
        if (out.batch.empty())
            return unexpected(std::move(*failure));
        spdlog::warn("postgres cdc: {}", failure->to_string());
    }
    if (out.batch.empty()) {
        if (batch_end != 0) {
            // A transaction whose changes went out in earlier batches ended here: its end
            // belongs to the last of those batches (or is acknowledged already).
            emitted_end = batch_end;
            emitted_commit = batch_commit;
            {
                std::lock_guard lk(mu);
                if (!flights.empty()) {
                    flights.back().end_lsn = batch_end;
                    flights.back().commit_lsn = batch_commit;
                } else if (batch_end > acked_end) {
                    acked_end = batch_end;
                    acked_commit = batch_commit;
                }
            }
            out.state = state_json();
            out.has_state = true;  // persisted by the runtime after the batches before it
        }
        (void)send_status(false, true);
        return out;
    }
    if (batch_end != 0) {
        emitted_end = batch_end;
        emitted_commit = batch_commit;
    }
    std::lock_guard lk(mu);
    flights.push_back({next_seq++, batch_end, batch_commit});
    out.state = state_json();
    out.has_state = true;
    st.rows += out.batch.size();
    if (o.verbose_logging)
        spdlog::info("postgres cdc: {} changes up to {}", out.batch.size(),
                     format_lsn(emitted_end));
    return out;
}

void cdc_source::impl::ack(std::uint64_t seq) {
    std::lock_guard lk(mu);
    while (!flights.empty() && flights.front().seq <= seq) {
        const flight& f = flights.front();
        if (f.end_lsn > acked_end) {
            acked_end = f.end_lsn;
            acked_commit = f.commit_lsn;
        }
        flights.pop_front();
    }
}

void cdc_source::impl::nack(std::uint64_t seq) {
    std::lock_guard lk(mu);
    if (!flights.empty() && flights.back().seq >= seq)
        rewind = true;
}

void cdc_source::impl::close() {
    if (streaming) {
        (void)send_status(true, true);
        PQputCopyEnd(repl.get(), nullptr);
    }
    drop_stream();
    snap = db_conn();
    meta = db_conn();
}

cdc_source::cdc_source(source_options o) : impl_(std::make_unique<impl>(std::move(o), stats_)) {}

cdc_source::~cdc_source() {
    impl_->close();
}

status cdc_source::open(connector_context& ctx, std::string_view state) {
    return impl_->open(ctx, state);
}

result<source_batch> cdc_source::poll(std::chrono::milliseconds max_wait) {
    return impl_->poll(max_wait);
}

void cdc_source::ack(std::uint64_t seq) {
    impl_->ack(seq);
}

void cdc_source::nack(std::uint64_t seq) {
    impl_->nack(seq);
}

void cdc_source::close() {
    impl_->close();
}

}  // namespace trib::connectors::postgres
