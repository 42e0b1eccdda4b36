#include "connectors/mysql/row_image.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

#include "core/base64.h"
#include "core/json_parse.h"
#include "core/json_text.h"

namespace trib::connectors::mysql {

namespace {

// MYSQL_TYPE_* numbers (mysql_com.h), spelled out so that this file needs no vendor header.
enum : std::uint8_t {
    t_decimal = 0,
    t_tiny = 1,
    t_short = 2,
    t_long = 3,
    t_float = 4,
    t_double = 5,
    t_null = 6,
    t_timestamp = 7,
    t_longlong = 8,
    t_int24 = 9,
    t_date = 10,
    t_time = 11,
    t_datetime = 12,
    t_year = 13,
    t_newdate = 14,
    t_varchar = 15,
    t_bit = 16,
    t_timestamp2 = 17,
    t_datetime2 = 18,
    t_time2 = 19,
    t_json = 245,
    t_newdecimal = 246,
    t_enum = 247,
    t_set = 248,
    t_tiny_blob = 249,
    t_medium_blob = 250,
    t_long_blob = 251,
    t_blob = 252,
    t_var_string = 253,
    t_string = 254,
    t_geometry = 255,
};

error bad(std::string what) {
    return error(errc::protocol_error, retry_class::fatal, "binlog row image: " + what);
}

struct reader {
    std::string_view d;
    std::size_t& pos;

