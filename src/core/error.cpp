#include "core/error.h"
#include "core/errno_text.h"

#include <fmt/format.h>

#include <string.h>

#include <type_traits>

namespace trib {

std::string_view to_string(errc code) {
    switch (code) {
        case errc::ok:
            return "ok";
        case errc::invalid_argument:
            return "invalid_argument";
        case errc::not_found:
            return "not_found";
        case errc::already_exists:
            return "already_exists";
        case errc::failed_precondition:
            return "failed_precondition";
        case errc::unauthenticated:
            return "unauthenticated";
        case errc::permission_denied:
            return "permission_denied";
        case errc::resource_exhausted:
            return "resource_exhausted";
        case errc::unavailable:
            return "unavailable";
        case errc::timeout:
            return "timeout";
        case errc::cancelled:
            return "cancelled";
        case errc::protocol_error:
            return "protocol_error";
        case errc::data_loss:
            return "data_loss";
        case errc::io_error:
            return "io_error";
        case errc::unimplemented:
            return "unimplemented";
        case errc::internal:
            return "internal";
    }
    return "unknown";
}

std::string_view to_string(retry_class rc) {
    switch (rc) {
        case retry_class::retryable:
            return "retryable";
        case retry_class::throttled:
            return "throttled";
        case retry_class::fatal:
            return "fatal";
    }
    return "unknown";
}

retry_class default_retry_class(errc code) {
    switch (code) {
        case errc::unavailable:
        case errc::timeout:
        case errc::io_error:
            return retry_class::retryable;
        case errc::resource_exhausted:
            return retry_class::throttled;
        default:
            return retry_class::fatal;
    }
}

error error::wrap(std::string_view context) const {
    error e = *this;
    e.message_ = fmt::format("{}: {}", context, message_);
    return e;
}

std::string error::to_string() const {
    return fmt::format("{} ({}): {}", trib::to_string(code_), trib::to_string(retry_), message_);
}

std::string errno_text(int e) {
    char buf[256];
    // GNU strerror_r returns the text (maybe a static string, maybe buf); XSI returns 0 and fills
    // buf. Both overloads are handled so that the choice of feature macros does not matter.
    auto r = ::strerror_r(e, buf, sizeof buf);
    if constexpr (std::is_same_v<decltype(r), char*>)
        return r ? std::string(r) : fmt::format("errno {}", e);
    else
        return r == 0 ? std::string(buf) : fmt::format("errno {}", e);
}

}  // namespace trib
