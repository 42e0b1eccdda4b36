// Parquet on Apache Arrow C++: the only translation unit that includes Arrow's headers. Arrow
// reports errors as arrow::Status; parquet-cpp also throws ParquetException from some paths (the
// metadata parser, page readers): every entry point catches and turns them into our errors.

#include <arrow/api.h>
#include <arrow/io/api.h>
#include <arrow/util/key_value_metadata.h>
#include <fmt/format.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/exception.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/properties.h>

#include <charconv>
#include <cmath>
#include <unordered_map>

#include "codecs/json_dom.h"
#include "codecs/parquet.h"
#include "core/json_text.h"

namespace trib::codecs::parquet {
namespace {

/// Arrow's and Thrift's messages can quote the file's bytes: keep them printable and short.
error bad_file(std::string m) {
    if (m.size() > 400)
        m.resize(400);
    for (char& c : m)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f)
            c = '?';
    return error(errc::invalid_argument, retry_class::fatal, "parquet: " + std::move(m));
}

error arrow_error(const ::arrow::Status& st, std::string_view what) {
    return error(errc::internal, retry_class::fatal,
                 fmt::format("parquet: {}: {}", what, st.ToString()));
}

std::shared_ptr<::arrow::DataType> arrow_type(column_type t) {
    switch (t) {
        case column_type::boolean:
            return ::arrow::boolean();
        case column_type::int64:
            return ::arrow::int64();
        case column_type::float64:
            return ::arrow::float64();
        case column_type::bytes:
            return ::arrow::binary();
        case column_type::timestamp:
            return ::arrow::timestamp(::arrow::TimeUnit::MICRO, "UTC");
        case column_type::date:
            return ::arrow::date32();
        case column_type::int32:
            return ::arrow::int32();
        case column_type::int16:
            return ::arrow::int16();
        case column_type::int8:
            return ::arrow::int8();
        case column_type::float32:
            return ::arrow::float32();
        case column_type::timestamp_ntz:
            return ::arrow::timestamp(::arrow::TimeUnit::MICRO);
        case column_type::string:
        case column_type::json:
            return ::arrow::utf8();
    }
    return ::arrow::utf8();
}

::parquet::Compression::type codec_of(compression c) {
    switch (c) {
        case compression::none:
            return ::parquet::Compression::UNCOMPRESSED;
        case compression::snappy:
            return ::parquet::Compression::SNAPPY;
        case compression::zstd:
            return ::parquet::Compression::ZSTD;
        case compression::gzip:
            return ::parquet::Compression::GZIP;
    }
    return ::parquet::Compression::SNAPPY;
}

/// The text of a value for a string/json column: strings as they are, decimals as their digits,
/// anything else as its JSON text.
void text_of(const value& v, arena& a, std::string& out) {
    if (v.type == value_type::string || v.type == value_type::decimal) {
        out.assign(v.str());
        return;
    }
    json_value j;
    out.clear();
    if (!to_json(v, a, j) || !write_json(j, a, out))
        out.clear();
    else if (j.IsString())
        out.assign(j.GetString(), j.GetStringLength());  // uuid, date, bytes: no quotes
}

/// Appends column values of rows [from, to) to one builder.
class column_builder {
  public:
    explicit column_builder(column_type t) : t_(t) {
        auto r = ::arrow::MakeBuilder(arrow_type(t));
        if (r.ok())
            b_ = std::move(*r);
    }
    bool ok() const { return b_ != nullptr; }

