#include "connectors/file/state.h"

#include <fmt/format.h>

#include "core/json_text.h"
#include "core/parse_number.h"

namespace trib::connectors::file_detail {
namespace {

/// At most this much of a bad line goes into an error message.
std::string excerpt(std::string_view s) {
    constexpr std::size_t k_max = 80;
    std::string out;
    for (char c : s.substr(0, k_max)) {
        const auto u = static_cast<unsigned char>(c);
        out += (u < 0x20 || u >= 0x7f) ? '?' : c;
    }
    if (s.size() > k_max)
        out += "...";
    return out;
}

/// Reads a JSON string starting at s[i] == '"' (the escapes append_json_string writes, and the
/// simple ones) into `out` (replaced; nullptr: only skipped, nothing allocated); advances i past
/// it. False when unterminated or malformed.
bool read_string(std::string_view s, std::size_t& i, std::string* out) {
    if (i >= s.size() || s[i] != '"')
        return false;
    if (out != nullptr)
        out->clear();
    auto put = [&](char c) {
        if (out != nullptr)
            out->push_back(c);
    };
    for (++i; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '"') {
            ++i;
            return true;
        }
        if (c != '\\') {
            put(c);
            continue;
        }
        if (++i >= s.size())
            return false;
        switch (s[i]) {
            case 'n':
                put('\n');
                break;
            case 'r':
                put('\r');
                break;
            case 't':
                put('\t');
                break;
            case 'b':
                put('\b');
                break;
            case 'f':
                put('\f');
                break;
            case 'u': {
                if (i + 4 >= s.size())
                    return false;
                const auto v = parse_u16(s.substr(i + 1, 4), 16);
                if (!v || *v > 0x7f)
                    return false;  // we escape only ASCII control bytes this way
                put(static_cast<char>(*v));
                i += 4;
                break;
            }
            case '"':
            case '\\':
            case '/':
                put(s[i]);
                break;
            default:
                return false;
        }
    }
    return false;
}

/// Reads the decimal digits at s[i]; nullopt when there are none or they do not fit T.
template <class T>
std::optional<T> read_number(std::string_view s, std::size_t& i) {
    const std::size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9')
        ++i;
    return parse_int<T>(s.substr(start, i - start));
}

bool expect(std::string_view s, std::size_t& i, std::string_view lit) {
    if (s.substr(i, lit.size()) != lit)
        return false;
    i += lit.size();
    return true;
}

/// Reads `{"stream":..,"topic":..,"partition":N,"offset":N`, then what may follow it in a data
/// line (`,"id":".."`) or a sidecar line, and `,"timestamp":N` if present, into `k` (its strings
/// reused). `i` ends after it.
bool read_key(std::string_view s, std::size_t& i, line_key& k) {
    if (!expect(s, i, "{\"stream\":") || !read_string(s, i, &k.stream) ||
        !expect(s, i, ",\"topic\":") || !read_string(s, i, &k.topic) ||
        !expect(s, i, ",\"partition\":")) {
        return false;
    }
    auto p = read_number<std::uint32_t>(s, i);
    if (!p || !expect(s, i, ",\"offset\":"))
        return false;
    auto o = read_number<std::uint64_t>(s, i);
    if (!o)
        return false;
    if (expect(s, i, ",\"id\":") && !read_string(s, i, nullptr))
        return false;
    k.at.timestamp = UINT64_MAX;
    if (expect(s, i, ",\"timestamp\":")) {
        auto ts = read_number<std::uint64_t>(s, i);
        if (!ts)
            return false;
        k.at.timestamp = *ts;
    }
    k.partition = *p;
    k.at.offset = *o;
    return true;
}

/// Parses `{"current":{"dev":D,"ino":I,"size":S}}`.
std::optional<checkpoint> read_checkpoint(std::string_view s) {
    std::size_t i = 0;
    checkpoint c;
    if (!expect(s, i, "{\"current\":{\"dev\":"))
        return std::nullopt;
    auto d = read_number<std::uint64_t>(s, i);
    if (!d || !expect(s, i, ",\"ino\":"))
        return std::nullopt;
    auto n = read_number<std::uint64_t>(s, i);
    if (!n || !expect(s, i, ",\"size\":"))
        return std::nullopt;
    auto z = read_number<std::uint64_t>(s, i);
    if (!z || !expect(s, i, "}}") || i != s.size())
        return std::nullopt;
    c.dev = *d;
    c.ino = *n;
    c.size = *z;
    return c;
}

}  // namespace

std::string source_position::encode() const {
    return fmt::format("v1 {} {} {} {} {:016x}", dev, ino, offset, fp_len, fp);
}

result<source_position> decode_source_position(std::string_view text) {
    std::string_view s = text;
    if (!s.empty() && s.back() == '\n')
        s.remove_suffix(1);
    auto bad = [&](std::string_view why) {
        return fail(errc::data_loss,
                    fmt::format("file source state \"{}\": {}", excerpt(text), why));
    };
    std::string_view f[6];
    std::size_t n = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || s[i] == ' ') {
            if (n == 6)
                return bad("more than 6 fields");
            f[n++] = s.substr(start, i - start);
            start = i + 1;
        }
    }
    if (n != 6)
        return bad("expected 6 fields \"v1 <dev> <inode> <offset> <fp_len> <fp>\"");
    if (f[0] != "v1")
        return bad("unknown version \"" + excerpt(f[0]) + "\"");
    source_position p;
    const char* names[] = {"device", "inode", "offset", "fingerprint length"};
    std::uint64_t* dst[] = {&p.dev, &p.ino, &p.offset, &p.fp_len};
    for (int k = 0; k < 4; ++k) {
        auto v = parse_u64(f[k + 1]);
        if (!v) {
            return bad(fmt::format("{} \"{}\" is not an unsigned 64-bit decimal", names[k],
                                   excerpt(f[k + 1])));
        }
        *dst[k] = *v;
    }
    if (p.fp_len > k_fp_len)
        return bad(fmt::format("fingerprint length {} is over {}", p.fp_len, k_fp_len));
    auto fp = f[5].size() == 16 ? parse_u64(f[5], 16) : std::nullopt;
    if (!fp)
        return bad("fingerprint \"" + excerpt(f[5]) + "\" is not 16 hex digits");
    p.fp = *fp;
    return p;
}

