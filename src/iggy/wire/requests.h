#pragma once
// Request bodies of protocol 0.11 (iggy-protocol.md sections 1.10, 4, 5): one struct per command,
// each with `encode(writer&)` (the client's direction) and `decode(bytes_view body)` (the embedded
// server's direction). Decoders check the whole body: truncation, bad kinds and trailing bytes are
// protocol errors, never crashes or over-reads.
//
// Layouts not shown in the protocol doc (users, personal access tokens) were taken from the real
// frames in iggy-wire-captures and from `core/binary_protocol` (permissions).

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "core/error.h"
#include "iggy/wire/bytes.h"
#include "iggy/wire/codes.h"
#include "iggy/wire/header.h"
#include "iggy/wire/primitives.h"

namespace trib::iggy {

// Declares what every request struct has.
#define TRIB_IGGY_REQUEST(T, CODE)                          \
    static constexpr std::uint32_t code = CODE;             \
    void encode(writer& w) const;                           \
    [[nodiscard]] static result<T> decode(bytes_view body); \
    friend bool operator==(const T&, const T&) = default

/// Requests with an empty body.
template <std::uint32_t Code>
struct empty_request {
    static constexpr std::uint32_t code = Code;
    void encode(writer&) const {}
    [[nodiscard]] static result<empty_request> decode(bytes_view body) {
        if (!body.empty())
            return decode_error(command_name(Code), "body must be empty");
        return empty_request{};
    }
    friend bool operator==(const empty_request&, const empty_request&) = default;
};

using ping_request = empty_request<cmd::ping>;
using get_stats_request = empty_request<cmd::get_stats>;
using get_cluster_metadata_request = empty_request<cmd::get_cluster_metadata>;
using get_me_request = empty_request<cmd::get_me>;
using get_clients_request = empty_request<cmd::get_clients>;
using get_users_request = empty_request<cmd::get_users>;
using logout_request = empty_request<cmd::logout_user>;
using get_personal_access_tokens_request = empty_request<cmd::get_personal_access_tokens>;
using get_streams_request = empty_request<cmd::get_streams>;

/// SDK identity sent in the login body.
inline constexpr std::string_view sdk_name = "cpp-sdk";
inline constexpr std::string_view sdk_version = "0.1.0";

/// LOGIN_REGISTER (40), operation Register: username and password.
struct login_register_request {
    std::uint32_t protocol = packed_version(protocol_version::v0_11);
    std::string sdk_name{iggy::sdk_name};
    std::string sdk_version{iggy::sdk_version};
    std::string username;
    std::string password;
    std::string context;
    TRIB_IGGY_REQUEST(login_register_request, cmd::login_register);
};

/// LOGIN_REGISTER_WITH_PAT (45), operation Register: a personal access token.
struct login_register_pat_request {
    std::uint32_t protocol = packed_version(protocol_version::v0_11);
    std::string sdk_name{iggy::sdk_name};
    std::string sdk_version{iggy::sdk_version};
    std::string token;
    std::string context;
    TRIB_IGGY_REQUEST(login_register_pat_request, cmd::login_register_with_pat);
};

/// A Register body as the server reads it: first as username/password, then as a token.
using login_request = std::variant<login_register_request, login_register_pat_request>;
[[nodiscard]] result<login_request> decode_login(bytes_view body);
/// The packed protocol version at the start of a Register body, if there are 4 bytes.
std::optional<std::uint32_t> login_protocol_version(bytes_view body);

struct get_client_request {
    std::uint32_t client_id = 0;
    TRIB_IGGY_REQUEST(get_client_request, cmd::get_client);
};

// ---- users ----
enum class user_status : std::uint8_t { active = 1, inactive = 2 };

struct get_user_request {
    identifier user;
    TRIB_IGGY_REQUEST(get_user_request, cmd::get_user);
};
struct create_user_request {
    std::string username;
    std::string password;
    user_status status = user_status::active;
    std::optional<permissions> perms;
    options opts;
    TRIB_IGGY_REQUEST(create_user_request, cmd::create_user);
};
struct delete_user_request {
    identifier user;
    TRIB_IGGY_REQUEST(delete_user_request, cmd::delete_user);
};
struct update_user_request {
    identifier user;
    std::optional<std::string> username;
    std::optional<user_status> status;
    options opts;
    TRIB_IGGY_REQUEST(update_user_request, cmd::update_user);
};
struct update_permissions_request {
    identifier user;
    std::optional<permissions> perms;
    TRIB_IGGY_REQUEST(update_permissions_request, cmd::update_permissions);
};
struct change_password_request {
    identifier user;
    std::string current_password;
    std::string new_password;
    TRIB_IGGY_REQUEST(change_password_request, cmd::change_password);
};

// ---- personal access tokens ----
struct create_personal_access_token_request {
    std::string name;
    std::uint64_t expiry = 0;  // µs from now; 0 = never
    TRIB_IGGY_REQUEST(create_personal_access_token_request, cmd::create_personal_access_token);
};
struct delete_personal_access_token_request {
    std::string name;
    TRIB_IGGY_REQUEST(delete_personal_access_token_request, cmd::delete_personal_access_token);
};

// ---- streams ----
struct get_stream_request {
    identifier stream;
    TRIB_IGGY_REQUEST(get_stream_request, cmd::get_stream);
};
struct create_stream_request {
    std::string name;
    options opts;  // streams accept no keys yet: send none
    TRIB_IGGY_REQUEST(create_stream_request, cmd::create_stream);
};
struct update_stream_request {
    identifier stream;
    std::string name;
    options opts;
    TRIB_IGGY_REQUEST(update_stream_request, cmd::update_stream);
};
struct delete_stream_request {
    identifier stream;
    TRIB_IGGY_REQUEST(delete_stream_request, cmd::delete_stream);
};
struct purge_stream_request {
    identifier stream;
    TRIB_IGGY_REQUEST(purge_stream_request, cmd::purge_stream);
};

// ---- topics ----
struct get_topic_request {
    identifier stream, topic;
    TRIB_IGGY_REQUEST(get_topic_request, cmd::get_topic);
};
struct get_topics_request {
    identifier stream;
    TRIB_IGGY_REQUEST(get_topics_request, cmd::get_topics);
};
/// Every topic setting is an option key (section 7); an empty block takes the server defaults.
struct create_topic_request {
    identifier stream;
    std::uint32_t partitions_count = 1;
    std::string name;
    options opts;
    TRIB_IGGY_REQUEST(create_topic_request, cmd::create_topic);
};
struct update_topic_request {
    identifier stream, topic;
    std::string name;
    options opts;  // compression_algorithm, message_expiry, max_topic_size
    TRIB_IGGY_REQUEST(update_topic_request, cmd::update_topic);
};
struct delete_topic_request {
    identifier stream, topic;
    TRIB_IGGY_REQUEST(delete_topic_request, cmd::delete_topic);
};
struct purge_topic_request {
    identifier stream, topic;
    TRIB_IGGY_REQUEST(purge_topic_request, cmd::purge_topic);
};

// ---- partitions and segments ----
struct create_partitions_request {
    identifier stream, topic;
    std::uint32_t partitions_count = 1;
    TRIB_IGGY_REQUEST(create_partitions_request, cmd::create_partitions);
};
struct delete_partitions_request {
    identifier stream, topic;
    std::uint32_t partitions_count = 1;
    TRIB_IGGY_REQUEST(delete_partitions_request, cmd::delete_partitions);
};
/// UNCONFIRMED layout (the 0.8 one): stream, topic, partition id, segments count.
struct delete_segments_request {
    identifier stream, topic;
    std::uint32_t partition_id = 0;
    std::uint32_t segments_count = 0;
    TRIB_IGGY_REQUEST(delete_segments_request, cmd::delete_segments);
};

// ---- consumer groups ----
struct get_consumer_group_request {
    identifier stream, topic, group;
    TRIB_IGGY_REQUEST(get_consumer_group_request, cmd::get_consumer_group);
};
struct get_consumer_groups_request {
    identifier stream, topic;
    TRIB_IGGY_REQUEST(get_consumer_groups_request, cmd::get_consumer_groups);
};
struct create_consumer_group_request {
    identifier stream, topic;
    std::string name;
    TRIB_IGGY_REQUEST(create_consumer_group_request, cmd::create_consumer_group);
};
struct delete_consumer_group_request {
    identifier stream, topic, group;
    TRIB_IGGY_REQUEST(delete_consumer_group_request, cmd::delete_consumer_group);
};
struct join_consumer_group_request {
    identifier stream, topic, group;
    TRIB_IGGY_REQUEST(join_consumer_group_request, cmd::join_consumer_group);
};
struct leave_consumer_group_request {
    identifier stream, topic, group;
    TRIB_IGGY_REQUEST(leave_consumer_group_request, cmd::leave_consumer_group);
};
struct sync_consumer_group_request {
    identifier stream, topic, group;
    TRIB_IGGY_REQUEST(sync_consumer_group_request, cmd::sync_consumer_group);
};

// ---- consumer offsets ----
struct get_consumer_offset_request {
    consumer who;
    identifier stream, topic;
    std::optional<std::uint32_t> partition;  // absent = partition 0
    TRIB_IGGY_REQUEST(get_consumer_offset_request, cmd::get_consumer_offset);
};
struct store_consumer_offset_request {
    consumer who;
    identifier stream, topic;
    std::optional<std::uint32_t> partition;  // must be present on 0.9
    std::uint64_t offset = 0;
    ack_level ack = ack_level::quorum;
    TRIB_IGGY_REQUEST(store_consumer_offset_request, cmd::store_consumer_offset);
};
struct delete_consumer_offset_request {
    consumer who;
    identifier stream, topic;
    std::optional<std::uint32_t> partition;
    ack_level ack = ack_level::quorum;
    TRIB_IGGY_REQUEST(delete_consumer_offset_request, cmd::delete_consumer_offset);
};

// ---- messages ----
struct poll_messages_request {
    consumer who;
    identifier stream, topic;
    std::optional<std::uint32_t> partition;
    polling_strategy strategy;
    std::uint32_t count = 0;
    bool auto_commit = false;
    TRIB_IGGY_REQUEST(poll_messages_request, cmd::poll_messages);
};

/// SEND_MESSAGES (101), operation 160: metadata, then a whole batch (batch.h). The batch is a view:
/// the encoder copies it, the decoder points into the body.
struct send_messages_request {
    static constexpr std::uint32_t code = cmd::send_messages;
    identifier stream, topic;
    partitioning part;
    std::uint32_t messages_count = 0;  // decode: from the body; encode: from the batch header
    bytes_view batch;

