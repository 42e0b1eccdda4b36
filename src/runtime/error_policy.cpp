#include "runtime/error_policy.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace trib::runtime {

std::string_view to_string(policy_action a) {
    switch (a) {
        case policy_action::retry:
            return "retry";
        case policy_action::dead_letter:
            return "dead_letter";
        case policy_action::skip:
            return "skip";
        case policy_action::stop:
            return "stop";
    }
    return "unknown";
}

std::optional<policy_action> parse_policy_action(std::string_view s) {
    if (s == "retry")
        return policy_action::retry;
    if (s == "dead_letter" || s == "dead-letter" || s == "dlq")
        return policy_action::dead_letter;
    if (s == "skip")
        return policy_action::skip;
    if (s == "stop")
        return policy_action::stop;
    return std::nullopt;
}

std::string_view to_string(failure_stage s) {
    switch (s) {
        case failure_stage::decode:
            return "decode";
        case failure_stage::transform:
            return "transform";
        case failure_stage::encode:
            return "encode";
        case failure_stage::write:
            return "write";
        case failure_stage::send:
            return "send";
    }
    return "unknown";
}

retry_decision decide(const error_policy& p, const error& e, std::uint32_t attempt, backoff& b) {
    retry_decision d;
    if (e.retry() == retry_class::fatal) {
        d.give_up = true;
        return d;
    }
    if (p.max_retries != 0 && attempt > p.max_retries) {
        d.give_up = true;
        return d;
    }
    d.retry = true;
    d.delay = b.next();
    if (e.retry() == retry_class::throttled)
        d.delay = std::max(d.delay, p.throttle_min);
    return d;
}

std::uint64_t now_us() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

namespace {

template <class T>
std::string le_bytes(T v) {
    std::string s(sizeof(T), '\0');
    // Iggy header numbers are little-endian; so is every machine we build for.
    static_assert(std::endian::native == std::endian::little);
    std::memcpy(s.data(), &v, sizeof(T));
    return s;
}

void put(message& m, std::string_view key, value_kind kind, std::string value) {
    m.headers.push_back(header{std::string(key), kind, std::move(value)});
}

// Iggy header values are 1..255 bytes (the SDKs reject others): cut long texts at a UTF-8
// character boundary and never send an empty one.
void put_str(message& m, std::string_view key, std::string_view value) {
    std::string v(value.substr(0, 255));
    if (value.size() > 255) {
        while (!v.empty() && (static_cast<unsigned char>(v.back()) & 0xC0) == 0x80)
            v.pop_back();
        if (!v.empty() && (static_cast<unsigned char>(v.back()) & 0x80) != 0)
            v.pop_back();
    }
    if (v.empty())
        v.push_back('-');  // not v = "-": GCC 12 -O2 reports a false -Werror=restrict
    put(m, key, value_kind::string, std::move(v));
}

}  // namespace

void append_dead_letter(message_batch& out, const message& original, const failure_info& info) {
    message m;
    m.id = original.id;
    m.origin_timestamp_us = original.origin_timestamp_us;
    m.key = original.key;
    m.payload = out.own(std::string(original.payload));
    m.headers.reserve(original.headers.size() + 12);
    for (const auto& h : original.headers) {
        // A message dead-lettered twice (replayed from a DLQ and failing again) keeps one set of
        // failure headers: the latest.
        if (h.key.starts_with("tributary."))
            continue;
        m.headers.push_back(h);
    }
    put_str(m, dlq_headers::error, info.err.message());
    put_str(m, dlq_headers::error_class, to_string(info.err.retry()));
    put_str(m, dlq_headers::error_code, to_string(info.err.code()));
    if (info.err.vendor_code() != 0) {
        put(m, dlq_headers::vendor_code, value_kind::int64, le_bytes(info.err.vendor_code()));
    }
    put_str(m, dlq_headers::stage, to_string(info.stage));
    put_str(m, dlq_headers::connector, info.connector_key);
    if (!info.stream.empty())
        put_str(m, dlq_headers::stream, info.stream);
    if (!info.topic.empty())
        put_str(m, dlq_headers::topic, info.topic);
    if (info.partition)
        put(m, dlq_headers::partition, value_kind::uint32, le_bytes(*info.partition));
    if (info.offset)
        put(m, dlq_headers::offset, value_kind::uint64, le_bytes(*info.offset));
    if (info.original_timestamp_us != 0) {
        put(m, dlq_headers::timestamp, value_kind::uint64, le_bytes(info.original_timestamp_us));
    }
    put(m, dlq_headers::failed_at, value_kind::uint64,
        le_bytes(info.failed_at_us != 0 ? info.failed_at_us : now_us()));
    out.messages.push_back(std::move(m));
}

}  // namespace trib::runtime
