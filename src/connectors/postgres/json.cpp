#include "connectors/postgres/json.h"
#include "core/base64.h"
#include "core/hex.h"
#include "core/json_parse.h"
#include "core/json_text.h"

#include <optional>

namespace trib::connectors::postgres::json {

namespace {

// SAX events to document nodes. Numbers arrive as raw text (kParseNumbersAsStringsFlag).
struct handler {
    document& d;

    std::string_view keep(const char* s, rapidjson::SizeType n, bool copy) {
        if (!copy)
            return {s, n};
        d.arena_.emplace_back(s, n);
        return d.arena_.back();
    }
    bool value(node n) {
        d.add(n);
        return true;
    }
    bool Null() { return value(node{}); }
    bool Bool(bool b) {
        node n;
        n.k = kind::boolean;
        n.b = b;
        return value(n);
    }
    // Not called with kParseNumbersAsStringsFlag; required by the handler concept.
    bool Int(int) { return false; }
    bool Uint(unsigned) { return false; }
    bool Int64(std::int64_t) { return false; }
    bool Uint64(std::uint64_t) { return false; }
    bool Double(double) { return false; }
    bool RawNumber(const char* s, rapidjson::SizeType len, bool copy) {
        node n;
        n.k = kind::number;
        n.text = keep(s, len, copy);
        return value(n);
    }
    bool String(const char* s, rapidjson::SizeType len, bool copy) {
        node n;
        n.k = kind::string;
        n.text = keep(s, len, copy);
        return value(n);
    }
    bool StartObject() { return start(kind::object); }
    bool Key(const char* s, rapidjson::SizeType len, bool copy) {
        d.pending_key_ = keep(s, len, copy);
        return true;
    }
    bool EndObject(rapidjson::SizeType) { return end(); }
    bool StartArray() { return start(kind::array); }
    bool EndArray(rapidjson::SizeType) { return end(); }

