// The SQLite sink: one transaction per batch (BEGIN IMMEDIATE ... COMMIT) on a WAL database,
// statements prepared once per column set, rows the database refuses to the error policy while
// the rest of the batch commits (a failed statement inside a transaction undoes only itself).

#include <spdlog/spdlog.h>
#include <sqlite3.h>

#include <climits>
#include <filesystem>
#include <map>
#include <optional>

#include "config/enum_option.h"
#include "connectors/sqlite/errors.h"
#include "connectors/sqlite/rows.h"
#include "connectors/sqlite/sqlite.h"
#include "core/connector_metrics.h"

namespace trib::connectors {
namespace {

using namespace sqlite;

/// Mapped mode keeps one prepared statement per set of columns a payload fills; payloads with
/// ever new field combinations cannot grow the cache past this (it is emptied and refilled).
constexpr std::size_t k_max_statements = 256;

enum class sink_mode { append, mapped };

struct options {
    std::string path;
    std::string table;
    sink_mode mode = sink_mode::append;
    bool auto_create = false;
    bool metadata = true;
    bool origin_ts = true;
    bool headers = false;
    payload_format pf = payload_format::blob;
    upsert_mode upsert = upsert_mode::none;
    std::vector<std::string> upsert_key;
    std::string message_id_column;
    std::map<std::string, std::string> field_mapping;
    bool strict_fields = false;
    std::string journal_mode;
    std::string synchronous;
    std::chrono::milliseconds busy_timeout{5000};
};

struct table_column {
    std::string name;
    int pk = 0;  // position in the primary key (1-based), 0: not part of it
};

class sqlite_sink final : public sink {
  public:
    explicit sqlite_sink(options o) : o_(std::move(o)) {}
    ~sqlite_sink() override { close(); }

    status open(connector_context& ctx) override {
        close();
        auto& r = adopt_context(ctx, key_, stop_, own_metrics_);
        settled_ = settled_counters::make(
            r, "trib_sqlite_sink_rows_total",
            "Messages the SQLite sink settled, by outcome (skipped_duplicate: the row was there "
            "already, from an earlier attempt of the batch).",
            {{"connector", key_}});
        std::error_code ec;
        const auto parent = std::filesystem::path(o_.path).parent_path();
        if (!parent.empty())
            std::filesystem::create_directories(parent, ec);
        if (ec)
            return error(errc::io_error, retry_class::retryable,
                         "creating " + parent.string() + ": " + ec.message());
        const int rc = sqlite3_open_v2(o_.path.c_str(), &db_,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
        if (rc != SQLITE_OK) {
            auto e = sqlite_error(db_, rc, "opening " + o_.path);
            close();
            return e;
        }
        sqlite3_extended_result_codes(db_, 1);
        const auto busy_ms = o_.busy_timeout.count();
        sqlite3_busy_timeout(db_, busy_ms > INT_MAX ? INT_MAX : static_cast<int>(busy_ms));
        if (auto st = setup(); !st) {
            close();
            return st;
        }
        return ok();
    }

    result<write_outcome> write(const sink_batch& b) override {
        if (db_ == nullptr)
            return error(errc::unavailable, retry_class::retryable, "sqlite sink is not open");
        write_outcome out;
        const auto& msgs = b.messages->messages;
        TRIB_TRY(exec("BEGIN IMMEDIATE", "starting a transaction"));
        std::uint64_t delivered = 0;
        std::uint64_t skipped = 0;
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            auto placed =
                o_.mode == sink_mode::append ? write_append(b, msgs[i]) : write_mapped(msgs[i]);
            if (!placed) {
                if (placed.error().retry() == retry_class::fatal &&
                    placed.error().code() == errc::invalid_argument) {
                    out.rejected.push_back(message_error{i, placed.error()});
                    continue;
                }
                (void)exec("ROLLBACK", "rolling back");
                return placed.error();
            }
            (*placed ? delivered : skipped) += 1;
        }
        if (auto st = exec("COMMIT", "committing the batch"); !st) {
            (void)exec("ROLLBACK", "rolling back");
            return st.error();
        }
        settled_.delivered->inc(delivered);
        settled_.skipped->inc(skipped);
        settled_.rejected->inc(out.rejected.size());
        return out;
    }

