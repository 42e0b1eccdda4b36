// The Delta Lake sink: each batch becomes one Parquet data file and one commit holding a `txn`
// action (this connector and partition's application id, the batch's last Iggy offset) and the
// file's `add` action. The commit file is created only if its version is free (table_dir.h);
// on a conflict the sink reads the versions others wrote and tries the next one. Messages at or
// below the table's txn version for our application id are already in the table (a replay after
// a crash before the offsets were committed) and are skipped: the effect is exactly once.

#include <fmt/format.h>

#include <chrono>
#include <random>

#include "codecs/codec.h"
#include "codecs/json_dom.h"
#include "codecs/parquet.h"
#include "codecs/value.h"
#include "config/spec.h"
#include "connectors/delta/delta.h"
#include "connectors/delta/delta_log.h"
#include "connectors/delta/errors.h"
#include "connectors/delta/table_dir.h"
#include "core/log.h"
#include "core/sink_memo.h"

namespace trib::connectors {
namespace {

namespace pq = codecs::parquet;
using codecs::value;
using codecs::value_type;
using delta::field;
using delta::table_state;

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string new_table_id() {
    std::random_device rd;
    std::uniform_int_distribution<unsigned> d(0, 255);
    unsigned char b[16];
    for (auto& x : b)
        x = static_cast<unsigned char>(d(rd));
    b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
    b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
    return fmt::format(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}-{:02x}{:02x}{:02x}{:02x}"
        "{:02x}{:02x}",
        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
        b[14], b[15]);
}

/// The member `name` of a row this sink decoded into its own arena (so it may change it).
value* field_of(value& row, std::string_view name) {
    for (std::uint32_t k = 0; k < row.n; ++k)
        if (row.entries[k].key.type == value_type::string && row.entries[k].key.str() == name)
            return const_cast<value*>(&row.entries[k].val);
    return nullptr;
}

/// Iggy's coercion of numbers into timestamp columns: an integer is microseconds since the
/// epoch (as Delta stores them).
void coerce(value& v, pq::column_type t) {
    if ((t == pq::column_type::timestamp || t == pq::column_type::timestamp_ntz) &&
        v.type == value_type::int64) {
        std::int64_t s = v.i / 1000000;
        std::int64_t us = v.i % 1000000;
        if (us < 0) {
            us += 1000000;
            --s;
        }
        v = value::timestamp_value(s, static_cast<std::uint32_t>(us) * 1000);
    }
}

struct settings {
    std::string table_uri;
    std::vector<std::string> schema;
    pq::write_options parquet;
    std::int64_t max_commit_attempts = 100;
};

class delta_sink final : public sink {
  public:
    explicit delta_sink(settings s) : s_(std::move(s)) {}

    status open(connector_context& ctx) override {
        key_ = ctx.key;
        TRIB_ASSIGN_OR_RETURN(auto root, delta::local_table_path(s_.table_uri));
        std::error_code ec;
        std::filesystem::create_directories(root, ec);
        if (ec)
            return delta::io_failure("create table directory", root, ec.value());
        dir_ = std::make_unique<delta::table_dir>(root);
        TRIB_ASSIGN_OR_RETURN(configured_, delta::parse_schema_entries(s_.schema));
        TRIB_TRY(dir_->load(st_));
        if (st_.version < 0 && !configured_.empty()) {
            // Iggy creates the table at open from the configured schema: so do we (version 0
            // holds protocol and metaData only).
            TRIB_TRY(create_table(configured_));
        }
        if (st_.version >= 0)
            TRIB_TRY(delta::check_writable(st_));
        spdlog::info("delta sink {}: table {} at version {} ({} columns{})", key_, root.string(),
                     st_.version, st_.schema.size(),
                     st_.version < 0 ? ", created at the first batch with an inferred schema" : "");
        return ok();
    }

