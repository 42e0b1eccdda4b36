// The object sink's file formats.

#include "connectors/s3/format.h"

#include <fmt/format.h>

#include <charconv>

#include "connectors/s3/path.h"
#include "core/base64.h"
#include "core/header_json.h"
#include "core/json_parse.h"
#include "core/json_text.h"
#include "core/text.h"

namespace trib::connectors::s3_detail {
namespace {

/// What every record of an object shares, rendered once per object (begin()), and the last
/// timestamp's text (consecutive messages mostly share their second): formatting is the sink's
/// main CPU cost (bench/s3).
struct record_cache {
    std::string meta_tail;  // ,"stream":"..","topic":"..","partition_id":N
    std::uint64_t ts_second = UINT64_MAX;
    std::string ts_text;

    void begin(const object_context& ctx) {
        meta_tail = ",\"stream\":";
        append_json_string(meta_tail, ctx.stream);
        meta_tail += ",\"topic\":";
        append_json_string(meta_tail, ctx.topic);
        meta_tail += ",\"partition_id\":";
        meta_tail += std::to_string(ctx.partition);
    }
    const std::string& timestamp(std::uint64_t us) {
        if (us / 1000000u != ts_second) {
            ts_second = us / 1000000u;
            ts_text.clear();
            append_json_string(ts_text, rfc3339_seconds(us));
        }
        return ts_text;
    }
};

void append_record_json(std::string& out, const object_context& ctx, const message& m,
                        const record_options& o, record_cache& c) {
    out += '{';
    bool first = true;
    if (o.include_metadata) {
        out += "\"offset\":";
        char num[24];
        auto [end, ec] = std::to_chars(num, num + sizeof num, m.offset);
        (void)ec;
        out.append(num, end);
        out += ",\"timestamp\":";
        out += c.timestamp(m.timestamp_us);
        out += c.meta_tail;
        first = false;
    }
    if (o.include_headers && !m.headers.empty()) {
        out += first ? "\"headers\":" : ",\"headers\":";
        append_headers_json(out, m.headers);
        first = false;
    }
    out += first ? "\"payload\":" : ",\"payload\":";
    append_payload_json(out, m.payload, ctx.schema);
    out += '}';
}

class json_lines_writer final : public format_writer {
  public:
    explicit json_lines_writer(record_options o) : o_(o) {}
    void begin(std::string&, const object_context& ctx) override { c_.begin(ctx); }
    void add(std::string& out, const object_context& ctx, const message& m) override {
        append_record_json(out, ctx, m, o_, c_);
        out += '\n';
    }
    void finish(std::string&) override {}
    std::string_view extension() const override { return "jsonl"; }
    std::string_view content_type() const override { return "application/x-ndjson"; }

  private:
    record_options o_;
    record_cache c_;
};

class json_array_writer final : public format_writer {
  public:
    explicit json_array_writer(record_options o) : o_(o) {}
    void begin(std::string& out, const object_context& ctx) override {
        out += '[';
        first_ = true;
        c_.begin(ctx);
    }
    void add(std::string& out, const object_context& ctx, const message& m) override {
        out += first_ ? "\n" : ",\n";
        first_ = false;
        append_record_json(out, ctx, m, o_, c_);
    }
    void finish(std::string& out) override { out += "\n]\n"; }
    std::string_view extension() const override { return "json"; }
    std::string_view content_type() const override { return "application/json"; }

  private:
    record_options o_;
    record_cache c_;
    bool first_ = true;
};

/// The payload bytes, one message per line (Iggy's raw format).
class raw_writer final : public format_writer {
  public:
    void begin(std::string&, const object_context&) override {}
    void add(std::string& out, const object_context&, const message& m) override {
        out += m.payload;
        out += '\n';
    }
    void finish(std::string&) override {}
    std::string_view extension() const override { return "bin"; }
    std::string_view content_type() const override { return "application/octet-stream"; }
};

void append_csv_field(std::string& out, std::string_view v) {
    if (v.find_first_of(",\"\r\n") == std::string_view::npos) {
        out += v;
        return;
    }
    out += '"';
    for (char c : v) {
        if (c == '"')
            out += '"';
        out += c;
    }
    out += '"';
}

/// RFC 4180 with a header row: the metadata columns, `headers` (JSON), `payload` (text, JSON text,
/// or base64 for bytes that are not UTF-8).
class csv_writer final : public format_writer {
  public:
    explicit csv_writer(record_options o) : o_(o) {}
    void begin(std::string& out, const object_context&) override {
        if (o_.include_metadata)
            out += "offset,timestamp,stream,topic,partition_id,";
        if (o_.include_headers)
            out += "headers,";
        out += "payload\r\n";
    }
    void add(std::string& out, const object_context& ctx, const message& m) override {
        if (o_.include_metadata) {
            out += std::to_string(m.offset);
            out += ',';
            out += rfc3339_seconds(m.timestamp_us);
            out += ',';
            append_csv_field(out, ctx.stream);
            out += ',';
            append_csv_field(out, ctx.topic);
            out += ',';
            out += std::to_string(ctx.partition);
            out += ',';
        }
        if (o_.include_headers) {
            tmp_.clear();
            if (!m.headers.empty())
                append_headers_json(tmp_, m.headers);
            append_csv_field(out, tmp_);
            out += ',';
        }
        if (valid_utf8(m.payload)) {
            append_csv_field(out, m.payload);
        } else {
            tmp_.clear();
            append_base64(tmp_, m.payload);
            append_csv_field(out, tmp_);
        }
        out += "\r\n";
    }
    void finish(std::string&) override {}
    std::string_view extension() const override { return "csv"; }
    std::string_view content_type() const override { return "text/csv"; }

  private:
    record_options o_;
    std::string tmp_;
};

}  // namespace

result<output_format> parse_output_format(std::string_view name) {
    std::string n;
    for (char c : name)
        n += ascii_lower(c);
    if (n == "json_lines" || n == "jsonl" || n == "jsonlines")
        return output_format::json_lines;
    if (n == "json_array" || n == "json")
        return output_format::json_array;
    if (n == "raw")
        return output_format::raw;
    if (n == "csv")
        return output_format::csv;
    if (n == "parquet")
        return output_format::parquet;
    if (n == "avro")
        return output_format::avro;
    return fail(errc::invalid_argument,
                fmt::format("unknown output format '{}' (json_lines, json_array, raw, csv, "
                            "parquet, avro)",
                            name));
}

std::unique_ptr<format_writer> make_format_writer(output_format f, record_options o) {
    switch (f) {
        case output_format::json_lines:
            return std::make_unique<json_lines_writer>(o);
        case output_format::json_array:
            return std::make_unique<json_array_writer>(o);
        case output_format::raw:
            return std::make_unique<raw_writer>();
        case output_format::csv:
            return std::make_unique<csv_writer>(o);
        case output_format::parquet:
        case output_format::avro: {
            auto w = make_format_writer(f, o, columnar_options{});
            return w ? std::move(*w) : nullptr;  // parquet without Arrow
        }
    }
    return std::make_unique<json_lines_writer>(o);
}

void append_payload_json(std::string& out, std::string_view payload, std::string_view schema) {
    if (schema == "text" && valid_utf8(payload)) {
        append_json_string(out, payload);
        return;
    }
    if (!payload.empty() && check_json(payload)) {
        out += trim(payload, " \t\r\n");
        return;
    }
    append_json_string(out, base64_encode(payload));
}

}  // namespace trib::connectors::s3_detail
