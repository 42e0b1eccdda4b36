#pragma once
// Crash-safe whole-file writes: after a crash at any point, a reader sees either the previous
// content of the file or the new one, never a mix or a partial file. Used for the embedded
// server's metadata and for connector state.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "core/error.h"

namespace trib {

/// Whether `write_file_atomic` makes the new content durable before it returns.
enum class file_sync : unsigned char {
    durable,  // fsync the file before the rename and the directory after it (the default)
    none,     // rename only: atomic against process crashes, not against power loss
};

/// Replaces `path` with `data` atomically: writes a temporary file in the same directory
/// (`<name>.tmp.<pid>.<n>`), fsyncs it, renames it over `path`, then fsyncs the directory so that
/// the rename itself survives a power loss. The directory must exist. A new file gets `mode`
/// (default 0600: metadata holds password hashes and tokens); an existing file's mode is not
/// kept. On failure `path` is unchanged and the temporary file is removed.
/// Thread-safe; concurrent writers of the same path each produce a complete file and the last
/// rename wins. A crash can leave a stale `*.tmp.*` file behind; it is never read.
[[nodiscard]] status write_file_atomic(const std::filesystem::path& path, std::string_view data,
                                       file_sync sync = file_sync::durable, unsigned mode = 0600);

/// Reads a whole file. A missing file is `errc::not_found`; a file larger than `max_bytes` is
/// `errc::resource_exhausted` (nothing is allocated for it); other failures are `errc::io_error`.
[[nodiscard]] result<std::string> read_file(const std::filesystem::path& path,
                                            std::uint64_t max_bytes = UINT64_MAX);

/// fsyncs a directory, so that entries created, renamed or removed in it are durable.
[[nodiscard]] status fsync_directory(const std::filesystem::path& dir);

}  // namespace trib
