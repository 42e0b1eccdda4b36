// The columnar formats of the object sink: Parquet (codecs/parquet.h) and Avro object container
// files (the avro codec with framing = "container"). Both hold an object's rows as typed records
// in an arena until end(), because a schema inferred from the rows must see all of them first
// (an object is bounded by max_file_size and the runtime batch).

#include <fmt/format.h>

#include <optional>
#include <unordered_set>

#include "codecs/avro.h"
#include "codecs/json_dom.h"
#include "codecs/parquet.h"
#include "codecs/value.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "connectors/s3/format.h"
#include "core/header_json.h"
#include "core/json_text.h"

namespace trib::connectors::s3_detail {
namespace {

namespace pq = codecs::parquet;
using codecs::entry;
using codecs::value;
using codecs::value_type;

constexpr std::string_view k_meta[] = {"iggy_offset", "iggy_timestamp",    "iggy_stream",
                                       "iggy_topic",  "iggy_partition_id", "iggy_headers"};

bool is_meta_name(std::string_view n) {
    for (auto m : k_meta)
        if (n == m)
            return true;
    return false;
}

/// An Avro name: [A-Za-z_][A-Za-z0-9_]*; other characters become '_'.
std::string avro_name(std::string_view n) {
    std::string out;
    for (char c : n) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (c >= '0' && c <= '9');
        out += ok ? c : '_';
    }
    if (out.empty() || (out[0] >= '0' && out[0] <= '9'))
        out.insert(out.begin(), '_');
    return out;
}

/// The typed rows of one object and what they cost (shared by both formats).
class columnar_writer : public format_writer {
  public:
    columnar_writer(record_options o, bool avro_names) : o_(o), avro_names_(avro_names) {}

    void begin(std::string&, const object_context&) override {
        stream_ = {};  // the arena is reset below
        rows_.clear();
        row_bytes_.clear();
        buffered_ = 0;
        pending_offset_.reset();
        arena_.reset();
    }
    status check(const object_context& ctx, const message& m) override {
        value row;
        TRIB_TRY(build_row(ctx, m, row));
        TRIB_TRY(fits_schema(row));
        pending_ = row;
        pending_offset_ = m.offset;
        return ok();
    }
    void add(std::string&, const object_context& ctx, const message& m) override {
        value row;
        if (pending_offset_ && *pending_offset_ == m.offset) {
            row = pending_;
        } else if (!build_row(ctx, m, row)) {
            return;  // cannot happen: build_row fails only on nesting, which check() reports
        }
        pending_offset_.reset();
        rows_.push_back(row);
        const std::size_t cost = m.payload.size() + 64;
        row_bytes_.push_back(cost);
        buffered_ += cost;
    }
    void finish(std::string& out) override { (void)end(out); }
    std::size_t buffered_bytes() const override { return buffered_; }

  protected:
    virtual status fits_schema(const value& row) = 0;

