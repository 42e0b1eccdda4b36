// librdkafka error codes to retry classes: one table, by code.

#include "connectors/kafka/errors.h"

#include "core/redact.h"

namespace trib::connectors::kafka {

namespace {

struct mapping {
    errc code;
    retry_class retry;
};

mapping map_code(rd_kafka_resp_err_t c) {
    using rc = retry_class;
    switch (c) {
        case RD_KAFKA_RESP_ERR_NO_ERROR:
            return {errc::ok, rc::retryable};
        // The client or the cluster is in motion: try again.
        case RD_KAFKA_RESP_ERR__TRANSPORT:
        case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
        case RD_KAFKA_RESP_ERR__RESOLVE:
        case RD_KAFKA_RESP_ERR__WAIT_COORD:
        case RD_KAFKA_RESP_ERR__NODE_UPDATE:
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
        case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
        case RD_KAFKA_RESP_ERR_BROKER_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR_REPLICA_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
        case RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS:
        case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR_NOT_COORDINATOR:
        case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
        case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
        case RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR:
        case RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS:
        case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
        case RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND:
        case RD_KAFKA_RESP_ERR_INVALID_FETCH_SESSION_EPOCH:
        case RD_KAFKA_RESP_ERR_FENCED_LEADER_EPOCH:
        case RD_KAFKA_RESP_ERR_UNKNOWN_LEADER_EPOCH:
        case RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR_PREFERRED_LEADER_NOT_AVAILABLE:
        case RD_KAFKA_RESP_ERR__PREV_IN_PROGRESS:
        case RD_KAFKA_RESP_ERR__IN_PROGRESS:
        case RD_KAFKA_RESP_ERR_CONCURRENT_TRANSACTIONS:
            return {errc::unavailable, rc::retryable};
        case RD_KAFKA_RESP_ERR__TIMED_OUT:
        case RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE:
        case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
        case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
            return {errc::timeout, rc::retryable};
        // The topic may be on its way (auto-creation, an operator creating it).
        case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
        case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
            return {errc::not_found, rc::retryable};
        // Group membership lost: rejoin.
        case RD_KAFKA_RESP_ERR_UNKNOWN_MEMBER_ID:
        case RD_KAFKA_RESP_ERR_ILLEGAL_GENERATION:
        case RD_KAFKA_RESP_ERR__ASSIGNMENT_LOST:
        case RD_KAFKA_RESP_ERR__STATE:
        case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
        case RD_KAFKA_RESP_ERR__NO_OFFSET:
            return {errc::failed_precondition, rc::retryable};
        // Slow down.
        case RD_KAFKA_RESP_ERR__QUEUE_FULL:
        case RD_KAFKA_RESP_ERR_THROTTLING_QUOTA_EXCEEDED:
        case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
            return {errc::resource_exhausted, rc::throttled};
        // Credentials.
        case RD_KAFKA_RESP_ERR__AUTHENTICATION:
        case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
        case RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE:
        case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
            return {errc::unauthenticated, rc::fatal};
        case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
        case RD_KAFKA_RESP_ERR_DELEGATION_TOKEN_AUTHORIZATION_FAILED:
            return {errc::permission_denied, rc::fatal};
        // One message is at fault.
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
        case RD_KAFKA_RESP_ERR_INVALID_RECORD:
        case RD_KAFKA_RESP_ERR_INVALID_MSG:
        case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
        case RD_KAFKA_RESP_ERR__BAD_MSG:
        case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
        case RD_KAFKA_RESP_ERR__INVALID_ARG:
            return {errc::invalid_argument, rc::fatal};
        case RD_KAFKA_RESP_ERR__SSL:
            return {errc::failed_precondition, rc::fatal};
        // The idempotent/transactional producer cannot go on with this instance.
        case RD_KAFKA_RESP_ERR__FATAL:
        case RD_KAFKA_RESP_ERR__FENCED:
        case RD_KAFKA_RESP_ERR_PRODUCER_FENCED:
        case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH:
        case RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER:
        case RD_KAFKA_RESP_ERR_UNKNOWN_PRODUCER_ID:
        case RD_KAFKA_RESP_ERR__INCONSISTENT:
        case RD_KAFKA_RESP_ERR__GAPLESS_GUARANTEE:
        case RD_KAFKA_RESP_ERR_INVALID_TXN_STATE:
        case RD_KAFKA_RESP_ERR_INVALID_PRODUCER_ID_MAPPING:
            return {errc::failed_precondition, rc::fatal};
        case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
        case RD_KAFKA_RESP_ERR__INVALID_TYPE:
        case RD_KAFKA_RESP_ERR_INVALID_REQUIRED_ACKS:
        case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
        case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
        case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
        case RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE:
        case RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION:
        case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
            return {errc::invalid_argument, rc::fatal};
        case RD_KAFKA_RESP_ERR__DESTROY:
            return {errc::cancelled, rc::retryable};
        case RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS:
            return {errc::already_exists, rc::fatal};
        default:
            // Most broker errors are transient; librdkafka's own retries gave up on this one.
            return {errc::unavailable, rc::retryable};
    }
}

error make(rd_kafka_resp_err_t code, std::string_view context, std::string text) {
    mapping m = map_code(code);
    std::string full = std::string(context);
    if (!full.empty())
        full += ": ";
    full += redact(text);
    full += " (";
    full += rd_kafka_err2name(code);
    full += ")";
    if (m.code == errc::ok)
        m.code = errc::internal;  // an error was reported with no code: a bug somewhere
    return error(m.code, m.retry, std::move(full), static_cast<std::int64_t>(code));
}

}  // namespace

error from_code(rd_kafka_resp_err_t code, std::string_view context) {
    return make(code, context, rd_kafka_err2str(code));
}

error from_error(const rd_kafka_error_t* e, std::string_view context) {
    if (e == nullptr)
        return error(errc::internal, retry_class::fatal, std::string(context) + ": no error");
    const rd_kafka_resp_err_t code = rd_kafka_error_code(e);
    const char* s = rd_kafka_error_string(e);
    error out = make(code, context, s != nullptr ? s : rd_kafka_err2str(code));
    if (rd_kafka_error_is_fatal(e)) {
        out.with_retry(retry_class::fatal);
    } else if (rd_kafka_error_txn_requires_abort(e) || rd_kafka_error_is_retriable(e)) {
        if (out.retry() == retry_class::fatal)
            out.with_retry(retry_class::retryable);
    }
    return out;
}

bool is_message_error(rd_kafka_resp_err_t code) {
    switch (code) {
        case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
        case RD_KAFKA_RESP_ERR_INVALID_RECORD:
        case RD_KAFKA_RESP_ERR_INVALID_MSG:
        case RD_KAFKA_RESP_ERR_INVALID_MSG_SIZE:
        case RD_KAFKA_RESP_ERR__BAD_MSG:
        case RD_KAFKA_RESP_ERR_INVALID_TIMESTAMP:
            return true;
        default:
            return false;
    }
}

}  // namespace trib::connectors::kafka