    bool has(std::size_t n) const { return pos <= d.size() && d.size() - pos >= n; }
    result<std::string_view> take(std::size_t n, const char* what) {
        if (!has(n))
            return unexpected(bad(fmt::format("{} needs {} bytes, {} left", what, n,
                                              pos <= d.size() ? d.size() - pos : 0)));
        auto v = d.substr(pos, n);
        pos += n;
        return v;
    }
    result<std::uint64_t> le(std::size_t n, const char* what) {
        TRIB_ASSIGN_OR_RETURN(auto b, take(n, what));
        std::uint64_t v = 0;
        for (std::size_t i = n; i-- > 0;)
            v = (v << 8) | static_cast<unsigned char>(b[i]);
        return v;
    }
    result<std::uint64_t> be(std::size_t n, const char* what) {
        TRIB_ASSIGN_OR_RETURN(auto b, take(n, what));
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i)
            v = (v << 8) | static_cast<unsigned char>(b[i]);
        return v;
    }
    // The packed integer of the binlog (net_field_length): < 251 itself, 252/253/254 + 2/3/8.
    result<std::uint64_t> packed(const char* what) {
        TRIB_ASSIGN_OR_RETURN(auto first, le(1, what));
        if (first < 251)
            return first;
        if (first == 252)
            return le(2, what);
        if (first == 253)
            return le(3, what);
        if (first == 254)
            return le(8, what);
        return unexpected(bad(fmt::format("{}: bad packed length byte {}", what, first)));
    }
};

void text_json(std::string& out, std::string_view bytes, text_charset cs) {
    if (cs == text_charset::latin1) {
        std::string u;
        for (unsigned char c : bytes) {
            if (c < 0x80) {
                u += static_cast<char>(c);
            } else {
                u += static_cast<char>(0xC0 | (c >> 6));
                u += static_cast<char>(0x80 | (c & 0x3F));
            }
        }
        append_json_string(out, u);
    } else if (cs != text_charset::binary && valid_utf8(bytes)) {
        append_json_string(out, bytes);
    } else {
        append_json_string(out, base64_encode(bytes));
    }
}

std::string fraction(std::uint64_t usec, unsigned fsp) {
    if (fsp == 0)
        return {};
    static constexpr std::uint64_t div[7] = {1000000, 100000, 10000, 1000, 100, 10, 1};
    return fmt::format(".{:0{}}", usec / div[fsp], fsp);  // div[fsp] = 10^(6 - fsp)
}

// The fractional seconds stored after TIMESTAMP2/DATETIME2 (big-endian, (fsp+1)/2 bytes).
result<std::uint64_t> frac_usec(reader& r, unsigned fsp) {
    if (fsp > 6)
        return unexpected(bad(fmt::format("fractional precision {} > 6", fsp)));
    std::size_t n = (fsp + 1) / 2;
    if (n == 0)
        return std::uint64_t{0};
    TRIB_ASSIGN_OR_RETURN(auto v, r.be(n, "fractional seconds"));
    return n == 1 ? v * 10000 : n == 2 ? v * 100 : v;
}

result<std::string> decimal(reader& r, std::uint16_t meta) {
    static constexpr int dig2bytes[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};
    const int precision = meta >> 8, scale = meta & 0xff;
    if (precision < 1 || precision > 65 || scale > 38 || scale > precision)
        return unexpected(bad(fmt::format("DECIMAL({},{}) out of range", precision, scale)));
    const int intg = precision - scale;
    const int intg0 = intg / 9, intg0x = intg % 9, frac0 = scale / 9, frac0x = scale % 9;
    const std::size_t size =
        static_cast<std::size_t>(intg0 * 4 + dig2bytes[intg0x] + frac0 * 4 + dig2bytes[frac0x]);
    TRIB_ASSIGN_OR_RETURN(auto raw, r.take(size, "DECIMAL"));
    std::string b(raw);
    const bool negative = (static_cast<unsigned char>(b[0]) & 0x80) == 0;
    b[0] = static_cast<char>(b[0] ^ 0x80);
    if (negative) {
        for (auto& c : b)
            c = static_cast<char>(~c);
    }
    std::size_t p = 0;
    auto group = [&](int bytes) {
        std::uint32_t v = 0;
        for (int i = 0; i < bytes; ++i)
            v = (v << 8) | static_cast<unsigned char>(b[p++]);
        return v;
    };
    std::string ip;
    if (intg0x > 0)
        ip += std::to_string(group(dig2bytes[intg0x]));
    for (int i = 0; i < intg0; ++i)
        ip += fmt::format("{:09}", group(4));
    std::size_t nz = ip.find_first_not_of('0');
    ip = nz == std::string::npos ? "0" : ip.substr(nz);
    std::string fp;
    for (int i = 0; i < frac0; ++i)
        fp += fmt::format("{:09}", group(4));
    if (frac0x > 0)
        fp += fmt::format("{:0{}}", group(dig2bytes[frac0x]), frac0x);
    // A well-formed value never has more digits in a group than the group holds.
    if (fp.size() != static_cast<std::size_t>(scale) ||
        ip.size() > static_cast<std::size_t>(std::max(intg, 1)))
        return unexpected(bad("DECIMAL digits out of range"));
    std::string out =
        negative && (ip != "0" || fp.find_first_not_of('0') != std::string::npos) ? "-" : "";
    out += ip;
    if (scale > 0)
        out += "." + fp;
    return out;
}

result<std::string> time2(reader& r, unsigned fsp) {
    if (fsp > 6)
        return unexpected(bad(fmt::format("fractional precision {} > 6", fsp)));
    // Packed as a big-endian signed number of (hours<<12 | minutes<<6 | seconds) << 24 | usec,
    // offset by 0x800000000000 and cut to 3 + (fsp+1)/2 bytes.
    std::size_t fb = (fsp + 1) / 2;
    TRIB_ASSIGN_OR_RETURN(auto v, r.be(3 + fb, "TIME2"));
    std::int64_t packed = static_cast<std::int64_t>(v << (8 * (3 - fb)));  // to 6 bytes
    packed -= 0x800000000000LL;
    bool neg = packed < 0;
    std::uint64_t a = static_cast<std::uint64_t>(neg ? -packed : packed);
    std::uint64_t usec = a & 0xffffff;
    std::uint64_t hms = a >> 24;
    if (fb == 1)
        usec = (usec >> 16) * 10000;
    else if (fb == 2)
        usec = (usec >> 8) * 100;
    return fmt::format("\"{}{:02}:{:02}:{:02}{}\"", neg ? "-" : "", (hms >> 12) % 1024,
                       (hms >> 6) % 64, hms % 64, fraction(usec, fsp));
}

}  // namespace