std::string encode_sidecar(const sidecar& s) {
    std::string out;
    if (s.current) {
        fmt::format_to(std::back_inserter(out),
                       "{{\"current\":{{\"dev\":{},\"ino\":{},\"size\":{}}}}}\n", s.current->dev,
                       s.current->ino, s.current->size);
    }
    for (const auto& [k, m] : s.marks) {
        out += "{\"stream\":";
        append_json_string(out, std::get<0>(k));
        out += ",\"topic\":";
        append_json_string(out, std::get<1>(k));
        fmt::format_to(std::back_inserter(out), ",\"partition\":{},\"offset\":{}", std::get<2>(k),
                       m.offset);
        if (m.timestamp != UINT64_MAX)
            fmt::format_to(std::back_inserter(out), ",\"timestamp\":{}", m.timestamp);
        out += "}\n";
    }
    return out;
}

result<sidecar> decode_sidecar(std::string_view text) {
    sidecar out;
    std::size_t pos = 0;
    std::size_t line_no = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        if (nl == std::string_view::npos)
            nl = text.size();
        const std::string_view line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++line_no;
        if (line.empty())
            continue;
        auto bad = [&](std::string_view why) {
            return fail(errc::data_loss,
                        fmt::format("line {} \"{}\": {}", line_no, excerpt(line), why));
        };
        if (line.starts_with("{\"current\":")) {
            if (out.current)
                return bad("a second checkpoint");
            out.current = read_checkpoint(line);
            if (!out.current)
                return bad("not a checkpoint {\"current\":{\"dev\":D,\"ino\":I,\"size\":S}}");
            continue;
        }
        std::size_t i = 0;
        line_key k;
        if (!read_key(line, i, k) || !expect(line, i, "}") || i != line.size()) {
            return bad(
                "not a high-water mark {\"stream\":..,\"topic\":..,\"partition\":N,"
                "\"offset\":N[,\"timestamp\":N]}");
        }
        out.marks[std::make_tuple(std::move(k.stream), std::move(k.topic), k.partition)] = k.at;
    }
    return out;
}

bool parse_line_key(std::string_view line, line_key& out) {
    std::size_t i = 0;
    return read_key(line, i, out);
}

bool is_our_torn_line(std::string_view tail, bool metadata) {
    if (tail.empty())
        return false;
    if (!metadata) {
        constexpr std::string_view open = "{\"payload\":";
        return tail.size() < open.size() ? open.starts_with(tail) : tail.starts_with(open);
    }
    // With metadata: the fixed fields of append_line, in order, as far as the tail goes.
    enum class tok { lit, str, digits, id, rest };
    struct step {
        tok t;
        std::string_view lit;
    };
    static constexpr step shape[] = {
        {tok::lit, "{\"stream\":"},
        {tok::str, {}},
        {tok::lit, ",\"topic\":"},
        {tok::str, {}},
        {tok::lit, ",\"partition\":"},
        {tok::digits, {}},
        {tok::lit, ",\"offset\":"},
        {tok::digits, {}},
        {tok::lit, ",\"id\":\""},
        {tok::id, {}},  // 32 hex digits
        {tok::lit, "\",\"timestamp\":"},
        {tok::digits, {}},
        {tok::lit, ",\"origin_timestamp\":"},
        {tok::digits, {}},
        {tok::lit, ",\""},
        {tok::rest, {}},  // headers or payload, whose content is not checked
    };
    auto is_hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
    std::size_t i = 0;
    for (const auto& st : shape) {
        if (i >= tail.size())
            return true;  // cut off here: everything before matched
        const std::string_view rest = tail.substr(i);
        switch (st.t) {
            case tok::lit: {
                const auto have = rest.substr(0, st.lit.size());
                if (!st.lit.starts_with(have))
                    return false;
                i += have.size();
                break;
            }
            case tok::str: {
                if (rest[0] != '"')
                    return false;
                std::size_t j = 1;
                bool closed = false;
                for (; j < rest.size(); ++j) {
                    if (rest[j] == '\\') {
                        ++j;
                        continue;
                    }
                    if (rest[j] == '"') {
                        closed = true;
                        ++j;
                        break;
                    }
                    if (static_cast<unsigned char>(rest[j]) < 0x20)
                        return false;  // we escape control bytes
                }
                if (!closed)
                    return true;
                i += j;
                break;
            }
            case tok::digits: {
                std::size_t j = 0;
                while (j < rest.size() && rest[j] >= '0' && rest[j] <= '9')
                    ++j;
                if (j == 0 || j > 20)  // none, or more than any 64-bit number has
                    return false;
                i += j;
                break;
            }
            case tok::id: {
                std::size_t j = 0;
                while (j < rest.size() && j < 32 && is_hex(rest[j]))
                    ++j;
                if (j < rest.size() && j < 32)
                    return false;
                i += j;
                break;
            }
            case tok::rest: {
                for (std::string_view field :
                     {std::string_view("headers\":{"), std::string_view("payload\":")}) {
                    if (rest.starts_with(field) || field.starts_with(rest))
                        return true;
                }
                return false;
            }
        }
    }
    return true;
}

}  // namespace trib::connectors::file_detail