    result<write_outcome> write(const sink_batch& b) override {
        write_outcome out;
        const auto& msgs = b.messages->messages;
        if (msgs.empty())
            return out;
        // No log read here: the state from open() plus our own commits is current for our
        // application id (one runtime per connector key); commits of others are read when a
        // version conflict shows them (commit()).
        const std::string app = delta::app_id(key_, b.stream, b.topic, b.partition);
        std::int64_t done = -1;
        if (auto it = st_.txns.find(app); it != st_.txns.end())
            done = it->second;
        // Rows of the messages not yet in the table.
        arena_.reset();
        rows_.clear();
        row_bytes_.clear();
        std::vector<std::size_t> taken;
        std::uint64_t first = 0;
        bool any = false;
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            const auto& m = msgs[i];
            if (static_cast<std::int64_t>(m.offset) <= done)
                continue;  // committed before (a replay)
            if (!any) {
                first = m.offset;
                any = true;
            }
            value row;
            if (auto st = row_of(m.payload, row); !st) {
                out.rejected.push_back({i, st.error()});
                continue;
            }
            rows_.push_back(row);
            row_bytes_.push_back(m.payload.size() + 32);
            taken.push_back(i);
        }
        if (!any || rows_.empty()) {
            sort_rejected(out);
            return out;  // nothing new, or every new message refused (error policy)
        }
        const std::uint64_t last = msgs.back().offset;
        std::vector<field> create_fields;
        if (st_.version < 0) {
            // No table and no configured schema: the first batch's columns.
            for (const auto& c : pq::infer_columns(rows_))
                create_fields.push_back(
                    {c.name, std::string(delta::delta_type_of(c.type)), true, false, false});
            if (create_fields.empty())
                create_fields.push_back({"payload", "string", true, false, false});
        }
        const auto& fields = st_.version < 0 ? create_fields : st_.schema;
        std::vector<pq::column> cols;
        for (const auto& f : fields) {
            TRIB_ASSIGN_OR_RETURN(auto t, delta::column_type_of(f));
            cols.push_back({f.name, t});
        }
        // Values that do not fit their column go to the error policy, as Iggy's coercion
        // failures do; the rest are written.
        {
            std::size_t w = 0;
            for (std::size_t r = 0; r < rows_.size(); ++r) {
                const value* bad = nullptr;
                std::size_t bad_col = 0;
                for (std::size_t c = 0; c < cols.size() && !bad; ++c) {
                    value* v = field_of(rows_[r], cols[c].name);
                    if (v)
                        coerce(*v, cols[c].type);
                    if (v && !pq::fits(*v, cols[c].type)) {
                        bad = v;
                        bad_col = c;
                    }
                }
                if (bad) {
                    out.rejected.push_back(
                        {taken[r], codecs::bad_payload(fmt::format(
                                       "delta sink: field '{}' ({}) does not fit the table's "
                                       "column type {}",
                                       cols[bad_col].name, codecs::to_string(bad->type),
                                       fields[bad_col].type))});
                    continue;
                }
                rows_[w] = rows_[r];
                row_bytes_[w] = row_bytes_[r];
                ++w;
            }
            rows_.resize(w);
            row_bytes_.resize(w);
        }
        sort_rejected(out);
        if (rows_.empty())
            return out;
        TRIB_ASSIGN_OR_RETURN(auto bytes, pq::write_file(cols, rows_, row_bytes_, s_.parquet));
        delta::added_file add;
        add.path = delta::data_file_name(key_, b.stream, b.topic, b.partition, first, last);
        TRIB_ASSIGN_OR_RETURN(add.size, dir_->put_data_file(add.path, bytes));
        add.num_records = rows_.size();
        add.modification_time_ms = now_ms();
        TRIB_TRY(commit(app, done, static_cast<std::int64_t>(last), add, create_fields));
        return out;
    }

    void close() override { dir_.reset(); }
    bool idempotent() const override { return true; }

