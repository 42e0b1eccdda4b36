#include "connectors/iceberg/errors.h"

#include "connectors/iceberg/catalog.h"

namespace trib::connectors::iceberg {

error catalog_error(const net::http_response& r, std::string_view what) {
    std::string msg = "iceberg catalog: " + std::string(what) + ": HTTP " +
                      std::to_string(r.status) + ": " + error_message(r.body);
    const auto code = r.status;
    if (code == 401)
        return error(errc::unauthenticated, retry_class::fatal, std::move(msg), code);
    if (code == 403)
        return error(errc::permission_denied, retry_class::fatal, std::move(msg), code);
    if (code == 404)
        return error(errc::not_found, retry_class::fatal, std::move(msg), code);
    if (code == 409)
        return error(errc::already_exists, retry_class::retryable, std::move(msg), code);
    if (code == 429 || code == 503)
        return error(errc::unavailable, retry_class::throttled, std::move(msg), code);
    if (code >= 500 || code == 408)
        return error(errc::unavailable, retry_class::retryable, std::move(msg), code);
    return error(errc::invalid_argument, retry_class::fatal, std::move(msg), code);
}

}  // namespace trib::connectors::iceberg