    ::arrow::Status append(const value* v, arena& a) {
        if (!v || v->type == value_type::null || !fits(*v, t_))
            return b_->AppendNull();
        switch (t_) {
            case column_type::boolean:
                return static_cast<::arrow::BooleanBuilder&>(*b_).Append(v->b);
            case column_type::int64:
                return static_cast<::arrow::Int64Builder&>(*b_).Append(v->i);
            case column_type::int32:
                return static_cast<::arrow::Int32Builder&>(*b_).Append(static_cast<int32_t>(v->i));
            case column_type::int16:
                return static_cast<::arrow::Int16Builder&>(*b_).Append(static_cast<int16_t>(v->i));
            case column_type::int8:
                return static_cast<::arrow::Int8Builder&>(*b_).Append(static_cast<int8_t>(v->i));
            case column_type::float32: {
                const double d = v->type == value_type::int64    ? static_cast<double>(v->i)
                                 : v->type == value_type::uint64 ? static_cast<double>(v->u)
                                                                 : v->d;
                return static_cast<::arrow::FloatBuilder&>(*b_).Append(static_cast<float>(d));
            }
            case column_type::float64: {
                const double d = v->type == value_type::int64    ? static_cast<double>(v->i)
                                 : v->type == value_type::uint64 ? static_cast<double>(v->u)
                                                                 : v->d;
                return static_cast<::arrow::DoubleBuilder&>(*b_).Append(d);
            }
            case column_type::bytes:
                return static_cast<::arrow::BinaryBuilder&>(*b_).Append(v->s,
                                                                        static_cast<int32_t>(v->n));
            case column_type::timestamp:
            case column_type::timestamp_ntz: {
                std::int64_t s = v->i;
                std::uint32_t ns = v->n;
                if (v->type == value_type::string)
                    (void)parse_timestamp(v->str(), s, ns);
                return static_cast<::arrow::TimestampBuilder&>(*b_).Append(s * 1000000 + ns / 1000);
            }
            case column_type::date: {
                std::int64_t d = v->i;
                if (v->type == value_type::string)
                    (void)parse_date(v->str(), d);
                return static_cast<::arrow::Date32Builder&>(*b_).Append(static_cast<int32_t>(d));
            }
            case column_type::string:
            case column_type::json:
                if (v->type == value_type::string)
                    return static_cast<::arrow::StringBuilder&>(*b_).Append(
                        v->s, static_cast<int32_t>(v->n));
                text_of(*v, a, tmp_);
                return static_cast<::arrow::StringBuilder&>(*b_).Append(tmp_);
        }
        return b_->AppendNull();
    }

    ::arrow::Result<std::shared_ptr<::arrow::Array>> finish() { return b_->Finish(); }

  private:
    column_type t_;
    std::unique_ptr<::arrow::ArrayBuilder> b_;
    std::string tmp_;
};

// --- reading ---------------------------------------------------------------------------------

/// An arrow file over range reads: every read is one call of the range reader, refused above
/// the limit (a hostile footer length or column chunk size cannot make us allocate more).
class ranged_file final : public ::arrow::io::RandomAccessFile {
  public:
    ranged_file(std::uint64_t size, range_reader read, std::uint64_t max_read)
        : size_(static_cast<int64_t>(size)), read_(std::move(read)), max_read_(max_read) {}

