// rabbitmq-c's replies and the broker's close codes mapped to trib errors and retry classes, in
// one place (docs/adding-a-connector.md).

#include <amqp.h>
#include <amqp_framing.h>

#include <string>

#include "connectors/rabbitmq/connection.h"

namespace trib::connectors::rabbitmq {
namespace {

error from_code(std::uint16_t code, std::string_view text, std::string_view what) {
    std::string msg =
        std::string(what) + ": " + std::string(text) + " (AMQP " + std::to_string(code) + ")";
    switch (code) {
        case AMQP_ACCESS_REFUSED:  // 403
            return error(errc::permission_denied, retry_class::fatal, msg, code);
        case AMQP_NOT_FOUND:  // 404
            return error(errc::not_found, retry_class::fatal, msg, code);
        case AMQP_RESOURCE_LOCKED:  // 405
            return error(errc::failed_precondition, retry_class::retryable, msg, code);
        case AMQP_PRECONDITION_FAILED:  // 406
            return error(errc::failed_precondition, retry_class::fatal, msg, code);
        case AMQP_NOT_ALLOWED:  // 530: e.g. no access to the vhost
            return error(errc::permission_denied, retry_class::fatal, msg, code);
        case AMQP_RESOURCE_ERROR:  // 506
            return error(errc::resource_exhausted, retry_class::throttled, msg, code);
        case AMQP_CONNECTION_FORCED:  // 320: broker shutting down
        case AMQP_INTERNAL_ERROR:     // 541
            return error(errc::unavailable, retry_class::retryable, msg, code);
        default:
            return error(errc::protocol_error, retry_class::retryable, msg, code);
    }
}

}  // namespace

error close_error(amqp_method_number_t id, const void* decoded, std::string_view what) {
    if (id == AMQP_CONNECTION_CLOSE_METHOD && decoded != nullptr) {
        const auto* c = static_cast<const amqp_connection_close_t*>(decoded);
        return from_code(
            c->reply_code,
            std::string_view(static_cast<const char*>(c->reply_text.bytes), c->reply_text.len),
            what);
    }
    if (id == AMQP_CHANNEL_CLOSE_METHOD && decoded != nullptr) {
        const auto* c = static_cast<const amqp_channel_close_t*>(decoded);
        return from_code(
            c->reply_code,
            std::string_view(static_cast<const char*>(c->reply_text.bytes), c->reply_text.len),
            what);
    }
    return error(errc::protocol_error, retry_class::retryable,
                 std::string(what) + ": unexpected AMQP method " + std::to_string(id));
}

error status_error(int status, std::string_view what) {
    std::string msg = std::string(what) + ": " + amqp_error_string2(status);
    switch (status) {
        case AMQP_STATUS_TIMEOUT:
            return error(errc::timeout, retry_class::retryable, msg, status);
        case AMQP_STATUS_NO_MEMORY:
            return error(errc::resource_exhausted, retry_class::retryable, msg, status);
        case AMQP_STATUS_BAD_URL:
        case AMQP_STATUS_INVALID_PARAMETER:
            return error(errc::invalid_argument, retry_class::fatal, msg, status);
        case AMQP_STATUS_SSL_ERROR:
        case AMQP_STATUS_SSL_HOSTNAME_VERIFY_FAILED:
        case AMQP_STATUS_SSL_PEER_VERIFY_FAILED:
        case AMQP_STATUS_SSL_CONNECTION_FAILED:
            // A certificate problem does not fix itself, but a broker restarting mid-handshake
            // looks the same: retry, the runtime's backoff keeps it slow.
            return error(errc::unavailable, retry_class::retryable, msg, status);
        default:
            return error(errc::unavailable, retry_class::retryable, msg, status);
    }
}

error reply_error(const amqp_rpc_reply_t& r, std::string_view what) {
    switch (r.reply_type) {
        case AMQP_RESPONSE_NORMAL:
            return error(errc::internal, retry_class::fatal,
                         std::string(what) + ": reply_error on a normal reply");
        case AMQP_RESPONSE_NONE:
            return error(errc::protocol_error, retry_class::retryable,
                         std::string(what) + ": no reply (missing RPC reply type)");
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return status_error(r.library_error, what);
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            return close_error(r.reply.id, r.reply.decoded, what);
    }
    return error(errc::internal, retry_class::fatal, std::string(what) + ": unknown reply");
}

}  // namespace trib::connectors::rabbitmq
