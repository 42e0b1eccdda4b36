#pragma once
// The file-system side of a Delta table on a local path: listing and reading `_delta_log`,
// writing data files, and the commit's put-if-absent (link(2) of a complete temporary file onto
// the version's name: it fails with EEXIST when another writer took the version first).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "connectors/delta/delta_log.h"
#include "core/error.h"

namespace trib::connectors::delta {

/// The directory of `table_uri`: a plain path or a file:// URI (percent-decoded). Other
/// schemes: invalid_argument naming the scheme.
result<std::filesystem::path> local_table_path(std::string_view table_uri);

/// Outcome of a conditional commit.
enum class commit_result : std::uint8_t { committed, version_taken };

class table_dir {
  public:
    explicit table_dir(std::filesystem::path root) : root_(std::move(root)) {}
    const std::filesystem::path& root() const { return root_; }

    /// Reads the log into `st` from scratch: the last checkpoint (if `_last_checkpoint` names
    /// one) and then every commit after it, in version order. A gap in the versions is an
    /// error. No `_delta_log` (or an empty one): st.version stays -1.
    [[nodiscard]] status load(table_state& st) const;
    /// Applies the commits after st.version that exist now (none: nothing changes).
    [[nodiscard]] status refresh(table_state& st) const;
    /// Writes a data file (complete, then renamed into place; durable). Returns its size.
    [[nodiscard]] result<std::uint64_t> put_data_file(const std::string& name,
                                                      std::string_view bytes) const;
    /// Creates commit `version` with `text` unless that version exists.
    [[nodiscard]] result<commit_result> put_commit(std::int64_t version,
                                                   std::string_view text) const;

  private:
    [[nodiscard]] status read_checkpoint(table_state& st, std::int64_t& from) const;
    std::filesystem::path root_;
};

}  // namespace trib::connectors::delta