    ::arrow::Status Close() override {
        closed_ = true;
        return ::arrow::Status::OK();
    }
    bool closed() const override { return closed_; }
    ::arrow::Result<int64_t> Tell() const override { return pos_; }
    ::arrow::Status Seek(int64_t p) override {
        if (p < 0 || p > size_)
            return ::arrow::Status::Invalid("seek out of the file");
        pos_ = p;
        return ::arrow::Status::OK();
    }
    ::arrow::Result<int64_t> GetSize() override { return size_; }
    ::arrow::Result<int64_t> Read(int64_t n, void* out) override {
        ARROW_ASSIGN_OR_RAISE(auto got, ReadAt(pos_, n, true, out));
        pos_ += got;
        return got;
    }
    ::arrow::Result<std::shared_ptr<::arrow::Buffer>> Read(int64_t n) override {
        ARROW_ASSIGN_OR_RAISE(auto buf, ReadAt(pos_, n, true));
        pos_ += buf->size();
        return buf;
    }
    ::arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, bool allow_short,
                                    void* out) override {
        ARROW_ASSIGN_OR_RAISE(auto buf, ReadAt(position, nbytes, allow_short));
        std::memcpy(out, buf->data(), static_cast<std::size_t>(buf->size()));
        return buf->size();
    }
    ::arrow::Result<int64_t> ReadAt(int64_t position, int64_t nbytes, void* out) override {
        return ReadAt(position, nbytes, true, out);
    }
    ::arrow::Result<std::shared_ptr<::arrow::Buffer>> ReadAt(int64_t position, int64_t nbytes,
                                                             bool allow_short) override {
        if (position < 0 || nbytes < 0 || position > size_)
            return ::arrow::Status::Invalid("a read at ", position, " of ", nbytes,
                                            " bytes is outside the file of ", size_, " bytes");
        const int64_t n = std::min(nbytes, size_ - position);
        if (n < nbytes && !allow_short)
            return ::arrow::Status::Invalid("a read of ", nbytes, " bytes at ", position,
                                            " passes the end of the file (", size_, " bytes)");
        if (static_cast<std::uint64_t>(n) > max_read_)
            return ::arrow::Status::CapacityError("a read of ", n, " bytes is above the limit of ",
                                                  max_read_);
        std::string bytes;
        if (n > 0) {
            auto r = read_(static_cast<std::uint64_t>(position), static_cast<std::uint64_t>(n));
            if (!r) {
                last_error_ = r.error();
                return ::arrow::Status::IOError(r.error().message());
            }
            bytes = std::move(*r);
            if (static_cast<int64_t>(bytes.size()) != n)
                return ::arrow::Status::IOError("a ranged read returned ", bytes.size(),
                                                " bytes instead of ", n);
        }
        return std::shared_ptr<::arrow::Buffer>(::arrow::Buffer::FromString(std::move(bytes)));
    }
    ::arrow::Result<std::shared_ptr<::arrow::Buffer>> ReadAt(int64_t position,
                                                             int64_t nbytes) override {
        return ReadAt(position, nbytes, true);
    }

    /// The store's error behind the last failed read (retryable ones stay retryable).
    std::optional<error> last_error_;

  private:
    int64_t size_;
    range_reader read_;
    std::uint64_t max_read_;
    int64_t pos_ = 0;
    bool closed_ = false;
};

void append_number(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out += std::isnan(d) ? "\"NaN\"" : (d > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
    }
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
    (void)ec;
    out.append(buf, end);
}

template <class T>
void append_int(std::string& out, T v) {
    char buf[24];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    (void)ec;
    out.append(buf, end);
}

void append_time(std::string& out, int64_t v, ::arrow::TimeUnit::type unit) {
    std::int64_t per = 1;
    switch (unit) {
        case ::arrow::TimeUnit::SECOND:
            per = 1;
            break;
        case ::arrow::TimeUnit::MILLI:
            per = 1000;
            break;
        case ::arrow::TimeUnit::MICRO:
            per = 1000000;
            break;
        case ::arrow::TimeUnit::NANO:
            per = 1000000000;
            break;
    }
    std::int64_t s = v / per;
    std::int64_t rem = v % per;
    if (rem < 0) {
        rem += per;
        --s;
    }
    // Years 1..9999 only (RFC 3339); others as the raw number.
    if (s < -62135596800LL || s > 253402300799LL) {
        append_int(out, v);
        return;
    }
    out += '"';
    append_timestamp(out, s, static_cast<std::uint32_t>(rem * (1000000000 / per)));
    out += '"';
}

