// CSV (RFC 4180) on the typed record model. Hand-written: the quoting rules fit in a small state
// machine, and Debian's libcsv would still need the typing, header and limit logic around it.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <vector>

#include "codecs/codec.h"
#include "codecs/value.h"
#include "config/spec.h"

namespace trib::codecs {

namespace {

enum class col_type : std::uint8_t {
    string,
    int64,
    float64,
    boolean,
    decimal,
    timestamp,
    date,
    uuid,
    bytes,
};

bool parse_col_type(std::string_view s, col_type& t) {
    static const std::pair<std::string_view, col_type> names[] = {
        {"string", col_type::string},   {"int", col_type::int64},
        {"float", col_type::float64},   {"bool", col_type::boolean},
        {"decimal", col_type::decimal}, {"timestamp", col_type::timestamp},
        {"date", col_type::date},       {"uuid", col_type::uuid},
        {"bytes", col_type::bytes},
    };
    for (const auto& [n, v] : names) {
        if (n == s) {
            t = v;
            return true;
        }
    }
    return false;
}

struct csv_options {
    char delimiter = ',';
    char quote = '"';
    bool header = true;
    std::vector<std::string> columns;
    std::map<std::string, col_type, std::less<>> types;
    std::string null_value;
    std::string line_ending = "\r\n";
};

struct field {
    std::string_view text;
    bool quoted = false;
};

// A blank line: one empty unquoted field. It is a row of a one-column CSV (a null) and skipped
// otherwise.
bool blank(const std::vector<field>& row) {
    return row.size() == 1 && !row[0].quoted && row[0].text.empty();
}

class csv_codec final : public codec {
  public:
    explicit csv_codec(csv_options o) : o_(std::move(o)) {}
    std::string_view name() const override { return "csv"; }
    record_kind kind() const override { return record_kind::typed; }

    status decode(std::string_view payload, arena& a, record& out) const override {
        std::vector<std::vector<field>> rows;
        TRIB_TRY(split(payload, a, rows));
        std::vector<std::string_view> names;
        std::size_t first = 0;
        if (o_.header) {
            if (rows.empty())
                return bad_payload("csv: no header row");
            for (const auto& f : rows[0])
                names.push_back(f.text);
            for (std::size_t i = 0; i < names.size(); ++i)
                for (std::size_t j = 0; j < i; ++j)
                    if (names[i] == names[j])
                        return bad_payload("csv: column \"" + std::string(names[i]) +
                                           "\" appears twice in the header");
            first = 1;
        } else {
            for (const auto& c : o_.columns)
                names.push_back(c);
        }
        if (names.size() != 1) {
            rows.erase(std::remove_if(rows.begin() + static_cast<std::ptrdiff_t>(first), rows.end(),
                                      blank),
                       rows.end());
        }
        const std::size_t n = rows.size() - first;
        value* recs = new_values(a, n);
        for (std::size_t r = 0; r < n; ++r) {
            const auto& row = rows[first + r];
            if (row.size() != names.size())
                return bad_payload("csv: row " + std::to_string(first + r + 1) + " has " +
                                   std::to_string(row.size()) + " fields, the header " +
                                   std::to_string(names.size()));
            entry* es = new_entries(a, row.size());
            for (std::size_t c = 0; c < row.size(); ++c) {
                es[c].key = value::string_value(names[c]);
                TRIB_TRY(typed_field(row[c], names[c], first + r + 1, a, es[c].val));
            }
            recs[r].type = value_type::record;
            recs[r].n = static_cast<std::uint32_t>(row.size());
            recs[r].entries = es;
        }
        value v;
        if (n == 1) {
            v = recs[0];
        } else {
            v.type = value_type::list;
            v.n = static_cast<std::uint32_t>(n);
            v.items = recs;
        }
        set_typed(out, new_value(a, v));
        out.modified = false;
        return ok();
    }

