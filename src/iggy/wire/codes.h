#pragma once
// Iggy protocol 0.11 (server 0.9) numbers: command codes, the operation byte of the 256-byte
// header, the code <-> operation mapping, error codes and eviction reasons
// (iggy-protocol.md sections 1.4, 1.8, 2 and 6.2).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace trib::iggy {

/// The protocol generations this codec knows. Iggy 0.10 changes the batch header; it gets its own
/// value here and the codec branches on it where layouts differ.
enum class protocol_version : std::uint8_t { v0_11 = 0 };

/// Packed semver `(major << 20) | (minor << 10) | patch`, as sent in the login body.
constexpr std::uint32_t pack_version(std::uint32_t major, std::uint32_t minor,
                                     std::uint32_t patch) {
    return (major << 20) | (minor << 10) | patch;
}
/// 0.11.0 = 0x00002C00.
constexpr std::uint32_t packed_version(protocol_version v) {
    switch (v) {
        case protocol_version::v0_11:
            return pack_version(0, 11, 0);
    }
    return 0;
}

/// Command codes (`core/binary_protocol/src/codes.rs`).
namespace cmd {
inline constexpr std::uint32_t ping = 1;
inline constexpr std::uint32_t get_stats = 10;
inline constexpr std::uint32_t get_snapshot_file = 11;
inline constexpr std::uint32_t get_cluster_metadata = 12;
inline constexpr std::uint32_t describe_options = 13;
inline constexpr std::uint32_t get_me = 20;
inline constexpr std::uint32_t get_client = 21;
inline constexpr std::uint32_t get_clients = 22;
inline constexpr std::uint32_t get_user = 31;
inline constexpr std::uint32_t get_users = 32;
inline constexpr std::uint32_t create_user = 33;
inline constexpr std::uint32_t delete_user = 34;
inline constexpr std::uint32_t update_user = 35;
inline constexpr std::uint32_t update_permissions = 36;
inline constexpr std::uint32_t change_password = 37;
inline constexpr std::uint32_t login_user = 38;  // legacy: a 0.9 server evicts (MalformedLogin)
inline constexpr std::uint32_t logout_user = 39;
inline constexpr std::uint32_t login_register = 40;
inline constexpr std::uint32_t get_personal_access_tokens = 41;
inline constexpr std::uint32_t create_personal_access_token = 42;
inline constexpr std::uint32_t delete_personal_access_token = 43;
inline constexpr std::uint32_t login_with_personal_access_token = 44;  // legacy, rejected
inline constexpr std::uint32_t login_register_with_pat = 45;
inline constexpr std::uint32_t poll_messages = 100;
inline constexpr std::uint32_t send_messages = 101;
inline constexpr std::uint32_t flush_unsaved_buffer = 102;
inline constexpr std::uint32_t get_consumer_offset = 120;
inline constexpr std::uint32_t store_consumer_offset = 121;
inline constexpr std::uint32_t delete_consumer_offset = 122;
inline constexpr std::uint32_t get_stream = 200;
inline constexpr std::uint32_t get_streams = 201;
inline constexpr std::uint32_t create_stream = 202;
inline constexpr std::uint32_t delete_stream = 203;
inline constexpr std::uint32_t update_stream = 204;
inline constexpr std::uint32_t purge_stream = 205;
inline constexpr std::uint32_t get_topic = 300;
inline constexpr std::uint32_t get_topics = 301;
inline constexpr std::uint32_t create_topic = 302;
inline constexpr std::uint32_t delete_topic = 303;
inline constexpr std::uint32_t update_topic = 304;
inline constexpr std::uint32_t purge_topic = 305;
inline constexpr std::uint32_t create_partitions = 402;
inline constexpr std::uint32_t delete_partitions = 403;
inline constexpr std::uint32_t delete_segments = 503;
inline constexpr std::uint32_t get_consumer_group = 600;
inline constexpr std::uint32_t get_consumer_groups = 601;
inline constexpr std::uint32_t create_consumer_group = 602;
inline constexpr std::uint32_t delete_consumer_group = 603;
inline constexpr std::uint32_t join_consumer_group = 604;
inline constexpr std::uint32_t leave_consumer_group = 605;
inline constexpr std::uint32_t sync_consumer_group = 606;
}  // namespace cmd