/// One cell as JSON (recursive for nested types; Parquet nesting is bounded by the schema,
/// which Thrift's limits bound).
void append_cell(std::string& out, const ::arrow::Array& a, int64_t i, int depth) {
    if (a.IsNull(i) || depth > 64) {
        out += "null";
        return;
    }
    using ::arrow::Type;
    switch (a.type_id()) {
        case Type::NA:
            out += "null";
            return;
        case Type::BOOL:
            out += static_cast<const ::arrow::BooleanArray&>(a).Value(i) ? "true" : "false";
            return;
        case Type::INT8:
            return append_int(out, static_cast<const ::arrow::Int8Array&>(a).Value(i));
        case Type::INT16:
            return append_int(out, static_cast<const ::arrow::Int16Array&>(a).Value(i));
        case Type::INT32:
            return append_int(out, static_cast<const ::arrow::Int32Array&>(a).Value(i));
        case Type::INT64:
            return append_int(out, static_cast<const ::arrow::Int64Array&>(a).Value(i));
        case Type::UINT8:
            return append_int(out, static_cast<const ::arrow::UInt8Array&>(a).Value(i));
        case Type::UINT16:
            return append_int(out, static_cast<const ::arrow::UInt16Array&>(a).Value(i));
        case Type::UINT32:
            return append_int(out, static_cast<const ::arrow::UInt32Array&>(a).Value(i));
        case Type::UINT64:
            return append_int(out, static_cast<const ::arrow::UInt64Array&>(a).Value(i));
        case Type::FLOAT:
            return append_number(out, static_cast<const ::arrow::FloatArray&>(a).Value(i));
        case Type::DOUBLE:
            return append_number(out, static_cast<const ::arrow::DoubleArray&>(a).Value(i));
        case Type::STRING:
            return append_json_string(out, static_cast<const ::arrow::StringArray&>(a).GetView(i));
        case Type::LARGE_STRING:
            return append_json_string(out,
                                      static_cast<const ::arrow::LargeStringArray&>(a).GetView(i));
        case Type::STRING_VIEW:
            return append_json_string(out,
                                      static_cast<const ::arrow::StringViewArray&>(a).GetView(i));
        case Type::BINARY:
        case Type::LARGE_BINARY:
        case Type::FIXED_SIZE_BINARY:
        case Type::BINARY_VIEW: {
            std::string_view bytes;
            if (a.type_id() == Type::BINARY)
                bytes = static_cast<const ::arrow::BinaryArray&>(a).GetView(i);
            else if (a.type_id() == Type::LARGE_BINARY)
                bytes = static_cast<const ::arrow::LargeBinaryArray&>(a).GetView(i);
            else if (a.type_id() == Type::FIXED_SIZE_BINARY)
                bytes = static_cast<const ::arrow::FixedSizeBinaryArray&>(a).GetView(i);
            else
                bytes = static_cast<const ::arrow::BinaryViewArray&>(a).GetView(i);
            out += '"';
            append_base64(out, bytes);
            out += '"';
            return;
        }
        case Type::TIMESTAMP: {
            const auto& ty = static_cast<const ::arrow::TimestampType&>(*a.type());
            return append_time(out, static_cast<const ::arrow::TimestampArray&>(a).Value(i),
                               ty.unit());
        }
        case Type::DATE32:
        case Type::DATE64: {
            const std::int64_t days =
                a.type_id() == Type::DATE32
                    ? static_cast<const ::arrow::Date32Array&>(a).Value(i)
                    : static_cast<const ::arrow::Date64Array&>(a).Value(i) / 86400000;
            if (days < -719162 || days > 2932896) {
                append_int(out, days);
                return;
            }
            out += '"';
            append_date(out, days);
            out += '"';
            return;
        }
        case Type::DECIMAL128:
            return append_json_string(
                out, static_cast<const ::arrow::Decimal128Array&>(a).FormatValue(i));
        case Type::DECIMAL256:
            return append_json_string(
                out, static_cast<const ::arrow::Decimal256Array&>(a).FormatValue(i));
        case Type::STRUCT: {
            const auto& s = static_cast<const ::arrow::StructArray&>(a);
            const auto& ty = static_cast<const ::arrow::StructType&>(*a.type());
            out += '{';
            for (int f = 0; f < s.num_fields(); ++f) {
                if (f > 0)
                    out += ',';
                append_json_string(out, ty.field(f)->name());
                out += ':';
                append_cell(out, *s.field(f), i, depth + 1);
            }
            out += '}';
            return;
        }
        case Type::MAP: {
            const auto& m = static_cast<const ::arrow::MapArray&>(a);
            const auto& keys = *m.keys();
            const auto& items = *m.items();
            out += '{';
            std::string k;
            for (int64_t j = m.value_offset(i); j < m.value_offset(i) + m.value_length(i); ++j) {
                if (j > m.value_offset(i))
                    out += ',';
                if (keys.type_id() == Type::STRING) {
                    append_json_string(out,
                                       static_cast<const ::arrow::StringArray&>(keys).GetView(j));
                } else {
                    k.clear();
                    append_cell(k, keys, j, depth + 1);
                    append_json_string(out, k);
                }
                out += ':';
                append_cell(out, items, j, depth + 1);
            }
            out += '}';
            return;
        }
        case Type::LIST:
        case Type::LARGE_LIST:
        case Type::FIXED_SIZE_LIST: {
            int64_t from = 0;
            int64_t len = 0;
            const ::arrow::Array* vals = nullptr;
            if (a.type_id() == Type::LIST) {
                const auto& l = static_cast<const ::arrow::ListArray&>(a);
                from = l.value_offset(i);
                len = l.value_length(i);
                vals = l.values().get();
            } else if (a.type_id() == Type::LARGE_LIST) {
                const auto& l = static_cast<const ::arrow::LargeListArray&>(a);
                from = l.value_offset(i);
                len = l.value_length(i);
                vals = l.values().get();
            } else {
                const auto& l = static_cast<const ::arrow::FixedSizeListArray&>(a);
                from = l.value_offset(i);
                len = l.value_length(i);
                vals = l.values().get();
            }
            out += '[';
            for (int64_t j = 0; j < len; ++j) {
                if (j > 0)
                    out += ',';
                append_cell(out, *vals, from + j, depth + 1);
            }
            out += ']';
            return;
        }
        case Type::DICTIONARY: {
            const auto& d = static_cast<const ::arrow::DictionaryArray&>(a);
            const int64_t k = d.GetValueIndex(i);
            if (k < 0 || k >= d.dictionary()->length()) {
                out += "null";
                return;
            }
            return append_cell(out, *d.dictionary(), k, depth + 1);
        }
        default: {
            auto sc = a.GetScalar(i);
            append_json_string(out, sc.ok() ? (*sc)->ToString() : std::string("?"));
            return;
        }
    }
}