    void close() override {
        for (auto& [cols, st] : mapped_stmts_)
            sqlite3_finalize(st);
        mapped_stmts_.clear();
        sqlite3_finalize(append_stmt_);
        append_stmt_ = nullptr;
        if (db_ != nullptr)
            sqlite3_close_v2(db_);
        db_ = nullptr;
    }

    bool idempotent() const override {
        return o_.mode == sink_mode::append || o_.upsert != upsert_mode::none;
    }

  private:
    status exec(const std::string& sql, std::string_view what) {
        const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK)
            return sqlite_error(db_, rc, std::string(what) + " on " + o_.path);
        return ok();
    }

    result<sqlite3_stmt*> prepare(const std::string& sql) {
        sqlite3_stmt* st = nullptr;
        const int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                          SQLITE_PREPARE_PERSISTENT, &st, nullptr);
        if (rc != SQLITE_OK)
            return sqlite_error(db_, rc, "preparing a statement for " + o_.table);
        return st;
    }

    /// The value of a one-row, one-column pragma (journal_mode answers with the mode it took).
    result<std::string> pragma(const std::string& sql) {
        auto st = prepare(sql);
        if (!st)
            return st.error();
        std::string v;
        const int rc = sqlite3_step(*st);
        if (rc == SQLITE_ROW && sqlite3_column_text(*st, 0) != nullptr)
            v = reinterpret_cast<const char*>(sqlite3_column_text(*st, 0));
        sqlite3_finalize(*st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return sqlite_error(db_, rc, sql);
        return v;
    }

    result<std::vector<table_column>> table_columns() {
        auto st = prepare("PRAGMA table_info(" + quote_ident(o_.table) + ")");
        if (!st)
            return st.error();
        std::vector<table_column> cols;
        int rc;
        while ((rc = sqlite3_step(*st)) == SQLITE_ROW) {
            const auto* name = sqlite3_column_text(*st, 1);
            cols.push_back({name != nullptr ? reinterpret_cast<const char*>(name) : "",
                            sqlite3_column_int(*st, 5)});
        }
        sqlite3_finalize(*st);
        if (rc != SQLITE_DONE)
            return sqlite_error(db_, rc, "reading the columns of " + o_.table);
        return cols;
    }

    status setup() {
        auto jm = pragma("PRAGMA journal_mode = " + o_.journal_mode);
        if (!jm)
            return jm.error();
        if (*jm != o_.journal_mode) {
            return error(errc::failed_precondition, retry_class::fatal,
                         o_.path + ": journal_mode " + o_.journal_mode +
                             " refused (the database "
                             "stays in " +
                             *jm +
                             "); the file system may lack shared memory: try "
                             "journal_mode = \"delete\"");
        }
        TRIB_TRY(exec("PRAGMA synchronous = " + o_.synchronous, "setting synchronous"));
        auto cols = table_columns();
        if (!cols)
            return cols.error();
        if (o_.mode == sink_mode::append)
            return setup_append(std::move(*cols));
        return setup_mapped(std::move(*cols));
    }

    status setup_append(std::vector<table_column> cols) {
        append_cols_ = append_columns(o_.metadata, o_.origin_ts, o_.headers, o_.pf);
        if (cols.empty()) {
            if (!o_.auto_create)
                return missing_table();
            TRIB_TRY(exec(create_append_table_sql(o_.table, append_cols_), "creating the table"));
            auto again = table_columns();
            if (!again)
                return again.error();
            cols = std::move(*again);
        }
        for (const auto& want : append_cols_) {
            bool found = false;
            for (const auto& c : cols)
                found = found || c.name == want.name;
            if (!found)
                return error(errc::failed_precondition, retry_class::fatal,
                             "table " + o_.table + " in " + o_.path + " has no column " +
                                 want.name +
                                 " (append mode writes id, the iggy_* columns the "
                                 "options ask for, and payload)");
        }
        bool id_key = false;
        int pk_columns = 0;
        for (const auto& c : cols) {
            pk_columns += c.pk > 0 ? 1 : 0;
            id_key = id_key || (c.name == "id" && c.pk > 0);
        }
        if (!id_key || pk_columns != 1)
            spdlog::warn(
                "sqlite sink {}: the primary key of {} is not `id` alone: replays after a crash "
                "may add rows twice",
                key_, o_.table);
        auto st = prepare(append_insert_sql(o_.table, append_cols_));
        if (!st)
            return st.error();
        append_stmt_ = *st;
        return ok();
    }

    status setup_mapped(std::vector<table_column> cols) {
        if (cols.empty())
            return missing_table();
        mapping_ = mapping{};
        mapping_.field_mapping = o_.field_mapping;
        mapping_.strict_fields = o_.strict_fields;
        std::vector<std::string> pk;
        for (const auto& c : cols)
            mapping_.table_columns.push_back(c.name);
        for (int k = 1; k <= static_cast<int>(cols.size()); ++k) {
            for (const auto& c : cols) {
                if (c.pk == k)
                    pk.push_back(c.name);
            }
        }
        auto has = [&](const std::string& n) {
            for (const auto& c : cols) {
                if (c.name == n)
                    return true;
            }
            return false;
        };
        for (const auto& [col, path] : o_.field_mapping) {
            if (!has(col))
                return error(errc::failed_precondition, retry_class::fatal,
                             "field_mapping names column " + col + ", which table " + o_.table +
                                 " does not have");
        }
        conflict_.clear();
        if (o_.upsert == upsert_mode::key) {
            conflict_ = o_.upsert_key.empty() ? pk : o_.upsert_key;
            if (conflict_.empty())
                return error(errc::failed_precondition, retry_class::fatal,
                             "upsert = \"key\": table " + o_.table +
                                 " has no primary key; name the conflict columns in upsert_key");
            for (const auto& c : conflict_) {
                if (!has(c))
                    return error(errc::failed_precondition, retry_class::fatal,
                                 "upsert_key names column " + c + ", which table " + o_.table +
                                     " does not have");
            }
        } else if (o_.upsert == upsert_mode::message_id) {
            if (!has(o_.message_id_column))
                return error(errc::failed_precondition, retry_class::fatal,
                             "upsert = \"message_id\": table " + o_.table + " has no column " +
                                 o_.message_id_column + " (message_id_column)");
            for (std::size_t i = 0; i < cols.size(); ++i) {
                if (cols[i].name == o_.message_id_column)
                    mapping_.message_id_column = i;
            }
            conflict_ = {o_.message_id_column};
        }
        return ok();
    }

    error missing_table() const {
        return error(
            errc::failed_precondition, retry_class::fatal,
            "table " + o_.table + " does not exist in " + o_.path +
                (o_.mode == sink_mode::append ? " (set auto_create_table = true to create it)"
                                              : " (mapped mode writes to an existing table)"));
    }

    /// Binds `cells` to `st` and runs it. True: a row was written; false: the row was there.
    result<bool> run(sqlite3_stmt* st, const std::vector<cell>& cells) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        int rc = SQLITE_OK;
        for (std::size_t i = 0; i < cells.size() && rc == SQLITE_OK; ++i) {
            const int at = static_cast<int>(i) + 1;
            const cell& c = cells[i];
            const auto d = c.data();
            switch (c.k) {
                case cell::kind::null:
                    rc = sqlite3_bind_null(st, at);
                    break;
                case cell::kind::integer:
                    rc = sqlite3_bind_int64(st, at, c.i);
                    break;
                case cell::kind::real:
                    rc = sqlite3_bind_double(st, at, c.d);
                    break;
                case cell::kind::text:
                    rc = sqlite3_bind_text64(st, at, d.empty() ? "" : d.data(), d.size(),
                                             SQLITE_STATIC, SQLITE_UTF8);
                    break;
                case cell::kind::blob:
                    rc = d.empty() ? sqlite3_bind_zeroblob(st, at, 0)
                                   : sqlite3_bind_blob64(st, at, d.data(), d.size(), SQLITE_STATIC);
                    break;
            }
        }
        if (rc == SQLITE_OK)
            rc = sqlite3_step(st);
        const bool wrote = rc == SQLITE_DONE && sqlite3_changes(db_) > 0;
        sqlite3_reset(st);
        if (rc == SQLITE_DONE)
            return wrote;
        auto e = sqlite_error(db_, rc, "writing a row into " + o_.table);
        if (row_fault(rc))
            return e.with_retry(retry_class::fatal);
        return e;
    }

