#pragma once
// Reply payloads of protocol 0.11: one struct per payload shape, each with `encode(writer&)` (the
// embedded server's direction) and `decode(bytes_view payload)` (the client's). "Payload" is what
// `reply_payload` returns: the result section of result-framed replies is already stripped.
//
// Reads of one resource answer an empty payload when it does not exist; `decode_optional` maps
// that to std::nullopt.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "iggy/wire/batch.h"
#include "iggy/wire/bytes.h"
#include "iggy/wire/codes.h"
#include "iggy/wire/primitives.h"

namespace trib::iggy {

#define TRIB_IGGY_REPLY(T)                                  \
    void encode(writer& w) const;                           \
    [[nodiscard]] static result<T> decode(bytes_view body); \
    friend bool operator==(const T&, const T&) = default

/// Empty payload = not found; otherwise T::decode.
template <class T>
[[nodiscard]] result<std::optional<T>> decode_optional(bytes_view payload) {
    if (payload.empty())
        return std::optional<T>{};
    auto r = T::decode(payload);
    if (!r)
        return unexpected(std::move(r).error());
    return std::optional<T>{std::move(r).value()};
}

/// Register (40/45) success: `[user_id][session][server_protocol_version][str8 version]`.
struct login_reply {
    std::uint32_t user_id = 0;
    std::uint64_t session = 0;
    std::uint32_t server_protocol_version = 0;
    std::string server_version;
    TRIB_IGGY_REPLY(login_reply);
};

// ---- streams and topics ----

/// StreamResponse: 33 fixed bytes, name, prefixed options.
struct stream_info {
    std::uint32_t id = 0;
    std::uint64_t created_at = 0;
    std::uint32_t topics_count = 0;
    std::uint64_t size_bytes = 0;
    std::uint64_t messages_count = 0;
    std::string name;
    options opts;
    void encode(writer& w) const;
    [[nodiscard]] static result<stream_info> decode(reader& r);
    friend bool operator==(const stream_info&, const stream_info&) = default;
};

/// TopicHeader: 50 fixed bytes with the name length, name, explicit and derived options.
struct topic_info {
    std::uint32_t id = 0;
    std::uint64_t created_at = 0;
    std::uint32_t partitions_count = 0;
    std::uint64_t message_expiry = 0;  // µs; 0 = server default, u64::MAX = never
    std::uint8_t compression = 1;      // 1 none, 2 gzip
    std::uint64_t max_topic_size = 0;  // 0 = server default, u64::MAX = unlimited
    std::uint64_t size_bytes = 0;
    std::uint64_t messages_count = 0;
    std::string name;
    options explicit_opts;
    options derived_opts;
    void encode(writer& w) const;
    [[nodiscard]] static result<topic_info> decode(reader& r);
    friend bool operator==(const topic_info&, const topic_info&) = default;
};

/// PartitionResponse (40 bytes).
struct partition_info {
    std::uint32_t id = 0;
    std::uint64_t created_at = 0;
    std::uint32_t segments_count = 0;
    std::uint64_t current_offset = 0;
    std::uint64_t size_bytes = 0;
    std::uint64_t messages_count = 0;
    void encode(writer& w) const;
    [[nodiscard]] static result<partition_info> decode(reader& r);
    friend bool operator==(const partition_info&, const partition_info&) = default;
};

/// GET_STREAM: the stream, then `topics_count` topic headers.
struct stream_details {
    stream_info stream;
    std::vector<topic_info> topics;
    TRIB_IGGY_REPLY(stream_details);
};
/// CREATE_STREAM: one StreamResponse.
struct create_stream_reply {
    stream_info stream;
    TRIB_IGGY_REPLY(create_stream_reply);
};
/// GET_STREAMS: StreamResponse packed to the end (no count).
struct streams_reply {
    std::vector<stream_info> streams;
    TRIB_IGGY_REPLY(streams_reply);
};
/// GET_TOPIC and CREATE_TOPIC: the header, then `partitions_count` partitions.
struct topic_details {
    topic_info topic;
    std::vector<partition_info> partitions;
    TRIB_IGGY_REPLY(topic_details);
};
/// GET_TOPICS: `[count:u32]` then headers (the only list with a count).
struct topics_reply {
    std::vector<topic_info> topics;
    TRIB_IGGY_REPLY(topics_reply);
};

// ---- consumer groups and offsets ----

struct consumer_group_info {
    std::uint32_t id = 0;
    std::uint32_t partitions_count = 0;
    std::uint32_t members_count = 0;
    std::string name;
    void encode(writer& w) const;
    [[nodiscard]] static result<consumer_group_info> decode(reader& r);
    friend bool operator==(const consumer_group_info&, const consumer_group_info&) = default;
};
struct consumer_group_member {
    std::uint32_t id = 0;
    std::vector<std::uint32_t> partitions;
    friend bool operator==(const consumer_group_member&, const consumer_group_member&) = default;
};
/// GET_CONSUMER_GROUP and CREATE_CONSUMER_GROUP.
struct consumer_group_details {
    consumer_group_info group;
    std::vector<consumer_group_member> members;
    TRIB_IGGY_REPLY(consumer_group_details);
};
/// GET_CONSUMER_GROUPS: packed to the end.
struct consumer_groups_reply {
    std::vector<consumer_group_info> groups;
    TRIB_IGGY_REPLY(consumer_groups_reply);
};
/// SYNC_CONSUMER_GROUP: the generation and this member's partitions (empty payload: not a member).
struct sync_consumer_group_reply {
    std::uint64_t generation = 0;
    std::vector<std::uint32_t> partitions;
    TRIB_IGGY_REPLY(sync_consumer_group_reply);
};
/// GET_CONSUMER_OFFSET (empty payload: nothing stored).
struct consumer_offset_info {
    std::uint32_t partition_id = 0;
    std::uint64_t current_offset = 0;
    std::uint64_t stored_offset = 0;
    TRIB_IGGY_REPLY(consumer_offset_info);
};

// ---- messages ----

struct send_confirmation {
    std::uint32_t stream_id = 0, topic_id = 0, partition_id = 0;
    std::uint64_t base_offset = 0;
    friend bool operator==(const send_confirmation&, const send_confirmation&) = default;
};
/// SEND_MESSAGES (op 160, not result-framed): `[count]` + 20-byte confirmations; an empty payload
/// also means accepted.
struct send_messages_reply {
    std::vector<send_confirmation> confirmations;
    TRIB_IGGY_REPLY(send_messages_reply);
};

/// One polled message, viewed in place inside the reply buffer.
struct polled_message {
    std::uint64_t offset = 0;            // batch base_offset + offset_delta
    std::uint64_t timestamp = 0;         // batch base_timestamp (server append time)
    std::uint64_t origin_timestamp = 0;  // batch origin_timestamp + timestamp_delta
    u128 id;
    std::uint64_t checksum = 0;
    bytes_view payload;
    bytes_view user_headers;  // raw TLV; decode_user_headers() when needed
};

/// The partition id a consumer-group poll answers when the partition is not (or no longer) owned.
inline constexpr std::uint32_t resync_partition_id = 0xFFFFFFFF;

/// POLL_MESSAGES: `[partition_id][current_offset][count]` then whole batches. The messages view
/// the decoded buffer, which must outlive them.
struct poll_reply {
    std::uint32_t partition_id = 0;
    std::uint64_t current_offset = 0;
    std::uint32_t count = 0;
    std::vector<bytes_view> batches;
    std::vector<polled_message> messages;

