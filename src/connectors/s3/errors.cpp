// S3's errors mapped to errc and a retry class in one place (adding-a-connector.md).

#include <fmt/format.h>

#include "connectors/s3/s3_store.h"
#include "connectors/s3/xml.h"

namespace trib::connectors::s3_detail {

error classify_s3_response(const net::http_response& r, std::string_view what,
                           std::string_view bucket) {
    const auto body = parse_error(r.body).value_or(s3_error_body{});
    const auto& code = body.code;
    std::string msg = fmt::format("{}: HTTP {}", what, r.status);
    if (!code.empty())
        msg += " " + code;
    if (!body.message.empty())
        msg += ": " + body.message;
    auto e = [&](errc c, retry_class rc, std::string extra = {}) {
        return error(c, rc, extra.empty() ? msg : msg + " (" + extra + ")", r.status);
    };
    if (r.status == 503 || r.status == 429 || code == "SlowDown" || code == "Throttling" ||
        code == "RequestLimitExceeded") {
        auto err = e(errc::unavailable, retry_class::throttled);
        if (auto ra = net::parse_retry_after(r.header("Retry-After")))
            err.with_retry_after(std::chrono::duration_cast<std::chrono::milliseconds>(*ra));
        return err;
    }
    if (r.status >= 500 || r.status == 408 || code == "RequestTimeout" || code == "InternalError" ||
        code == "OperationAborted")
        return e(errc::unavailable, retry_class::retryable);
    if (code == "InvalidAccessKeyId" || code == "SignatureDoesNotMatch" || code == "InvalidToken" ||
        code == "ExpiredToken" || code == "TokenRefreshRequired")
        return e(errc::unauthenticated, retry_class::fatal,
                 "check access_key_id/secret_access_key, the environment or the profile");
    if (r.status == 403 || code == "AccessDenied")
        return e(errc::permission_denied, retry_class::fatal,
                 "the credentials are not allowed to do this");
    if (code == "NoSuchBucket" || (r.status == 404 && what.starts_with("check bucket")))
        return e(errc::not_found, retry_class::fatal,
                 fmt::format("bucket '{}' does not exist", bucket));
    if (r.status == 404)
        return e(errc::not_found, retry_class::fatal);
    if (r.status == 412)
        return e(errc::failed_precondition, retry_class::fatal);
    if (code == "PermanentRedirect" || code == "AuthorizationHeaderMalformed" || r.status == 301)
        return e(errc::invalid_argument, retry_class::fatal,
                 "the bucket is in another region or needs another endpoint");
    return e(errc::invalid_argument, retry_class::fatal);
}

}  // namespace trib::connectors::s3_detail