/// "PING", "SEND_MESSAGES", ...; "UNKNOWN" for codes that do not exist.
std::string_view command_name(std::uint32_t code);
/// True for every code in the table of section 2 (legacy login codes included).
bool is_known_command(std::uint32_t code);

/// The operation byte (header offset 176 in requests, 208 in replies).
enum class operation : std::uint8_t {
    reserved = 0,
    register_session = 1,  // LOGIN_REGISTER (40) and LOGIN_REGISTER_WITH_PAT (45)
    non_replicated = 2,    // every NR command; the code travels at offset 196
    logout = 3,
    // 64..68: server-internal; they appear in replies (CreateTopic answers with 64, ...)
    internal_64 = 64,
    internal_65 = 65,
    internal_66 = 66,
    internal_67 = 67,
    truncate_partition = 68,  // DELETE_SEGMENTS replies come back with this op
    create_stream = 128,
    update_stream = 129,
    delete_stream = 130,
    purge_stream = 131,
    create_topic = 132,
    update_topic = 133,
    delete_topic = 134,
    purge_topic = 135,
    create_partitions = 136,
    delete_partitions = 137,
    delete_segments = 138,
    create_consumer_group = 139,
    delete_consumer_group = 140,
    create_user = 141,
    update_user = 142,
    delete_user = 143,
    change_password = 144,
    update_permissions = 145,
    create_personal_access_token = 146,
    delete_personal_access_token = 147,
    join_consumer_group = 148,
    leave_consumer_group = 149,
    send_messages = 160,
    store_consumer_offset = 161,
    delete_consumer_offset = 162,
};

std::string_view operation_name(operation op);
/// True for the values a client may send or a server may echo (0 and unassigned values are not).
bool is_defined_operation(std::uint8_t op);
/// Metadata ops (128..149): counted request numbers, deduplicated by the server.
constexpr bool is_metadata_operation(std::uint8_t op) {
    return op >= 128 && op <= 149;
}
/// Partition-plane ops (160..162): the current request number, not incremented.
constexpr bool is_partition_operation(std::uint8_t op) {
    return op >= 160 && op <= 162;
}
/// The operation that carries a command (register for 40/45, non_replicated for reads, ...), or
/// nothing for codes that do not exist. The legacy login codes 38/44 map to non_replicated (the
/// way they travel, and the server evicts them).
std::optional<operation> operation_for_command(std::uint32_t code);
/// The command a replicated operation means (202 for create_stream, ...). Register is ambiguous
/// (40 or 45: the body decides) and returns 40; non_replicated returns nothing (the code is in
/// the header), internal ops return nothing.
std::optional<std::uint32_t> command_for_operation(operation op);
/// Section 1.7 step 4: does a successful reply with this op start with a result section?
bool is_result_framed(std::uint8_t op, std::size_t body_size);

