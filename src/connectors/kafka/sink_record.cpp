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

bool header_excluded(std::string_view name, const std::vector<std::string>& patterns) {
    return matches_name_pattern(name, patterns);
}

// ---- records -------------------------------------------------------------------------------

result<std::string> render_topic(const topic_template& t, const sink_batch& b, const message& m,
                                 payload_fields& fields) {
    TRIB_ASSIGN_OR_RETURN(auto out,
                          render_name(t, name_context{b.stream, b.topic, b.partition}, m, fields));
    auto st = check_topic_name(out);
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
            r.key = std::to_string(b.partition);
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
            r.key = std::to_string(m.offset);
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
