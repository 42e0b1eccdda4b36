// HDFS through WebHDFS's REST API on core/net's HTTP client. A put is CREATE (two steps: the
// NameNode redirects to a DataNode, which takes the bytes) of a hidden temporary file next to
// the object, then RENAME to the object's name: RENAME refuses an existing destination, which
// makes it the conditional put, and a crash mid-upload leaves only a hidden temporary file,
// never a partial object under the final name. LISTSTATUS walks the directories in key order;
// OPEN reads a range (redirected to a DataNode); DELETE; RENAME moves.

#include "connectors/s3/hdfs_store.h"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "connectors/s3/hdfs_util.h"
#include "connectors/s3/rest_util.h"
#include "core/hex.h"

namespace trib::connectors::s3_detail {

error classify_hdfs_response(const net::http_response& r, std::string_view what) {
    const auto body = parse_hdfs_error(r.body);
    std::string msg = fmt::format("HDFS: {}: HTTP {}", what, r.status);
    if (!body.exception.empty())
        msg += " " + body.exception;
    if (!body.message.empty())
        msg += ": " + body.message.substr(0, body.message.find('\n'));
    auto e = [&](errc c, retry_class rc, std::string extra = {}) {
        return error(c, rc, extra.empty() ? msg : msg + " (" + extra + ")", r.status);
    };
    const auto& ex = body.exception;
    if (r.status == 503 || r.status == 429) {
        auto err = e(errc::unavailable, retry_class::throttled);
        if (auto ra = net::parse_retry_after(r.header("Retry-After")))
            err.with_retry_after(std::chrono::duration_cast<std::chrono::milliseconds>(*ra));
        return err;
    }
    if (r.status >= 500 || r.status == 408 || ex == "StandbyException" ||
        ex == "RetriableException" || ex == "SafeModeException")
        return e(errc::unavailable, retry_class::retryable);
    if (r.status == 401 || ex == "SecurityException" || ex == "InvalidToken")
        return e(errc::unauthenticated, retry_class::fatal, "check user or delegation_token");
    if (ex == "AccessControlException" || r.status == 403)
        return e(errc::permission_denied, retry_class::fatal, "the user is not allowed to do this");
    if (ex == "FileNotFoundException" || r.status == 404)
        return e(errc::not_found, retry_class::fatal);
    return e(errc::invalid_argument, retry_class::fatal);
}

namespace {

std::string join(std::string_view a, std::string_view b) {
    if (a.empty())
        return std::string(b);
    if (b.empty())
        return std::string(a);
    return std::string(a) + "/" + std::string(b);
}

class hdfs_store final : public object_store {
  public:
    explicit hdfs_store(s3_settings s) : s_(std::move(s)), http_(make_store_client(s_)) {
        ep_ = s_.endpoint;
        while (ep_.ends_with('/'))
            ep_.pop_back();
        root_ = s_.bucket;
        while (root_.size() > 1 && root_.ends_with('/'))
            root_.pop_back();
        if (!root_.starts_with('/'))
            root_ = "/" + root_;
    }

    status check() override {
        const auto what = fmt::format("check directory '{}'", root_);
        TRIB_ASSIGN_OR_RETURN(auto r, call("GET", url("", "GETFILESTATUS"), {}, what));
        if (r.status == 404)
            return unexpected(error(errc::not_found, retry_class::fatal,
                                    fmt::format("HDFS: directory '{}' does not exist", root_),
                                    404));
        if (!r.ok())
            return classify_hdfs_response(r, what);
        TRIB_ASSIGN_OR_RETURN(auto st, parse_hdfs_statuses(r.body));
        if (st.empty() || !st.front().directory)
            return unexpected(error(errc::failed_precondition, retry_class::fatal,
                                    fmt::format("HDFS: '{}' is not a directory", root_)));
        return ok();
    }