/// Iggy error codes seen on the wire (`core/common/src/error/iggy_error.rs`).
namespace code {
inline constexpr std::uint32_t ok = 0;
inline constexpr std::uint32_t error = 1;
inline constexpr std::uint32_t invalid_configuration = 2;
inline constexpr std::uint32_t invalid_command = 3;
inline constexpr std::uint32_t invalid_format = 4;
inline constexpr std::uint32_t feature_unavailable = 5;
inline constexpr std::uint32_t invalid_identifier = 6;
inline constexpr std::uint32_t resource_not_found = 20;
inline constexpr std::uint32_t stale_client = 30;
inline constexpr std::uint32_t unauthenticated = 40;
inline constexpr std::uint32_t unauthorized = 41;
inline constexpr std::uint32_t invalid_credentials = 42;
inline constexpr std::uint32_t invalid_username = 43;
inline constexpr std::uint32_t invalid_password = 44;
inline constexpr std::uint32_t invalid_user_status = 45;
inline constexpr std::uint32_t user_already_exists = 46;
inline constexpr std::uint32_t user_inactive = 47;
inline constexpr std::uint32_t cannot_delete_user = 48;
inline constexpr std::uint32_t cannot_change_permissions = 49;
inline constexpr std::uint32_t invalid_personal_access_token_name = 50;
inline constexpr std::uint32_t personal_access_token_already_exists = 51;
inline constexpr std::uint32_t personal_access_tokens_limit_reached = 52;
inline constexpr std::uint32_t invalid_personal_access_token = 53;
inline constexpr std::uint32_t personal_access_token_expired = 54;
inline constexpr std::uint32_t users_limit_reached = 55;
inline constexpr std::uint32_t transient_not_committed = 57;
inline constexpr std::uint32_t transient_not_accepted = 58;
inline constexpr std::uint32_t request_already_applied = 59;
inline constexpr std::uint32_t stream_id_not_found = 1009;
inline constexpr std::uint32_t stream_name_already_exists = 1012;
inline constexpr std::uint32_t invalid_topic_size = 1019;
inline constexpr std::uint32_t too_many_streams = 1020;
inline constexpr std::uint32_t topic_id_not_found = 2010;
inline constexpr std::uint32_t topic_name_already_exists = 2013;
inline constexpr std::uint32_t too_many_partitions = 2015;
inline constexpr std::uint32_t invalid_partitions_count = 2019;
inline constexpr std::uint32_t too_many_topics = 2021;
inline constexpr std::uint32_t partition_not_found = 3007;
inline constexpr std::uint32_t partition_id_space_exhausted = 3013;
inline constexpr std::uint32_t invalid_message_checksum = 4027;
inline constexpr std::uint32_t invalid_message_timestamp_delta = 4038;
inline constexpr std::uint32_t invalid_batch_checksum = 4039;
inline constexpr std::uint32_t unsupported_option_key = 4041;
inline constexpr std::uint32_t invalid_option_value = 4042;
inline constexpr std::uint32_t options_block_too_large = 4043;
inline constexpr std::uint32_t consumer_group_id_not_found = 5000;
inline constexpr std::uint32_t consumer_group_name_already_exists = 5004;
inline constexpr std::uint32_t consumer_group_member_not_found = 5006;
inline constexpr std::uint32_t consumer_group_partition_not_owned = 5009;
inline constexpr std::uint32_t incompatible_protocol_version = 14003;
}  // namespace code

/// "ResourceNotFound", "TransientNotCommitted", ...; "Unknown" otherwise.
std::string_view error_name(std::uint32_t iggy_code);
/// The canonical errc of an Iggy code.
errc errc_for_code(std::uint32_t iggy_code);
/// 57 and 58 (resend), 30 (reconnect): retryable. Everything else follows the errc default.
retry_class retry_class_for_code(std::uint32_t iggy_code);
/// A trib::error for an Iggy code: errc, retry class, vendor_code = the Iggy code, and a message
/// "<context>: <Name> (<code>)".
error iggy_error(std::uint32_t iggy_code, std::string_view context = {});

/// Why the server evicted a session (EvictionHeader byte 255).
enum class eviction_reason : std::uint8_t {
    no_session = 1,
    client_release_too_low = 2,
    client_release_too_high = 3,
    invalid_request_operation = 4,
    invalid_request_body = 5,
    invalid_request_body_size = 6,
    session_too_low = 7,
    session_release_mismatch = 8,
    invalid_credentials = 9,
    invalid_token = 10,
    user_inactive = 11,
    session_error = 12,
    stale_client = 13,
    incompatible_protocol = 14,
    malformed_login = 15,
};

std::string_view eviction_reason_name(std::uint8_t reason);
/// The Iggy error code SDKs report for an eviction (section 1.8). For incompatible_protocol the
/// server's window decides: min == 0 or max < min means 40.
std::uint32_t eviction_error_code(std::uint8_t reason, std::uint32_t server_version = 0,
                                  std::uint32_t server_version_min = 0);

}  // namespace trib::iggy