class arrow_file_reader final : public file_reader {
  public:
    arrow_file_reader(std::shared_ptr<ranged_file> f,
                      std::unique_ptr<::parquet::arrow::FileReader> r, read_limits lim)
        : file_(std::move(f)), r_(std::move(r)), lim_(lim) {}

    std::int64_t num_rows() const override { return r_->parquet_reader()->metadata()->num_rows(); }
    int num_row_groups() const override { return r_->num_row_groups(); }
    std::int64_t row_group_rows(int i) const override {
        return r_->parquet_reader()->metadata()->RowGroup(i)->num_rows();
    }
    std::string schema_text() const override {
        std::shared_ptr<::arrow::Schema> s;
        if (!r_->GetSchema(&s).ok() || !s)
            return "?";
        std::string out;
        for (int k = 0; k < s->num_fields(); ++k) {
            if (k > 0)
                out += ", ";
            out += s->field(k)->name() + ": " + s->field(k)->type()->ToString();
        }
        return out;
    }

    status read_row_group_json(int i, std::vector<std::string>& rows) override {
        try {
            return read(i, rows);
        } catch (const std::exception& e) {
            return bad_file(fmt::format("row group {}: {}", i, e.what()));
        }
    }

  private:
    status read(int i, std::vector<std::string>& rows) {
        if (i < 0 || i >= num_row_groups())
            return bad_file(fmt::format("no row group {}", i));
        auto md = r_->parquet_reader()->metadata()->RowGroup(i);
        const auto compressed = md->total_compressed_size();
        const auto in_memory = md->total_byte_size();
        if (compressed < 0 || in_memory < 0 ||
            static_cast<std::uint64_t>(compressed) > lim_.max_row_group_bytes ||
            static_cast<std::uint64_t>(in_memory) > lim_.max_row_group_bytes)
            return bad_file(fmt::format(
                "row group {} holds {} bytes ({} compressed), above max_row_group_bytes ({})", i,
                in_memory, compressed, lim_.max_row_group_bytes));
        if (md->num_rows() < 0)
            return bad_file(fmt::format("row group {} claims {} rows", i, md->num_rows()));
        auto t = r_->ReadRowGroup(i);
        if (!t.ok()) {
            if (file_->last_error_) {
                auto e = *file_->last_error_;
                file_->last_error_.reset();
                return e;
            }
            return bad_file(fmt::format("row group {}: {}", i, t.status().ToString()));
        }
        auto table = *t;
        auto c = table->CombineChunks();
        if (!c.ok())
            return bad_file(fmt::format("row group {}: {}", i, c.status().ToString()));
        table = *c;
        const int64_t n = table->num_rows();
        std::vector<const ::arrow::Array*> cols;
        std::vector<std::string> names;
        for (int k = 0; k < table->num_columns(); ++k) {
            const auto& ch = table->column(k);
            cols.push_back(ch->num_chunks() > 0 ? ch->chunk(0).get() : nullptr);
            names.push_back(table->field(k)->name());
        }
        rows.clear();
        rows.reserve(static_cast<std::size_t>(n));
        for (int64_t r = 0; r < n; ++r) {
            std::string row = "{";
            for (std::size_t k = 0; k < cols.size(); ++k) {
                if (k > 0)
                    row += ',';
                append_json_string(row, names[k]);
                row += ':';
                if (cols[k] && r < cols[k]->length())
                    append_cell(row, *cols[k], r, 0);
                else
                    row += "null";
            }
            row += '}';
            rows.push_back(std::move(row));
        }
        return ok();
    }