    status encode(const record& in, arena& a, std::string& out) const override {
        value v;
        TRIB_TRY(to_typed(in, a, v));
        const value* rows = &v;
        std::size_t n = 1;
        if (v.type == value_type::list) {
            rows = v.items;
            n = v.n;
        }
        for (std::size_t r = 0; r < n; ++r) {
            if (rows[r].type != value_type::record)
                return bad_payload("csv: can only encode a record or a list of records, not a " +
                                   std::string(to_string(rows[r].type)));
        }
        std::vector<std::string_view> cols;
        if (!o_.columns.empty()) {
            for (const auto& c : o_.columns)
                cols.push_back(c);
        } else if (n > 0) {
            for (std::uint32_t k = 0; k < rows[0].n; ++k)
                cols.push_back(rows[0].entries[k].key.str());
        }
        const std::size_t start = out.size();
        auto fail_with = [&](status s) {
            out.resize(start);
            return s;
        };
        if (o_.header) {
            for (std::size_t c = 0; c < cols.size(); ++c) {
                if (c)
                    out.push_back(o_.delimiter);
                append_field(out, cols[c], false);
            }
            out += o_.line_ending;
        }
        std::vector<const value*> cells(cols.size());
        for (std::size_t r = 0; r < n; ++r) {
            std::fill(cells.begin(), cells.end(), nullptr);
            const value& rec = rows[r];
            for (std::uint32_t k = 0; k < rec.n; ++k) {
                std::string_view key = rec.entries[k].key.str();
                std::size_t c = 0;
                while (c < cols.size() && cols[c] != key)
                    ++c;
                if (c == cols.size())
                    return fail_with(
                        bad_payload("csv: field \"" + std::string(key) + "\" is not a column"));
                cells[c] = &rec.entries[k].val;
            }
            for (std::size_t c = 0; c < cols.size(); ++c) {
                if (c)
                    out.push_back(o_.delimiter);
                if (cells[c] == nullptr || cells[c]->type == value_type::null) {
                    out += o_.null_value;
                    continue;
                }
                status s = append_value(out, *cells[c], a);
                if (!s)
                    return fail_with(s);
            }
            out += o_.line_ending;
        }
        return ok();
    }

  private:
    // RFC 4180: fields separated by the delimiter, rows by CRLF (LF accepted); a quoted field
    // may hold delimiters, line breaks and doubled quotes. Blank lines are skipped.
    status split(std::string_view in, arena& a, std::vector<std::vector<field>>& rows) const {
        std::vector<field> row;
        std::size_t k = 0;
        std::string unescaped;
        while (k < in.size()) {
            field f;
            if (in[k] == o_.quote) {
                f.quoted = true;
                ++k;
                unescaped.clear();
                bool doubled = false;
                std::size_t start = k;
                for (;;) {
                    if (k >= in.size())
                        return bad_payload("csv: a quoted field is not closed");
                    if (in[k] == o_.quote) {
                        if (k + 1 < in.size() && in[k + 1] == o_.quote) {
                            unescaped.append(in.substr(start, k + 1 - start));
                            k += 2;
                            start = k;
                            doubled = true;
                            continue;
                        }
                        break;
                    }
                    ++k;
                }
                if (doubled) {
                    unescaped.append(in.substr(start, k - start));
                    f.text = copy_to_arena(a, unescaped);
                } else {
                    f.text = in.substr(start, k - start);
                }
                ++k;  // closing quote
                if (k < in.size() && in[k] != o_.delimiter && in[k] != '\r' && in[k] != '\n')
                    return bad_payload("csv: text after a closing quote");
            } else {
                std::size_t start = k;
                while (k < in.size() && in[k] != o_.delimiter && in[k] != '\r' && in[k] != '\n') {
                    if (in[k] == o_.quote)
                        return bad_payload("csv: a quote inside an unquoted field");
                    ++k;
                }
                f.text = in.substr(start, k - start);
            }
            row.push_back(f);
            if (k < in.size() && in[k] == o_.delimiter) {
                ++k;
                if (k == in.size())
                    row.push_back(field{});  // "a," ends with an empty field
                continue;
            }
            // End of row.
            if (k < in.size() && in[k] == '\r') {
                ++k;
                if (k < in.size() && in[k] != '\n')
                    return bad_payload("csv: a carriage return outside quotes");
            }
            if (k < in.size() && in[k] == '\n')
                ++k;
            rows.push_back(std::move(row));
            row.clear();
        }
        if (!row.empty())
            rows.push_back(std::move(row));
        for (const auto& r : rows)
            for (const auto& f : r)
                if (!valid_utf8(f.text))
                    return bad_payload("csv: a field is not valid UTF-8");
        return ok();
    }

