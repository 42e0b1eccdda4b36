// Delta tables on a local file system: see table_dir.h.

#include "connectors/delta/table_dir.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <system_error>

#include "codecs/parquet.h"
#include "connectors/delta/errors.h"
#include "core/atomic_file.h"
#include "core/hex.h"

namespace trib::connectors::delta {
namespace {

namespace fs = std::filesystem;

/// Bytes of one file that we read whole (a commit, _last_checkpoint).
result<std::string> read_whole(const fs::path& p, std::uint64_t max) {
    auto r = read_file(p, max);
    if (!r && r.error().code() == errc::resource_exhausted)
        return fail(errc::invalid_argument,
                    fmt::format("{}: larger than {} bytes", p.string(), max));
    return r;
}

std::atomic<std::uint64_t> g_tmp_counter{0};

}  // namespace

result<fs::path> local_table_path(std::string_view uri) {
    if (uri.empty())
        return fail(errc::invalid_argument, "table_uri is empty");
    const auto colon = uri.find("://");
    if (colon == std::string_view::npos)
        return fs::path(std::string(uri));
    const auto scheme = uri.substr(0, colon);
    if (scheme != "file")
        return fail(errc::invalid_argument,
                    fmt::format("table_uri scheme '{}://' is not supported by this sink (local "
                                "paths and file:// only)",
                                scheme));
    std::string_view rest = uri.substr(colon + 3);
    // file:///abs/path or file://localhost/abs/path
    if (rest.starts_with("localhost/"))
        rest.remove_prefix(9);
    if (!rest.starts_with("/"))
        return fail(errc::invalid_argument,
                    "table_uri: a file:// URI needs an absolute path (file:///path/to/table)");
    auto decoded = percent_decode(rest);
    if (!decoded)
        return fail(errc::invalid_argument, "table_uri: bad percent-encoding");
    return fs::path(*decoded);
}

status table_dir::read_checkpoint(table_state& st, std::int64_t& from) const {
    const fs::path log = root_ / "_delta_log";
    auto text = read_whole(log / "_last_checkpoint", 1 << 20);
    if (!text) {
        if (text.error().code() == errc::not_found)
            return ok();
        return text.error();
    }
    TRIB_ASSIGN_OR_RETURN(auto ref, parse_last_checkpoint(*text));
    for (const auto& name : checkpoint_file_names(ref)) {
        const fs::path p = log / name;
        const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return io_failure("open checkpoint", p, errno);
        struct stat sb {};
        if (::fstat(fd, &sb) != 0) {
            const int e = errno;
            ::close(fd);
            return io_failure("stat checkpoint", p, e);
        }
        auto read = [fd, &p](std::uint64_t off, std::uint64_t len) -> result<std::string> {
            std::string buf(len, '\0');
            std::uint64_t got = 0;
            while (got < len) {
                const ssize_t n =
                    ::pread(fd, buf.data() + got, len - got, static_cast<off_t>(off + got));
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    return io_failure("read checkpoint", p, n < 0 ? errno : EIO);
                got += static_cast<std::uint64_t>(n);
            }
            return buf;
        };
        auto reader =
            codecs::parquet::file_reader::open(static_cast<std::uint64_t>(sb.st_size), read);
        status res = ok();
        if (!reader) {
            res = reader.error();
        } else {
            std::vector<std::string> rows;
            for (int g = 0; g < (*reader)->num_row_groups() && res; ++g) {
                rows.clear();
                res = (*reader)->read_row_group_json(g, rows);
                for (std::size_t i = 0; i < rows.size() && res; ++i)
                    res = apply_action_json(st, rows[i]);
            }
        }
        ::close(fd);
        if (!res)
            return error(res.error().code(), retry_class::fatal,
                         fmt::format("{}: {}", p.string(), res.error().message()));
    }
    st.version = ref.version;
    from = ref.version + 1;
    return ok();
}

status table_dir::load(table_state& st) const {
    st = table_state{};
    const fs::path log = root_ / "_delta_log";
    std::error_code ec;
    if (!fs::exists(log, ec))
        return ok();
    std::int64_t from = 0;
    TRIB_TRY(read_checkpoint(st, from));
    std::vector<std::int64_t> versions;
    for (fs::directory_iterator it(log, ec), end; !ec && it != end; it.increment(ec)) {
        if (auto v = parse_log_file_name(it->path().filename().string()); v && *v >= from)
            versions.push_back(*v);
    }
    if (ec)
        return io_failure("list", log, ec.value());
    std::sort(versions.begin(), versions.end());
    for (std::size_t i = 0; i < versions.size(); ++i) {
        if (versions[i] != from + static_cast<std::int64_t>(i))
            return fail(
                errc::invalid_argument,
                fmt::format("{}: version {} is missing from the log (found {}); this sink "
                            "reads commits from version 0 or from the checkpoint named "
                            "by _last_checkpoint",
                            log.string(), from + static_cast<std::int64_t>(i), versions[i]));
        TRIB_ASSIGN_OR_RETURN(auto text,
                              read_whole(log / log_file_name(versions[i]), max_commit_bytes));
        TRIB_TRY(apply_commit(st, versions[i], text));
    }
    return ok();
}

status table_dir::refresh(table_state& st) const {
    const fs::path log = root_ / "_delta_log";
    for (;;) {
        auto text = read_whole(log / log_file_name(st.version + 1), max_commit_bytes);
        if (!text) {
            if (text.error().code() == errc::not_found)
                return ok();
            return text.error();
        }
        TRIB_TRY(apply_commit(st, st.version + 1, *text));
    }
}

result<std::uint64_t> table_dir::put_data_file(const std::string& name,
                                               std::string_view bytes) const {
    TRIB_TRY(write_file_atomic(root_ / name, bytes, file_sync::durable, 0644));
    return static_cast<std::uint64_t>(bytes.size());
}

result<commit_result> table_dir::put_commit(std::int64_t version, std::string_view text) const {
    const fs::path log = root_ / "_delta_log";
    std::error_code ec;
    fs::create_directories(log, ec);
    if (ec)
        return io_failure("create", log, ec.value());
    const fs::path target = log / log_file_name(version);
    // A complete, durable file first; then link(2), which refuses an existing name: the
    // version appears whole or not at all, and only one writer gets it.
    const fs::path tmp = log / fmt::format(".{}.tmp.{}.{}", log_file_name(version), ::getpid(),
                                           g_tmp_counter.fetch_add(1));
    TRIB_TRY(write_file_atomic(tmp, text, file_sync::durable, 0644));
    const int rc = ::link(tmp.c_str(), target.c_str());
    const int e = errno;
    ::unlink(tmp.c_str());
    if (rc != 0) {
        if (e == EEXIST)
            return commit_result::version_taken;
        return io_failure("link commit", target, e);
    }
    TRIB_TRY(fsync_directory(log));
    return commit_result::committed;
}

}  // namespace trib::connectors::delta
