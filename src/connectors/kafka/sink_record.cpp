// How one Iggy message becomes one Kafka record; see sink_record.h.

#include "connectors/kafka/sink_record.h"

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
#include "core/name_pattern.h"
#include "core/parse_number.h"

namespace trib::connectors::kafka_sink {
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

std::optional<key_source> parse_key_source(std::string_view s) {
    if (s == "none")
        return key_source::none;
    if (s == "header")
        return key_source::header;
    if (s == "field")
        return key_source::field;
    if (s == "iggy_partition")
        return key_source::iggy_partition;
    if (s == "message_id")
        return key_source::message_id;
    if (s == "offset")
        return key_source::offset;
    return std::nullopt;
}

std::optional<partition_source> parse_partition_source(std::string_view s) {
    if (s == "key")
        return partition_source::key;
    if (s == "iggy_partition")
        return partition_source::iggy_partition;
    if (s == "header")
        return partition_source::header;
    return std::nullopt;
}

std::optional<timestamp_source> parse_timestamp_source(std::string_view s) {
    if (s == "origin")
        return timestamp_source::origin;
    if (s == "iggy")
        return timestamp_source::iggy;
    if (s == "header")
        return timestamp_source::header;
    if (s == "none")
        return timestamp_source::none;
    return std::nullopt;
}

status check_topic_name(std::string_view name) {
    if (name.empty())
        return bad("the topic name is empty");
    if (name.size() > 249)
        return bad(fmt::format("the topic name is {} bytes long (at most 249)", name.size()));
    if (name == "." || name == "..")
        return bad(fmt::format("'{}' is not a valid topic name", name));
    for (char c : name) {
        bool okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                   c == '.' || c == '_' || c == '-';
        if (!okc) {
            return bad(fmt::format(
                "the topic name '{}' has a character Kafka refuses (allowed: a-z A-Z 0-9 . _ -)",
                name.size() > 64 ? std::string(name.substr(0, 64)) + "..." : std::string(name)));
        }
    }
    return ok();
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

std::string header_bytes(const header& h) {
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

bool header_excluded(std::string_view name, const std::vector<std::string>& patterns) {
    return matches_name_pattern(name, patterns);
}

// ---- records -------------------------------------------------------------------------------

result<std::string> render_topic(const topic_template& t, const sink_batch& b, const message& m,
                                 payload_fields& fields) {
    topic_template::renderers r;
    r.header_text = header_bytes;
    r.field_text = [&](std::string_view path) { return fields.text(path); };
    auto out = t.render(b, m, r);
    if (!out)
        return out.error().wrap("topic");
    auto st = check_topic_name(*out);
    if (!st)
        return st.error().wrap("topic");
    return out;
}

result<record> build_record(const record_options& o, const sink_batch& b, const message& m) {
    record r;
    payload_fields fields(m.payload);
    TRIB_ASSIGN_OR_RETURN(r.topic, render_topic(o.topic, b, m, fields));

    switch (o.key) {
        case key_source::none:
            break;
        case key_source::header: {
            const header* h = m.find_header(o.key_name);
            if (h != nullptr)
                r.key = header_bytes(*h);
            break;  // an absent key header: a null key (Kafka's own "no key")
        }
        case key_source::field: {
            TRIB_ASSIGN_OR_RETURN(auto v, fields.text(o.key_name));
            r.key = std::move(v);
            break;
        }
        case key_source::iggy_partition:
            r.key = decimal(b.partition);
            break;
        case key_source::message_id: {
            std::string raw(16, '\0');
            for (int i = 0; i < 8; ++i) {
                raw[static_cast<std::size_t>(i)] =
                    static_cast<char>((m.id.hi >> (56 - 8 * i)) & 0xff);
                raw[static_cast<std::size_t>(8 + i)] =
                    static_cast<char>((m.id.lo >> (56 - 8 * i)) & 0xff);
            }
            r.key = hex_encode(raw);
            break;
        }
        case key_source::offset:
            r.key = decimal(m.offset);
            break;
    }

    switch (o.partition) {
        case partition_source::key:
            break;
        case partition_source::iggy_partition:
            // Iggy numbers partitions from 1 (older servers from 0), Kafka from 0.
            r.partition = b.partition == 0 ? 0 : static_cast<std::int32_t>(b.partition - 1);
            break;
        case partition_source::header: {
            const header* h = m.find_header(o.partition_header);
            if (h == nullptr)
                break;  // no header: the partitioner chooses
            auto v = header_integer(*h);
            if (!v || *v < 0 || *v > std::numeric_limits<std::int32_t>::max()) {
                return bad(fmt::format("partition header '{}' does not hold a partition number",
                                       o.partition_header));
            }
            r.partition = static_cast<std::int32_t>(*v);
            break;
        }
    }

    switch (o.timestamp) {
        case timestamp_source::none:
            break;
        case timestamp_source::origin:
            r.timestamp_ms = static_cast<std::int64_t>(
                (m.origin_timestamp_us != 0 ? m.origin_timestamp_us : m.timestamp_us) / 1000);
            break;
        case timestamp_source::iggy:
            r.timestamp_ms = static_cast<std::int64_t>(m.timestamp_us / 1000);
            break;
        case timestamp_source::header: {
            const header* h = m.find_header(o.timestamp_header);
            if (h == nullptr) {
                r.timestamp_ms = static_cast<std::int64_t>(m.timestamp_us / 1000);
                break;
            }
            auto v = header_integer(*h);
            if (!v || *v < 0) {
                return bad(
                    fmt::format("timestamp header '{}' does not hold milliseconds since the epoch",
                                o.timestamp_header));
            }
            r.timestamp_ms = *v;
            break;
        }
    }

    if (o.include_headers) {
        r.headers.reserve(m.headers.size());
        for (const auto& h : m.headers) {
            if (header_excluded(h.key, o.exclude_headers))
                continue;
            r.headers.emplace_back(std::string_view(h.key), header_bytes(h));
        }
    }
    return r;
}

}  // namespace trib::connectors::kafka_sink
