#include "connectors/http/json.h"

#include <fmt/format.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/writer.h>

#include <cctype>

#include "core/json_parse.h"

namespace trib::connectors::http_detail {

namespace {

/// RapidJSON output stream appending to a std::string (no intermediate buffer).
struct string_out {
    using Ch = char;
    std::string* s;
    void Put(char c) { s->push_back(c); }
    void Flush() {}
};

/// Marks a string value that holds a number's text (parse_exact). JSON text cannot produce it by
/// accident: a string would have to begin with the escaped characters \u0000\u0001#.
constexpr std::string_view number_mark{"\0\x01#", 3};

bool is_number_mark(const char* s, rapidjson::SizeType n) {
    return n > number_mark.size() && std::string_view(s, number_mark.size()) == number_mark;
}

/// Feeds a Document, storing raw numbers as marked strings.
struct exact_number_handler {
    rapidjson::Document& d;
    std::string tmp;
    bool Null() { return d.Null(); }
    bool Bool(bool b) { return d.Bool(b); }
    bool Int(int i) { return d.Int(i); }
    bool Uint(unsigned i) { return d.Uint(i); }
    bool Int64(std::int64_t i) { return d.Int64(i); }
    bool Uint64(std::uint64_t i) { return d.Uint64(i); }
    bool Double(double x) { return d.Double(x); }
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        tmp.assign(number_mark);
        tmp.append(s, n);
        return d.String(tmp.data(), static_cast<rapidjson::SizeType>(tmp.size()), true);
    }
    bool String(const char* s, rapidjson::SizeType n, bool c) { return d.String(s, n, c); }
    bool StartObject() { return d.StartObject(); }
    bool Key(const char* s, rapidjson::SizeType n, bool c) { return d.Key(s, n, c); }
    bool EndObject(rapidjson::SizeType n) { return d.EndObject(n); }
    bool StartArray() { return d.StartArray(); }
    bool EndArray(rapidjson::SizeType n) { return d.EndArray(n); }
};

/// A writer that copies numbers exactly as they were written (RapidJSON's Writer would quote the
/// raw numbers kParseNumbersAsStringsFlag hands it).
struct exact_writer : rapidjson::Writer<string_out> {
    using rapidjson::Writer<string_out>::Writer;
    bool RawNumber(const char* s, rapidjson::SizeType n, bool) {
        return RawValue(s, n, rapidjson::kNumberType);
    }
    bool String(const char* s, rapidjson::SizeType n, bool copy = false) {
        if (is_number_mark(s, n))
            return RawValue(s + number_mark.size(), n - number_mark.size(), rapidjson::kNumberType);
        return rapidjson::Writer<string_out>::String(s, n, copy);
    }
};

// Numbers are kept as written (big integers, decimals). Every parse goes through core's
// read_json (depth limit, UTF-8, nothing after the value).
constexpr unsigned parse_flags = rapidjson::kParseNumbersAsStringsFlag;

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::string_view trim_ws(std::string_view s) {
    while (!s.empty() && is_ws(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && is_ws(s.back()))
        s.remove_suffix(1);
    return s;
}

/// Records where each element of a top-level array ends (the stream position after it).
struct array_splitter : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, array_splitter> {
    rapidjson::MemoryStream* in = nullptr;
    int depth = 0;
    bool root_is_array = false;
    std::size_t array_start = 0;  // just after '['
    std::vector<std::size_t> ends;

    bool scalar() {
        if (depth == 1 && root_is_array)
            ends.push_back(in->Tell());
        return true;
    }
    bool Default() { return scalar(); }
    bool RawNumber(const char*, rapidjson::SizeType, bool) { return scalar(); }
    bool String(const char*, rapidjson::SizeType, bool) { return scalar(); }
    bool Key(const char*, rapidjson::SizeType, bool) { return true; }
    // read_json parses iteratively: Start*/End* arrive with the stream at the bracket, before it
    // is taken (scalars arrive after the value).
    bool open(bool array) {
        if (depth == 0 && array) {
            root_is_array = true;
            array_start = in->Tell() + 1;
        }
        ++depth;
        return true;
    }
    bool close() {
        --depth;
        if (depth == 1 && root_is_array)
            ends.push_back(in->Tell() + 1);
        return true;
    }
    bool StartObject() { return open(false); }
    bool EndObject(rapidjson::SizeType) { return close(); }
    bool StartArray() { return open(true); }
    bool EndArray(rapidjson::SizeType) { return close(); }
};

}  // namespace

// ---- json_path -------------------------------------------------------------------------------

result<json_path> json_path::parse(std::string_view text) {
    json_path p;
    p.text_ = std::string(text);
    std::string_view s = trim_ws(text);
    auto bad = [&](std::string_view why) {
        return fail(errc::invalid_argument,
                    fmt::format("JSON path \"{}\": {}", std::string(text), why));
    };
    std::size_t i = 0;
    if (i < s.size() && s[i] == '$')
        ++i;
    bool first = true;
    while (i < s.size()) {
        char c = s[i];
        if (c == '.' || (first && c != '[')) {
            if (c == '.')
                ++i;
            if (i < s.size() && s[i] == '*') {
                p.steps_.push_back(step{step::kind::wildcard, {}, 0});
                ++i;
            } else {
                std::size_t j = i;
                while (j < s.size() && s[j] != '.' && s[j] != '[')
                    ++j;
                if (j == i)
                    return bad("empty key");
                p.steps_.push_back(step{step::kind::key, std::string(s.substr(i, j - i)), 0});
                i = j;
            }
        } else if (c == '[') {
            ++i;
            if (i >= s.size())
                return bad("unclosed '['");
            if (s[i] == '*') {
                ++i;
                p.steps_.push_back(step{step::kind::wildcard, {}, 0});
            } else if (s[i] == '\'' || s[i] == '"') {
                const char q = s[i++];
                std::string key;
                while (i < s.size() && s[i] != q) {
                    if (s[i] == '\\' && i + 1 < s.size())
                        ++i;
                    key.push_back(s[i++]);
                }
                if (i >= s.size())
                    return bad("unclosed quote");
                ++i;
                p.steps_.push_back(step{step::kind::key, std::move(key), 0});
            } else if (std::isdigit(static_cast<unsigned char>(s[i]))) {
                std::size_t n = 0;
                while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
                    n = n * 10 + static_cast<std::size_t>(s[i] - '0');
                    if (n > (1u << 30))
                        return bad("index too large");
                    ++i;
                }
                p.steps_.push_back(step{step::kind::index, {}, n});
            } else {
                return bad("expected *, an index or a quoted key after '['");
            }
            if (i >= s.size() || s[i] != ']')
                return bad("expected ']'");
            ++i;
        } else {
            return bad(fmt::format("unexpected '{}'", c));
        }
        first = false;
    }
    return p;
}

