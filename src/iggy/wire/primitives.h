#pragma once
// Shared encodings of protocol 0.11 (iggy-protocol.md section 3): names, identifiers, consumers,
// optional partition ids, partitioning, polling strategies, options blocks and permissions.
// Every type encodes into a `writer` and decodes from a `reader` with a typed error; decoders never
// read past their input.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "iggy/wire/batch.h"
#include "iggy/wire/bytes.h"

namespace trib::iggy {

/// A protocol-error result for a decoder ("<what>: <why>").
unexpected decode_error(std::string_view what, std::string_view why);

/// `[len:u8][bytes]` with len 1..255 (stream, topic, group, user and token names).
status check_name(std::string_view name, std::string_view what);
result<std::string> decode_name(reader& r, std::string_view what);

/// `[kind:u8][len:u8][value]`: numeric (kind 1, u32) or string (kind 2, 1..255 bytes).
struct identifier {
    enum class kind_t : std::uint8_t { numeric = 1, string = 2 };
    kind_t kind = kind_t::numeric;
    std::uint32_t number = 0;
    std::string name;

    static identifier numeric(std::uint32_t id) { return {kind_t::numeric, id, {}}; }
    static identifier named(std::string n) { return {kind_t::string, 0, std::move(n)}; }
    bool is_numeric() const { return kind == kind_t::numeric; }
    /// "7" or "'orders'", for messages.
    std::string to_string() const;

    void encode(writer& w) const;
    static result<identifier> decode(reader& r);
    friend bool operator==(const identifier&, const identifier&) = default;
};

/// `[kind:u8][Identifier]`: kind 1 = consumer, 2 = consumer group.
struct consumer {
    enum class kind_t : std::uint8_t { consumer = 1, group = 2 };
    kind_t kind = kind_t::consumer;
    identifier id;

    static consumer plain(identifier i) { return {kind_t::consumer, std::move(i)}; }
    static consumer group(identifier i) { return {kind_t::group, std::move(i)}; }
    void encode(writer& w) const;
    static result<consumer> decode(reader& r);
    friend bool operator==(const consumer&, const consumer&) = default;
};

/// `[flag:u8][partition_id:u32]` (5 bytes): flag 0 = absent, value bytes 0.
void encode_optional_partition(writer& w, std::optional<std::uint32_t> p);
result<std::optional<std::uint32_t>> decode_optional_partition(reader& r);

/// `[kind:u8][len:u8][value]`: 1 balanced (len 0), 2 partition id (len 4), 3 messages key
/// (len 1..255).
struct partitioning {
    enum class kind_t : std::uint8_t { balanced = 1, partition_id = 2, messages_key = 3 };
    kind_t kind = kind_t::balanced;
    std::uint32_t partition = 0;
    std::string key;

    static partitioning balanced() { return {}; }
    static partitioning partition_id(std::uint32_t p) { return {kind_t::partition_id, p, {}}; }
    static partitioning messages_key(std::string k) {
        return {kind_t::messages_key, 0, std::move(k)};
    }
    void encode(writer& w) const;
    std::size_t encoded_size() const;
    static result<partitioning> decode(reader& r);
    friend bool operator==(const partitioning&, const partitioning&) = default;
};

/// `[kind:u8][value:u64]`: 1 offset, 2 timestamp (µs), 3 first, 4 last, 5 next.
struct polling_strategy {
    enum class kind_t : std::uint8_t { offset = 1, timestamp = 2, first = 3, last = 4, next = 5 };
    kind_t kind = kind_t::next;
    std::uint64_t value = 0;

    static polling_strategy offset(std::uint64_t o) { return {kind_t::offset, o}; }
    static polling_strategy timestamp(std::uint64_t us) { return {kind_t::timestamp, us}; }
    static polling_strategy first() { return {kind_t::first, 0}; }
    static polling_strategy last() { return {kind_t::last, 0}; }
    static polling_strategy next() { return {kind_t::next, 0}; }
    void encode(writer& w) const;
    static result<polling_strategy> decode(reader& r);
    friend bool operator==(const polling_strategy&, const polling_strategy&) = default;
};

/// An options block: TLV entries like user headers, string keys, unique, each field 1..255 bytes,
/// at most 1024 entries and 100,000 bytes.
using options = std::vector<user_header>;
inline constexpr std::size_t max_option_entries = 1024;
inline constexpr std::size_t max_options_bytes = 100'000;

/// Checks the rules above (key kind 2, unique keys, lengths, limits).
status validate_options(const options& o);
/// The request form: the entries with no prefix (they run to the end of the body).
void encode_options(writer& w, const options& o);
result<options> decode_options(bytes_view block);
/// The response form: `[len:u32][entries]`.
void encode_prefixed_options(writer& w, const options& o);
result<options> decode_prefixed_options(reader& r);
/// The value of a key, if present.
const user_header* find_option(const options& o, std::string_view key);

/// Ack level of offset stores and deletes: 0 NoAck, 1 Quorum (the SDK default).
enum class ack_level : std::uint8_t { no_ack = 0, quorum = 1 };

/// User permissions (`primitives/permissions.rs`): 10 global flags, then chained per-stream and
/// per-topic entries, each list closed by a has-next byte.
struct topic_permissions {
    std::uint32_t topic_id = 0;
    bool manage_topic = false, read_topic = false, poll_messages = false, send_messages = false;
    friend bool operator==(const topic_permissions&, const topic_permissions&) = default;
};
struct stream_permissions {
    std::uint32_t stream_id = 0;
    bool manage_stream = false, read_stream = false, manage_topics = false, read_topics = false,
         poll_messages = false, send_messages = false;
    std::vector<topic_permissions> topics;
    friend bool operator==(const stream_permissions&, const stream_permissions&) = default;
};
struct permissions {
    bool manage_servers = false, read_servers = false, manage_users = false, read_users = false,
         manage_streams = false, read_streams = false, manage_topics = false, read_topics = false,
         poll_messages = false, send_messages = false;
    std::vector<stream_permissions> streams;

    void encode(writer& w) const;
    static result<permissions> decode(reader& r);
    friend bool operator==(const permissions&, const permissions&) = default;
};
/// `[has:u8]` then, if 1, `[len:u32][permissions]` (requests: create user, update permissions).
void encode_optional_permissions(writer& w, const std::optional<permissions>& p);
result<std::optional<permissions>> decode_optional_permissions(reader& r);

}  // namespace trib::iggy
