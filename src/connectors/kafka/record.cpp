// Kafka record -> Iggy message. Pure: tested in tests/connectors/kafka/record_test.cpp and
// fuzzed in fuzz/kafka.

#include "connectors/kafka/record.h"

#include <cstring>

#include "core/message_id.h"

namespace trib::connectors::kafka {

namespace {

header int_header(std::string_view key, value_kind kind, std::uint64_t v, std::size_t bytes) {
    std::string le(bytes, '\0');
    for (std::size_t i = 0; i < bytes; ++i)
        le[i] = static_cast<char>((v >> (8 * i)) & 0xff);
    return header{std::string(key), kind, std::move(le)};
}

header bytes_header(std::string_view key, std::string_view v) {
    return header{std::string(key), valid_utf8(v) ? value_kind::string : value_kind::raw,
                  std::string(v)};
}

bool reserved_name(std::string_view n) {
    return n == topic_header || n == partition_header || n == offset_header || n == key_header;
}

}  // namespace

bool valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    std::size_t i = 0;
    const std::size_t n = s.size();
    while (i < n) {
        unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len = 0;
        std::uint32_t cp = 0;
        if ((c & 0xe0) == 0xc0) {
            len = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (std::size_t k = 1; k < len; ++k) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
        if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}

message_id record_id(std::string_view cluster_id, std::string_view topic, std::int32_t partition,
                     std::int64_t offset) {
    // The layout these ids had before core/message_id.h (no domain part; tests/core pins it).
    return message_id_builder()
        .add(cluster_id)
        .add(topic)
        .add_u32(static_cast<std::uint32_t>(partition))
        .add_u64(static_cast<std::uint64_t>(offset))
        .finish();
}

mapped map_record(const record_view& r, std::string_view cluster_id, const mapping_options& o) {
    mapped out;
    auto reject = [&](std::string why) {
        out.what = mapped::kind::rejected;
        out.why = error(errc::invalid_argument, retry_class::fatal,
                        "kafka record " + std::string(r.topic) + "/" + std::to_string(r.partition) +
                            "@" + std::to_string(r.offset) + ": " + std::move(why));
        return out;
    };
    if (!r.value || r.value->empty()) {
        if (o.empty_values == unfit_policy::skip) {
            out.what = mapped::kind::skipped;
            return out;
        }
        return reject(r.value ? "empty value (Iggy messages cannot be empty)"
                              : "null value (a tombstone; Iggy messages cannot be empty)");
    }
    message& m = out.msg;
    m.payload = *r.value;
    m.id = record_id(cluster_id, r.topic, r.partition, r.offset);
    if (r.timestamp_ms > 0)
        m.origin_timestamp_us = static_cast<std::uint64_t>(r.timestamp_ms) * 1000;
    if (o.partition_by_key && r.key && !r.key->empty())
        m.key = std::string(*r.key);
    m.headers.reserve(r.headers.size() + 4);
    for (const auto& [name, value] : r.headers) {
        std::string problem;
        if (name.empty() || name.size() > max_header_bytes) {
            problem = "header name of " + std::to_string(name.size()) + " bytes (Iggy: 1 to 255)";
        } else if (!value) {
            problem = "header \"" + std::string(name) + "\" has a null value";
        } else if (value->empty() || value->size() > max_header_bytes) {
            problem = "header \"" + std::string(name) + "\" has a value of " +
                      std::to_string(value->size()) + " bytes (Iggy: 1 to 255)";
        } else if (o.metadata_headers && reserved_name(name)) {
            problem = "header \"" + std::string(name) + "\" is one the source sets itself";
        }
        if (!problem.empty()) {
            if (o.unfit_headers == unfit_policy::reject)
                return reject(problem);
            continue;
        }
        if (m.find_header(name) != nullptr)
            continue;  // a repeated name: the first one wins
        m.headers.push_back(bytes_header(name, *value));
    }
    if (o.metadata_headers) {
        // Kafka topic names are 1 to 249 characters; anything else did not come from a broker.
        if (!r.topic.empty() && r.topic.size() <= max_header_bytes)
            m.headers.push_back(
                header{std::string(topic_header), value_kind::string, std::string(r.topic)});
        m.headers.push_back(int_header(partition_header, value_kind::int32,
                                       static_cast<std::uint32_t>(r.partition), 4));
        m.headers.push_back(
            int_header(offset_header, value_kind::int64, static_cast<std::uint64_t>(r.offset), 8));
    }
    if (o.key_header && r.key && !r.key->empty()) {
        if (r.key->size() > max_header_bytes) {
            if (o.unfit_headers == unfit_policy::reject)
                return reject("key of " + std::to_string(r.key->size()) +
                              " bytes does not fit the kafka.key header (Iggy: at most 255)");
        } else {
            m.headers.push_back(bytes_header(key_header, *r.key));
        }
    }
    return out;
}

}  // namespace trib::connectors::kafka