    status build_row(const object_context& ctx, const message& m, value& out) {
        codecs::arena& a = arena_;
        auto& es = fields_;  // reused: no allocation per message
        es.clear();
        // Names are literals, the payload's own keys (in the arena) or copied: never freed
        // before the object is written.
        auto add_field = [&](std::string_view name, value v) {
            entry e;
            e.key = value::string_value(name);
            e.val = v;
            es.push_back(e);
        };
        if (o_.include_metadata) {
            if (stream_.data() == nullptr || stream_text_ != ctx.stream ||
                topic_text_ != ctx.topic) {
                stream_text_.assign(ctx.stream);
                topic_text_.assign(ctx.topic);
                stream_ = codecs::copy_to_arena(a, ctx.stream);
                topic_ = codecs::copy_to_arena(a, ctx.topic);
            }
            add_field("iggy_offset", value::int_value(static_cast<std::int64_t>(m.offset)));
            add_field("iggy_timestamp",
                      value::timestamp_value(
                          static_cast<std::int64_t>(m.timestamp_us / 1000000),
                          static_cast<std::uint32_t>(m.timestamp_us % 1000000) * 1000));
            add_field("iggy_stream", value::string_value(stream_));
            add_field("iggy_topic", value::string_value(topic_));
            add_field("iggy_partition_id", value::int_value(ctx.partition));
        }
        if (o_.include_headers) {
            std::string h;
            if (!m.headers.empty())
                append_headers_json(h, m.headers);
            add_field("iggy_headers",
                      h.empty() ? value() : value::string_value(codecs::copy_to_arena(a, h)));
        }
        value payload;
        bool parsed = false;
        if (!(ctx.schema == "text" && codecs::valid_utf8(m.payload)) && !m.payload.empty()) {
            codecs::json_value* dom = nullptr;
            if (codecs::parse_json(m.payload, a, dom)) {
                TRIB_TRY(codecs::from_json(*dom, a, payload));
                parsed = true;
            }
        }
        if (!parsed) {
            payload = codecs::valid_utf8(m.payload) ? value::string_value(m.payload)
                                                    : value::bytes_value(m.payload);
        }
        if (payload.type == value_type::record) {
            auto& names = names_;
            names.clear();
            for (std::uint32_t k = 0; k < payload.n; ++k) {
                const auto& e = payload.entries[k];
                if (e.key.type != value_type::string || is_meta_name(e.key.str()))
                    continue;
                if (avro_names_) {
                    auto n = avro_name(e.key.str());
                    if (!names.insert(n).second)
                        continue;  // two keys that map to one Avro name: the first wins
                    add_field(n == e.key.str() ? e.key.str() : codecs::copy_to_arena(a, n), e.val);
                } else {
                    add_field(e.key.str(), e.val);
                }
            }
        } else {
            add_field("payload", payload);
        }
        entry* mem = codecs::new_entries(a, es.size());
        std::copy(es.begin(), es.end(), mem);
        out = value();
        out.type = value_type::record;
        out.n = static_cast<std::uint32_t>(es.size());
        out.entries = mem;
        return ok();
    }

    record_options o_;
    bool avro_names_;
    codecs::arena arena_;
    std::vector<value> rows_;
    std::vector<std::uint64_t> row_bytes_;
    std::size_t buffered_ = 0;
    value pending_;
    std::optional<std::uint64_t> pending_offset_;
    std::vector<entry> fields_;
    std::unordered_set<std::string> names_;
    std::string stream_text_, topic_text_;
    std::string_view stream_, topic_;  // in the arena
};

const value* field_of(const value& row, std::string_view name) {
    for (std::uint32_t k = 0; k < row.n; ++k)
        if (row.entries[k].key.type == value_type::string && row.entries[k].key.str() == name)
            return &row.entries[k].val;
    return nullptr;
}

class parquet_writer final : public columnar_writer {
  public:
    parquet_writer(record_options o, std::vector<pq::column> cols, pq::write_options w)
        : columnar_writer(o, false), cols_(std::move(cols)), w_(w) {}

    status end(std::string& out) override {
        const auto cols = cols_.empty() ? pq::infer_columns(rows_) : cols_;
        if (cols.empty()) {
            // No rows (every message refused): one column so that the file is valid.
            TRIB_ASSIGN_OR_RETURN(auto bytes, pq::write_file({{"payload", pq::column_type::string}},
                                                             rows_, row_bytes_, w_));
            out += bytes;
            return ok();
        }
        TRIB_ASSIGN_OR_RETURN(auto bytes, pq::write_file(cols, rows_, row_bytes_, w_));
        out += bytes;
        return ok();
    }
    std::string_view extension() const override { return "parquet"; }
    std::string_view content_type() const override { return "application/vnd.apache.parquet"; }

  private:
    status fits_schema(const value& row) override {
        for (const auto& c : cols_) {
            const value* v = field_of(row, c.name);
            if (v && !pq::fits(*v, c.type))
                return fail(errc::invalid_argument,
                            fmt::format("parquet: field '{}' ({}) does not fit column type {}",
                                        c.name, codecs::to_string(v->type), pq::to_string(c.type)));
        }
        return ok();
    }

