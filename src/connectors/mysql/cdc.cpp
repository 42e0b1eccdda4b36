// The binlog CDC source. A replica connection (mariadb_rpl_open with the file and position of
// the state) streams the binlog; TABLE_MAP events describe tables, WRITE/UPDATE/DELETE_ROWS
// events are decoded by row_image.cpp into before/after images and emitted as Debezium-style
// envelopes; XID (and COMMIT) events mark transaction ends, whose positions become the state.
// DDL (other QUERY events) is logged and drops the cached column names. A snapshot reads the
// tables inside START TRANSACTION WITH CONSISTENT SNAPSHOT, whose binlog position MariaDB reports
// (binlog_snapshot_file/position), and streaming starts there.

// mysql.h first: mariadb_rpl.h uses its types without including it.
#include <mysql.h>
// clang-format off
#include <mariadb_rpl.h>
// clang-format on
#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <deque>
#include <map>
#include <mutex>

#include "connectors/mysql/conn.h"
#include "connectors/mysql/errors.h"
#include "connectors/mysql/row_image.h"
#include "connectors/mysql/row_json.h"
#include "connectors/mysql/source.h"
#include "connectors/mysql/sql_text.h"
#include "core/json_parse.h"
#include "core/json_text.h"
#include "core/message_id.h"
#include "core/unix_time.h"

namespace trib::connectors::mysql {

namespace {

using clock = std::chrono::steady_clock;

struct binlog_pos {
    std::string file;
    std::uint64_t pos = 0;
    bool snapshot_done = false;
};

std::string state_json(const binlog_pos& p) {
    std::string s = "{\"file\":";
    append_json_string(s, p.file);
    s += ",\"pos\":" + std::to_string(p.pos) +
         ",\"snapshot_done\":" + (p.snapshot_done ? "true" : "false") + "}";
    return s;
}

result<binlog_pos> parse_state(std::string_view text) {
    rapidjson::Document d;
    if (auto st = parse_json_document(text, d); !st)
        return unexpected(error(errc::data_loss, "mysql cdc state: " + st.error().message()));
    if (!d.IsObject() || !d.HasMember("file") || !d["file"].IsString() || !d.HasMember("pos") ||
        !d["pos"].IsUint64())
        return fail(errc::data_loss, "mysql cdc state: expected {\"file\":..,\"pos\":N}");
    binlog_pos p;
    p.file.assign(d["file"].GetString(), d["file"].GetStringLength());
    p.pos = d["pos"].GetUint64();
    p.snapshot_done =
        d.HasMember("snapshot_done") && d["snapshot_done"].IsBool() && d["snapshot_done"].GetBool();
    return p;
}

struct columns_info {
    std::vector<std::string> names;
    std::vector<bool> is_unsigned;
    std::vector<text_charset> charsets;
    std::vector<std::size_t> pk;
};

struct table_entry {
    table_map tm;
    bool wanted = false;
    const columns_info* cols = nullptr;
};

// The binlog event types this source reads (log_event.h numbering).
enum : int {
    ev_query = 2,
    ev_rotate = 4,
    ev_xid = 16,
    ev_table_map = 19,
    ev_write_v1 = 23,
    ev_update_v1 = 24,
    ev_delete_v1 = 25,
    ev_heartbeat = 27,
    ev_write_v2 = 30,
    ev_gtid = 162,  // MariaDB: a transaction starts (replaces BEGIN for GTID-capable replicas)
    ev_update_v2 = 31,
    ev_delete_v2 = 32,
};

}  // namespace

struct cdc_source::impl {
    source_options o;
    std::string name;
    std::vector<std::pair<std::string, std::string>> wanted;  // db (empty: the URL's), table
    std::string default_db;
    std::unique_ptr<db_conn> sql;  // schema queries and the snapshot
    MYSQL* rmysql = nullptr;
    MARIADB_RPL* rpl = nullptr;
    MARIADB_RPL_EVENT* ev = nullptr;
    std::map<std::uint64_t, table_entry> maps;
    std::map<std::string, columns_info> schema;  // "db.table"
    std::string cur_file;
    binlog_pos committed;  // after the last whole transaction read
    binlog_pos emitted;    // the state of the last batch returned
    // snapshot
    bool snapshotting = false;
    std::size_t snap_table = 0;
    std::uint64_t snap_offset = 0;
    binlog_pos snap_pos;