    std::shared_ptr<ranged_file> file_;
    std::unique_ptr<::parquet::arrow::FileReader> r_;
    read_limits lim_;
};

result<std::string> write_impl(const std::vector<column>& columns, const std::vector<value>& rows,
                               const std::vector<std::uint64_t>& row_bytes,
                               const write_options& o) {
    if (columns.empty())
        return fail(errc::invalid_argument, "parquet: no columns");
    ::arrow::FieldVector fields;
    std::unordered_map<std::string_view, std::size_t> index;
    for (std::size_t k = 0; k < columns.size(); ++k) {
        auto f = ::arrow::field(columns[k].name, arrow_type(columns[k].type), true);
        if (columns[k].field_id >= 0)
            f = f->WithMetadata(::arrow::key_value_metadata({"PARQUET:field_id"},
                                                            {std::to_string(columns[k].field_id)}));
        fields.push_back(std::move(f));
        index.emplace(columns[k].name, k);
    }
    auto schema = ::arrow::schema(fields);
    auto sink_r = ::arrow::io::BufferOutputStream::Create();
    if (!sink_r.ok())
        return arrow_error(sink_r.status(), "output buffer");
    auto sink = *sink_r;
    ::parquet::WriterProperties::Builder pb;
    pb.compression(codec_of(o.codec));
    pb.created_by("tributary (parquet-cpp-arrow " ARROW_VERSION_STRING ")");
    auto props = pb.build();
    auto arrow_props = ::parquet::ArrowWriterProperties::Builder().store_schema()->build();
    auto w_r = ::parquet::arrow::FileWriter::Open(*schema, ::arrow::default_memory_pool(), sink,
                                                  props, arrow_props);
    if (!w_r.ok())
        return arrow_error(w_r.status(), "writer");
    auto w = std::move(*w_r);
    arena a;
    std::vector<const value*> cells(columns.size());
    std::size_t start = 0;
    while (start < rows.size() || (rows.empty() && start == 0)) {
        // One row group: rows until their estimated size reaches row_group_bytes.
        std::size_t end = start;
        std::uint64_t bytes = 0;
        while (end < rows.size() && (end == start || bytes < o.row_group_bytes)) {
            bytes += end < row_bytes.size() ? row_bytes[end] : 64;
            ++end;
        }
        std::vector<column_builder> builders;
        builders.reserve(columns.size());
        for (const auto& c : columns) {
            builders.emplace_back(c.type);
            if (!builders.back().ok())
                return fail(errc::internal, "parquet: cannot make a column builder");
        }
        for (std::size_t r = start; r < end; ++r) {
            std::fill(cells.begin(), cells.end(), nullptr);
            const value& row = rows[r];
            if (row.type == value_type::record) {
                for (std::uint32_t k = 0; k < row.n; ++k) {
                    const auto& e = row.entries[k];
                    if (e.key.type != value_type::string)
                        continue;
                    auto it = index.find(e.key.str());
                    if (it != index.end())
                        cells[it->second] = &e.val;
                }
            } else if (auto it = index.find("payload"); it != index.end()) {
                cells[it->second] = &row;
            }
            for (std::size_t k = 0; k < columns.size(); ++k) {
                auto st = builders[k].append(cells[k], a);
                if (!st.ok())
                    return arrow_error(st, "column " + columns[k].name);
            }
            if ((r & 1023) == 1023)
                a.reset();  // text_of's scratch JSON
        }
        ::arrow::ArrayVector arrays;
        for (auto& b : builders) {
            auto arr = b.finish();
            if (!arr.ok())
                return arrow_error(arr.status(), "column");
            arrays.push_back(*arr);
        }
        auto table = ::arrow::Table::Make(schema, arrays, static_cast<int64_t>(end - start));
        auto st = w->WriteTable(*table, std::max<int64_t>(1, static_cast<int64_t>(end - start)));
        if (!st.ok())
            return arrow_error(st, "write");
        if (rows.empty())
            break;
        start = end;
    }
    if (auto st = w->Close(); !st.ok())
        return arrow_error(st, "close");
    auto buf = sink->Finish();
    if (!buf.ok())
        return arrow_error(buf.status(), "finish");
    return (*buf)->ToString();
}

}  // namespace