    result<bool> write_append(const sink_batch& b, const message& m) {
        auto cells = append_cells(append_cols_, m, b.stream, b.topic, b.partition, o_.pf);
        if (!cells)
            return cells.error();
        return run(append_stmt_, *cells);
    }

    result<bool> write_mapped(const message& m) {
        auto row = map_json(mapping_, m.payload, m.id);
        if (!row)
            return row.error();
        auto it = mapped_stmts_.find(row->cols);
        if (it == mapped_stmts_.end()) {
            if (mapped_stmts_.size() >= k_max_statements) {
                for (auto& [cols, st] : mapped_stmts_)
                    sqlite3_finalize(st);
                mapped_stmts_.clear();
            }
            std::vector<std::string> names;
            for (auto i : row->cols)
                names.push_back(mapping_.table_columns[i]);
            auto st = prepare(mapped_insert_sql(o_.table, names, o_.upsert, conflict_));
            if (!st)
                return st.error();
            it = mapped_stmts_.emplace(row->cols, *st).first;
        }
        return run(it->second, row->cells);
    }

    options o_;
    std::string key_;
    std::stop_token stop_;
    std::unique_ptr<metrics_registry> own_metrics_;
    settled_counters settled_;
    sqlite3* db_ = nullptr;
    std::vector<append_column> append_cols_;
    sqlite3_stmt* append_stmt_ = nullptr;
    mapping mapping_;
    std::vector<std::string> conflict_;
    std::map<std::vector<std::size_t>, sqlite3_stmt*> mapped_stmts_;
};

}  // namespace