    std::mutex mu;  // guards flights, acked, rewind
    struct flight {
        std::uint64_t seq;
        binlog_pos after;  // the state returned with the batch
    };
    binlog_pos acked;  // the state of the last acknowledged batch (or open's)
    std::deque<flight> flights;
    std::uint64_t next_seq = 1;
    bool rewind = false;
    binlog_pos rewind_to;

    explicit impl(source_options opts) : o(std::move(opts)) {}
    ~impl() { close_rpl(); }

    void close_rpl() {
        if (ev != nullptr)
            mariadb_free_rpl_event(ev);
        ev = nullptr;
        if (rpl != nullptr) {
            mariadb_rpl_close(rpl);
            rpl = nullptr;
        }
        if (rmysql != nullptr) {
            mysql_close(rmysql);
            rmysql = nullptr;
        }
        maps.clear();
    }

    bool is_wanted(std::string_view db, std::string_view table) const {
        if (wanted.empty())
            return true;
        for (const auto& [d, t] : wanted) {
            if (t == table && (d.empty() ? db == default_db : db == d))
                return true;
        }
        return false;
    }

    result<const columns_info*> columns_of(const std::string& db, const std::string& table) {
        std::string key = db + "." + table;
        if (auto it = schema.find(key); it != schema.end())
            return &it->second;
        std::string dbl, tl;
        append_literal(dbl, db);
        append_literal(tl, table);
        TRIB_ASSIGN_OR_RETURN(
            auto r, sql->query("SELECT COLUMN_NAME, COLUMN_TYPE, COLUMN_KEY, "
                               "CHARACTER_SET_NAME, DATA_TYPE "
                               "FROM information_schema.COLUMNS WHERE "
                               "TABLE_SCHEMA = " +
                               dbl + " AND TABLE_NAME = " + tl + " ORDER BY ORDINAL_POSITION"));
        columns_info ci;
        for (std::size_t i = 0; i < r.rows.size(); ++i) {
            ci.names.push_back(r.rows[i][0].value_or(""));
            ci.is_unsigned.push_back(r.rows[i][1].value_or("").find("unsigned") !=
                                     std::string::npos);
            if (r.rows[i][2].value_or("") == "PRI")
                ci.pk.push_back(i);
            const std::string cs = r.rows[i][3].value_or("");
            const std::string dt = r.rows[i][4].value_or("");
            const bool binary = cs.empty() && (dt.find("blob") != std::string::npos ||
                                               dt.find("binary") != std::string::npos);
            ci.charsets.push_back(binary                            ? text_charset::binary
                                  : cs.starts_with("utf8")          ? text_charset::utf8
                                  : cs == "latin1" || cs == "ascii" ? text_charset::latin1
                                                                    : text_charset::unknown);
        }
        return &schema.emplace(key, std::move(ci)).first->second;
    }

    status open(connector_context& ctx, std::string_view state) {
        name = o.server_name.empty() ? ctx.key : o.server_name;
        TRIB_ASSIGN_OR_RETURN(auto target, parse_url(o.conn.connection_string));
        default_db = target.database;
        for (const auto& t : o.tables) {
            TRIB_ASSIGN_OR_RETURN(auto tn, parse_table_name(t));
            wanted.emplace_back(tn.schema, tn.name);
        }
        TRIB_ASSIGN_OR_RETURN(sql, db_conn::connect(o.conn));
        if (!state.empty()) {
            TRIB_ASSIGN_OR_RETURN(committed, parse_state(state));
        }
        if (state.empty() || !committed.snapshot_done) {
            if (o.snapshot == snapshot_mode::initial) {
                TRIB_TRY(begin_snapshot());
            } else {
                TRIB_ASSIGN_OR_RETURN(auto r, sql->query("SHOW MASTER STATUS"));
                if (r.rows.empty() || !r.rows[0][0] || !r.rows[0][1])
                    return fail(errc::failed_precondition,
                                "the server has no binlog (start it with log_bin and "
                                "binlog_format = ROW)");
                committed.file = *r.rows[0][0];
                committed.pos = std::stoull(*r.rows[0][1]);
                committed.snapshot_done = true;
            }
        }
        auto fmt = sql->query("SELECT @@GLOBAL.binlog_format");
        if (fmt && fmt->value() && *fmt->value() != "ROW")
            return fail(errc::failed_precondition,
                        "binlog_format is " + *fmt->value() + ", CDC needs ROW");
        emitted = committed;
        {
            std::lock_guard lk(mu);
            acked = committed;
        }
        return ok();
    }

