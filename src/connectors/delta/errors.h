#pragma once
// The delta sink's errors in one place: file-system errno values mapped to a retry class.

#include <filesystem>
#include <string_view>

#include "core/error.h"

namespace trib::connectors::delta {

/// An I/O failure of `what` on `path`: permission, read-only and not-a-directory errors are
/// fatal (retrying cannot help); the rest (ENOSPC, EIO, ...) retryable.
error io_failure(std::string_view what, const std::filesystem::path& path, int err);

/// A concurrent writer changed the table under this batch (schema, creation): retry the batch.
error table_changed(std::string message);

}  // namespace trib::connectors::delta
