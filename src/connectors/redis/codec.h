#pragma once
// The pure parts of the Redis connector, no I/O: key templates, the commands the sink sends for a
// message, and stream entries (XREADGROUP / XAUTOCLAIM replies) turned into Iggy messages. Tested
// without a server (tests/connectors/redis/codec_test.cpp) and fuzzed (fuzz/redis).

#include <hiredis/hiredis.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/connector.h"
#include "core/error.h"
#include "core/message.h"

namespace trib::connectors::redis {

/// A key (or channel, member) template: literal text with `{stream}`, `{topic}`,
/// `{partition}`, `{offset}`, `{id}` (the Iggy message id, 32 hex digits), `{field:a.b}` (a
/// scalar of the JSON payload) and `{header:name}` (a user header's value). `{{` and `}}` are
/// literal braces.
struct key_template {
    enum class kind { literal, stream, topic, partition, offset, id, field, header };
    struct part {
        kind k = kind::literal;
        std::string text;  // the literal, the header name or the dotted field path
    };
    std::vector<part> parts;
    bool has(kind k) const;
    bool needs_json() const { return has(kind::field); }
};

/// Parses a template; the error names the offending placeholder.
result<key_template> parse_template(std::string_view text);

/// What the placeholders of a template stand for, for one message.
struct render_input {
    std::string_view stream;
    std::string_view topic;
    std::uint32_t partition = 0;
    const message* msg = nullptr;
    const void* json = nullptr;  // the parsed payload (a rapidjson::Value), or null if not JSON
};

/// The template's text for one message; an error (invalid_argument, fatal: the message goes to
/// the error policy) when a field or header it names is missing or not a scalar.
result<std::string> render(const key_template& t, const render_input& in);

enum class sink_mode { stream, list, publish, hash, set, zset, string };

/// How the sink turns a message into commands (the pure part of its options).
struct sink_layout {
    sink_mode mode = sink_mode::stream;
    key_template key;
    // stream
    std::optional<std::uint64_t> max_len;
    bool max_len_approximate = true;
    bool offset_ids = false;  // entry id `<offset>-<partition + 1>` instead of `*`
    std::string payload_field = "payload";
    bool fields_from_payload = false;  // a JSON object payload: one entry field per member
    bool include_metadata = true;      // iggy_stream, iggy_topic, ... fields
    bool include_headers = true;       // `header.<key>` fields
    // list
    bool list_left = false;  // LPUSH instead of RPUSH
    // set, zset
    std::optional<key_template> member;  // none: the payload itself
    std::string score_field;             // zset: a JSON number; empty: the Iggy offset
    // every keyed mode except publish
    std::chrono::milliseconds ttl{0};
};

/// One Redis command as its arguments.
using command = std::vector<std::string>;

/// The commands that write `m` (one, plus a PEXPIRE for a TTL on list, hash, set and zset keys).
/// An error means the message cannot be written and goes to the error policy.
result<std::vector<command>> commands_for(const sink_layout& l, const sink_batch& b,
                                          const message& m);

/// The explicit stream entry id of an offset-id sink: `<offset>-<partition + 1>` (an id above
/// 0-0 even for offset 0 of partition 0; increasing with the offset in one partition).
std::string offset_entry_id(std::uint64_t offset, std::uint32_t partition);

/// A stream entry as a reply gives it. `deleted`: the id is pending but the entry was trimmed
/// or deleted (XREADGROUP of history returns it with nil fields); it is acknowledged, not sent.
struct stream_entry {
    std::string key;
    std::string id;
    std::vector<std::pair<std::string, std::string>> fields;
    bool deleted = false;
};

/// The entries of an XREADGROUP/XREAD reply (nil: none). A reply of another shape is a
/// protocol error.
result<std::vector<stream_entry>> entries_of_xread(const redisReply* r);
/// The entries of an XAUTOCLAIM reply on `key` (Redis 6.2/7: [cursor, entries, deleted ids]);
/// `next` receives the cursor ("0-0" when the scan is complete).
result<std::vector<stream_entry>> entries_of_xautoclaim(const redisReply* r, std::string_view key,
                                                        std::string* next);

/// How the source turns an entry into a message.
struct entry_layout {
    /// The field that holds the payload. An entry without it becomes a JSON object of all its
    /// fields (the way most producers write entries: field/value pairs).
    std::string payload_field = "payload";
    bool fields_as_headers = true;  // the other fields as string headers
    std::int64_t database = 0;      // part of the message id
};

/// The message of an entry: payload (owned by `b`), headers `redis_key` and `redis_id`, the
/// other fields as headers, the deterministic id ("redis", db, key, entry id), and the entry's
/// time (the id's milliseconds) as the origin timestamp.
message message_of(const entry_layout& l, const stream_entry& e, message_batch& b);

/// The milliseconds part of an entry id ("1700000000000-3" -> 1700000000000); nullopt if it is
/// not an id.
std::optional<std::uint64_t> entry_id_millis(std::string_view id);

}  // namespace trib::connectors::redis