    bool start(kind k) {
        node n;
        n.k = k;
        std::int32_t i = d.add(n);
        d.stack_.push_back(i);
        d.last_child_.push_back(-1);
        return true;
    }
    bool end() {
        d.stack_.pop_back();
        d.last_child_.pop_back();
        return true;
    }
};

}  // namespace

std::int32_t document::add(node n) {
    auto idx = static_cast<std::int32_t>(nodes_.size());
    if (!stack_.empty()) {
        std::int32_t parent = stack_.back();
        if (nodes_[static_cast<std::size_t>(parent)].k == kind::object) {
            n.key = pending_key_;
        }
        std::int32_t& last = last_child_.back();
        if (last < 0) {
            nodes_[static_cast<std::size_t>(parent)].first = idx;
        } else {
            nodes_[static_cast<std::size_t>(last)].next = idx;
        }
        last = idx;
        nodes_[static_cast<std::size_t>(parent)].count++;
    }
    nodes_.push_back(n);
    return idx;
}

status document::parse(std::string_view text) {
    nodes_.clear();
    stack_.clear();
    last_child_.clear();
    arena_.clear();
    // In-situ parsing unescapes strings inside our own copy, so most views need no allocation.
    buf_.assign(text.data(), text.size());
    buf_.push_back('\0');
    rapidjson::InsituStringStream ss(buf_.data());
    handler h{*this};
    // The shared entry point: iterative, depth-limited (write() recurses over the nodes), UTF-8
    // checked, nothing but whitespace after the value.
    TRIB_TRY(read_json_stream<rapidjson::kParseInsituFlag | rapidjson::kParseNumbersAsStringsFlag>(
        ss, text.size(), h));
    if (nodes_.empty())
        return fail(errc::invalid_argument, "invalid JSON: empty");
    return ok();
}

const node* document::member(const node& obj, std::string_view name) const {
    if (obj.k != kind::object)
        return nullptr;
    for (std::int32_t i = obj.first; i >= 0; i = nodes_[static_cast<std::size_t>(i)].next) {
        if (nodes_[static_cast<std::size_t>(i)].key == name)
            return &nodes_[static_cast<std::size_t>(i)];
    }
    return nullptr;
}

const node* document::path(const node& from, std::string_view dotted) const {
    const node* cur = &from;
    while (cur != nullptr) {
        auto dot = dotted.find('.');
        cur = member(*cur, dotted.substr(0, dot));
        if (dot == std::string_view::npos)
            return cur;
        dotted.remove_prefix(dot + 1);
    }
    return nullptr;
}

void document::write(const node& n, std::string& out) const {
    switch (n.k) {
        case kind::null:
            out += "null";
            break;
        case kind::boolean:
            out += n.b ? "true" : "false";
            break;
        case kind::number:
            out += n.text;
            break;
        case kind::string:
            append_json_string(out, n.text);
            break;
        case kind::object:
        case kind::array: {
            bool obj = n.k == kind::object;
            out += obj ? '{' : '[';
            bool first = true;
            for (std::int32_t i = n.first; i >= 0; i = nodes_[static_cast<std::size_t>(i)].next) {
                const node& c = nodes_[static_cast<std::size_t>(i)];
                if (!first)
                    out += ',';
                first = false;
                if (obj) {
                    append_json_string(out, c.key);
                    out += ':';
                }
                write(c, out);
            }
            out += obj ? '}' : ']';
            break;
        }
    }
}

namespace {

enum : std::uint32_t {
    t_bool = 16,
    t_bytea = 17,
    t_int8 = 20,
    t_int2 = 21,
    t_int4 = 23,
    t_oid = 26,
    t_json = 114,
    t_float4 = 700,
    t_float8 = 701,
    t_timestamptz = 1184,
    t_numeric = 1700,
    t_jsonb = 3802,
};

// Element type of the array types converted to JSON arrays; 0 for other types.
std::uint32_t array_element(std::uint32_t oid) {
    switch (oid) {
        case 1000:
            return t_bool;
        case 1005:
            return t_int2;
        case 1007:
            return t_int4;
        case 1016:
            return t_int8;
        case 1021:
            return t_float4;
        case 1022:
            return t_float8;
        case 1231:
            return t_numeric;
        case 1009:  // text[]
        case 1014:  // bpchar[]
        case 1015:  // varchar[]
        case 2951:  // uuid[]
            return 25;
        case 199:  // json[]
            return t_json;
        case 3807:  // jsonb[]
            return t_jsonb;
        default:
            return 0;
    }
}

bool is_json_number(std::string_view s) {
    // PostgreSQL's numeric output is a valid JSON number except NaN/Infinity; float output may
    // also be "1e+30" (valid) or "-Infinity".
    if (s.empty())
        return false;
    std::size_t i = 0;
    if (s[i] == '-')
        ++i;
    if (i >= s.size() || s[i] < '0' || s[i] > '9')
        return false;
    if (s[i] == '0' && i + 1 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9')
        return false;
    for (; i < s.size(); ++i) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
            return false;
    }
    return true;
}

// Splits a one-dimensional array literal {a,"b",NULL}; false if it is not one (nested,
// bounds decoration).
bool split_array(std::string_view s, std::vector<std::optional<std::string>>& out) {
    out.clear();
    if (s.size() < 2 || s.front() != '{' || s.back() != '}')
        return false;
    std::size_t i = 1;
    const std::size_t end = s.size() - 1;
    if (i == end)
        return true;
    while (i <= end) {
        std::string v;
        bool quoted = false;
        if (i < end && s[i] == '"') {
            quoted = true;
            ++i;
            while (i < end && s[i] != '"') {
                if (s[i] == '\\' && i + 1 < end)
                    ++i;
                v += s[i++];
            }
            if (i >= end)
                return false;
            ++i;  // closing quote
        } else {
            while (i < end && s[i] != ',') {
                if (s[i] == '{' || s[i] == '"')
                    return false;
                v += s[i++];
            }
        }
        if (!quoted && v == "NULL")
            out.emplace_back(std::nullopt);
        else
            out.emplace_back(std::move(v));
        if (i == end)
            break;
        if (s[i] != ',')
            return false;
        ++i;
    }
    return true;
}

}  // namespace

void append_pg_value(std::string& out, std::uint32_t oid, std::string_view text) {
    switch (oid) {
        case t_bool:
            out += (text == "t" || text == "true") ? "true" : "false";
            return;
        case t_int2:
        case t_int4:
        case t_int8:
        case t_oid:
        case t_float4:
        case t_float8:
        case t_numeric:
            if (is_json_number(text))
                out += text;
            else
                append_json_string(out, text);
            return;
        case t_json:
        case t_jsonb:
            out += text;
            return;
        case t_bytea: {
            // Output format hex ("\x0102"); escape format is not decoded (bytea_output=hex is
            // the default and the connector sets it).
            if (text.size() >= 2 && text[0] == '\\' && text[1] == 'x') {
                std::string raw;
                raw.reserve((text.size() - 2) / 2);
                for (std::size_t i = 2; i + 1 < text.size(); i += 2) {
                    int hi = hex_digit_value(text[i]);
                    int lo = hex_digit_value(text[i + 1]);
                    if (hi < 0 || lo < 0)
                        break;
                    raw += static_cast<char>(hi * 16 + lo);
                }
                out.push_back('"');
                append_base64(out, raw);
                out.push_back('"');
            } else {
                append_json_string(out, text);
            }
            return;
        }
        case t_timestamptz: {
            // "2024-01-15 10:30:00.123+00" -> "2024-01-15T10:30:00.123+00:00"
            std::string s(text);
            if (s.size() > 10 && s[10] == ' ')
                s[10] = 'T';
            auto sign = s.find_last_of("+-");
            if (sign != std::string::npos && sign > 10 && s.size() - sign == 3)
                s += ":00";
            append_json_string(out, s);
            return;
        }
        default:
            break;
    }
    if (std::uint32_t elem = array_element(oid); elem != 0) {
        std::vector<std::optional<std::string>> items;
        if (split_array(text, items)) {
            out += '[';
            for (std::size_t i = 0; i < items.size(); ++i) {
                if (i)
                    out += ',';
                if (!items[i])
                    out += "null";
                else if (elem == 25)
                    append_json_string(out, *items[i]);
                else
                    append_pg_value(out, elem, *items[i]);
            }
            out += ']';
            return;
        }
    }
    append_json_string(out, text);
}

}  // namespace trib::connectors::postgres::json