bool available() {
    return true;
}

result<std::string> write_file(const std::vector<column>& columns, const std::vector<value>& rows,
                               const std::vector<std::uint64_t>& row_bytes,
                               const write_options& o) {
    try {
        return write_impl(columns, rows, row_bytes, o);
    } catch (const std::exception& e) {
        return fail(errc::internal, std::string("parquet: ") + e.what());
    }
}

result<std::unique_ptr<file_reader>> file_reader::open(std::uint64_t file_size, range_reader read,
                                                       const read_limits& lim) {
    if (file_size < 12)
        return bad_file(fmt::format("{} bytes are too few for a Parquet file", file_size));
    auto f = std::make_shared<ranged_file>(file_size, std::move(read),
                                           std::max(lim.max_footer_bytes, lim.max_row_group_bytes));
    try {
        // The footer: its last 8 bytes are the metadata length and "PAR1".
        auto tail = f->ReadAt(static_cast<int64_t>(file_size) - 8, 8, false);
        if (!tail.ok()) {
            if (f->last_error_)
                return *f->last_error_;
            return bad_file(tail.status().ToString());
        }
        const auto* t = (*tail)->data();
        if (std::memcmp(t + 4, "PAR1", 4) != 0)
            return bad_file("no \"PAR1\" magic at the end (not a Parquet file, or truncated)");
        const std::uint32_t meta_len =
            static_cast<std::uint32_t>(t[0]) | (static_cast<std::uint32_t>(t[1]) << 8) |
            (static_cast<std::uint32_t>(t[2]) << 16) | (static_cast<std::uint32_t>(t[3]) << 24);
        if (meta_len > lim.max_footer_bytes || meta_len + 12ull > file_size)
            return bad_file(
                fmt::format("the footer claims {} bytes of metadata in a file of {} "
                            "bytes (limit {})",
                            meta_len, file_size, lim.max_footer_bytes));
        ::parquet::ReaderProperties rp = ::parquet::default_reader_properties();
        // Column chunks are read in pieces, not whole (memory), with Thrift's own limits on
        // strings and containers in the metadata.
        rp.enable_buffered_stream();
        rp.set_buffer_size(1 << 20);
        auto pf = ::parquet::ParquetFileReader::Open(f, rp);
        auto fr = ::parquet::arrow::FileReader::Make(::arrow::default_memory_pool(), std::move(pf));
        if (!fr.ok()) {
            if (f->last_error_)
                return *f->last_error_;
            return bad_file(fr.status().ToString());
        }
        return std::unique_ptr<file_reader>(
            std::make_unique<arrow_file_reader>(f, std::move(*fr), lim));
    } catch (const std::exception& e) {
        if (f->last_error_)
            return *f->last_error_;
        return bad_file(e.what());
    }
}

}  // namespace trib::codecs::parquet