  private:
    status row_of(std::string_view payload, value& row) {
        codecs::json_value* dom = nullptr;
        if (auto st = codecs::parse_json(payload, arena_, dom); !st)
            return codecs::bad_payload("delta sink: the payload is not JSON: " +
                                       st.error().message());
        TRIB_TRY(codecs::from_json(*dom, arena_, row));
        if (row.type != value_type::record)
            return codecs::bad_payload(
                fmt::format("delta sink: the payload is a JSON {}, not an object (one object is "
                            "one row)",
                            codecs::to_string(row.type)));
        return ok();
    }

    status create_table(const std::vector<field>& fields) {
        table_state next;
        delta::protocol_for(fields, next);
        next.has_metadata = true;
        next.table_id = new_table_id();
        next.schema = fields;
        next.schema_text = delta::schema_string(fields);
        const auto text = delta::commit_text(next, true, {}, 0, {}, now_ms());
        TRIB_ASSIGN_OR_RETURN(auto r, dir_->put_commit(0, text));
        (void)r;  // taken: another writer created the table first; its version 0 counts
        return dir_->load(st_);
    }

    status commit(const std::string& app, std::int64_t done, std::int64_t last,
                  const delta::added_file& add, const std::vector<field>& create_fields) {
        const bool create = st_.version < 0;
        table_state base = st_;
        if (create) {
            delta::protocol_for(create_fields, base);
            base.has_metadata = true;
            base.table_id = new_table_id();
            base.schema = create_fields;
            base.schema_text = delta::schema_string(create_fields);
        }
        const std::string schema_before = st_.schema_text;
        for (std::int64_t attempt = 0; attempt < s_.max_commit_attempts; ++attempt) {
            const std::int64_t v = st_.version + 1;
            const auto text = delta::commit_text(base, create, app, last, add, now_ms());
            TRIB_ASSIGN_OR_RETURN(auto r, dir_->put_commit(v, text));
            if (r == delta::commit_result::committed) {
                TRIB_TRY(delta::apply_commit(st_, v, text));
                return ok();
            }
            // Another writer took version v: read what it wrote and decide.
            ++conflicts_;
            TRIB_TRY(dir_->refresh(st_));
            if (auto it = st_.txns.find(app); it != st_.txns.end() && it->second != done) {
                if (it->second >= last)
                    return ok();  // another instance of this key committed these offsets
                return delta::table_changed(fmt::format(
                    "another writer with this connector key committed up to offset {}; the "
                    "batch is rebuilt without those messages",
                    it->second));
            }
            if (create || st_.schema_text != schema_before) {
                TRIB_TRY(delta::check_writable(st_));
                return delta::table_changed(fmt::format(
                    "the table was {} by another writer at version {}; the batch is written "
                    "again against it",
                    create ? "created" : "altered", st_.version));
            }
            spdlog::debug("delta sink {}: version {} taken by another writer, trying {}", key_, v,
                          st_.version + 1);
        }
        return error(errc::unavailable, retry_class::retryable,
                     fmt::format("delta sink: no free version after {} attempts (another writer "
                                 "commits faster)",
                                 s_.max_commit_attempts));
    }

    settings s_;
    std::string key_;
    std::unique_ptr<delta::table_dir> dir_;
    std::vector<field> configured_;
    table_state st_;
    codecs::arena arena_;
    std::vector<value> rows_;
    std::vector<std::uint64_t> row_bytes_;
    std::uint64_t conflicts_ = 0;
};

}  // namespace

result<std::unique_ptr<sink>> make_delta_sink(const config::values& v) {
    settings s;
    s.table_uri = v.str("table_uri");
    s.schema = v.list("schema");
    TRIB_ASSIGN_OR_RETURN(s.parquet.codec, pq::parse_compression(v.str("compression")));
    s.parquet.row_group_bytes = v.size("row_group_size");
    s.max_commit_attempts = v.integer("max_commit_attempts");
    return std::unique_ptr<sink>(std::make_unique<delta_sink>(std::move(s)));
}

}  // namespace trib::connectors
