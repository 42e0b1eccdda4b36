// Names made from a template; see name_template.h. (Moved here from the Kafka sink so that the
// RabbitMQ sink renders exchanges and routing keys the same way.)

#include "core/name_template.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <array>
#include <charconv>
#include <cstring>
#include <limits>

#include "core/hex.h"
#include "core/json_parse.h"
#include "core/parse_number.h"
#include "core/template_text.h"

namespace trib {
namespace {

error bad(std::string msg) {
    return error(errc::invalid_argument, retry_class::fatal, std::move(msg));
}

template <class T>
T load_le(std::string_view v) {
    T out{};
    std::array<unsigned char, sizeof(T)> b{};
    std::memcpy(b.data(), v.data(), sizeof(T));
    std::uint64_t acc = 0;
    for (std::size_t i = sizeof(T); i-- > 0;)
        acc = (acc << 8) | b[i];
    if constexpr (std::is_signed_v<T>) {
        using U = std::make_unsigned_t<T>;
        out = static_cast<T>(static_cast<U>(acc));
    } else {
        out = static_cast<T>(acc);
    }
    return out;
}

template <class T>
std::string decimal(T v) {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, end);
}

std::size_t width(value_kind k) {
    switch (k) {
        case value_kind::boolean:
        case value_kind::int8:
        case value_kind::uint8:
            return 1;
        case value_kind::int16:
        case value_kind::uint16:
            return 2;
        case value_kind::int32:
        case value_kind::uint32:
        case value_kind::float32:
            return 4;
        case value_kind::int64:
        case value_kind::uint64:
        case value_kind::float64:
            return 8;
        case value_kind::int128:
        case value_kind::uint128:
            return 16;
        default:
            return 0;
    }
}

}  // namespace

// ---- template ----------------------------------------------------------------------

result<name_template> name_template::parse(std::string_view text, std::string_view what,
                                           bool allow_empty) {
    // The scanning (braces, `{{`/`}}`, errors with byte offsets) is core/template_text's.
    auto tokens = split_template(text);
    if (!tokens)
        return bad(tokens.error().message());
    name_template t;
    for (auto& tok : *tokens) {
        if (!tok.placeholder) {
            t.parts_.push_back(part{part::kind::literal, std::move(tok.text)});
            continue;
        }
        const std::string_view name = tok.text;
        part p;
        if (name == "stream") {
            p.what = part::kind::stream;
        } else if (name == "topic") {
            p.what = part::kind::topic;
        } else if (name == "partition") {
            p.what = part::kind::partition;
        } else if (name.starts_with("header:") && name.size() > 7) {
            p.what = part::kind::header;
            p.text = std::string(name.substr(7));
        } else if (name.starts_with("field:") && name.size() > 6) {
            p.what = part::kind::field;
            p.text = std::string(name.substr(6));
        } else {
            return bad(fmt::format(
                "unknown placeholder {{{}}} (known: {{stream}}, {{topic}}, {{partition}}, "
                "{{header:NAME}}, {{field:PATH}})",
                name));
        }
        t.parts_.push_back(std::move(p));
    }
    if (t.parts_.empty() && !allow_empty)
        return bad(fmt::format("the {} is empty", what));
    return t;
}

bool name_template::needs_payload() const {
    for (const auto& p : parts_) {
        if (p.what == part::kind::field)
            return true;
    }
    return false;
}

bool name_template::per_batch() const {
    for (const auto& p : parts_) {
        if (p.what == part::kind::field || p.what == part::kind::header)
            return false;
    }
    return true;
}

// ---- payload fields ------------------------------------------------------------------------

struct payload_fields::doc {
    rapidjson::Document d;
};

payload_fields::~payload_fields() {
    delete doc_;
}