void json_path::walk(const rapidjson::Value& v, std::size_t i,
                     std::vector<const rapidjson::Value*>& out) const {
    if (i == steps_.size()) {
        out.push_back(&v);
        return;
    }
    const step& st = steps_[i];
    switch (st.what) {
        case step::kind::key:
            if (v.IsObject()) {
                auto it = v.FindMember(rapidjson::StringRef(st.key.data(), st.key.size()));
                if (it != v.MemberEnd())
                    walk(it->value, i + 1, out);
            }
            break;
        case step::kind::index:
            if (v.IsArray() && st.index < v.Size())
                walk(v[static_cast<rapidjson::SizeType>(st.index)], i + 1, out);
            break;
        case step::kind::wildcard:
            if (v.IsArray()) {
                for (const auto& e : v.GetArray())
                    walk(e, i + 1, out);
            } else if (v.IsObject()) {
                for (const auto& m : v.GetObject())
                    walk(m.value, i + 1, out);
            }
            break;
    }
}

void json_path::select(const rapidjson::Value& root,
                       std::vector<const rapidjson::Value*>& out) const {
    walk(root, 0, out);
}

const rapidjson::Value* json_path::first(const rapidjson::Value& root) const {
    std::vector<const rapidjson::Value*> out;
    walk(root, 0, out);
    return out.empty() ? nullptr : out.front();
}

// ---- serialization ---------------------------------------------------------------------------

bool parse_exact(std::string_view text, rapidjson::Document& d, std::string& err) {
    status st;
    auto generate = [&](rapidjson::Document& doc) {
        exact_number_handler h{doc, {}};
        st = read_json<parse_flags>(text, h);
        return st.has_value();
    };
    d.Populate(generate);
    if (!st) {
        err = st.error().message();
        d.SetNull();
    }
    return st.has_value();
}

void append_json(const rapidjson::Value& v, std::string& out) {
    string_out os{&out};
    exact_writer w(os);
    v.Accept(w);
}

std::string scalar_text(const rapidjson::Value& v) {
    if (v.IsString()) {
        if (is_number_mark(v.GetString(), v.GetStringLength()))
            return std::string(v.GetString() + number_mark.size(),
                               v.GetStringLength() - number_mark.size());
        return std::string(v.GetString(), v.GetStringLength());
    }
    if (v.IsNull())
        return {};
    if (v.IsBool())
        return v.GetBool() ? "true" : "false";
    std::string out;
    append_json(v, out);
    return out;
}

bool append_minified(std::string_view in, std::string& out) {
    const std::size_t before = out.size();
    string_out os{&out};
    exact_writer w(os);
    if (!read_json<parse_flags>(in, w)) {
        out.resize(before);
        return false;
    }
    return true;
}

bool is_valid_json(std::string_view in) {
    rapidjson::BaseReaderHandler<> h;
    return read_json<parse_flags>(in, h).has_value();
}

bool split_json(std::string_view body, std::vector<std::string_view>& out, split_error& err) {
    rapidjson::MemoryStream ms(body.data(), body.size());
    array_splitter h;
    h.in = &ms;
    if (auto st = read_json_stream<parse_flags>(ms, body.size(), h); !st) {
        // The element the error is in: those that ended before it are fine.
        err.item = h.ends.size();
        err.message = st.error().message();
        return false;
    }
    if (!h.root_is_array) {
        std::string_view v = trim_ws(body);
        if (!v.empty())
            out.push_back(v);
        return true;
    }
    std::size_t pos = h.array_start;
    for (std::size_t end : h.ends) {
        // An element starts after the previous one (or '['), past whitespace and the comma.
        while (pos < end && (is_ws(body[pos]) || body[pos] == ','))
            ++pos;
        out.push_back(body.substr(pos, end - pos));
        pos = end;
    }
    return true;
}

bool split_ndjson(std::string_view body, std::vector<std::string_view>& out, split_error& err) {
    std::size_t i = 0, line = 0;
    while (i < body.size()) {
        auto nl = body.find('\n', i);
        std::string_view l =
            body.substr(i, nl == std::string_view::npos ? std::string_view::npos : nl - i);
        i = nl == std::string_view::npos ? body.size() : nl + 1;
        l = trim_ws(l);
        if (!l.empty()) {
            if (!is_valid_json(l)) {
                err.item = line;
                err.message = fmt::format("line {} is not valid JSON", line + 1);
                return false;
            }
            out.push_back(l);
        }
        ++line;
    }
    return true;
}

}  // namespace trib::connectors::http_detail
