// Over 1,000 lines: the replication loop plus the pgoutput and wal2json decoders it feeds. The
// decoders are the seam for a split (issue 24 lists this file's neighbour, sink.cpp, first).
//
// The CDC source: a logical replication connection (replication=database) streaming a slot with
// pgoutput (or wal2json format-version 2), changes turned into Debezium-style envelopes. The
// flushed LSN reported to PostgreSQL is the end of the last transaction whose changes Iggy has
// acknowledged (ack()), so a crash anywhere replays, never skips. An optional initial snapshot
// reads the tables under the slot's exported snapshot before streaming starts.

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

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

namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A table as the change events describe it.
struct rel_info {
    std::uint32_t oid = 0;
    std::string schema;
    std::string name;
    char replica_identity = 'd';
    std::vector<pgoutput::column> columns;
    std::vector<std::size_t> key;  // primary key column positions (identity columns if none)
};

struct flight {
    std::uint64_t seq = 0;
    std::uint64_t end_lsn = 0;     // end of the last transaction completed in this batch (0: none)
    std::uint64_t commit_lsn = 0;  // its commit record's LSN
};

// A change about to become a message.
struct change_event {
    char op = 'c';  // c, u, d, r, t
    const rel_info* rel = nullptr;
    std::string before;  // JSON object or empty (null)
    std::string after;
    std::string key;  // partitioning key
    std::uint64_t lsn = 0;
};

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

}  // namespace

struct cdc_source::impl {
    source_options o;
    source_stats& st;
    std::string server_name;
    std::string publication;
    std::string dbname;

    db_conn meta;  // SQL: setup, primary keys, snapshot (poll thread)
    db_conn repl;  // the replication stream (poll thread)
    bool streaming = false;

    struct table_ref {
        std::string schema;
        std::string name;
    };
    std::vector<table_ref> tables;  // resolved configured tables (empty: all)

    std::unordered_map<std::uint32_t, rel_info> rels;        // pgoutput relation cache
    std::unordered_map<std::string, rel_info> rels_by_name;  // wal2json and snapshot

    // The transaction being received.
    bool in_txn = false;
    bool skip_txn = false;
    std::uint32_t xid = 0;
    std::uint64_t commit_time_us = 0;
    std::uint64_t txn_final_lsn = 0;
    std::uint32_t ordinal = 0;
    bool txn_had_messages = false;  // some of its changes went into a batch

    // Positions (poll thread). "emitted": the last transaction handed out in a batch.
    std::uint64_t emitted_end = 0;
    std::uint64_t emitted_commit = 0;
    std::uint64_t state_commit = 0;  // from the persisted state: transactions up to it are done
    std::uint64_t consumed = 0;      // received and nothing to deliver up to here (idle)
    bool snapshot_done = false;

    // Shared with ack()/nack().
    std::mutex mu;
    std::deque<flight> flights;
    std::uint64_t next_seq = 1;
    std::uint64_t acked_end = 0;
    std::uint64_t acked_commit = 0;
    bool rewind = false;

    // Status updates.
    clock::time_point last_status{};
    std::uint64_t last_sent_flush = 0;
    clock::time_point reconnect_after{};

    // Snapshot.
    bool snapshot_active = false;
    db_conn snap;
    std::size_t snap_table = 0;
    bool snap_cursor = false;
    std::uint64_t snap_lsn = 0;
    std::uint64_t snap_ordinal = 0;
    std::vector<table_ref> snap_tables;

    impl(source_options opts, source_stats& s) : o(std::move(opts)), st(s) {
        publication = o.publication_name.empty() ? o.replication_slot + "_pub" : o.publication_name;
    }

    bool captures(const char* op) const {
        return std::any_of(o.capture_operations.begin(), o.capture_operations.end(),
                           [&](const std::string& c) { return lower(c) == lower(op); });
    }

    // ---- set-up ------------------------------------------------------------------------------