    void encode(writer& w, protocol_version v = protocol_version::v0_11) const;
    /// Checks the metadata, that messages_count equals the batch header's count and that the
    /// batch ends exactly at the end of the body. `check_batch` also runs validate_batch
    /// (lengths, reserved bytes and both checksums), as the server's admission does.
    [[nodiscard]] static result<send_messages_request> decode(
        bytes_view body, bool check_batch = false, protocol_version v = protocol_version::v0_11);
};
/// Writes the send metadata (`[metadata_length][stream][topic][partitioning][messages_count]`);
/// the caller appends the batch. Lets a producer put a batch next to it without a copy.
void encode_send_messages_prefix(writer& w, const identifier& stream, const identifier& topic,
                                 const partitioning& part, std::uint32_t messages_count);
std::size_t send_messages_prefix_size(const identifier& stream, const identifier& topic,
                                      const partitioning& part);

struct flush_unsaved_buffer_request {
    identifier stream, topic;
    std::uint32_t partition_id = 0;
    bool fsync = false;
    TRIB_IGGY_REQUEST(flush_unsaved_buffer_request, cmd::flush_unsaved_buffer);
};

/// DESCRIBE_OPTIONS (13, NR): `[scope:u8]`, 1 topic, 2 stream, 3 user (the option catalogue of
/// that resource's create command).
struct describe_options_request {
    static constexpr std::uint8_t topic_scope = 1, stream_scope = 2, user_scope = 3;
    std::uint8_t scope = topic_scope;
    TRIB_IGGY_REQUEST(describe_options_request, cmd::describe_options);
};

#undef TRIB_IGGY_REQUEST

/// Any request body, for a server's dispatch and for fuzzing.
using any_request = std::variant<
    ping_request, get_stats_request, get_cluster_metadata_request, get_me_request,
    get_client_request, get_clients_request, get_user_request, get_users_request,
    create_user_request, delete_user_request, update_user_request, update_permissions_request,
    change_password_request, logout_request, login_register_request, login_register_pat_request,
    get_personal_access_tokens_request, create_personal_access_token_request,
    delete_personal_access_token_request, poll_messages_request, send_messages_request,
    flush_unsaved_buffer_request, get_consumer_offset_request, store_consumer_offset_request,
    delete_consumer_offset_request, get_stream_request, get_streams_request, create_stream_request,
    delete_stream_request, update_stream_request, purge_stream_request, get_topic_request,
    get_topics_request, create_topic_request, delete_topic_request, update_topic_request,
    purge_topic_request, create_partitions_request, delete_partitions_request,
    delete_segments_request, get_consumer_group_request, get_consumer_groups_request,
    create_consumer_group_request, delete_consumer_group_request, join_consumer_group_request,
    leave_consumer_group_request, sync_consumer_group_request>;

/// Decodes a request body by command code (for Register, code 40 or 45 both try both shapes).
/// Unknown codes are InvalidCommand (3); legacy login codes are InvalidFormat (4).
[[nodiscard]] result<any_request> decode_request(std::uint32_t code, bytes_view body);

/// Builds a whole request frame for `req` into `buf` (cleared first), with the header fields the
/// caller gives (client, session, request number); operation and NR code come from the request.
template <class R>
bytes_view encode_request_frame(bytes& buf, const R& req, request_header h, bool stamp = false) {
    request_frame_builder b(buf);
    req.encode(b.body());
    auto op = operation_for_command(R::code);
    h.operation = static_cast<std::uint8_t>(op ? *op : operation::non_replicated);
    h.code = h.operation == static_cast<std::uint8_t>(operation::non_replicated) ? R::code : 0;
    return b.finish(h, stamp);
}

}  // namespace trib::iggy