    std::vector<pq::column> cols_;  // empty: inferred per object
    pq::write_options w_;
};

/// The avro codec with container framing for `schema` (validated like a [[streams]] table).
result<std::unique_ptr<codecs::codec>> container_codec(const std::string& schema,
                                                       const std::string& ocf_codec) {
    auto n = config::node::make_table();
    n.set("schema_json", config::node::make_string(schema));
    n.set("framing", config::node::make_string("container"));
    n.set("container_codec", config::node::make_string(ocf_codec));
    config::problems pr;
    auto v = config::validate(codecs::avro_codec_spec(), n, "s3 sink", "avro_schema", pr);
    if (pr.has_errors())
        return fail(errc::invalid_argument, pr.errors_to_string());
    return codecs::make_avro_codec(v);
}

std::string avro_type_of(pq::column_type t) {
    switch (t) {
        case pq::column_type::boolean:
            return "\"boolean\"";
        case pq::column_type::int64:
            return "\"long\"";
        case pq::column_type::int32:
        case pq::column_type::int16:
        case pq::column_type::int8:
            return "\"int\"";
        case pq::column_type::float64:
            return "\"double\"";
        case pq::column_type::float32:
            return "\"float\"";
        case pq::column_type::bytes:
            return "\"bytes\"";
        case pq::column_type::timestamp:
            return R"({"type":"long","logicalType":"timestamp-micros"})";
        case pq::column_type::timestamp_ntz:
            return R"({"type":"long","logicalType":"local-timestamp-micros"})";
        case pq::column_type::date:
            return R"({"type":"int","logicalType":"date"})";
        case pq::column_type::string:
        case pq::column_type::json:
            return "\"string\"";
    }
    return "\"string\"";
}

class avro_writer final : public columnar_writer {
  public:
    avro_writer(record_options o, std::string schema, std::string ocf)
        : columnar_writer(o, true), schema_(std::move(schema)), ocf_(std::move(ocf)) {}

    status init() {
        if (schema_.empty())
            return ok();
        TRIB_ASSIGN_OR_RETURN(fixed_, container_codec(schema_, ocf_));
        TRIB_ASSIGN_OR_RETURN(check_, codecs::make_avro_codec_for_schema(schema_, ""));
        return ok();
    }

    status end(std::string& out) override {
        const codecs::codec* c = fixed_.get();
        std::unique_ptr<codecs::codec> inferred;
        std::vector<value> rows;
        if (!c) {
            const auto cols = pq::infer_columns(rows_);
            std::string schema = R"({"type":"record","name":"iggy_message","fields":[)";
            for (std::size_t k = 0; k < cols.size(); ++k) {
                if (k > 0)
                    schema += ',';
                schema += R"({"name":)";
                append_json_string(schema, cols[k].name);
                schema +=
                    R"(,"type":["null",)" + avro_type_of(cols[k].type) + R"(],"default":null})";
            }
            schema += "]}";
            TRIB_ASSIGN_OR_RETURN(inferred, container_codec(schema, ocf_));
            c = inferred.get();
            rows.reserve(rows_.size());
            for (const auto& r : rows_)
                rows.push_back(coerce(r, cols));
        }
        const auto& src = c == fixed_.get() ? rows_ : rows;
        value list;
        list.type = value_type::list;
        list.n = static_cast<std::uint32_t>(src.size());
        value* items = codecs::new_values(arena_, src.size());
        std::copy(src.begin(), src.end(), items);
        list.items = items;
        codecs::record rec;
        codecs::set_typed(rec, codecs::new_value(arena_, list));
        return c->encode(rec, arena_, out);
    }
    std::string_view extension() const override { return "avro"; }
    std::string_view content_type() const override { return "application/avro"; }

  private:
    status fits_schema(const value& row) override {
        if (!check_)
            return ok();
        codecs::record rec;
        codecs::set_typed(rec, codecs::new_value(arena_, row));
        scratch_.clear();
        if (auto st = check_->encode(rec, arena_, scratch_); !st)
            return fail(errc::invalid_argument, "avro: " + st.error().message());
        return ok();
    }