    status begin_snapshot() {
        TRIB_TRY(sql->exec("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"));
        TRIB_TRY(sql->exec("START TRANSACTION WITH CONSISTENT SNAPSHOT"));
        TRIB_ASSIGN_OR_RETURN(auto r, sql->query("SHOW STATUS LIKE 'binlog_snapshot_%'"));
        snap_pos = {};
        for (const auto& row : r.rows) {
            if (row[0].value_or("") == "Binlog_snapshot_file")
                snap_pos.file = row[1].value_or("");
            if (row[0].value_or("") == "Binlog_snapshot_position")
                snap_pos.pos = std::stoull(row[1].value_or("0"));
        }
        if (snap_pos.file.empty())
            return fail(errc::failed_precondition,
                        "no binlog_snapshot_file (MariaDB with log_bin is needed for a "
                        "consistent snapshot)");
        snapshotting = true;
        snap_table = 0;
        snap_offset = 0;
        committed = snap_pos;
        committed.snapshot_done = false;
        return ok();
    }

    std::string source_json(std::string_view db, std::string_view table, bool snapshot,
                            const binlog_pos& at, std::uint64_t ts_ms, std::size_t row) const {
        std::string s = "{\"version\":\"" TRIB_VERSION "\",\"connector\":\"mysql\",\"name\":";
        append_json_string(s, name);
        s += ",\"ts_ms\":" + std::to_string(ts_ms) +
             ",\"snapshot\":" + (snapshot ? "\"true\"" : "\"false\"") + ",\"db\":";
        append_json_string(s, db);
        s += ",\"table\":";
        append_json_string(s, table);
        s += ",\"file\":";
        append_json_string(s, at.file);
        s += ",\"pos\":" + std::to_string(at.pos) + ",\"row\":" + std::to_string(row) + "}";
        return s;
    }

    static std::string image_json(const columns_info& ci, const row_image& img) {
        std::string s = "{";
        bool first = true;
        for (std::size_t i = 0; i < img.size(); ++i) {
            if (!img[i])
                continue;
            if (!first)
                s += ',';
            first = false;
            append_json_string(s, i < ci.names.size() ? ci.names[i] : "@" + std::to_string(i + 1));
            s += ':';
            s += *img[i];
        }
        return s + "}";
    }

    static std::string key_of(std::string_view db, std::string_view table, const columns_info& ci,
                              const row_image& img) {
        std::string k = std::string(db) + "." + std::string(table);
        for (std::size_t c : ci.pk) {
            k += '|';
            if (c < img.size() && img[c])
                k += *img[c];
        }
        return k;
    }

    void emit(source_batch& out, std::string_view op, std::string_view db, std::string_view table,
              const columns_info& ci, const row_image* before, const row_image* after,
              const binlog_pos& at, std::uint64_t ts_ms, std::size_t row, bool snapshot) {
        std::string p = "{\"before\":";
        p += before ? image_json(ci, *before) : "null";
        p += ",\"after\":";
        p += after ? image_json(ci, *after) : "null";
        p += ",\"source\":" + source_json(db, table, snapshot, at, ts_ms, row);
        p += ",\"op\":\"" + std::string(op) +
             "\",\"ts_ms\":" + std::to_string(unix_now_us() / 1000) + "}";
        message m;
        m.payload = out.batch.own(std::move(p));
        m.key = key_of(db, table, ci, after ? *after : *before);
        message_id_builder b("mysql-cdc");
        b.add(name).add(at.file).add_u64(at.pos).add_u64(row);
        if (snapshot)
            b.add(m.key);
        m.id = b.finish();
        m.origin_timestamp_us = ts_ms * 1000;
        out.batch.messages.push_back(std::move(m));
    }