result<std::string> decode_value(std::uint8_t type, std::uint16_t meta, bool is_unsigned,
                                 std::string_view data, std::size_t& pos, text_charset cs) {
    reader r{data, pos};
    std::string out;
    auto integer = [&](std::size_t n) -> result<std::string> {
        TRIB_ASSIGN_OR_RETURN(auto v, r.le(n, "integer"));
        if (is_unsigned)
            return std::to_string(v);
        const unsigned bits = static_cast<unsigned>(8 * n);
        std::int64_t s = bits == 64 ? static_cast<std::int64_t>(v)
                         : (v >> (bits - 1)) & 1
                             ? static_cast<std::int64_t>(v) - (std::int64_t{1} << bits)
                             : static_cast<std::int64_t>(v);
        return std::to_string(s);
    };
    auto length_prefixed = [&](std::size_t len_bytes,
                               const char* what) -> result<std::string_view> {
        TRIB_ASSIGN_OR_RETURN(auto n, r.le(len_bytes, what));
        return r.take(static_cast<std::size_t>(n), what);
    };
    switch (type) {
        case t_tiny:
            return integer(1);
        case t_short:
            return integer(2);
        case t_int24:
            return integer(3);
        case t_long:
            return integer(4);
        case t_longlong:
            return integer(8);
        case t_float: {
            TRIB_ASSIGN_OR_RETURN(auto v, r.le(4, "FLOAT"));
            float f;
            auto u = static_cast<std::uint32_t>(v);
            std::memcpy(&f, &u, 4);
            return std::isfinite(f) ? fmt::format("{}", f) : "null";
        }
        case t_double: {
            TRIB_ASSIGN_OR_RETURN(auto v, r.le(8, "DOUBLE"));
            double f;
            std::memcpy(&f, &v, 8);
            return std::isfinite(f) ? fmt::format("{}", f) : "null";
        }
        case t_null:
            return std::string("null");
        case t_year: {
            TRIB_ASSIGN_OR_RETURN(auto v, r.le(1, "YEAR"));
            return std::to_string(v == 0 ? 0 : 1900 + v);
        }
        case t_newdecimal:
            return decimal(r, meta);
        case t_date:
        case t_newdate: {
            TRIB_ASSIGN_OR_RETURN(auto v, r.le(3, "DATE"));
            return fmt::format("\"{:04}-{:02}-{:02}\"", v >> 9, (v >> 5) & 15, v & 31);
        }
        case t_timestamp: {
            TRIB_ASSIGN_OR_RETURN(auto v, r.le(4, "TIMESTAMP"));
            std::time_t secs = static_cast<std::time_t>(v);
            std::tm tm{};
            ::gmtime_r(&secs, &tm);
            return fmt::format("\"{:04}-{:02}-{:02} {:02}:{:02}:{:02}\"", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        }
        case t_timestamp2: {
            TRIB_ASSIGN_OR_RETURN(auto v, r.be(4, "TIMESTAMP2"));
            TRIB_ASSIGN_OR_RETURN(auto usec, frac_usec(r, meta));
            std::time_t secs = static_cast<std::time_t>(v);
            std::tm tm{};
            ::gmtime_r(&secs, &tm);
            return fmt::format("\"{:04}-{:02}-{:02} {:02}:{:02}:{:02}{}\"", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                               fraction(usec, meta));
        }
        case t_datetime: {
            TRIB_ASSIGN_OR_RETURN(auto v, r.le(8, "DATETIME"));
            return fmt::format("\"{:04}-{:02}-{:02} {:02}:{:02}:{:02}\"", v / 10000000000 % 10000,
                               v / 100000000 % 100, v / 1000000 % 100, v / 10000 % 100,
                               v / 100 % 100, v % 100);
        }
        case t_datetime2: {
            TRIB_ASSIGN_OR_RETURN(auto v, r.be(5, "DATETIME2"));
            TRIB_ASSIGN_OR_RETURN(auto usec, frac_usec(r, meta));
            std::uint64_t packed = v >= 0x8000000000ULL ? v - 0x8000000000ULL : 0;
            std::uint64_t ymd = packed >> 17, ym = ymd >> 5, hms = packed & 0x1ffff;
            return fmt::format("\"{:04}-{:02}-{:02} {:02}:{:02}:{:02}{}\"", ym / 13, ym % 13,
                               ymd & 31, hms >> 12, (hms >> 6) & 63, hms & 63,
                               fraction(usec, meta));
        }
        case t_time: {
            TRIB_ASSIGN_OR_RETURN(auto v, r.le(3, "TIME"));
            return fmt::format("\"{:02}:{:02}:{:02}\"", v / 10000, v / 100 % 100, v % 100);
        }
        case t_time2:
            return time2(r, meta);
        case t_bit: {
            std::size_t n = (meta >> 8) + ((meta & 0xff) ? 1 : 0);
            if (n > 8)
                return unexpected(bad("BIT wider than 64 bits"));
            TRIB_ASSIGN_OR_RETURN(auto v, r.be(n, "BIT"));
            return std::to_string(v);
        }
        case t_varchar:
        case t_var_string: {
            TRIB_ASSIGN_OR_RETURN(auto s, length_prefixed(meta < 256 ? 1 : 2, "VARCHAR"));
            text_json(out, s, cs);
            return out;
        }
        case t_string:
        case t_enum:
        case t_set: {
            std::uint8_t real = type == t_string ? static_cast<std::uint8_t>(meta >> 8) : type;
            if (real == t_enum) {
                std::size_t n = meta & 0xff;
                if (n != 1 && n != 2)
                    return unexpected(bad("ENUM of size " + std::to_string(n)));
                TRIB_ASSIGN_OR_RETURN(auto v, r.le(n, "ENUM"));
                return std::to_string(v);
            }
            if (real == t_set) {
                std::size_t n = meta & 0xff;
                if (n == 0 || n > 8)
                    return unexpected(bad("SET of size " + std::to_string(n)));
                TRIB_ASSIGN_OR_RETURN(auto v, r.le(n, "SET"));
                return std::to_string(v);
            }
            std::size_t max_len =
                static_cast<std::size_t>(((meta >> 4) & 0x300) ^ 0x300) + (meta & 0xff);
            TRIB_ASSIGN_OR_RETURN(auto s, length_prefixed(max_len > 255 ? 2 : 1, "CHAR"));
            text_json(out, s, cs);
            return out;
        }
        case t_tiny_blob:
        case t_medium_blob:
        case t_long_blob:
        case t_blob:
        case t_geometry:
        case t_json: {
            if (meta < 1 || meta > 4)
                return unexpected(bad("BLOB length size " + std::to_string(meta)));
            TRIB_ASSIGN_OR_RETURN(auto s, length_prefixed(meta, "BLOB"));
            // MySQL's binary JSON and geometries are not text: base64, like binary strings.
            if (type == t_json || type == t_geometry)
                append_json_string(out, base64_encode(s));
            else
                text_json(out, s, cs);
            return out;
        }
        default:
            return unexpected(bad("unsupported column type " + std::to_string(type)));
    }
}

status parse_column_meta(table_map& t, std::string_view metadata) {
    t.meta.assign(t.types.size(), 0);
    std::size_t pos = 0;
    reader r{metadata, pos};
    for (std::size_t i = 0; i < t.types.size(); ++i) {
        switch (t.types[i]) {
            case t_float:
            case t_double:
            case t_tiny_blob:
            case t_medium_blob:
            case t_long_blob:
            case t_blob:
            case t_geometry:
            case t_json:
            case t_timestamp2:
            case t_datetime2:
            case t_time2: {
                TRIB_ASSIGN_OR_RETURN(auto v, r.le(1, "column metadata"));
                t.meta[i] = static_cast<std::uint16_t>(v);
                break;
            }
            case t_varchar:
            case t_var_string:
            case t_bit: {
                TRIB_ASSIGN_OR_RETURN(auto v, r.le(2, "column metadata"));
                t.meta[i] = static_cast<std::uint16_t>(v);
                break;
            }
            case t_newdecimal:
            case t_string:
            case t_enum:
            case t_set: {
                // Two bytes, the first one high (precision/scale, real type/length).
                TRIB_ASSIGN_OR_RETURN(auto v, r.be(2, "column metadata"));
                t.meta[i] = static_cast<std::uint16_t>(v);
                break;
            }
            default:
                break;
        }
    }
    if (pos != metadata.size())
        return unexpected(
            bad(fmt::format("{} bytes of column metadata left over", metadata.size() - pos)));
    return ok();
}

status parse_optional_meta(table_map& t, std::string_view tlvs) {
    std::size_t pos = 0;
    reader r{tlvs, pos};
    t.is_unsigned.assign(t.types.size(), false);
    while (pos < tlvs.size()) {
        TRIB_ASSIGN_OR_RETURN(auto kind, r.le(1, "optional metadata type"));
        TRIB_ASSIGN_OR_RETURN(auto len, r.packed("optional metadata length"));
        TRIB_ASSIGN_OR_RETURN(auto value,
                              r.take(static_cast<std::size_t>(len), "optional metadata"));
        std::size_t vp = 0;
        reader v{value, vp};
        if (kind == 1) {  // SIGNEDNESS: one bit per numeric column, most significant first
            std::size_t bit = 0;
            for (std::size_t i = 0; i < t.types.size(); ++i) {
                auto ty = t.types[i];
                bool numeric = ty == t_tiny || ty == t_short || ty == t_int24 || ty == t_long ||
                               ty == t_longlong || ty == t_newdecimal || ty == t_float ||
                               ty == t_double || ty == t_decimal;
                if (!numeric)
                    continue;
                if (bit / 8 >= value.size())
                    return unexpected(bad("SIGNEDNESS bitmap too short"));
                t.is_unsigned[i] =
                    (static_cast<unsigned char>(value[bit / 8]) >> (7 - bit % 8)) & 1;
                ++bit;
            }
        } else if (kind == 4) {  // COLUMN_NAME: a packed length and the name, per column
            t.names.clear();
            while (vp < value.size()) {
                TRIB_ASSIGN_OR_RETURN(auto n, v.packed("column name length"));
                TRIB_ASSIGN_OR_RETURN(auto name,
                                      v.take(static_cast<std::size_t>(n), "column name"));
                t.names.emplace_back(name);
            }
            if (t.names.size() != t.types.size())
                return unexpected(bad(
                    fmt::format("{} column names for {} columns", t.names.size(), t.types.size())));
        } else if (kind == 8) {  // SIMPLE_PRIMARY_KEY: packed column indexes
            t.primary_key.clear();
            while (vp < value.size()) {
                TRIB_ASSIGN_OR_RETURN(auto c, v.packed("primary key column"));
                if (c >= t.types.size())
                    return unexpected(
                        bad("primary key column " + std::to_string(c) + " out of range"));
                t.primary_key.push_back(static_cast<std::size_t>(c));
            }
        }
    }
    return ok();
}

result<row_image> decode_row_image(const table_map& t, std::string_view data, std::size_t& pos,
                                   std::string_view present) {
    const std::size_t n = t.types.size();
    if (present.size() < (n + 7) / 8)
        return unexpected(bad("column bitmap shorter than the column count"));
    if (t.meta.size() != n)
        return unexpected(bad("table map without column metadata"));
    auto bit = [](std::string_view bm, std::size_t i) {
        return (static_cast<unsigned char>(bm[i / 8]) >> (i % 8)) & 1;
    };
    std::size_t count = 0;
    for (std::size_t i = 0; i < n; ++i)
        count += bit(present, i);
    reader r{data, pos};
    TRIB_ASSIGN_OR_RETURN(auto nulls, r.take((count + 7) / 8, "null bitmap"));
    row_image img(n);
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (!bit(present, i))
            continue;
        bool is_null = bit(nulls, k++);
        if (is_null) {
            img[i] = "null";
            continue;
        }
        bool uns = i < t.is_unsigned.size() && t.is_unsigned[i];
        text_charset cs = i < t.charsets.size() ? t.charsets[i] : text_charset::unknown;
        auto v = decode_value(t.types[i], t.meta[i], uns, data, pos, cs);
        if (!v) {
            std::string col = i < t.names.size() ? t.names[i] : "#" + std::to_string(i);
            return unexpected(v.error().wrap("column " + col));
        }
        img[i] = std::move(*v);
    }
    return img;
}

}  // namespace trib::connectors::mysql