    /// A row with each value in its inferred column's Avro type: integers in double columns as
    /// doubles, non-strings in string columns as their JSON text.
    value coerce(const value& row, const std::vector<pq::column>& cols) {
        std::vector<entry> es(row.entries, row.entries + row.n);
        for (auto& e : es) {
            if (e.val.type == value_type::null)
                continue;
            pq::column_type t = pq::column_type::string;
            for (const auto& c : cols)
                if (c.name == e.key.str())
                    t = c.type;
            if (t == pq::column_type::float64 && e.val.type == value_type::int64)
                e.val = value::float_value(static_cast<double>(e.val.i));
            else if (t == pq::column_type::float64 && e.val.type == value_type::uint64)
                e.val = value::float_value(static_cast<double>(e.val.u));
            else if ((t == pq::column_type::string || t == pq::column_type::json) &&
                     e.val.type != value_type::string) {
                codecs::json_value j;
                std::string text;
                // As the Parquet writer does: a value whose JSON form is a string (bytes as
                // base64, dates, uuids, decimals) without quotes, others as JSON text.
                if (!codecs::to_json(e.val, arena_, j))
                    e.val = value();
                else if (j.IsString())
                    e.val = value::string_value(codecs::copy_to_arena(
                        arena_, std::string_view(j.GetString(), j.GetStringLength())));
                else if (codecs::write_json(j, arena_, text))
                    e.val = value::string_value(codecs::copy_to_arena(arena_, text));
                else
                    e.val = value();
            }
        }
        entry* mem = codecs::new_entries(arena_, es.size());
        std::copy(es.begin(), es.end(), mem);
        value out = row;
        out.entries = mem;
        return out;
    }

    std::string schema_;
    std::string ocf_;
    std::unique_ptr<codecs::codec> fixed_;  // the configured schema's container codec
    std::unique_ptr<codecs::codec> check_;  // the same schema, bare datums (check())
    std::string scratch_;
};

/// Reads the zig-zag varints and length-prefixed bytes of a container file's framing.
struct ocf_cursor {
    std::string_view f;
    std::size_t p = 0;

    bool varint(std::int64_t& out) {
        std::uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (p >= f.size())
                return false;
            const auto b = static_cast<unsigned char>(f[p++]);
            v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
            if (!(b & 0x80)) {
                out = static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
                return true;
            }
        }
        return false;
    }
    bool bytes(std::string_view& out) {
        std::int64_t n = 0;
        if (!varint(n) || n < 0 || static_cast<std::uint64_t>(n) > f.size() - p)
            return false;
        out = f.substr(p, static_cast<std::size_t>(n));
        p += static_cast<std::size_t>(n);
        return true;
    }
};

enum class header_walk : std::uint8_t { complete, truncated, malformed };

/// Walks a container header's metadata map; `on_entry` sees each key and value. `end` is the
/// offset after the sync marker when complete.
template <typename F>
header_walk walk_header(std::string_view f, std::size_t& end, F&& on_entry) {
    ocf_cursor c{f, 4};
    for (int blocks = 0; blocks < 1000; ++blocks) {
        std::int64_t count = 0;
        if (!c.varint(count))
            return header_walk::truncated;
        if (count == 0) {
            if (f.size() - c.p < 16)
                return header_walk::truncated;
            end = c.p + 16;
            return header_walk::complete;
        }
        if (count < 0) {
            std::int64_t size = 0;
            if (!c.varint(size))
                return header_walk::truncated;
            if (count == INT64_MIN)
                return header_walk::malformed;
            count = -count;
        }
        for (std::int64_t k = 0; k < count; ++k) {
            std::string_view key, val;
            if (!c.bytes(key) || !c.bytes(val))
                return header_walk::truncated;
            on_entry(key, val);
        }
    }
    return header_walk::malformed;
}

bool has_magic(std::string_view f) {
    return f.size() >= 4 && f.substr(0, 4) == std::string_view("Obj\x01", 4);
}

