#include "connectors/redis/errors.h"

#include <hiredis/hiredis.h>

#include <string>

namespace trib::connectors::redis {
namespace {

struct mapping {
    std::string_view prefix;
    errc code;
    retry_class retry;
};

// The first word of an error reply. Redis documents these prefixes; "ERR" is the generic one.
constexpr mapping reply_errors[] = {
    {"WRONGTYPE", errc::failed_precondition, retry_class::fatal},
    {"NOAUTH", errc::unauthenticated, retry_class::fatal},
    {"WRONGPASS", errc::unauthenticated, retry_class::fatal},
    {"NOPERM", errc::permission_denied, retry_class::fatal},
    {"NOGROUP", errc::not_found, retry_class::fatal},
    {"BUSYGROUP", errc::already_exists, retry_class::fatal},
    {"LOADING", errc::unavailable, retry_class::retryable},
    {"BUSY", errc::unavailable, retry_class::retryable},
    {"TRYAGAIN", errc::unavailable, retry_class::retryable},
    {"MASTERDOWN", errc::unavailable, retry_class::retryable},
    {"CLUSTERDOWN", errc::unavailable, retry_class::retryable},
    {"READONLY", errc::unavailable, retry_class::retryable},
    {"NOREPLICAS", errc::unavailable, retry_class::retryable},
    {"OOM", errc::resource_exhausted, retry_class::throttled},
    {"MISCONF", errc::unavailable, retry_class::throttled},
    // A cluster redirect: this build talks to one node only (README: Cluster not done).
    {"MOVED", errc::unimplemented, retry_class::fatal},
    {"ASK", errc::unimplemented, retry_class::fatal},
};

}  // namespace

error from_reply_error(std::string_view text, std::string_view context) {
    const std::string_view word = text.substr(0, text.find(' '));
    for (const auto& m : reply_errors) {
        if (word == m.prefix) {
            std::string msg = std::string(context) + ": " + std::string(text);
            if (m.code == errc::unimplemented)
                msg +=
                    " (Redis Cluster redirects are not followed: point the connector at the "
                    "node that owns the key, or use a standalone server)";
            return error(m.code, m.retry, std::move(msg));
        }
    }
    return error(errc::invalid_argument, retry_class::fatal,
                 std::string(context) + ": " + std::string(text));
}

error from_context_error(int err, std::string_view errstr, std::string_view context) {
    std::string msg = std::string(context) + ": " + std::string(errstr);
    switch (err) {
        case REDIS_ERR_PROTOCOL:
            return error(errc::protocol_error, retry_class::retryable, std::move(msg));
        case REDIS_ERR_OOM:
            return error(errc::resource_exhausted, retry_class::throttled, std::move(msg));
        default:  // REDIS_ERR_IO, REDIS_ERR_EOF, REDIS_ERR_OTHER: the connection is gone
            return error(errc::unavailable, retry_class::retryable, std::move(msg));
    }
}

bool is_xadd_id_too_small(std::string_view text) {
    return text.find("equal or smaller than the target stream top item") != std::string_view::npos;
}

}  // namespace trib::connectors::redis