    result<put_outcome> put_if_absent(std::string_view key, std::string_view body, std::string_view,
                                      std::string_view) override {
        const auto slash = key.rfind('/');
        const std::string dir(slash == std::string_view::npos ? "" : key.substr(0, slash));
        const std::string name(slash == std::string_view::npos ? key : key.substr(slash + 1));
        unsigned char rnd[8];
        if (RAND_bytes(rnd, sizeof rnd) != 1)
            return fail(errc::internal, "no random bytes for a temporary name");
        const auto tmp =
            join(dir, "." + name + ".tributary-" +
                          hex_encode(std::string_view(reinterpret_cast<char*>(rnd), sizeof rnd)));
        TRIB_TRY(create(tmp, body, fmt::format("create '{}'", key)));
        const auto what = fmt::format("rename into '{}'", key);
        TRIB_ASSIGN_OR_RETURN(
            auto r,
            call("PUT", url(tmp, "RENAME") + "&destination=" + percent_encode(abs(key), true), {},
                 what));
        if (!r.ok()) {
            (void)remove(tmp);
            return classify_hdfs_response(r, what);
        }
        TRIB_ASSIGN_OR_RETURN(bool renamed, parse_hdfs_boolean(r.body));
        if (renamed)
            return put_outcome::created;
        // RENAME says false when the destination exists (or the source vanished).
        (void)remove(tmp);
        TRIB_ASSIGN_OR_RETURN(auto exists, exists_file(key));
        if (exists)
            return put_outcome::already_existed;
        return unexpected(error(errc::unavailable, retry_class::retryable,
                                fmt::format("HDFS: {} was refused", what)));
    }

    result<std::string> tag_of(std::string_view key) override {
        // No tag is kept with HDFS files: the names decide (README).
        TRIB_ASSIGN_OR_RETURN(auto exists, exists_file(key));
        if (!exists)
            return unexpected(error(errc::not_found, retry_class::fatal,
                                    fmt::format("HDFS: file '{}' does not exist", key), 404));
        return std::string();
    }

    result<list_page> list(std::string_view prefix, std::string_view start_after,
                           std::string_view continuation, int max_keys) override {
        const std::string after(std::max(start_after, continuation));
        const auto slash = prefix.rfind('/');
        const std::string dir(slash == std::string_view::npos ? "" : prefix.substr(0, slash));
        list_page page;
        const auto limit = static_cast<std::size_t>(std::clamp(max_keys, 1, 10000));
        TRIB_TRY(walk(dir, std::string(prefix), after, limit, page, 0));
        if (page.truncated)
            page.next_token = page.objects.back().key;
        return page;
    }

    result<std::string> get(std::string_view key, std::uint64_t first, std::uint64_t count,
                            std::string_view if_match) override {
        if (auto len = hdfs_etag_length(if_match); len && first >= *len)
            return std::string();  // at the end of the file as listed
        std::string u = url(key, "OPEN") + fmt::format("&offset={}", first);
        if (count > 0)
            u += fmt::format("&length={}", count);
        const auto what = fmt::format("open '{}'", key);
        TRIB_ASSIGN_OR_RETURN(auto r, call("GET", u, {}, what));
        if (r.status == 307) {
            const std::string loc(r.header("Location"));
            if (loc.empty())
                return fail(errc::protocol_error, "HDFS: OPEN redirected without a Location");
            TRIB_ASSIGN_OR_RETURN(r, call("GET", loc, {}, what));
        }
        if (!r.ok())
            return classify_hdfs_response(r, what);
        if (count > 0 && r.body.size() > count)
            r.body.resize(count);
        return std::move(r.body);
    }

    status remove(std::string_view key) override {
        const auto what = fmt::format("delete '{}'", key);
        TRIB_ASSIGN_OR_RETURN(auto r,
                              call("DELETE", url(key, "DELETE") + "&recursive=false", {}, what));
        if (r.ok() || r.status == 404)
            return ok();
        return classify_hdfs_response(r, what);
    }

    status copy(std::string_view from, std::string_view to) override {
        // WebHDFS has no server-side copy: read and write.
        TRIB_ASSIGN_OR_RETURN(auto bytes, get(from, 0, 0, {}));
        TRIB_ASSIGN_OR_RETURN(auto out, put_if_absent(to, bytes, {}, {}));
        (void)out;
        return ok();
    }

    status move(std::string_view from, std::string_view to) override {
        const auto slash = to.rfind('/');
        if (slash != std::string_view::npos) {
            const auto what = fmt::format("make directory for '{}'", to);
            TRIB_ASSIGN_OR_RETURN(auto m,
                                  call("PUT", url(to.substr(0, slash), "MKDIRS"), {}, what));
            if (!m.ok())
                return classify_hdfs_response(m, what);
        }
        const auto what = fmt::format("rename '{}' to '{}'", from, to);
        TRIB_ASSIGN_OR_RETURN(
            auto r,
            call("PUT", url(from, "RENAME") + "&destination=" + percent_encode(abs(to), true), {},
                 what));
        if (!r.ok())
            return classify_hdfs_response(r, what);
        TRIB_ASSIGN_OR_RETURN(bool renamed, parse_hdfs_boolean(r.body));
        if (!renamed)
            return unexpected(error(errc::failed_precondition, retry_class::fatal,
                                    fmt::format("HDFS: {} was refused (does it exist?)", what)));
        return ok();
    }

