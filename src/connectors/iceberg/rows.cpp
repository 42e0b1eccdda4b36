#include "connectors/iceberg/rows.h"

#include <cmath>
#include <optional>

namespace trib::connectors::iceberg {

namespace pq = codecs::parquet;
using codecs::value;
using codecs::value_type;

result<std::vector<pq::column>> parquet_columns(const std::vector<field>& fields) {
    std::vector<pq::column> out;
    for (const auto& f : fields) {
        pq::column c;
        c.name = f.name;
        c.field_id = f.id;
        if (f.type == "boolean")
            c.type = pq::column_type::boolean;
        else if (f.type == "long")
            c.type = pq::column_type::int64;
        else if (f.type == "double")
            c.type = pq::column_type::float64;
        else if (f.type == "string")
            c.type = pq::column_type::string;
        else if (f.type == "binary")
            c.type = pq::column_type::bytes;
        else if (f.type == "date")
            c.type = pq::column_type::date;
        else if (f.type == "timestamptz")
            c.type = pq::column_type::timestamp;
        else
            return fail(errc::unimplemented,
                        "iceberg: column \"" + f.name + "\" has type " + f.type +
                            ", which this sink does not write (it writes boolean, long, double, "
                            "string, binary, date and timestamptz columns)");
        out.push_back(std::move(c));
    }
    return out;
}

std::vector<field> fields_for(const std::vector<pq::column>& cols) {
    std::vector<field> out;
    std::int32_t id = 1;
    for (const auto& c : cols) {
        field f;
        f.id = id++;
        f.name = c.name;
        switch (c.type) {
            case pq::column_type::boolean:
                f.type = "boolean";
                break;
            case pq::column_type::int64:
                f.type = "long";
                break;
            // The narrower kinds come from other connectors' schemas (Delta's); Iggy's iceberg
            // options never make them. Iceberg's smallest integer is the 32-bit int.
            case pq::column_type::int32:
            case pq::column_type::int16:
            case pq::column_type::int8:
                f.type = "int";
                break;
            case pq::column_type::float32:
                f.type = "float";
                break;
            case pq::column_type::timestamp_ntz:
                f.type = "timestamp";
                break;
            case pq::column_type::float64:
                f.type = "double";
                break;
            case pq::column_type::bytes:
                f.type = "binary";
                break;
            case pq::column_type::timestamp:
                f.type = "timestamptz";
                break;
            case pq::column_type::date:
                f.type = "date";
                break;
            case pq::column_type::string:
            case pq::column_type::json:
                f.type = "string";
                break;
        }
        out.push_back(std::move(f));
    }
    return out;
}

namespace {

const value* cell(const value& row, std::string_view name) {
    if (row.type != value_type::record)
        return nullptr;
    for (std::uint32_t k = 0; k < row.n; ++k) {
        const auto& e = row.entries[k];
        if (e.key.type == value_type::string && e.key.str() == name)
            return &e.val;
    }
    return nullptr;
}

std::optional<std::int64_t> micros_of(const value& v) {
    std::int64_t s = 0;
    std::uint32_t ns = 0;
    if (v.type == value_type::timestamp) {
        s = v.i;
        ns = v.n;
    } else if (v.type != value_type::string || !codecs::parse_timestamp(v.str(), s, ns)) {
        return std::nullopt;
    }
    return s * 1000000 + static_cast<std::int64_t>(ns / 1000);
}

std::optional<std::int64_t> days_of(const value& v) {
    std::int64_t d = 0;
    if (v.type == value_type::date)
        return v.i;
    if (v.type == value_type::string && codecs::parse_date(v.str(), d))
        return d;
    return std::nullopt;
}

}  // namespace

status check_row(const std::vector<field>& fields, const std::vector<pq::column>& cols,
                 const value& row) {
    if (row.type != value_type::record)
        return fail(errc::invalid_argument, "iceberg: the payload is not a JSON object");
    for (std::size_t k = 0; k < cols.size(); ++k) {
        const value* v = cell(row, cols[k].name);
        if (!v || v->type == value_type::null) {
            if (fields[k].required)
                return fail(errc::invalid_argument,
                            "iceberg: the required column \"" + cols[k].name + "\" has no value");
            continue;
        }
        if (!pq::fits(*v, cols[k].type))
            return fail(errc::invalid_argument, "iceberg: field \"" + cols[k].name + "\" (" +
                                                    std::string(codecs::to_string(v->type)) +
                                                    ") does not fit the column's type " +
                                                    std::string(pq::to_string(cols[k].type)));
    }
    return ok();
}

std::vector<column_stats> compute_stats(const std::vector<pq::column>& cols,
                                        const std::vector<value>& rows) {
    std::vector<column_stats> out;
    for (const auto& c : cols) {
        column_stats s;
        s.field_id = c.field_id;
        bool bounded = c.type != pq::column_type::bytes && c.type != pq::column_type::json;
        std::optional<std::int64_t> ilo, ihi;
        std::optional<double> dlo, dhi;
        std::optional<std::string_view> slo, shi;
        for (const auto& row : rows) {
            const value* v = cell(row, c.name);
            ++s.values;
            if (!v || v->type == value_type::null) {
                ++s.nulls;
                continue;
            }
            if (!bounded)
                continue;
            switch (c.type) {
                case pq::column_type::boolean:
                case pq::column_type::int64:
                case pq::column_type::date:
                case pq::column_type::timestamp: {
                    std::optional<std::int64_t> x;
                    if (c.type == pq::column_type::boolean && v->type == value_type::boolean)
                        x = v->b ? 1 : 0;
                    else if (c.type == pq::column_type::int64 && v->type == value_type::int64)
                        x = v->i;
                    else if (c.type == pq::column_type::date)
                        x = days_of(*v);
                    else if (c.type == pq::column_type::timestamp)
                        x = micros_of(*v);
                    if (!x) {
                        bounded = false;
                        break;
                    }
                    if (!ilo || *x < *ilo)
                        ilo = x;
                    if (!ihi || *x > *ihi)
                        ihi = x;
                    break;
                }
                case pq::column_type::float64: {
                    double d = v->type == value_type::float64 ? v->d
                               : v->type == value_type::int64 ? static_cast<double>(v->i)
                                                              : NAN;
                    if (std::isnan(d)) {
                        bounded = false;
                        break;
                    }
                    if (!dlo || d < *dlo)
                        dlo = d;
                    if (!dhi || d > *dhi)
                        dhi = d;
                    break;
                }
                case pq::column_type::string:
                    if (v->type != value_type::string) {
                        bounded = false;
                        break;
                    }
                    if (!slo || v->str() < *slo)
                        slo = v->str();
                    if (!shi || v->str() > *shi)
                        shi = v->str();
                    break;
                default:
                    break;
            }
        }
        if (bounded) {
            switch (c.type) {
                case pq::column_type::boolean:
                    if (ilo) {
                        s.lower = std::string(1, static_cast<char>(*ilo));
                        s.upper = std::string(1, static_cast<char>(*ihi));
                    }
                    break;
                case pq::column_type::int64:
                case pq::column_type::timestamp:
                    if (ilo) {
                        s.lower = bound_long(*ilo);
                        s.upper = bound_long(*ihi);
                    }
                    break;
                case pq::column_type::date:
                    if (ilo && *ilo >= INT32_MIN && *ihi <= INT32_MAX) {
                        s.lower = bound_int(static_cast<std::int32_t>(*ilo));
                        s.upper = bound_int(static_cast<std::int32_t>(*ihi));
                    }
                    break;
                case pq::column_type::float64:
                    if (dlo) {
                        s.lower = bound_double(*dlo);
                        s.upper = bound_double(*dhi);
                    }
                    break;
                case pq::column_type::string:
                    if (slo) {
                        s.lower = std::string(*slo);
                        s.upper = std::string(*shi);
                    }
                    break;
                default:
                    break;
            }
        }
        out.push_back(std::move(s));
    }
    return out;
}

namespace {

/// Letters, digits, '.', '_' and '-' stay; anything else becomes '_' (names go into file://
/// URIs, where a percent sign would be read as an escape).
void append_name_part(std::string& out, std::string_view s) {
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        out += keep ? ch : '_';
    }
}

}  // namespace

std::string data_file_name(std::string_view connector_key, std::string_view stream,
                           std::string_view topic, std::uint32_t partition, std::uint64_t first,
                           std::uint64_t last) {
    std::string out = "tributary-";
    append_name_part(out, connector_key);
    out += '-';
    append_name_part(out, stream);
    out += '-';
    append_name_part(out, topic);
    out += '-' + std::to_string(partition) + '-' + std::to_string(first) + '-' +
           std::to_string(last) + ".parquet";
    return out;
}

}  // namespace trib::connectors::iceberg