    status connect_meta() {
        if (meta.ok())
            return ok();
        TRIB_ASSIGN_OR_RETURN(meta, db_conn::connect(o.conn));
        return meta.set_output_defaults();
    }

    std::string state_json() const {
        std::string s = "{\"lsn\":\"" + format_lsn(emitted_end) + "\",\"commit_lsn\":\"" +
                        format_lsn(emitted_commit) +
                        "\",\"snapshot_done\":" + (snapshot_done ? "true" : "false") + ",\"slot\":";
        append_json_string(s, o.replication_slot);
        return s + "}";
    }

    status load_state(std::string_view state) {
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

    status resolve_tables() {
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

    std::string table_list_sql(const std::vector<table_ref>& ts) const {
        std::string s;
        for (std::size_t i = 0; i < ts.size(); ++i)
            s += (i ? ", " : "") + quote_ident(ts[i].schema) + "." + quote_ident(ts[i].name);
        return s;
    }

    status ensure_publication() {
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

    void warn_replica_identity() {
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

    const char* plugin_name() const {
        return o.plugin == cdc_plugin::wal2json ? "wal2json" : "pgoutput";
    }

    status connect_repl() {
        conn_settings s = o.conn;
        s.replication = true;
        TRIB_ASSIGN_OR_RETURN(repl, db_conn::connect(s));
        return ok();
    }

    // Creates the slot when missing; with `export_snapshot` the snapshot name is returned and
    // stays valid until the replication connection runs its next command.
    result<std::string> ensure_slot(bool export_snapshot, bool& created) {
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
        std::string sql = "CREATE_REPLICATION_SLOT " + quote_ident(o.replication_slot) +
                          " LOGICAL " + plugin_name();
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

    status open(connector_context& ctx, std::string_view state) {
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

    status begin_snapshot(const std::string& snapshot_name) {
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

    result<source_batch> snapshot_batch() {
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
            auto r =
                snap.exec("FETCH FORWARD " + std::to_string(o.batch_size) + " FROM trib_snapshot");
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

    // ---- relations and keys ------------------------------------------------------------------

    std::vector<std::string> primary_key(std::uint32_t oid, const std::string& qualified) {
        std::vector<std::string> out;
        if (!connect_meta())
            return out;
        std::string oid_text = std::to_string(oid);
        auto r = oid != 0
                     ? meta.exec_params(
                           "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                           "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::oid "
                           "AND i.indisprimary ORDER BY array_position(i.indkey::int2[], "
                           "a.attnum)",
                           {oid_text.c_str()})
                     : meta.exec_params(
                           "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                           "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = "
                           "$1::regclass AND i.indisprimary ORDER BY "
                           "array_position(i.indkey::int2[], a.attnum)",
                           {qualified.c_str()});
        if (!r) {
            if (is_connection_error(r.error()))
                meta = db_conn();
            return out;
        }
        for (int i = 0; i < r->rows(); ++i)
            out.push_back(r->str(i, 0));
        return out;
    }

    void set_keys(rel_info& rel, const std::vector<std::string>& pk) {
        rel.key.clear();
        for (const auto& k : pk) {
            for (std::size_t i = 0; i < rel.columns.size(); ++i) {
                if (rel.columns[i].name == k)
                    rel.key.push_back(i);
            }
        }
        if (rel.key.empty() && rel.replica_identity != 'f') {
            // No primary key: the replica identity index columns (REPLICA IDENTITY USING INDEX).
            for (std::size_t i = 0; i < rel.columns.size(); ++i) {
                if (rel.columns[i].key)
                    rel.key.push_back(i);
            }
        }
    }

    // Columns and key of a table by name (snapshot, wal2json), cached.
    result<const rel_info*> rel_by_name(const std::string& schema, const std::string& name) {
        std::string qn = quote_ident(schema) + "." + quote_ident(name);
        auto it = rels_by_name.find(qn);
        if (it != rels_by_name.end())
            return &it->second;
        TRIB_TRY(connect_meta());
        auto r = meta.exec_params(
            "SELECT a.attname, a.atttypid, c.relreplident FROM pg_attribute a JOIN pg_class c ON "
            "c.oid = a.attrelid WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT "
            "a.attisdropped ORDER BY a.attnum",
            {qn.c_str()});
        if (!r)
            return unexpected(r.error());
        rel_info rel;
        rel.schema = schema;
        rel.name = name;
        for (int i = 0; i < r->rows(); ++i) {
            pgoutput::column c;
            c.name = r->str(i, 0);
            auto oid = parse_u32(r->value(i, 1));
            if (!oid) {
                return fail(errc::protocol_error, "type oid of column " + c.name + " of " + qn +
                                                      " is not a number: " + r->str(i, 1));
            }
            c.type_oid = *oid;
            rel.columns.push_back(std::move(c));
            rel.replica_identity = r->value(i, 2).empty() ? 'd' : r->value(i, 2)[0];
        }
        set_keys(rel, primary_key(0, qn));
        auto [ins, _] = rels_by_name.emplace(qn, std::move(rel));
        return &ins->second;
    }

    std::string partition_key(const rel_info& rel, const std::vector<std::string>& keyvals) const {
        // Every change of one row lands in one partition, so its order survives partitioning.
        std::string k = rel.schema + "." + rel.name;
        for (const auto& v : keyvals) {
            k += '\x1f';
            k += v;
        }
        return k;
    }

    // ---- events to messages ------------------------------------------------------------------

    void emit(message_batch& batch, const change_event& ev, message_id id, bool snapshot) {
        std::string out;
        out.reserve(ev.before.size() + ev.after.size() + 256);
        const std::uint64_t now = unix_now_us();
        if (o.format == cdc_format::record) {
            // Iggy's DatabaseRecord.
            const char* op_type = ev.op == 'c'   ? "INSERT"
                                  : ev.op == 'u' ? "UPDATE"
                                  : ev.op == 'd' ? "DELETE"
                                  : ev.op == 't' ? "TRUNCATE"
                                                 : "SELECT";
            out += "{\"table_name\":";
            append_json_string(out, ev.rel->name);
            out += ",\"operation_type\":\"";
            out += op_type;
            out += "\",\"timestamp\":";
            append_json_string(out, detail::rfc3339(commit_time_us ? commit_time_us : now));
            out += ",\"data\":";
            const std::string& data = ev.op == 'd' ? ev.before : ev.after;
            out += data.empty() ? "null" : data;
            out += ",\"old_data\":";
            out += (ev.op == 'u' && !ev.before.empty()) ? ev.before : "null";
            out += '}';
        } else {
            out += "{\"before\":";
            out += ev.before.empty() ? "null" : ev.before;
            out += ",\"after\":";
            out += ev.after.empty() ? "null" : ev.after;
            out += ",\"source\":{\"version\":\"" TRIB_VERSION
                   "\",\"connector\":\"postgresql\","
                   "\"name\":";
            append_json_string(out, server_name);
            out += ",\"ts_ms\":" + std::to_string((commit_time_us ? commit_time_us : now) / 1000);
            out += ",\"snapshot\":";
            out += snapshot ? "\"true\"" : "\"false\"";
            out += ",\"db\":";
            append_json_string(out, dbname);
            out += ",\"schema\":";
            append_json_string(out, ev.rel->schema);
            out += ",\"table\":";
            append_json_string(out, ev.rel->name);
            out += ",\"txId\":";
            out += snapshot ? "null" : std::to_string(xid);
            out += ",\"lsn\":" + std::to_string(ev.lsn);
            out += "},\"op\":\"";
            out += ev.op;
            out += "\",\"ts_ms\":" + std::to_string(now / 1000) + "}";
        }
        if (!snapshot)
            txn_had_messages = true;
        message m;
        m.id = id;
        m.key = ev.key;
        m.origin_timestamp_us = commit_time_us;
        m.payload = batch.own(std::move(out));
        batch.messages.push_back(std::move(m));
    }

    // A pgoutput tuple as a JSON object; unchanged TOAST values come from `fallback` (the old
    // row, with REPLICA IDENTITY FULL) or are left out.
    std::string tuple_json(const rel_info& rel, const pgoutput::tuple& t,
                           const pgoutput::tuple* fallback, std::vector<std::string>* keyvals) {
        std::string s = "{";
        bool first = true;
        for (std::size_t i = 0; i < t.values.size() && i < rel.columns.size(); ++i) {
            const pgoutput::value* v = &t.values[i];
            if (v->kind == 'u' && fallback != nullptr && i < fallback->values.size() &&
                fallback->values[i].kind == 't')
                v = &fallback->values[i];
            if (v->kind == 'u')
                continue;
            if (!first)
                s += ',';
            first = false;
            append_json_string(s, rel.columns[i].name);
            s += ':';
            if (v->kind == 'n')
                s += "null";
            else
                json::append_pg_value(s, rel.columns[i].type_oid, v->data);
        }
        s += '}';
        if (keyvals != nullptr) {
            keyvals->clear();
            for (auto k : rel.key) {
                if (k < t.values.size() && t.values[k].kind == 't')
                    keyvals->emplace_back(t.values[k].data);
                else
                    keyvals->emplace_back();
            }
        }
        return s;
    }

    // Handles one pgoutput message; appends messages for changes.
    status on_pgoutput(const pgoutput::xlog_data& x, message_batch& batch, std::uint64_t& batch_end,
                       std::uint64_t& batch_commit) {
        TRIB_ASSIGN_OR_RETURN(auto m, pgoutput::decode(x.payload));
        switch (m.type) {
            case 'B':
                begin_txn(m.begin.final_lsn, m.begin.xid,
                          static_cast<std::uint64_t>(m.begin.commit_time + pgoutput::pg_epoch_us));
                break;
            case 'C':
                end_txn(m.commit.commit_lsn, m.commit.end_lsn, batch_end, batch_commit);
                break;
            case 'R': {
                rel_info rel;
                rel.oid = m.relation.oid;
                rel.schema = m.relation.schema;
                rel.name = m.relation.name;
                rel.replica_identity = m.relation.replica_identity;
                rel.columns = m.relation.columns;
                set_keys(rel, primary_key(rel.oid, ""));
                rels[rel.oid] = std::move(rel);
                break;
            }
            case 'I':
            case 'U':
            case 'D': {
                if (skip_txn)
                    break;
                const char* what = m.type == 'I' ? "INSERT" : m.type == 'U' ? "UPDATE" : "DELETE";
                if (!captures(what))
                    break;
                auto it = rels.find(m.change.relation_oid);
                if (it == rels.end())
                    return fail(errc::protocol_error, "change for an unknown relation " +
                                                          std::to_string(m.change.relation_oid));
                const rel_info& rel = it->second;
                change_event ev;
                ev.rel = &rel;
                ev.lsn = x.data_start;
                std::vector<std::string> keyvals;
                const pgoutput::tuple* old_t = m.change.old_kind ? &m.change.old_tuple : nullptr;
                if (m.type == 'I') {
                    ev.op = 'c';
                    ev.after = tuple_json(rel, m.change.new_tuple, nullptr, &keyvals);
                } else if (m.type == 'U') {
                    ev.op = 'u';
                    ev.after = tuple_json(rel, m.change.new_tuple, old_t, &keyvals);
                    if (old_t != nullptr)
                        ev.before = tuple_json(rel, *old_t, nullptr, nullptr);
                } else {
                    ev.op = 'd';
                    ev.before = tuple_json(rel, *old_t, nullptr, &keyvals);
                }
                ev.key = partition_key(rel, keyvals);
                emit(batch, ev, message_id{++ordinal, x.data_start}, false);
                break;
            }
            case 'T': {
                if (skip_txn || !captures("TRUNCATE"))
                    break;
                for (auto oid : m.truncate.relation_oids) {
                    auto it = rels.find(oid);
                    if (it == rels.end())
                        continue;
                    change_event ev;
                    ev.op = 't';
                    ev.rel = &it->second;
                    ev.lsn = x.data_start;
                    ev.key = partition_key(it->second, {});
                    emit(batch, ev, message_id{++ordinal, x.data_start}, false);
                }
                break;
            }
            default:
                break;  // Origin, Type, Message: nothing to deliver
        }
        return ok();
    }

    void begin_txn(std::uint64_t final_lsn, std::uint32_t txid, std::uint64_t commit_us) {
        in_txn = true;
        xid = txid;
        commit_time_us = commit_us;
        txn_final_lsn = final_lsn;
        ordinal = 0;
        txn_had_messages = false;
        // Transactions already in Iggy (replayed after a reconnect or a restart) are skipped.
        std::uint64_t done = std::max(emitted_commit, state_commit);
        skip_txn = final_lsn != 0 && final_lsn <= done;
        if (skip_txn)
            st.skipped_txns++;
    }

    void end_txn(std::uint64_t commit_lsn, std::uint64_t end_lsn, std::uint64_t& batch_end,
                 std::uint64_t& batch_commit) {
        in_txn = false;
        consumed = std::max(consumed, end_lsn);
        if (skip_txn) {
            skip_txn = false;
            return;
        }
        if (!txn_had_messages)
            return;  // nothing of it was delivered: `consumed` covers it when idle
        batch_end = end_lsn;
        batch_commit = commit_lsn != 0 ? commit_lsn : txn_final_lsn;
    }

    // wal2json format-version 2: one JSON document per message.
    status on_wal2json(const pgoutput::xlog_data& x, message_batch& batch, std::uint64_t& batch_end,
                       std::uint64_t& batch_commit) {
        json::document d;
        TRIB_TRY(d.parse(x.payload));
        const json::node& root = d.root();
        const json::node* action = d.member(root, "action");
        if (action == nullptr || action->k != json::kind::string)
            return fail(errc::protocol_error, "wal2json message without action");
        std::string_view a = action->text;
        auto num = [&](const char* name) -> std::uint64_t {
            const json::node* n = d.member(root, name);
            if (n == nullptr)
                return 0;
            if (n->k == json::kind::number)
                return parse_u64(n->text).value_or(0);
            if (n->k == json::kind::string)
                return parse_lsn(n->text).value_or(0);
            return 0;
        };
        if (a == "B") {
            // format-version 2 with include-lsn: "lsn" is the commit record, "nextlsn" its end.
            const json::node* ts = d.member(root, "timestamp");
            std::uint64_t us =
                ts && ts->k == json::kind::string ? parse_pg_timestamp(ts->text) : unix_now_us();
            begin_txn(num("lsn"), static_cast<std::uint32_t>(num("xid")), us);
            return ok();
        }
        if (a == "C") {
            std::uint64_t end = num("nextlsn");
            end_txn(num("lsn"), end != 0 ? end : x.data_start, batch_end, batch_commit);
            return ok();
        }
        if (a == "M" || skip_txn)
            return ok();
        const char* what = a == "I"   ? "INSERT"
                           : a == "U" ? "UPDATE"
                           : a == "D" ? "DELETE"
                           : a == "T" ? "TRUNCATE"
                                      : nullptr;
        if (what == nullptr || !captures(what))
            return ok();
        const json::node* schema = d.member(root, "schema");
        const json::node* table = d.member(root, "table");
        if (schema == nullptr || table == nullptr)
            return fail(errc::protocol_error, "wal2json change without schema/table");
        TRIB_ASSIGN_OR_RETURN(const rel_info* rel,
                              rel_by_name(std::string(schema->text), std::string(table->text)));
        change_event ev;
        ev.rel = rel;
        ev.lsn = x.data_start;
        std::vector<std::string> keyvals(rel->key.size());
        auto object = [&](const json::node* cols, bool take_keys) {
            std::string s = "{";
            bool first = true;
            if (cols == nullptr || cols->k != json::kind::array)
                return std::string();
            for (std::int32_t i = cols->first; i >= 0; i = d.at(i).next) {
                const json::node& c = d.at(i);
                const json::node* name = d.member(c, "name");
                const json::node* value = d.member(c, "value");
                const json::node* oid = d.member(c, "typeoid");
                if (name == nullptr || value == nullptr)
                    continue;
                if (!first)
                    s += ',';
                first = false;
                append_json_string(s, name->text);
                s += ':';
                std::uint32_t type =
                    oid && oid->k == json::kind::number ? parse_u32(oid->text).value_or(0) : 0;
                if (value->k == json::kind::string && type != 0)
                    json::append_pg_value(s, type, value->text);
                else
                    d.write(*value, s);
                if (take_keys) {
                    for (std::size_t k = 0; k < rel->key.size(); ++k) {
                        if (rel->columns[rel->key[k]].name == name->text) {
                            std::string v;
                            if (value->k == json::kind::string)
                                v.assign(value->text);
                            else
                                d.write(*value, v);
                            keyvals[k] = v;
                        }
                    }
                }
            }
            return s + "}";
        };
        if (a == "I") {
            ev.op = 'c';
            ev.after = object(d.member(root, "columns"), true);
        } else if (a == "U") {
            ev.op = 'u';
            ev.after = object(d.member(root, "columns"), true);
            ev.before = object(d.member(root, "identity"), false);
        } else if (a == "D") {
            ev.op = 'd';
            ev.before = object(d.member(root, "identity"), true);
        } else {
            ev.op = 't';
        }
        ev.key = partition_key(*rel, ev.op == 't' ? std::vector<std::string>{} : keyvals);
        emit(batch, ev, message_id{++ordinal, x.data_start}, false);
        return ok();
    }

    // ---- streaming ---------------------------------------------------------------------------

    status start_streaming() {
        if (!repl.ok()) {
            TRIB_TRY(connect_repl());
        }
        std::string opts;
        if (o.plugin == cdc_plugin::pgoutput) {
            opts =
                "proto_version '1', publication_names " + quote_literal(quote_ident(publication));
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
        std::string sql = "START_REPLICATION SLOT " + quote_ident(o.replication_slot) +
                          " LOGICAL 0/0 (" + opts + ")";
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

    void drop_stream() {
        streaming = false;
        repl = db_conn();
        in_txn = false;
        skip_txn = false;
    }

    // The LSN to report as flushed: the end of what Iggy acknowledged, or, when nothing is in
    // flight and no transaction is open, everything received (so that idle WAL is released).
    std::uint64_t flush_lsn(bool building_empty) {
        std::lock_guard lk(mu);
        std::uint64_t f = acked_end;
        if (flights.empty() && !in_txn && building_empty && !rewind)
            f = std::max(f, consumed);
        return f;
    }

    status send_status(bool force, bool building_empty) {
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

    result<source_batch> poll(std::chrono::milliseconds max_wait) {
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
                auto wait = std::min(
                    deadline - now, std::chrono::duration_cast<clock::duration>(o.status_interval));
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

    void ack(std::uint64_t seq) {
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

    void nack(std::uint64_t seq) {
        std::lock_guard lk(mu);
        if (!flights.empty() && flights.back().seq >= seq)
            rewind = true;
    }

    void close() {
        if (streaming) {
            (void)send_status(true, true);
            PQputCopyEnd(repl.get(), nullptr);
        }
        drop_stream();
        snap = db_conn();
        meta = db_conn();
    }
};

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