    status typed_field(const field& f, std::string_view column, std::size_t row, arena& a,
                       value& out) const {
        if (!f.quoted && f.text == o_.null_value) {
            out = value();
            return ok();
        }
        auto it = o_.types.find(column);
        col_type t = it == o_.types.end() ? col_type::string : it->second;
        auto bad = [&](std::string_view what) {
            return bad_payload("csv: row " + std::to_string(row) + " column \"" +
                               std::string(column) + "\": \"" + std::string(f.text.substr(0, 64)) +
                               "\" is not " + std::string(what));
        };
        std::string_view s = f.text;
        switch (t) {
            case col_type::string:
                out = value::string_value(s);
                return ok();
            case col_type::int64: {
                std::int64_t i;
                auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
                if (ec != std::errc() || p != s.data() + s.size() || s.empty())
                    return bad("an int");
                out = value::int_value(i);
                return ok();
            }
            case col_type::float64: {
                double d;
                auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
                if (ec != std::errc() || p != s.data() + s.size() || s.empty())
                    return bad("a float");
                out = value::float_value(d);
                return ok();
            }
            case col_type::boolean:
                if (s == "true" || s == "TRUE" || s == "True" || s == "1")
                    out = value::boolean_value(true);
                else if (s == "false" || s == "FALSE" || s == "False" || s == "0")
                    out = value::boolean_value(false);
                else
                    return bad("a bool");
                return ok();
            case col_type::decimal:
                if (!valid_decimal(s))
                    return bad("a decimal");
                out = value::decimal_value(s);
                return ok();
            case col_type::timestamp: {
                std::int64_t secs;
                std::uint32_t nanos;
                if (!parse_timestamp(s, secs, nanos))
                    return bad("an RFC 3339 timestamp");
                out = value::timestamp_value(secs, nanos);
                return ok();
            }
            case col_type::date: {
                std::int64_t days;
                if (!parse_date(s, days))
                    return bad("a date (YYYY-MM-DD)");
                out = value::date_value(days);
                return ok();
            }
            case col_type::uuid: {
                char id[16];
                if (!parse_uuid(s, id))
                    return bad("a uuid");
                out = value::uuid_value(copy_to_arena(a, {id, 16}).data());
                return ok();
            }
            case col_type::bytes: {
                std::string raw;
                if (!decode_base64(s, raw))
                    return bad("base64");
                out = value::bytes_value(copy_to_arena(a, raw));
                return ok();
            }
        }
        return ok();
    }

    void append_field(std::string& out, std::string_view s, bool force_quotes) const {
        bool quote = force_quotes || s.find_first_of(std::string{o_.delimiter, o_.quote, '\r',
                                                                 '\n'}) != std::string_view::npos;
        if (!quote) {
            out += s;
            return;
        }
        out.push_back(o_.quote);
        for (char c : s) {
            if (c == o_.quote)
                out.push_back(o_.quote);
            out.push_back(c);
        }
        out.push_back(o_.quote);
    }

    status append_value(std::string& out, const value& v, arena& a) const {
        std::string tmp;
        switch (v.type) {
            case value_type::null:
                out += o_.null_value;
                return ok();
            case value_type::string:
                // A string equal to the null marker is quoted so that it reads back as text.
                append_field(out, v.str(), v.str() == o_.null_value);
                return ok();
            case value_type::boolean:
                out += v.b ? "true" : "false";
                return ok();
            case value_type::int64:
                out += std::to_string(v.i);
                return ok();
            case value_type::uint64:
                out += std::to_string(v.u);
                return ok();
            case value_type::float64: {
                if (!std::isfinite(v.d)) {
                    out += std::isnan(v.d) ? "nan" : v.d > 0 ? "inf" : "-inf";
                    return ok();
                }
                char buf[32];
                auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v.d);
                out.append(buf, p);
                return ok();
            }
            case value_type::decimal:
                out += v.str();
                return ok();
            case value_type::bytes:
                append_base64(out, v.str());
                return ok();
            case value_type::timestamp:
            case value_type::date:
            case value_type::uuid: {
                // The JSON text form (RFC 3339, YYYY-MM-DD, 8-4-4-4-12) without its quotes.
                json_value j;
                TRIB_TRY(to_json(v, a, j));
                out.append(j.GetString(), j.GetStringLength());
                return ok();
            }
            case value_type::list:
            case value_type::map:
            case value_type::record: {
                // Nested values: their JSON text in one quoted field.
                json_value j;
                TRIB_TRY(to_json(v, a, j));
                TRIB_TRY(write_json(j, a, tmp));
                append_field(out, tmp, false);
                return ok();
            }
        }
        return ok();
    }