    bool resync_required() const { return partition_id == resync_partition_id; }
    /// Writes the head and the batches as they are (the server's direction).
    void encode(writer& w) const;
    [[nodiscard]] static result<poll_reply> decode(bytes_view body,
                                                   protocol_version v = protocol_version::v0_11);
    /// Decodes into `out`, reusing its vectors' capacity (the hot path of a consumer).
    [[nodiscard]] static status decode_into(bytes_view body, poll_reply& out,
                                            protocol_version v = protocol_version::v0_11);
};

// ---- system ----

struct cache_metrics {
    std::uint32_t stream_id = 0, topic_id = 0, partition_id = 0;
    std::uint64_t hits = 0, misses = 0;
    float hit_ratio = 0;
    friend bool operator==(const cache_metrics&, const cache_metrics&) = default;
};
/// GET_STATS (section 4.4).
struct stats {
    std::uint32_t process_id = 0;
    float cpu_usage = 0, total_cpu_usage = 0;
    std::uint64_t memory_usage = 0, total_memory = 0, available_memory = 0, run_time = 0,
                  start_time = 0, read_bytes = 0, written_bytes = 0, messages_size_bytes = 0;
    std::uint32_t streams_count = 0, topics_count = 0, partitions_count = 0, segments_count = 0;
    std::uint64_t messages_count = 0;
    std::uint32_t clients_count = 0, consumer_groups_count = 0;
    std::string hostname, os_name, os_version, kernel_version, iggy_server_version;
    std::uint32_t iggy_server_semver = 0;  // major*1e6 + minor*1e3 + patch; 0 = absent
    std::vector<cache_metrics> cache;
    std::uint32_t threads_count = 0;
    std::uint64_t free_disk_space = 0, total_disk_space = 0;
    TRIB_IGGY_REPLY(stats);
};

enum class transport_kind : std::uint8_t { tcp = 1, quic = 2, http = 3, websocket = 4 };
struct client_info {
    std::uint32_t client_id = 0;
    std::uint32_t user_id = 0;
    std::uint8_t transport = 1;
    std::string address;
    std::uint32_t consumer_groups_count = 0;
    void encode(writer& w) const;
    [[nodiscard]] static result<client_info> decode(reader& r);
    friend bool operator==(const client_info&, const client_info&) = default;
};
struct client_group {
    std::uint32_t stream_id = 0, topic_id = 0, group_id = 0;
    friend bool operator==(const client_group&, const client_group&) = default;
};
/// GET_ME and GET_CLIENT: the client, then its groups.
struct client_details {
    client_info client;
    std::vector<client_group> groups;
    TRIB_IGGY_REPLY(client_details);
};
/// GET_CLIENTS: packed to the end.
struct clients_reply {
    std::vector<client_info> clients;
    TRIB_IGGY_REPLY(clients_reply);
};

struct cluster_node {
    std::string name, ip;
    std::uint16_t tcp_port = 0, quic_port = 0, http_port = 0, websocket_port = 0;
    std::uint8_t role = 0;    // 0 leader, 1 follower
    std::uint8_t status = 0;  // 0 healthy .. 4 maintenance
    friend bool operator==(const cluster_node&, const cluster_node&) = default;
};
/// GET_CLUSTER_METADATA.
struct cluster_metadata {
    std::string name;
    std::vector<cluster_node> nodes;
    TRIB_IGGY_REPLY(cluster_metadata);
};

// ---- users and tokens ----

/// UserInfo: id, created_at, status, name, prefixed options.
struct user_info {
    std::uint32_t id = 0;
    std::uint64_t created_at = 0;
    std::uint8_t status = 1;  // 1 active, 2 inactive
    std::string username;
    options opts;
    void encode(writer& w) const;
    [[nodiscard]] static result<user_info> decode(reader& r);
    friend bool operator==(const user_info&, const user_info&) = default;
};
/// GET_USER and CREATE_USER: UserInfo then `[permissions_len:u32][permissions]` (0 = none; the
/// non-empty layout is UNCONFIRMED against a real server).
struct user_details {
    user_info user;
    std::optional<permissions> perms;
    TRIB_IGGY_REPLY(user_details);
};
/// GET_USERS: packed to the end.
struct users_reply {
    std::vector<user_info> users;
    TRIB_IGGY_REPLY(users_reply);
};
/// CREATE_PERSONAL_ACCESS_TOKEN: the raw token, `[len:u8][token]`.
struct raw_personal_access_token {
    std::string token;
    TRIB_IGGY_REPLY(raw_personal_access_token);
};
struct personal_access_token_info {
    std::string name;
    std::uint64_t expiry_at = 0;  // µs since the epoch; 0 = never
    friend bool operator==(const personal_access_token_info&,
                           const personal_access_token_info&) = default;
};
/// GET_PERSONAL_ACCESS_TOKENS: `{Name, expiry:u64}` packed to the end.
struct personal_access_tokens_reply {
    std::vector<personal_access_token_info> tokens;
    TRIB_IGGY_REPLY(personal_access_tokens_reply);
};

/// One DESCRIBE_OPTIONS entry: `[Name key][kind:u8][len:u32][default][len:u32][description]`;
/// the default is in the kind's encoding, empty when there is none.
struct option_descriptor {
    std::string key;
    header_kind kind = header_kind::string;
    std::string default_value;
    std::string description;
    friend bool operator==(const option_descriptor&, const option_descriptor&) = default;
};
/// DESCRIBE_OPTIONS: `[count:u32]` then the descriptors.
struct options_catalog {
    std::vector<option_descriptor> entries;
    TRIB_IGGY_REPLY(options_catalog);
};

#undef TRIB_IGGY_REPLY

/// Which payload decoder a reply to `code` needs, for fuzzing and capture tests. Returns ok for a
/// payload that decodes (or is a valid empty reply), the decoder's error otherwise.
[[nodiscard]] status decode_reply_payload(std::uint32_t code, bytes_view payload);

}  // namespace trib::iggy
