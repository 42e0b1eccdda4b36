#include "iggy/wire/primitives.h"

#include <fmt/format.h>

#include <unordered_set>

namespace trib::iggy {

unexpected decode_error(std::string_view what, std::string_view why) {
    return fail(errc::protocol_error, fmt::format("{}: {}", what, why));
}

status check_name(std::string_view name, std::string_view what) {
    if (name.empty() || name.size() > 255) {
        return fail(errc::invalid_argument,
                    fmt::format("{}: length {} outside 1..255", what, name.size()));
    }
    return ok();
}

result<std::string> decode_name(reader& r, std::string_view what) {
    std::uint8_t n = r.u8();
    if (!r.ok())
        return decode_error(what, "truncated");
    if (n == 0)
        return decode_error(what, "empty name");
    auto s = r.raw(n);
    if (!r.ok())
        return decode_error(what, "truncated");
    return std::string(as_string(s));
}

std::string identifier::to_string() const {
    return is_numeric() ? std::to_string(number) : fmt::format("'{}'", name);
}

void identifier::encode(writer& w) const {
    w.u8(static_cast<std::uint8_t>(kind));
    if (is_numeric()) {
        w.u8(4);
        w.u32(number);
    } else {
        w.str8(name);
    }
}

result<identifier> identifier::decode(reader& r) {
    std::uint8_t k = r.u8();
    std::uint8_t len = r.u8();
    if (!r.ok())
        return decode_error("identifier", "truncated");
    if (k == 1) {
        if (len != 4)
            return decode_error("identifier", "numeric length is not 4");
        auto v = r.u32();
        if (!r.ok())
            return decode_error("identifier", "truncated");
        return numeric(v);
    }
    if (k == 2) {
        if (len == 0)
            return decode_error("identifier", "empty string");
        auto s = r.raw(len);
        if (!r.ok())
            return decode_error("identifier", "truncated");
        return named(std::string(as_string(s)));
    }
    return decode_error("identifier", fmt::format("unknown kind {}", k));
}

void consumer::encode(writer& w) const {
    w.u8(static_cast<std::uint8_t>(kind));
    id.encode(w);
}

result<consumer> consumer::decode(reader& r) {
    std::uint8_t k = r.u8();
    if (!r.ok())
        return decode_error("consumer", "truncated");
    if (k != 1 && k != 2)
        return decode_error("consumer", fmt::format("unknown kind {}", k));
    TRIB_ASSIGN_OR_RETURN(auto id, identifier::decode(r));
    return consumer{static_cast<kind_t>(k), std::move(id)};
}

void encode_optional_partition(writer& w, std::optional<std::uint32_t> p) {
    w.u8(p ? 1 : 0);
    w.u32(p.value_or(0));
}

result<std::optional<std::uint32_t>> decode_optional_partition(reader& r) {
    std::uint8_t flag = r.u8();
    std::uint32_t v = r.u32();
    if (!r.ok())
        return decode_error("partition id", "truncated");
    if (flag > 1)
        return decode_error("partition id", fmt::format("bad flag {}", flag));
    if (flag == 0)
        return std::optional<std::uint32_t>{};
    return std::optional<std::uint32_t>{v};
}

void partitioning::encode(writer& w) const {
    w.u8(static_cast<std::uint8_t>(kind));
    switch (kind) {
        case kind_t::balanced:
            w.u8(0);
            break;
        case kind_t::partition_id:
            w.u8(4);
            w.u32(partition);
            break;
        case kind_t::messages_key:
            w.str8(key);
            break;
    }
}

std::size_t partitioning::encoded_size() const {
    switch (kind) {
        case kind_t::balanced:
            return 2;
        case kind_t::partition_id:
            return 6;
        case kind_t::messages_key:
            return 2 + key.size();
    }
    return 2;
}

result<partitioning> partitioning::decode(reader& r) {
    std::uint8_t k = r.u8();
    std::uint8_t len = r.u8();
    if (!r.ok())
        return decode_error("partitioning", "truncated");
    switch (k) {
        case 1:
            if (len != 0)
                return decode_error("partitioning", "balanced with a value");
            return balanced();
        case 2: {
            if (len != 4)
                return decode_error("partitioning", "partition id length is not 4");
            auto p = r.u32();
            if (!r.ok())
                return decode_error("partitioning", "truncated");
            return partition_id(p);
        }
        case 3: {
            if (len == 0)
                return decode_error("partitioning", "empty messages key");
            auto s = r.raw(len);
            if (!r.ok())
                return decode_error("partitioning", "truncated");
            return messages_key(std::string(as_string(s)));
        }
        default:
            return decode_error("partitioning", fmt::format("unknown kind {}", k));
    }
}

void polling_strategy::encode(writer& w) const {
    w.u8(static_cast<std::uint8_t>(kind));
    w.u64(value);
}

result<polling_strategy> polling_strategy::decode(reader& r) {
    std::uint8_t k = r.u8();
    std::uint64_t v = r.u64();
    if (!r.ok())
        return decode_error("polling strategy", "truncated");
    if (k < 1 || k > 5)
        return decode_error("polling strategy", fmt::format("unknown kind {}", k));
    return polling_strategy{static_cast<kind_t>(k), v};
}

status validate_options(const options& o) {
    if (o.size() > max_option_entries)
        return error(errc::invalid_argument, "options: more than 1024 entries")
            .with_vendor_code(4043);
    std::size_t total = 0;
    std::unordered_set<std::string_view> keys;
    for (const auto& e : o) {
        if (e.key_kind != header_kind::string)
            return fail(errc::invalid_argument, "options: key '" + e.key + "' is not a string");
        if (e.key.empty() || e.key.size() > 255 || e.value.empty() || e.value.size() > 255)
            return fail(errc::invalid_argument, "options: '" + e.key + "' length outside 1..255");
        std::size_t fixed = header_kind_size(e.kind);
        if (fixed != 0 && fixed != e.value.size())
            return fail(errc::invalid_argument, "options: '" + e.key + "' wrong value size");
        if (!keys.insert(e.key).second)
            return fail(errc::invalid_argument, "options: duplicate key '" + e.key + "'");
        total += 10 + e.key.size() + e.value.size();
    }
    if (total > max_options_bytes)
        return error(errc::invalid_argument, "options: block too large").with_vendor_code(4043);
    return ok();
}

void encode_options(writer& w, const options& o) {
    encode_user_headers(w, o);
}

result<options> decode_options(bytes_view block) {
    if (block.size() > max_options_bytes)
        return decode_error("options", "block larger than 100,000 bytes");
    auto r = decode_user_headers(block);
    if (!r)
        return decode_error("options", r.error().message());
    auto st = validate_options(*r);
    if (!st)
        return decode_error("options", st.error().message());
    return std::move(r).value();
}

void encode_prefixed_options(writer& w, const options& o) {
    std::size_t at = w.size();
    w.u32(0);
    encode_user_headers(w, o);
    store_u32(w.buffer().data() + at, static_cast<std::uint32_t>(w.size() - at - 4));
}

result<options> decode_prefixed_options(reader& r) {
    std::uint32_t n = r.u32();
    if (!r.ok())
        return decode_error("options", "truncated length");
    if (n > r.remaining())
        return decode_error("options", "length runs past the body");
    // Responses carry what the server stored: decode the TLV but do not enforce request limits.
    auto block = r.raw(n);
    auto d = decode_user_headers(block);
    if (!d)
        return decode_error("options", d.error().message());
    return std::move(d).value();
}

const user_header* find_option(const options& o, std::string_view key) {
    for (const auto& e : o) {
        if (e.key == key)
            return &e;
    }
    return nullptr;
}

namespace {

bool read_flag(reader& r) {
    return r.u8() != 0;
}

void encode_topic_perms(writer& w, const topic_permissions& t) {
    w.u32(t.topic_id);
    w.u8(t.manage_topic);
    w.u8(t.read_topic);
    w.u8(t.poll_messages);
    w.u8(t.send_messages);
}

void encode_stream_perms(writer& w, const stream_permissions& s) {
    w.u32(s.stream_id);
    for (bool b : {s.manage_stream, s.read_stream, s.manage_topics, s.read_topics, s.poll_messages,
                   s.send_messages})
        w.u8(b);
    w.u8(s.topics.empty() ? 0 : 1);
    for (std::size_t i = 0; i < s.topics.size(); ++i) {
        encode_topic_perms(w, s.topics[i]);
        w.u8(i + 1 < s.topics.size() ? 1 : 0);
    }
}

}  // namespace

void permissions::encode(writer& w) const {
    for (bool b : {manage_servers, read_servers, manage_users, read_users, manage_streams,
                   read_streams, manage_topics, read_topics, poll_messages, send_messages})
        w.u8(b);
    w.u8(streams.empty() ? 0 : 1);
    for (std::size_t i = 0; i < streams.size(); ++i) {
        encode_stream_perms(w, streams[i]);
        w.u8(i + 1 < streams.size() ? 1 : 0);
    }
}

result<permissions> permissions::decode(reader& r) {
    permissions p;
    bool* g[] = {&p.manage_servers, &p.read_servers, &p.manage_users,  &p.read_users,
                 &p.manage_streams, &p.read_streams, &p.manage_topics, &p.read_topics,
                 &p.poll_messages,  &p.send_messages};
    for (bool* b : g)
        *b = read_flag(r);
    bool more = read_flag(r);
    while (more && r.ok()) {
        stream_permissions s;
        s.stream_id = r.u32();
        bool* sf[] = {&s.manage_stream, &s.read_stream,   &s.manage_topics,
                      &s.read_topics,   &s.poll_messages, &s.send_messages};
        for (bool* b : sf)
            *b = read_flag(r);
        bool more_topics = read_flag(r);
        while (more_topics && r.ok()) {
            topic_permissions t;
            t.topic_id = r.u32();
            t.manage_topic = read_flag(r);
            t.read_topic = read_flag(r);
            t.poll_messages = read_flag(r);
            t.send_messages = read_flag(r);
            more_topics = read_flag(r);
            s.topics.push_back(t);  // each pass consumes bytes or fails the reader
        }
        more = read_flag(r);
        p.streams.push_back(std::move(s));
    }
    if (!r.ok())
        return decode_error("permissions", "truncated");
    return p;
}

void encode_optional_permissions(writer& w, const std::optional<permissions>& p) {
    if (!p) {
        w.u8(0);
        return;
    }
    w.u8(1);
    std::size_t at = w.size();
    w.u32(0);
    p->encode(w);
    store_u32(w.buffer().data() + at, static_cast<std::uint32_t>(w.size() - at - 4));
}

result<std::optional<permissions>> decode_optional_permissions(reader& r) {
    std::uint8_t has = r.u8();
    if (!r.ok())
        return decode_error("permissions", "truncated");
    if (has == 0)
        return std::optional<permissions>{};
    if (has != 1)
        return decode_error("permissions", "bad presence flag");
    std::uint32_t len = r.u32();
    auto block = r.raw(len);
    if (!r.ok())
        return decode_error("permissions", "truncated");
    reader pr(block);
    TRIB_ASSIGN_OR_RETURN(auto p, permissions::decode(pr));
    if (!pr.at_end())
        return decode_error("permissions", "trailing bytes");
    return std::optional<permissions>{std::move(p)};
}

}  // namespace trib::iggy
