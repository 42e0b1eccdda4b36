// Iggy user headers <-> the AMQP headers table; see headers.h.

#include "connectors/rabbitmq/headers.h"

#include <cstring>
#include <string>

#include "core/header_json.h"
#include "core/json_text.h"
#include "core/name_template.h"

namespace trib::connectors::rabbitmq {
namespace {

constexpr std::size_t max_header_bytes = 255;  // Iggy: keys and values are 1..255 bytes
constexpr int max_json_depth = 16;

std::string_view view(const amqp_bytes_t& b) {
    return {static_cast<const char*>(b.bytes), b.len};
}

std::string decimal_text(const amqp_decimal_t& d) {
    std::string digits = std::to_string(d.value);
    if (d.decimals == 0)
        return digits;
    if (digits.size() <= d.decimals)
        digits.insert(0, d.decimals - digits.size() + 1, '0');
    digits.insert(digits.size() - d.decimals, 1, '.');
    return digits;
}

bool append_json(const amqp_field_value_t& v, std::string& out, int depth, std::size_t max) {
    if (out.size() > max)
        return false;
    switch (v.kind) {
        case AMQP_FIELD_KIND_BOOLEAN:
            out += v.value.boolean ? "true" : "false";
            return true;
        case AMQP_FIELD_KIND_I8:
            out += std::to_string(v.value.i8);
            return true;
        case AMQP_FIELD_KIND_U8:
            out += std::to_string(v.value.u8);
            return true;
        case AMQP_FIELD_KIND_I16:
            out += std::to_string(v.value.i16);
            return true;
        case AMQP_FIELD_KIND_U16:
            out += std::to_string(v.value.u16);
            return true;
        case AMQP_FIELD_KIND_I32:
            out += std::to_string(v.value.i32);
            return true;
        case AMQP_FIELD_KIND_U32:
            out += std::to_string(v.value.u32);
            return true;
        case AMQP_FIELD_KIND_I64:
            out += std::to_string(v.value.i64);
            return true;
        case AMQP_FIELD_KIND_U64:
        case AMQP_FIELD_KIND_TIMESTAMP:
            out += std::to_string(v.value.u64);
            return true;
        case AMQP_FIELD_KIND_F32:
        case AMQP_FIELD_KIND_F64: {
            header h = v.kind == AMQP_FIELD_KIND_F32
                           ? num_header("", value_kind::float32, v.value.f32)
                           : num_header("", value_kind::float64, v.value.f64);
            append_header_json_value(out, h);  // NaN and the infinities as null
            return true;
        }
        case AMQP_FIELD_KIND_DECIMAL:
            out += decimal_text(v.value.decimal);
            return true;
        case AMQP_FIELD_KIND_UTF8:
        case AMQP_FIELD_KIND_BYTES:
            if (v.value.bytes.len > max)
                return false;
            append_header_json_value(
                out,
                header{"", v.kind == AMQP_FIELD_KIND_UTF8 ? value_kind::string : value_kind::raw,
                       std::string(view(v.value.bytes))});
            return true;
        case AMQP_FIELD_KIND_VOID:
            out += "null";
            return true;
        case AMQP_FIELD_KIND_ARRAY: {
            if (depth <= 0)
                return false;
            out += '[';
            for (int i = 0; i < v.value.array.num_entries; ++i) {
                if (i > 0)
                    out += ',';
                if (!append_json(v.value.array.entries[i], out, depth - 1, max))
                    return false;
            }
            out += ']';
            return out.size() <= max;
        }
        case AMQP_FIELD_KIND_TABLE: {
            if (depth <= 0)
                return false;
            out += '{';
            for (int i = 0; i < v.value.table.num_entries; ++i) {
                const auto& e = v.value.table.entries[i];
                if (i > 0)
                    out += ',';
                if (e.key.len > max)
                    return false;
                append_json_string(out, view(e.key));
                out += ':';
                if (!append_json(e.value, out, depth - 1, max))
                    return false;
            }
            out += '}';
            return out.size() <= max;
        }
        default:
            return false;  // a kind rabbitmq-c does not decode
    }
}

// A boolean, integer or float header as the AMQP field of the same width and sign; false for
// other kinds and for a value of the wrong width.
bool fixed_width_value(const header& h, amqp_field_value_t& v) {
    struct kind_map {
        value_kind kind;
        std::size_t width;
        std::uint8_t field;
    };
    static constexpr kind_map table[] = {{value_kind::boolean, 1, AMQP_FIELD_KIND_BOOLEAN},
                                         {value_kind::int8, 1, AMQP_FIELD_KIND_I8},
                                         {value_kind::uint8, 1, AMQP_FIELD_KIND_U8},
                                         {value_kind::int16, 2, AMQP_FIELD_KIND_I16},
                                         {value_kind::uint16, 2, AMQP_FIELD_KIND_U16},
                                         {value_kind::int32, 4, AMQP_FIELD_KIND_I32},
                                         {value_kind::uint32, 4, AMQP_FIELD_KIND_U32},
                                         {value_kind::int64, 8, AMQP_FIELD_KIND_I64},
                                         {value_kind::uint64, 8, AMQP_FIELD_KIND_U64},
                                         {value_kind::float32, 4, AMQP_FIELD_KIND_F32},
                                         {value_kind::float64, 8, AMQP_FIELD_KIND_F64}};
    for (const auto& m : table) {
        if (m.kind != h.kind)
            continue;
        if (h.value.size() != m.width)
            return false;
        v.kind = m.field;
        if (h.kind == value_kind::boolean) {
            v.value.boolean = h.value[0] != 0;
        } else {
            // The union's integer and float members all start at its first byte; Iggy's values
            // are little-endian like the machine.
            std::memset(&v.value, 0, sizeof v.value);
            std::memcpy(&v.value, h.value.data(), m.width);
        }
        return true;
    }
    return false;
}

}  // namespace

bool field_json(const amqp_field_value_t& v, std::string& out, int max_depth,
                std::size_t max_bytes) {
    return append_json(v, out, max_depth, max_bytes) && out.size() <= max_bytes;
}

read_headers headers_from_table(const amqp_table_t& table, unfit_policy policy,
                                std::string_view reserved_prefix) {
    read_headers r;
    auto unfit = [&](std::string why) {
        if (policy == unfit_policy::reject && r.problem.empty())
            r.problem = std::move(why);
        else
            ++r.skipped;
    };
    const int n = table.entries == nullptr ? 0 : table.num_entries;
    for (int i = 0; i < n && r.problem.empty(); ++i) {
        const auto& e = table.entries[i];
        const std::string_view key = view(e.key);
        if (key.empty() || key.size() > max_header_bytes) {
            unfit("a header name of " + std::to_string(key.size()) + " bytes (Iggy: 1 to 255)");
            continue;
        }
        std::string name(key);
        if (!reserved_prefix.empty() && key.starts_with(reserved_prefix)) {
            unfit("header \"" + name + "\" is one the source sets itself");
            continue;
        }
        bool seen = false;
        for (const auto& h : r.headers)
            seen = seen || h.key == key;
        if (seen)
            continue;  // a repeated name: the first one wins
        const auto& v = e.value;
        switch (v.kind) {
            case AMQP_FIELD_KIND_BOOLEAN:
                r.headers.push_back(
                    header{name, value_kind::boolean, std::string(1, v.value.boolean ? 1 : 0)});
                break;
            case AMQP_FIELD_KIND_I8:
                r.headers.push_back(num_header(name, value_kind::int8, v.value.i8));
                break;
            case AMQP_FIELD_KIND_U8:
                r.headers.push_back(num_header(name, value_kind::uint8, v.value.u8));
                break;
            case AMQP_FIELD_KIND_I16:
                r.headers.push_back(num_header(name, value_kind::int16, v.value.i16));
                break;
            case AMQP_FIELD_KIND_U16:
                r.headers.push_back(num_header(name, value_kind::uint16, v.value.u16));
                break;
            case AMQP_FIELD_KIND_I32:
                r.headers.push_back(num_header(name, value_kind::int32, v.value.i32));
                break;
            case AMQP_FIELD_KIND_U32:
                r.headers.push_back(num_header(name, value_kind::uint32, v.value.u32));
                break;
            case AMQP_FIELD_KIND_I64:
                r.headers.push_back(num_header(name, value_kind::int64, v.value.i64));
                break;
            case AMQP_FIELD_KIND_U64:
            case AMQP_FIELD_KIND_TIMESTAMP:
                r.headers.push_back(num_header(name, value_kind::uint64, v.value.u64));
                break;
            case AMQP_FIELD_KIND_F32:
                r.headers.push_back(num_header(name, value_kind::float32, v.value.f32));
                break;
            case AMQP_FIELD_KIND_F64:
                r.headers.push_back(num_header(name, value_kind::float64, v.value.f64));
                break;
            case AMQP_FIELD_KIND_DECIMAL: {
                // Up to 255 decimal places: the text may pass Iggy's 255 bytes.
                std::string text = decimal_text(v.value.decimal);
                if (text.size() > max_header_bytes) {
                    unfit("header \"" + name + "\" is a decimal of " + std::to_string(text.size()) +
                          " characters (Iggy: at most 255)");
                    break;
                }
                r.headers.push_back(header{name, value_kind::string, std::move(text)});
                break;
            }
            case AMQP_FIELD_KIND_UTF8:
            case AMQP_FIELD_KIND_BYTES: {
                const auto val = view(v.value.bytes);
                if (val.empty() || val.size() > max_header_bytes) {
                    unfit("header \"" + name + "\" has a value of " + std::to_string(val.size()) +
                          " bytes (Iggy: 1 to 255)");
                    break;
                }
                r.headers.push_back(header{
                    name, v.kind == AMQP_FIELD_KIND_UTF8 ? value_kind::string : value_kind::raw,
                    std::string(val)});
                break;
            }
            case AMQP_FIELD_KIND_ARRAY:
            case AMQP_FIELD_KIND_TABLE: {
                std::string json;
                if (!field_json(v, json, max_json_depth, max_header_bytes) || json.empty()) {
                    unfit("header \"" + name + "\" is a table or array whose JSON text is " +
                          "longer than 255 bytes or nested deeper than 16 levels");
                    break;
                }
                r.headers.push_back(header{name, value_kind::string, std::move(json)});
                break;
            }
            case AMQP_FIELD_KIND_VOID:
            default:
                unfit("header \"" + name + "\" has no value (void)");
                break;
        }
    }
    return r;
}

void table_of(const std::vector<header>& headers, const std::vector<header>& extra,
              table_storage& out) {
    out.entries.clear();
    out.bytes.clear();
    // Each header needs at most two strings (key, value): reserve so that none moves.
    out.bytes.reserve(2 * (headers.size() + extra.size()));
    out.entries.reserve(headers.size() + extra.size());
    auto bytes_of = [&](std::string s) {
        out.bytes.push_back(std::move(s));
        return amqp_bytes_t{out.bytes.back().size(), out.bytes.back().data()};
    };
    auto add = [&](const header& h) {
        amqp_table_entry_t e{};
        e.key = bytes_of(h.key);
        if (h.kind == value_kind::string) {
            e.value.kind = AMQP_FIELD_KIND_UTF8;
            e.value.value.bytes = bytes_of(h.value);
        } else if ((h.kind == value_kind::int128 || h.kind == value_kind::uint128) &&
                   h.value.size() == 16) {
            e.value.kind = AMQP_FIELD_KIND_UTF8;
            e.value.value.bytes = bytes_of(header_text(h));
        } else if (!fixed_width_value(h, e.value)) {
            // raw, or a numeric header of the wrong width: the bytes as they are
            e.value.kind = AMQP_FIELD_KIND_BYTES;
            e.value.value.bytes = bytes_of(h.value);
        }
        out.entries.push_back(e);
    };
    for (const auto& h : headers)
        add(h);
    for (const auto& h : extra)
        add(h);
}

}  // namespace trib::connectors::rabbitmq
