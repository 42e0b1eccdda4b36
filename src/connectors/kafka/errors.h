#pragma once
// librdkafka's errors mapped to Tributary's codes and retry classes (STYLE.md "Errors"): the one
// place where the Kafka connector decides what the runtime retries, slows down for, or hands to
// the error policy. The vendor code of every error is the rd_kafka_resp_err_t.

#include <librdkafka/rdkafka.h>

#include <string>
#include <string_view>

#include "core/error.h"

namespace trib::connectors::kafka {

/// The error for a librdkafka error code, with `context` in front of librdkafka's text:
///   broker down, transport, timeouts, leader/coordinator moves, rebalance in progress,
///   not enough replicas, unknown topic/partition (it may be being created) -> retryable;
///   local queue full, quota/throttling -> throttled (resource_exhausted);
///   authentication (SASL) -> unauthenticated, fatal; authorization -> permission_denied, fatal;
///   message/record too large, invalid record, corrupt message -> invalid_argument, fatal (per
///   message: the error policy gets it); TLS handshake/certificate -> failed_precondition, fatal;
///   fenced/epoch/sequence errors of the idempotent or transactional producer,
///   librdkafka's _FATAL -> failed_precondition, fatal; invalid config/argument ->
///   invalid_argument, fatal; _DESTROY -> cancelled; anything else -> unavailable, retryable.
error from_code(rd_kafka_resp_err_t code, std::string_view context);

/// As from_code with librdkafka's own message of `e` (which may say more than the code), and
/// its verdict: rd_kafka_error_is_fatal -> fatal, txn_requires_abort -> retryable (abort and
/// try again), is_retriable -> retryable. Does not destroy `e`.
error from_error(const rd_kafka_error_t* e, std::string_view context);

/// True for the per-message errors (too large, invalid or corrupt record): the message goes to
/// the error policy, the rest of the batch goes on.
bool is_message_error(rd_kafka_resp_err_t code);

}  // namespace trib::connectors::kafka