    csv_options o_;
};

}  // namespace

config::spec csv_codec_spec() {
    config::spec s;
    s.name = "csv";
    s.kind = config::spec_kind::codec;
    s.summary = "CSV rows (RFC 4180), typed columns.";
    s.description =
        "Each payload holds a header row (unless header = false) and data rows. One data row "
        "decodes to a record, several to a list of records, none to an empty list. Fields "
        "may be quoted (delimiters, line breaks and doubled quotes inside); rows end with CRLF "
        "or LF; blank lines are skipped (in a one-column CSV they are nulls). Columns are strings "
        "unless `types` names a type. An "
        "unquoted field equal to null_value is null; a quoted one is always text. A row with "
        "another number of fields than the header, an unclosed quote, a quote inside an "
        "unquoted field, invalid UTF-8 or a field that does not parse as its column's type is "
        "a bad payload. Encoding writes the header and one row per record; nested values are "
        "written as their JSON text, timestamps as RFC 3339, bytes as base64.";
    auto delim = config::opt_or_absent("delimiter", config::opt_type::string,
                                       "Field separator (one byte).", "\",\"");
    s.options.push_back(delim);
    s.options.push_back(config::opt_or_absent("quote", config::opt_type::string,
                                              "Quote character (one byte).", "\"\\\"\""));
    s.options.push_back(
        config::opt_or_absent("header", config::opt_type::boolean,
                              "Payloads start with a header row naming the columns; encoding "
                              "writes one.",
                              "true"));
    auto cols = config::opt_or_absent(
        "columns", config::opt_type::list,
        "Column names: required when header = false; when encoding, the column "
        "order (default: the first record's field order).",
        std::nullopt);
    s.options.push_back(cols);
    s.options.push_back(config::opt_or_absent(
        "types", config::opt_type::map,
        "Column name -> type: string, int, float, bool, decimal, timestamp (RFC 3339), date "
        "(YYYY-MM-DD), uuid, bytes (base64). Columns not named are strings.",
        std::nullopt));
    s.options.push_back(config::opt_or_absent("null_value", config::opt_type::string,
                                              "The unquoted field text that means null.", "\"\""));
    auto le =
        config::opt_or_absent("line_ending", config::opt_type::enumeration,
                              "Row terminator when encoding (decoding accepts both).", "\"crlf\"");
    le.choices = {"crlf", "lf"};
    s.options.push_back(le);
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.str("delimiter").size() != 1)
            report("delimiter", "must be exactly one byte");
        if (v.str("quote").size() != 1)
            report("quote", "must be exactly one byte");
        if (!v.boolean("header") && v.list("columns").empty())
            report("columns", "is required when header = false");
        for (const auto& [col, type] : v.map("types")) {
            col_type t;
            if (!parse_col_type(type, t))
                report("types." + col, "unknown column type \"" + type +
                                           "\" (string, int, float, bool, decimal, timestamp, "
                                           "date, uuid, bytes)");
        }
    };
    s.example =
        "[[streams]]\nstream = \"sensors\"\ntopics = [\"readings\"]\nschema = \"csv\"\n"
        "# codec options (see Tributary's codecs README):\n"
        "# types = { at = \"timestamp\", value = \"float\", id = \"int\" }";
    return s;
}

result<std::unique_ptr<codec>> make_csv_codec(const config::values& v) {
    csv_options o;
    if (v.root() != nullptr) {
        std::string d = v.str("delimiter"), q = v.str("quote");
        if (d.size() != 1 || q.size() != 1 || d == q)
            return fail(errc::invalid_argument,
                        "csv: delimiter and quote must be single, "
                        "different bytes");
        o.delimiter = d[0];
        o.quote = q[0];
        o.header = v.boolean("header");
        o.columns = v.list("columns");
        for (const auto& [col, type] : v.map("types")) {
            col_type t;
            if (!parse_col_type(type, t))
                return fail(errc::invalid_argument, "csv: unknown column type \"" + type + "\"");
            o.types.emplace(col, t);
        }
        o.null_value = v.str("null_value");
        o.line_ending = v.str("line_ending") == "lf" ? "\n" : "\r\n";
    }
    if (!o.header && o.columns.empty())
        return fail(errc::invalid_argument, "csv: columns is required when header = false");
    return std::unique_ptr<codec>(std::make_unique<csv_codec>(std::move(o)));
}

}  // namespace trib::codecs