result<std::string> payload_fields::text(std::string_view path) {
    if (!parsed_) {
        parsed_ = true;
        doc_ = new doc;
        auto st = parse_json_document(payload_, doc_->d);
        if (!st)
            parse_error_ = st.error().wrap("the payload is not JSON");
        else if (!doc_->d.IsObject())
            parse_error_ = bad("the payload is not a JSON object");
    }
    if (parse_error_)
        return *parse_error_;
    const rapidjson::Value* v = &doc_->d;
    std::string_view rest = path;
    while (!rest.empty()) {
        auto dot = rest.find('.');
        std::string_view name = rest.substr(0, dot);
        rest = dot == std::string_view::npos ? std::string_view() : rest.substr(dot + 1);
        if (!v->IsObject())
            return bad(fmt::format("field '{}': '{}' is not inside an object", path, name));
        auto it = v->FindMember(
            rapidjson::Value(name.data(), static_cast<rapidjson::SizeType>(name.size())));
        if (it == v->MemberEnd())
            return bad(fmt::format("field '{}' is missing from the payload", path));
        v = &it->value;
    }
    if (v->IsString())
        return std::string(v->GetString(), v->GetStringLength());
    if (v->IsNumber() || v->IsBool()) {
        rapidjson::StringBuffer sb;
        rapidjson::Writer<rapidjson::StringBuffer> w(sb);
        v->Accept(w);
        return std::string(sb.GetString(), sb.GetSize());
    }
    return bad(fmt::format("field '{}' is {}, not a string, number or boolean", path,
                           v->IsNull() ? "null" : (v->IsObject() ? "an object" : "an array")));
}

// ---- headers -------------------------------------------------------------------------------

std::string header_text(const header& h) {
    const std::size_t w = width(h.kind);
    if (w != 0 && h.value.size() != w)
        return h.value;  // malformed numeric header: pass the bytes on unchanged
    switch (h.kind) {
        case value_kind::boolean:
            return h.value[0] != 0 ? "true" : "false";
        case value_kind::int8:
            return decimal(load_le<std::int8_t>(h.value));
        case value_kind::int16:
            return decimal(load_le<std::int16_t>(h.value));
        case value_kind::int32:
            return decimal(load_le<std::int32_t>(h.value));
        case value_kind::int64:
            return decimal(load_le<std::int64_t>(h.value));
        case value_kind::uint8:
            return decimal(load_le<std::uint8_t>(h.value));
        case value_kind::uint16:
            return decimal(load_le<std::uint16_t>(h.value));
        case value_kind::uint32:
            return decimal(load_le<std::uint32_t>(h.value));
        case value_kind::uint64:
            return decimal(load_le<std::uint64_t>(h.value));
        case value_kind::float32: {
            float f;
            std::memcpy(&f, h.value.data(), 4);
            return decimal(f);
        }
        case value_kind::float64: {
            double d;
            std::memcpy(&d, h.value.data(), 8);
            return decimal(d);
        }
        case value_kind::int128:
        case value_kind::uint128:
            return hex_encode(h.value);
        case value_kind::raw:
        case value_kind::string:
        default:
            return h.value;
    }
}

std::optional<std::int64_t> header_integer(const header& h) {
    const std::size_t w = width(h.kind);
    if (w != 0 && h.value.size() != w)
        return std::nullopt;
    switch (h.kind) {
        case value_kind::int8:
            return load_le<std::int8_t>(h.value);
        case value_kind::int16:
            return load_le<std::int16_t>(h.value);
        case value_kind::int32:
            return load_le<std::int32_t>(h.value);
        case value_kind::int64:
            return load_le<std::int64_t>(h.value);
        case value_kind::uint8:
            return load_le<std::uint8_t>(h.value);
        case value_kind::uint16:
            return load_le<std::uint16_t>(h.value);
        case value_kind::uint32:
            return load_le<std::uint32_t>(h.value);
        case value_kind::uint64: {
            auto v = load_le<std::uint64_t>(h.value);
            if (v > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
                return std::nullopt;
            return static_cast<std::int64_t>(v);
        }
        case value_kind::string:
        case value_kind::raw:
            return parse_i64(h.value);
        default:
            return std::nullopt;
    }
}

result<std::string> render_name(const name_template& t, const name_context& c, const message& m,
                                payload_fields& fields, std::string_view what) {
    std::string out;
    using kind = name_template::part::kind;
    for (const auto& p : t.parts()) {
        switch (p.what) {
            case kind::literal:
                out += p.text;
                break;
            case kind::stream:
                out += c.stream;
                break;
            case kind::topic:
                out += c.topic;
                break;
            case kind::partition:
                out += decimal(c.partition);
                break;
            case kind::header: {
                const header* h = m.find_header(p.text);
                if (h == nullptr)
                    return bad(fmt::format("{}: header '{}' is missing", what, p.text));
                out += header_text(*h);
                break;
            }
            case kind::field: {
                TRIB_ASSIGN_OR_RETURN(auto v, fields.text(p.text));
                out += v;
                break;
            }
        }
    }
    return out;
}

}  // namespace trib
