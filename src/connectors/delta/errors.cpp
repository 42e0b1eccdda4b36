// errno values of the table directory, classified once (see errors.h).

#include "connectors/delta/errors.h"

#include <fmt/format.h>

#include <cerrno>

#include "core/errno_text.h"

namespace trib::connectors::delta {

error io_failure(std::string_view what, const std::filesystem::path& path, int err) {
    const bool fatal = err == EACCES || err == EPERM || err == EROFS || err == ENOTDIR ||
                       err == ENAMETOOLONG || err == EISDIR;
    const errc code = (err == EACCES || err == EPERM) ? errc::permission_denied : errc::io_error;
    return error(code, fatal ? retry_class::fatal : retry_class::retryable,
                 fmt::format("delta: {} {}: {}", what, path.string(), errno_text(err)));
}

error table_changed(std::string message) {
    return error(errc::unavailable, retry_class::retryable, "delta: " + std::move(message));
}

}  // namespace trib::connectors::delta