result<std::unique_ptr<sink>> make_sqlite_sink(const config::values& v) {
    options o;
    o.path = v.str("path");
    o.table = v.str("target_table");
    o.mode = config::enum_option<sink_mode>(
        v, "mode", {{"append", sink_mode::append}, {"mapped", sink_mode::mapped}});
    o.auto_create = v.boolean("auto_create_table");
    o.metadata = v.boolean("include_metadata");
    o.origin_ts = v.boolean("include_origin_timestamp");
    o.headers = v.boolean("include_headers");
    o.pf = config::enum_option<payload_format>(v, "payload_format",
                                               {{"blob", payload_format::blob},
                                                {"json", payload_format::json},
                                                {"text", payload_format::text}});
    o.upsert = config::enum_option<upsert_mode>(v, "upsert",
                                                {{"none", upsert_mode::none},
                                                 {"key", upsert_mode::key},
                                                 {"message_id", upsert_mode::message_id}});
    o.upsert_key = v.list("upsert_key");
    o.message_id_column = v.str("message_id_column");
    o.field_mapping = v.map("field_mapping");
    o.strict_fields = v.boolean("strict_fields");
    o.journal_mode = v.str("journal_mode");
    o.synchronous = v.str("synchronous");
    o.busy_timeout = v.duration("busy_timeout");
    return std::unique_ptr<sink>(std::make_unique<sqlite_sink>(std::move(o)));
}

}  // namespace trib::connectors