/// The avro.schema entry of a container file's header (the codec reads the rest).
result<std::string> header_schema(std::string_view f) {
    if (!has_magic(f))
        return fail(errc::invalid_argument, "avro: not an object container file (no Obj\\x01)");
    std::optional<std::string> schema;
    std::size_t end = 0;
    const auto walk = walk_header(f, end, [&](std::string_view key, std::string_view val) {
        if (key == "avro.schema" && !schema)
            schema = std::string(val);
    });
    if (schema)
        return *schema;
    if (walk == header_walk::complete)
        return fail(errc::invalid_argument, "avro: no avro.schema in the container header");
    return fail(errc::invalid_argument, "avro: the container header is truncated");
}

}  // namespace

result<std::vector<std::string>> avro_container_rows_json(std::string_view file) {
    TRIB_ASSIGN_OR_RETURN(auto schema, header_schema(file));
    auto c = container_codec(schema, "null");
    if (!c)
        return fail(errc::invalid_argument, "avro: the file's schema: " + c.error().message());
    codecs::arena a;
    codecs::record rec;
    if (auto st = (*c)->decode(file, a, rec); !st)
        return fail(errc::invalid_argument, st.error().message());
    const value& v = codecs::typed_of(rec);
    std::vector<std::string> out;
    auto one = [&](const value& x) -> status {
        codecs::json_value j;
        std::string text;
        TRIB_TRY(codecs::to_json(x, a, j));
        TRIB_TRY(codecs::write_json(j, a, text));
        out.push_back(std::move(text));
        return ok();
    };
    if (v.type == value_type::list) {
        out.reserve(v.n);
        for (std::uint32_t k = 0; k < v.n; ++k)
            TRIB_TRY(one(v.items[k]));
    } else {
        TRIB_TRY(one(v));
    }
    return out;
}

result<std::size_t> avro_header_length(std::string_view prefix) {
    if (prefix.size() < 4)
        return std::size_t{0};
    if (!has_magic(prefix))
        return fail(errc::invalid_argument, "avro: not an object container file (no Obj\\x01)");
    std::size_t end = 0;
    switch (walk_header(prefix, end, [](std::string_view, std::string_view) {})) {
        case header_walk::complete:
            return end;
        case header_walk::truncated:
            return std::size_t{0};
        case header_walk::malformed:
            break;
    }
    return fail(errc::invalid_argument, "avro: a malformed container header");
}

result<avro_block_head> read_avro_block_head(std::string_view bytes) {
    ocf_cursor c{bytes, 0};
    std::int64_t count = 0, size = 0;
    avro_block_head h;
    if (!c.varint(count) || !c.varint(size))
        return h;  // head_len 0: more bytes needed
    if (count < 0 || size < 0)
        return fail(errc::invalid_argument, "avro: a block with a negative count or size");
    h.count = static_cast<std::uint64_t>(count);
    h.size = static_cast<std::uint64_t>(size);
    h.head_len = c.p;
    return h;
}

result<std::vector<std::string>> avro_block_rows_json(std::string_view header,
                                                      std::string_view block) {
    std::string file;
    file.reserve(header.size() + block.size());
    file.append(header);
    file.append(block);
    return avro_container_rows_json(file);
}

result<std::unique_ptr<format_writer>> make_format_writer(output_format f, record_options o,
                                                          const columnar_options& c) {
    if (f == output_format::parquet) {
        if (!pq::available())
            return fail(errc::unimplemented,
                        "output_format = \"parquet\": built without Apache Arrow (scripts/setup.sh "
                        "installs pyarrow into .venv; configure the build again)");
        std::vector<pq::column> cols;
        if (!c.parquet_schema.empty()) {
            TRIB_ASSIGN_OR_RETURN(cols, pq::parse_columns(c.parquet_schema));
        }
        pq::write_options w;
        TRIB_ASSIGN_OR_RETURN(w.codec, pq::parse_compression(c.parquet_compression));
        w.row_group_bytes = c.row_group_bytes;
        return std::unique_ptr<format_writer>(
            std::make_unique<parquet_writer>(o, std::move(cols), w));
    }
    if (f == output_format::avro) {
        auto w = std::make_unique<avro_writer>(o, c.avro_schema, c.avro_codec);
        TRIB_TRY(w->init());
        return std::unique_ptr<format_writer>(std::move(w));
    }
    return make_format_writer(f, o);
}

}  // namespace trib::connectors::s3_detail