    // One page of the snapshot (op = r).
    result<source_batch> snapshot_page() {
        source_batch out;
        while (snap_table < wanted.size() && out.batch.size() < o.batch_size) {
            const auto& [d, t] = wanted[snap_table];
            std::string db = d.empty() ? default_db : d;
            TRIB_ASSIGN_OR_RETURN(const columns_info* ci, columns_of(db, t));
            TRIB_ASSIGN_OR_RETURN(
                auto r, sql->query("SELECT * FROM " + quote_ident(db) + "." + quote_ident(t) +
                                   " LIMIT " + std::to_string(o.batch_size) + " OFFSET " +
                                   std::to_string(snap_offset)));
            for (std::size_t i = 0; i < r.rows.size(); ++i) {
                row_image img(r.columns.size());
                for (std::size_t c = 0; c < r.columns.size(); ++c) {
                    std::string v;
                    if (r.rows[i][c])
                        append_cell_json(v, r.columns[c], *r.rows[i][c]);
                    else
                        v = "null";
                    img[c] = std::move(v);
                }
                emit(out, "r", db, t, *ci, nullptr, &img, snap_pos, unix_now_us() / 1000,
                     snap_offset + i, true);
            }
            snap_offset += r.rows.size();
            if (r.rows.size() < o.batch_size) {
                ++snap_table;
                snap_offset = 0;
            }
        }
        binlog_pos st = snap_pos;
        st.snapshot_done = snap_table >= wanted.size();
        if (st.snapshot_done) {
            (void)sql->exec("COMMIT");
            snapshotting = false;
            committed = st;
        }
        out.state = state_json(st);
        out.has_state = true;
        emitted = st;
        return out;
    }