    std::uint64_t multipart_uploads() const override { return 0; }

  private:
    std::string abs(std::string_view key) const {
        return key.empty() ? root_ : (root_ == "/" ? "/" : root_ + "/") + std::string(key);
    }

    std::string url(std::string_view key, std::string_view op) const {
        std::string u =
            ep_ + "/webhdfs/v1" + percent_encode(abs(key), true) + "?op=" + std::string(op);
        if (!s_.hdfs.delegation.empty())
            u += "&delegation=" + percent_encode(s_.hdfs.delegation, false);
        else if (!s_.hdfs.user.empty())
            u += "&user.name=" + percent_encode(s_.hdfs.user, false);
        return u;
    }

    result<bool> exists_file(std::string_view key) {
        const auto what = fmt::format("status of '{}'", key);
        TRIB_ASSIGN_OR_RETURN(auto r, call("GET", url(key, "GETFILESTATUS"), {}, what));
        if (r.status == 404)
            return false;
        if (!r.ok())
            return classify_hdfs_response(r, what);
        return true;
    }

    status create(const std::string& key, std::string_view body, const std::string& what) {
        // Step 1: the NameNode names a DataNode (no bytes sent); step 2: the bytes go there.
        TRIB_ASSIGN_OR_RETURN(
            auto r, call("PUT", url(key, "CREATE") + "&overwrite=false", {}, what, std::string()));
        if (r.status != 307 && r.ok())
            return fail(errc::protocol_error,
                        "HDFS: CREATE answered without redirecting to a DataNode");
        if (r.status != 307)
            return classify_hdfs_response(r, what);
        const std::string loc(r.header("Location"));
        if (loc.empty())
            return fail(errc::protocol_error, "HDFS: CREATE redirected without a Location");
        TRIB_ASSIGN_OR_RETURN(auto d,
                              call("PUT", loc, {{"Content-Type", "application/octet-stream"}}, what,
                                   std::string(body)));
        if (!d.ok())
            return classify_hdfs_response(d, what);
        return ok();
    }

    /// Collects the files under `dir` whose keys start with `prefix` and sort after `after`, in
    /// key order (a directory sorts as its name plus '/', as its keys do).
    status walk(const std::string& dir, const std::string& prefix, const std::string& after,
                std::size_t limit, list_page& page, int depth) {
        if (depth > 64)
            return fail(errc::resource_exhausted, "HDFS: directories nested too deep");
        const auto what = fmt::format("list '{}'", dir);
        TRIB_ASSIGN_OR_RETURN(auto r, call("GET", url(dir, "LISTSTATUS"), {}, what));
        if (r.status == 404)
            return ok();
        if (!r.ok())
            return classify_hdfs_response(r, what);
        TRIB_ASSIGN_OR_RETURN(auto entries, parse_hdfs_statuses(r.body));
        std::sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
            return a.name + (a.directory ? "/" : "") < b.name + (b.directory ? "/" : "");
        });
        for (const auto& e : entries) {
            if (e.name.starts_with('.'))
                continue;  // temporary files of puts in progress (and hidden files)
            const auto full = join(dir, e.name);
            if (e.directory) {
                const auto d = full + "/";
                if (!d.starts_with(prefix) && !prefix.starts_with(d))
                    continue;
                if (!after.empty() && d < after && !after.starts_with(d))
                    continue;  // all of it sorts before `after`
                TRIB_TRY(walk(full, prefix, after, limit, page, depth + 1));
                if (page.truncated)
                    return ok();
                continue;
            }
            if (!full.starts_with(prefix) || (!after.empty() && full <= after))
                continue;
            if (page.objects.size() >= limit) {
                page.truncated = true;
                return ok();
            }
            page.objects.push_back({full, hdfs_etag(e), e.length});
        }
        return ok();
    }

    result<net::http_response> call(const std::string& method, const std::string& u,
                                    const net::header_map& headers, const std::string& what,
                                    std::string body = {}) {
        auto make = [&]() -> result<net::http_request> {
            net::http_request req;
            req.method = method;
            req.url = u;
            req.headers = headers;
            req.body = body;
            return req;
        };
        return call_with_retries(
            http_, s_, make,
            [](const net::http_response& x, std::string_view w) {
                return classify_hdfs_response(x, w);
            },
            what);
    }

    s3_settings s_;
    net::http_client http_;
    std::string ep_;
    std::string root_;
};

}  // namespace

std::unique_ptr<object_store> make_hdfs_store(s3_settings s) {
    return std::make_unique<hdfs_store>(std::move(s));
}

}  // namespace trib::connectors::s3_detail
