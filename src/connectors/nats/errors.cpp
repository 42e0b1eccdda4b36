// cnats statuses and JetStream error codes mapped to errc and a retry class; see errors.h.

#include "connectors/nats/errors.h"

#include <fmt/format.h>

namespace trib::connectors::nats {
namespace {

struct mapped {
    errc code;
    retry_class retry;
};

mapped map_status(natsStatus s) {
    switch (s) {
        case NATS_OK:
            return {errc::ok, retry_class::retryable};
        case NATS_CONNECTION_AUTH_FAILED:
            return {errc::unauthenticated, retry_class::fatal};
        case NATS_NOT_PERMITTED:
            return {errc::permission_denied, retry_class::fatal};
        case NATS_SECURE_CONNECTION_WANTED:
        case NATS_SECURE_CONNECTION_REQUIRED:
        case NATS_INVALID_ARG:
        case NATS_INVALID_SUBJECT:
        case NATS_INVALID_QUEUE_NAME:
        case NATS_ADDRESS_MISSING:
        case NATS_NO_SERVER_SUPPORT:
            return {errc::invalid_argument, retry_class::fatal};
        case NATS_SSL_ERROR:
            // A handshake failure is a certificate or configuration problem more often than not,
            // but a server restarting mid-handshake looks the same: retry, slowly.
            return {errc::unavailable, retry_class::throttled};
        case NATS_NOT_FOUND:
            return {errc::not_found, retry_class::fatal};
        case NATS_MAX_PAYLOAD:
            return {errc::resource_exhausted, retry_class::fatal};
        case NATS_SLOW_CONSUMER:
        case NATS_NO_MEMORY:
        case NATS_INSUFFICIENT_BUFFER:
            return {errc::resource_exhausted, retry_class::throttled};
        case NATS_TIMEOUT:
            return {errc::timeout, retry_class::retryable};
        case NATS_NO_RESPONDERS:
            // No stream listens on the subject (or JetStream is still starting after a restart).
            return {errc::unavailable, retry_class::throttled};
        case NATS_PROTOCOL_ERROR:
        case NATS_LINE_TOO_LONG:
        case NATS_MISMATCH:
            return {errc::protocol_error, retry_class::retryable};
        case NATS_IO_ERROR:
        case NATS_CONNECTION_CLOSED:
        case NATS_NO_SERVER:
        case NATS_STALE_CONNECTION:
        case NATS_CONNECTION_DISCONNECTED:
        case NATS_NOT_YET_CONNECTED:
        case NATS_DRAINING:
        case NATS_MISSED_HEARTBEAT:
        case NATS_ILLEGAL_STATE:
        case NATS_INVALID_SUBSCRIPTION:
            return {errc::unavailable, retry_class::retryable};
        default:
            return {errc::unavailable, retry_class::retryable};
    }
}

mapped map_js(jsErrCode js, mapped base) {
    switch (js) {
        case JSStreamNotFoundErr:
        case JSConsumerNotFoundErr:
            return {errc::not_found, retry_class::fatal};
        case JSStreamMessageExceedsMaximumErr:
            return {errc::resource_exhausted, retry_class::fatal};
        case JSNotEnabledErr:
        case JSNotEnabledForAccountErr:
            return {errc::failed_precondition, retry_class::fatal};
        case JSStreamNameExistErr:
        case JSConsumerNameExistErr:
            return {errc::already_exists, retry_class::fatal};
        case JSAccountResourcesExceededErr:
        case JSMemoryResourcesExceededErr:
        case JSStorageResourcesExceededErr:
        case JSInsufficientResourcesErr:
        case JSStreamStoreFailedErr:
            // Limits (DiscardNew, max bytes): space comes back as consumers ack or limits age out.
            return {errc::resource_exhausted, retry_class::throttled};
        case JSClusterNoPeersErr:
            return {errc::unavailable, retry_class::throttled};
        default:
            return base;
    }
}

}  // namespace

error from_status(natsStatus s, std::string_view what, jsErrCode js) {
    mapped m = map_status(s);
    if (js != 0)
        m = map_js(js, m);
    std::string text = fmt::format("{}: {}", what, natsStatus_GetText(s));
    if (js != 0)
        text += fmt::format(" (JetStream error {})", static_cast<int>(js));
    if (s == NATS_NO_RESPONDERS)
        text += " (no JetStream stream takes the subject, or JetStream is not ready yet)";
    const char* last = nats_GetLastError(nullptr);
    if (last != nullptr && *last != '\0' && std::string_view(last) != natsStatus_GetText(s))
        text += fmt::format(" [{}]", last);
    return error(m.code, m.retry, std::move(text),
                 js != 0 ? static_cast<std::int64_t>(js) : static_cast<std::int64_t>(s));
}

bool is_message_fault(natsStatus s, jsErrCode js) {
    if (s == NATS_MAX_PAYLOAD || s == NATS_INVALID_SUBJECT)
        return true;
    return js == JSStreamMessageExceedsMaximumErr;
}

}  // namespace trib::connectors::nats