    status open_rpl(const binlog_pos& from) {
        close_rpl();
        TRIB_ASSIGN_OR_RETURN(auto target, parse_url(o.conn.connection_string));
        rmysql = mysql_init(nullptr);
        unsigned ct = static_cast<unsigned>(o.conn.connect_timeout.count());
        unsigned rt = 30;  // heartbeats arrive every 0.5 s; silence this long is a dead link
        mysql_optionsv(rmysql, MYSQL_OPT_CONNECT_TIMEOUT, &ct);
        mysql_optionsv(rmysql, MYSQL_OPT_READ_TIMEOUT, &rt);
        const char* sock = target.unix_socket.empty() ? nullptr : target.unix_socket.c_str();
        if (mysql_real_connect(rmysql, target.host.c_str(), target.user.c_str(),
                               target.password.c_str(), nullptr, target.port, sock, 0) == nullptr) {
            error e = classify(mysql_errno(rmysql),
                               std::string("binlog connect: ") + mysql_error(rmysql));
            close_rpl();
            return unexpected(e);
        }
        // Heartbeats every 0.5 s keep poll() responsive while the binlog is idle; announcing
        // the server's checksum algorithm lets it send events with checksums (libmariadb
        // checks and strips them).
        if (mysql_query(rmysql,
                        "SET @master_heartbeat_period = 500000000, "
                        "@master_binlog_checksum = @@global.binlog_checksum, "
                        "@mariadb_slave_capability = 4") != 0) {
            error e = classify(mysql_errno(rmysql), mysql_error(rmysql));
            close_rpl();
            return unexpected(e);
        }
        rpl = mariadb_rpl_init(rmysql);
        if (rpl == nullptr) {
            close_rpl();
            return fail(errc::resource_exhausted, "mariadb_rpl_init failed");
        }
        unsigned int sid = o.server_id;
        mariadb_rpl_optionsv(rpl, MARIADB_RPL_SERVER_ID, sid);
        mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, from.file.c_str(), from.file.size());
        mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, static_cast<unsigned long>(from.pos));
        if (mariadb_rpl_open(rpl) != 0) {
            error e = classify(mysql_errno(rmysql), std::string("binlog dump from ") + from.file +
                                                        ":" + std::to_string(from.pos) + ": " +
                                                        mysql_error(rmysql));
            close_rpl();
            return unexpected(e);
        }
        cur_file = from.file;
        committed = from;
        committed.snapshot_done = true;
        return ok();
    }

    status on_rows(source_batch& out, int type) {
        auto& re = ev->event.rows;
        auto it = maps.find(re.table_id);
        if (it == maps.end())
            return fail(errc::protocol_error,
                        "rows event for an unknown table id " + std::to_string(re.table_id));
        table_entry& te = it->second;
        if (!te.wanted)
            return ok();
        if (re.compressed)
            return fail(errc::unimplemented, "compressed binlog events are not supported");
        std::string_view data(static_cast<const char*>(re.row_data), re.row_data_size);
        std::size_t nb = (re.column_count + 7) / 8;
        std::string_view present(reinterpret_cast<const char*>(re.column_bitmap), nb);
        std::string_view present_after =
            re.column_update_bitmap != nullptr
                ? std::string_view(reinterpret_cast<const char*>(re.column_update_bitmap), nb)
                : present;
        bool update = type == ev_update_v1 || type == ev_update_v2;
        bool del = type == ev_delete_v1 || type == ev_delete_v2;
        binlog_pos at{cur_file, ev->next_event_pos, true};
        std::uint64_t ts_ms = static_cast<std::uint64_t>(ev->timestamp) * 1000;
        std::size_t pos = 0, row = 0;
        while (pos < data.size()) {
            TRIB_ASSIGN_OR_RETURN(auto first, decode_row_image(te.tm, data, pos, present));
            if (update) {
                TRIB_ASSIGN_OR_RETURN(auto second,
                                      decode_row_image(te.tm, data, pos, present_after));
                emit(out, "u", te.tm.database, te.tm.table, *te.cols, &first, &second, at, ts_ms,
                     row, false);
            } else if (del) {
                emit(out, "d", te.tm.database, te.tm.table, *te.cols, &first, nullptr, at, ts_ms,
                     row, false);
            } else {
                emit(out, "c", te.tm.database, te.tm.table, *te.cols, nullptr, &first, at, ts_ms,
                     row, false);
            }
            ++row;
        }
        return ok();
    }

    status on_table_map() {
        auto& tm = ev->event.table_map;
        table_entry te;
        te.tm.table_id = tm.table_id;
        te.tm.database.assign(tm.database.str, tm.database.length);
        te.tm.table.assign(tm.table.str, tm.table.length);
        te.tm.types.assign(
            reinterpret_cast<const std::uint8_t*>(tm.column_types.str),
            reinterpret_cast<const std::uint8_t*>(tm.column_types.str) + tm.column_types.length);
        TRIB_TRY(parse_column_meta(te.tm, std::string_view(tm.metadata.str, tm.metadata.length)));
        te.wanted = is_wanted(te.tm.database, te.tm.table);
        if (te.wanted) {
            TRIB_ASSIGN_OR_RETURN(te.cols, columns_of(te.tm.database, te.tm.table));
            te.tm.is_unsigned = te.cols->is_unsigned;
            te.tm.is_unsigned.resize(te.tm.types.size(), false);
            te.tm.names = te.cols->names;
            te.tm.charsets = te.cols->charsets;
        }
        maps[tm.table_id] = std::move(te);
        return ok();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) {
        {
            std::lock_guard lk(mu);
            if (rewind) {
                rewind = false;
                close_rpl();
                if (!rewind_to.snapshot_done && o.snapshot == snapshot_mode::initial) {
                    (void)sql->exec("ROLLBACK");
                    TRIB_TRY(begin_snapshot());
                } else {
                    committed = rewind_to;
                }
                emitted = committed;
            }
        }
        if (snapshotting) {
            auto out = snapshot_page();
            if (out && !out->batch.empty())
                push_flight();
            return out;
        }
        if (rpl == nullptr)
            TRIB_TRY(open_rpl(emitted));
        source_batch out;
        const auto deadline = clock::now() + max_wait;
        bool at_commit = true;
        binlog_pos state = committed;
        while (true) {
            ev = mariadb_rpl_fetch(rpl, ev);
            if (ev == nullptr) {
                error e = classify(mysql_errno(rmysql) ? mysql_errno(rmysql) : 2013,
                                   std::string("binlog read: ") + mysql_error(rmysql));
                close_rpl();
                if (!out.batch.empty())
                    break;  // hand over what was read; the next poll reconnects
                return unexpected(e);
            }
            const int type = static_cast<int>(ev->event_type);
            if (type == ev_rotate) {
                cur_file.assign(ev->event.rotate.filename.str, ev->event.rotate.filename.length);
            } else if (type == ev_table_map) {
                TRIB_TRY(on_table_map());
            } else if (type == ev_write_v1 || type == ev_update_v1 || type == ev_delete_v1 ||
                       type == ev_write_v2 || type == ev_update_v2 || type == ev_delete_v2) {
                at_commit = false;
                TRIB_TRY(on_rows(out, type));
            } else if (type == ev_gtid) {
                at_commit = false;
            } else if (type == ev_xid) {
                at_commit = true;
                committed = {cur_file, ev->next_event_pos, true};
                state = committed;
            } else if (type == ev_query) {
                std::string_view stmt(ev->event.query.statement.str,
                                      ev->event.query.statement.length);
                if (stmt == "BEGIN") {
                    at_commit = false;
                } else if (stmt.starts_with("# Dummy")) {
                    // A placeholder for an event this replica did not ask for.
                } else {
                    if (stmt != "COMMIT") {
                        spdlog::info("mysql cdc {}: DDL in {}: {}", name,
                                     std::string(ev->event.query.database.str,
                                                 ev->event.query.database.length),
                                     stmt.substr(0, 200));
                        schema.clear();
                    }
                    at_commit = true;
                    committed = {cur_file, ev->next_event_pos, true};
                    state = committed;
                }
            }
            bool late = clock::now() >= deadline;
            if (at_commit && !out.batch.empty() && (late || out.batch.size() >= o.batch_size))
                break;
            if (late && out.batch.empty() && at_commit)
                break;
            // A transaction far larger than a batch: hand over what was read; its state stays
            // the last commit (a crash re-reads the transaction; the ids repeat).
            if (out.batch.size() >= 8 * o.batch_size)
                break;
        }
        if (out.batch.empty() && state.pos == emitted.pos && state.file == emitted.file)
            return out;
        out.state = state_json(state);
        out.has_state = true;
        emitted = state;
        if (!out.batch.empty())
            push_flight();
        else
            out.has_state = false;  // only position moves: keep it for the next batch
        return out;
    }

    void push_flight() {
        std::lock_guard lk(mu);
        flights.push_back({next_seq++, emitted});
    }

    void ack(std::uint64_t seq) {
        std::lock_guard lk(mu);
        while (!flights.empty() && flights.front().seq <= seq) {
            acked = flights.front().after;
            flights.pop_front();
        }
    }

    // Batch `seq` (and any after it) is lost: read again from the state of the batch before it.
    void nack(std::uint64_t seq) {
        std::lock_guard lk(mu);
        while (!flights.empty() && flights.back().seq >= seq)
            flights.pop_back();
        rewind_to = flights.empty() ? acked : flights.back().after;
        rewind = true;
    }
};

cdc_source::cdc_source(source_options o) : impl_(std::make_unique<impl>(std::move(o))) {}
cdc_source::~cdc_source() = default;

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
    impl_->close_rpl();
    impl_->sql.reset();
}

std::unique_ptr<source> make_source(source_options o) {
    if (o.mode == source_mode::cdc)
        return std::make_unique<cdc_source>(std::move(o));
    return std::make_unique<polling_source>(std::move(o));
}

}  // namespace trib::connectors::mysql
