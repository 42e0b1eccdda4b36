#include "iggy/wire/codes.h"

#include <fmt/format.h>

#include <array>

namespace trib::iggy {

namespace {

struct command_entry {
    std::uint32_t code;
    std::string_view name;
    operation op;
};

constexpr operation nr = operation::non_replicated;

// One row per command of section 2: the single table that names codes and maps them to the
// operation they travel with.
constexpr std::array<command_entry, 51> command_table{{
    {cmd::ping, "PING", nr},
    {cmd::get_stats, "GET_STATS", nr},
    {cmd::get_snapshot_file, "GET_SNAPSHOT_FILE", nr},
    {cmd::get_cluster_metadata, "GET_CLUSTER_METADATA", nr},
    {cmd::describe_options, "DESCRIBE_OPTIONS", nr},
    {cmd::get_me, "GET_ME", nr},
    {cmd::get_client, "GET_CLIENT", nr},
    {cmd::get_clients, "GET_CLIENTS", nr},
    {cmd::get_user, "GET_USER", nr},
    {cmd::get_users, "GET_USERS", nr},
    {cmd::create_user, "CREATE_USER", operation::create_user},
    {cmd::delete_user, "DELETE_USER", operation::delete_user},
    {cmd::update_user, "UPDATE_USER", operation::update_user},
    {cmd::update_permissions, "UPDATE_PERMISSIONS", operation::update_permissions},
    {cmd::change_password, "CHANGE_PASSWORD", operation::change_password},
    {cmd::login_user, "LOGIN_USER", nr},
    {cmd::logout_user, "LOGOUT_USER", operation::logout},
    {cmd::login_register, "LOGIN_REGISTER", operation::register_session},
    {cmd::get_personal_access_tokens, "GET_PERSONAL_ACCESS_TOKENS", nr},
    {cmd::create_personal_access_token, "CREATE_PERSONAL_ACCESS_TOKEN",
     operation::create_personal_access_token},
    {cmd::delete_personal_access_token, "DELETE_PERSONAL_ACCESS_TOKEN",
     operation::delete_personal_access_token},
    {cmd::login_with_personal_access_token, "LOGIN_WITH_PERSONAL_ACCESS_TOKEN", nr},
    {cmd::login_register_with_pat, "LOGIN_REGISTER_WITH_PAT", operation::register_session},
    {cmd::poll_messages, "POLL_MESSAGES", nr},
    {cmd::send_messages, "SEND_MESSAGES", operation::send_messages},
    {cmd::flush_unsaved_buffer, "FLUSH_UNSAVED_BUFFER", nr},
    {cmd::get_consumer_offset, "GET_CONSUMER_OFFSET", nr},
    {cmd::store_consumer_offset, "STORE_CONSUMER_OFFSET", operation::store_consumer_offset},
    {cmd::delete_consumer_offset, "DELETE_CONSUMER_OFFSET", operation::delete_consumer_offset},
    {cmd::get_stream, "GET_STREAM", nr},
    {cmd::get_streams, "GET_STREAMS", nr},
    {cmd::create_stream, "CREATE_STREAM", operation::create_stream},
    {cmd::delete_stream, "DELETE_STREAM", operation::delete_stream},
    {cmd::update_stream, "UPDATE_STREAM", operation::update_stream},
    {cmd::purge_stream, "PURGE_STREAM", operation::purge_stream},
    {cmd::get_topic, "GET_TOPIC", nr},
    {cmd::get_topics, "GET_TOPICS", nr},
    {cmd::create_topic, "CREATE_TOPIC", operation::create_topic},
    {cmd::delete_topic, "DELETE_TOPIC", operation::delete_topic},
    {cmd::update_topic, "UPDATE_TOPIC", operation::update_topic},
    {cmd::purge_topic, "PURGE_TOPIC", operation::purge_topic},
    {cmd::create_partitions, "CREATE_PARTITIONS", operation::create_partitions},
    {cmd::delete_partitions, "DELETE_PARTITIONS", operation::delete_partitions},
    {cmd::delete_segments, "DELETE_SEGMENTS", operation::delete_segments},
    {cmd::get_consumer_group, "GET_CONSUMER_GROUP", nr},
    {cmd::get_consumer_groups, "GET_CONSUMER_GROUPS", nr},
    {cmd::create_consumer_group, "CREATE_CONSUMER_GROUP", operation::create_consumer_group},
    {cmd::delete_consumer_group, "DELETE_CONSUMER_GROUP", operation::delete_consumer_group},
    {cmd::join_consumer_group, "JOIN_CONSUMER_GROUP", operation::join_consumer_group},
    {cmd::leave_consumer_group, "LEAVE_CONSUMER_GROUP", operation::leave_consumer_group},
    {cmd::sync_consumer_group, "SYNC_CONSUMER_GROUP", nr},
}};

const command_entry* find_command(std::uint32_t code) {
    for (const auto& e : command_table) {
        if (e.code == code)
            return &e;
    }
    return nullptr;
}

}  // namespace

std::string_view command_name(std::uint32_t code) {
    const auto* e = find_command(code);
    return e ? e->name : "UNKNOWN";
}

bool is_known_command(std::uint32_t code) {
    return find_command(code) != nullptr;
}

std::optional<operation> operation_for_command(std::uint32_t code) {
    const auto* e = find_command(code);
    if (!e)
        return std::nullopt;
    return e->op;
}

std::optional<std::uint32_t> command_for_operation(operation op) {
    if (op == operation::register_session)
        return cmd::login_register;
    if (op == operation::non_replicated)
        return std::nullopt;
    for (const auto& e : command_table) {
        if (e.op == op)
            return e.code;
    }
    return std::nullopt;
}

std::string_view operation_name(operation op) {
    switch (op) {
        case operation::reserved:
            return "Reserved";
        case operation::register_session:
            return "Register";
        case operation::non_replicated:
            return "NonReplicated";
        case operation::logout:
            return "Logout";
        case operation::internal_64:
        case operation::internal_65:
        case operation::internal_66:
        case operation::internal_67:
            return "Internal";
        case operation::truncate_partition:
            return "TruncatePartition";
        case operation::create_stream:
            return "CreateStream";
        case operation::update_stream:
            return "UpdateStream";
        case operation::delete_stream:
            return "DeleteStream";
        case operation::purge_stream:
            return "PurgeStream";
        case operation::create_topic:
            return "CreateTopic";
        case operation::update_topic:
            return "UpdateTopic";
        case operation::delete_topic:
            return "DeleteTopic";
        case operation::purge_topic:
            return "PurgeTopic";
        case operation::create_partitions:
            return "CreatePartitions";
        case operation::delete_partitions:
            return "DeletePartitions";
        case operation::delete_segments:
            return "DeleteSegments";
        case operation::create_consumer_group:
            return "CreateConsumerGroup";
        case operation::delete_consumer_group:
            return "DeleteConsumerGroup";
        case operation::create_user:
            return "CreateUser";
        case operation::update_user:
            return "UpdateUser";
        case operation::delete_user:
            return "DeleteUser";
        case operation::change_password:
            return "ChangePassword";
        case operation::update_permissions:
            return "UpdatePermissions";
        case operation::create_personal_access_token:
            return "CreatePersonalAccessToken";
        case operation::delete_personal_access_token:
            return "DeletePersonalAccessToken";
        case operation::join_consumer_group:
            return "JoinConsumerGroup";
        case operation::leave_consumer_group:
            return "LeaveConsumerGroup";
        case operation::send_messages:
            return "SendMessages";
        case operation::store_consumer_offset:
            return "StoreConsumerOffset";
        case operation::delete_consumer_offset:
            return "DeleteConsumerOffset";
    }
    return "Unknown";
}

bool is_defined_operation(std::uint8_t op) {
    return (op >= 1 && op <= 3) || (op >= 64 && op <= 68) || (op >= 128 && op <= 149) ||
           (op >= 160 && op <= 162);
}

bool is_result_framed(std::uint8_t op, std::size_t body_size) {
    if (op == static_cast<std::uint8_t>(operation::register_session))
        return body_size > 0;
    if (op == static_cast<std::uint8_t>(operation::delete_segments))
        return false;  // only an undecodable DELETE_SEGMENTS comes back with 138, unframed
    return is_metadata_operation(op) || (op >= 64 && op <= 68) ||
           op == static_cast<std::uint8_t>(operation::store_consumer_offset) ||
           op == static_cast<std::uint8_t>(operation::delete_consumer_offset);
}

std::string_view error_name(std::uint32_t c) {
    switch (c) {
        case code::ok:
            return "Ok";
        case code::error:
            return "Error";
        case code::invalid_configuration:
            return "InvalidConfiguration";
        case code::invalid_command:
            return "InvalidCommand";
        case code::invalid_format:
            return "InvalidFormat";
        case code::feature_unavailable:
            return "FeatureUnavailable";
        case code::invalid_identifier:
            return "InvalidIdentifier";
        case code::resource_not_found:
            return "ResourceNotFound";
        case code::stale_client:
            return "StaleClient";
        case code::unauthenticated:
            return "Unauthenticated";
        case code::unauthorized:
            return "Unauthorized";
        case code::invalid_credentials:
            return "InvalidCredentials";
        case code::invalid_username:
            return "InvalidUsername";
        case code::invalid_password:
            return "InvalidPassword";
        case code::invalid_user_status:
            return "InvalidUserStatus";
        case code::user_already_exists:
            return "UserAlreadyExists";
        case code::user_inactive:
            return "UserInactive";
        case code::cannot_delete_user:
            return "CannotDeleteUser";
        case code::cannot_change_permissions:
            return "CannotChangePermissions";
        case code::invalid_personal_access_token_name:
            return "InvalidPersonalAccessTokenName";
        case code::personal_access_token_already_exists:
            return "PersonalAccessTokenAlreadyExists";
        case code::personal_access_tokens_limit_reached:
            return "PersonalAccessTokensLimitReached";
        case code::invalid_personal_access_token:
            return "InvalidPersonalAccessToken";
        case code::personal_access_token_expired:
            return "PersonalAccessTokenExpired";
        case code::users_limit_reached:
            return "UsersLimitReached";
        case code::transient_not_committed:
            return "TransientNotCommitted";
        case code::transient_not_accepted:
            return "TransientNotAccepted";
        case code::request_already_applied:
            return "RequestAlreadyApplied";
        case code::stream_id_not_found:
            return "StreamIdNotFound";
        case code::stream_name_already_exists:
            return "StreamNameAlreadyExists";
        case code::invalid_topic_size:
            return "InvalidTopicSize";
        case code::too_many_streams:
            return "TooManyStreams";
        case code::topic_id_not_found:
            return "TopicIdNotFound";
        case code::topic_name_already_exists:
            return "TopicNameAlreadyExists";
        case code::too_many_partitions:
            return "TooManyPartitions";
        case code::invalid_partitions_count:
            return "InvalidPartitionsCount";
        case code::too_many_topics:
            return "TooManyTopics";
        case code::partition_not_found:
            return "PartitionNotFound";
        case code::partition_id_space_exhausted:
            return "PartitionIdSpaceExhausted";
        case code::invalid_message_checksum:
            return "InvalidMessageChecksum";
        case code::invalid_message_timestamp_delta:
            return "InvalidMessageTimestampDelta";
        case code::invalid_batch_checksum:
            return "InvalidBatchChecksum";
        case code::unsupported_option_key:
            return "UnsupportedOptionKey";
        case code::invalid_option_value:
            return "InvalidOptionValue";
        case code::options_block_too_large:
            return "OptionsBlockTooLarge";
        case code::consumer_group_id_not_found:
            return "ConsumerGroupIdNotFound";
        case code::consumer_group_name_already_exists:
            return "ConsumerGroupNameAlreadyExists";
        case code::consumer_group_member_not_found:
            return "ConsumerGroupMemberNotFound";
        case code::consumer_group_partition_not_owned:
            return "ConsumerGroupPartitionNotOwned";
        case code::incompatible_protocol_version:
            return "IncompatibleProtocolVersion";
        default:
            return "Unknown";
    }
}

errc errc_for_code(std::uint32_t c) {
    switch (c) {
        case code::ok:
            return errc::ok;
        case code::invalid_command:
        case code::invalid_format:
            return errc::protocol_error;
        case code::feature_unavailable:
            return errc::unimplemented;
        case code::invalid_configuration:
        case code::invalid_identifier:
        case code::invalid_username:
        case code::invalid_password:
        case code::invalid_user_status:
        case code::invalid_personal_access_token_name:
        case code::invalid_topic_size:
        case code::too_many_partitions:
        case code::invalid_partitions_count:
        case code::invalid_message_checksum:
        case code::invalid_message_timestamp_delta:
        case code::invalid_batch_checksum:
        case code::unsupported_option_key:
        case code::invalid_option_value:
        case code::options_block_too_large:
            return errc::invalid_argument;
        case code::resource_not_found:
        case code::stream_id_not_found:
        case code::topic_id_not_found:
        case code::partition_not_found:
        case code::consumer_group_id_not_found:
        case code::consumer_group_member_not_found:
            return errc::not_found;
        case code::stale_client:
        case code::transient_not_committed:
        case code::transient_not_accepted:
            return errc::unavailable;
        case code::unauthenticated:
        case code::invalid_credentials:
        case code::user_inactive:
        case code::invalid_personal_access_token:
        case code::personal_access_token_expired:
        case code::incompatible_protocol_version:
            return errc::unauthenticated;
        case code::unauthorized:
        case code::cannot_delete_user:
        case code::cannot_change_permissions:
            return errc::permission_denied;
        case code::user_already_exists:
        case code::personal_access_token_already_exists:
        case code::stream_name_already_exists:
        case code::topic_name_already_exists:
        case code::consumer_group_name_already_exists:
            return errc::already_exists;
        case code::users_limit_reached:
        case code::personal_access_tokens_limit_reached:
        case code::too_many_streams:
        case code::too_many_topics:
        case code::partition_id_space_exhausted:
            return errc::resource_exhausted;
        case code::request_already_applied:
        case code::consumer_group_partition_not_owned:
            return errc::failed_precondition;
        default:
            return errc::internal;
    }
}

retry_class retry_class_for_code(std::uint32_t c) {
    switch (c) {
        case code::transient_not_committed:
        case code::transient_not_accepted:
        case code::stale_client:
        case code::consumer_group_partition_not_owned:  // re-sync and try again
            return retry_class::retryable;
        case code::too_many_streams:
        case code::too_many_topics:
        case code::users_limit_reached:
        case code::personal_access_tokens_limit_reached:
        case code::partition_id_space_exhausted:
            return retry_class::fatal;  // limits that do not go away by waiting
        default:
            return default_retry_class(errc_for_code(c));
    }
}

error iggy_error(std::uint32_t c, std::string_view context) {
    std::string msg = context.empty() ? fmt::format("Iggy error {} ({})", error_name(c), c)
                                      : fmt::format("{}: {} ({})", context, error_name(c), c);
    return error(errc_for_code(c), retry_class_for_code(c), std::move(msg), c);
}

std::string_view eviction_reason_name(std::uint8_t reason) {
    switch (static_cast<eviction_reason>(reason)) {
        case eviction_reason::no_session:
            return "NoSession";
        case eviction_reason::client_release_too_low:
            return "ClientReleaseTooLow";
        case eviction_reason::client_release_too_high:
            return "ClientReleaseTooHigh";
        case eviction_reason::invalid_request_operation:
            return "InvalidRequestOperation";
        case eviction_reason::invalid_request_body:
            return "InvalidRequestBody";
        case eviction_reason::invalid_request_body_size:
            return "InvalidRequestBodySize";
        case eviction_reason::session_too_low:
            return "SessionTooLow";
        case eviction_reason::session_release_mismatch:
            return "SessionReleaseMismatch";
        case eviction_reason::invalid_credentials:
            return "InvalidCredentials";
        case eviction_reason::invalid_token:
            return "InvalidToken";
        case eviction_reason::user_inactive:
            return "UserInactive";
        case eviction_reason::session_error:
            return "SessionError";
        case eviction_reason::stale_client:
            return "StaleClient";
        case eviction_reason::incompatible_protocol:
            return "IncompatibleProtocol";
        case eviction_reason::malformed_login:
            return "MalformedLogin";
    }
    return "Unknown";
}

std::uint32_t eviction_error_code(std::uint8_t reason, std::uint32_t server_version,
                                  std::uint32_t server_version_min) {
    switch (static_cast<eviction_reason>(reason)) {
        case eviction_reason::no_session:
        case eviction_reason::session_too_low:
        case eviction_reason::session_release_mismatch:
        case eviction_reason::user_inactive:
        case eviction_reason::session_error:
            return code::unauthenticated;
        case eviction_reason::client_release_too_low:
        case eviction_reason::client_release_too_high:
        case eviction_reason::invalid_request_operation:
        case eviction_reason::invalid_request_body:
        case eviction_reason::invalid_request_body_size:
            return code::invalid_command;
        case eviction_reason::invalid_credentials:
            return code::invalid_credentials;
        case eviction_reason::invalid_token:
            return code::invalid_personal_access_token;
        case eviction_reason::stale_client:
            return code::stale_client;
        case eviction_reason::incompatible_protocol:
            if (server_version_min == 0 || server_version < server_version_min)
                return code::unauthenticated;
            return code::incompatible_protocol_version;
        case eviction_reason::malformed_login:
            return code::invalid_format;
    }
    return code::unauthenticated;
}

}  // namespace trib::iggy
