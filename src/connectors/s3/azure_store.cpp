// The Azure Blob Storage implementation of object_store: block blobs (Put Blob, or Put Block +
// Put Block List above the part size), List Blobs, ranged Get Blob, Delete Blob, Copy Blob, on
// core/net's HTTP client, signed with SharedKey or carrying a SAS token. Conditional create:
// `If-None-Match: *` (409 BlobAlreadyExists / 412 when the blob exists).

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "connectors/s3/azure_util.h"
#include "connectors/s3/rest_util.h"
#include "connectors/s3/xml.h"
#include "core/hex.h"

namespace trib::connectors::s3_detail {

error classify_azure_response(const net::http_response& r, std::string_view what,
                              std::string_view container) {
    const auto body = parse_error(r.body).value_or(s3_error_body{});
    std::string code = body.code;
    if (code.empty())
        code = std::string(r.header("x-ms-error-code"));
    std::string msg = fmt::format("Azure Blob: {}: HTTP {}", what, r.status);
    if (!code.empty())
        msg += " " + code;
    if (!body.message.empty())
        msg += ": " + body.message.substr(0, body.message.find('\n'));
    auto e = [&](errc c, retry_class rc, std::string extra = {}) {
        return error(c, rc, extra.empty() ? msg : msg + " (" + extra + ")", r.status);
    };
    if (r.status == 503 || r.status == 429 || code == "ServerBusy") {
        auto err = e(errc::unavailable, retry_class::throttled);
        if (auto ra = net::parse_retry_after(r.header("Retry-After")))
            err.with_retry_after(std::chrono::duration_cast<std::chrono::milliseconds>(*ra));
        return err;
    }
    if (r.status >= 500 || r.status == 408 || code == "OperationTimedOut")
        return e(errc::unavailable, retry_class::retryable);
    // Azurite answers a wrong signature with AuthorizationFailure ("Server failed to
    // authenticate the request"), Azure with AuthenticationFailed.
    if (code == "AuthenticationFailed" || code == "InvalidAuthenticationInfo" ||
        code == "NoAuthenticationInformation" || r.status == 401 ||
        (code == "AuthorizationFailure" &&
         body.message.find("failed to authenticate") != std::string::npos))
        return e(errc::unauthenticated, retry_class::fatal,
                 "check account_name/account_key, sas_token or connection_string");
    if (r.status == 403)
        return e(errc::permission_denied, retry_class::fatal,
                 "the credentials are not allowed to do this");
    if (code == "ContainerNotFound")
        return e(errc::not_found, retry_class::fatal,
                 fmt::format("container '{}' does not exist", container));
    if (r.status == 404)
        return e(errc::not_found, retry_class::fatal);
    if (r.status == 412)
        return e(errc::failed_precondition, retry_class::fatal);
    return e(errc::invalid_argument, retry_class::fatal);
}

namespace {

constexpr const char* k_version = "2021-08-06";
constexpr const char* k_tag_meta = "x-ms-meta-tributary_tag";  // a C# identifier, as Azure wants

std::string base_of(const s3_settings& s) {
    std::string ep = s.endpoint.empty()
                         ? fmt::format("https://{}.blob.core.windows.net", s.azure.account)
                         : s.endpoint;
    while (!ep.empty() && ep.back() == '/')
        ep.pop_back();
    return ep;
}

class azure_store final : public object_store {
  public:
    explicit azure_store(s3_settings s)
        : s_(std::move(s)),
          base_(base_of(s_) + "/" + percent_encode(s_.bucket, false)),
          http_(make_store_client(s_)) {}

    status check() override {
        TRIB_ASSIGN_OR_RETURN(auto r, call("GET", base_, {{"restype", "container"}}, {}, {},
                                           fmt::format("check container '{}'", s_.bucket)));
        if (r.ok())
            return ok();
        return classify(r, fmt::format("check container '{}'", s_.bucket));
    }

    result<put_outcome> put_if_absent(std::string_view key, std::string_view body,
                                      std::string_view content_type,
                                      std::string_view tag) override {
        const std::string ct =
            content_type.empty() ? "application/octet-stream" : std::string(content_type);
        const auto what = fmt::format("put blob '{}'", key);
        net::header_map h;
        if (s_.conditional_put)
            h["If-None-Match"] = "*";
        if (!tag.empty())
            h[k_tag_meta] = std::string(tag);
        if (body.size() <= s_.part_size) {
            h["x-ms-blob-type"] = "BlockBlob";
            h["Content-Type"] = ct;
            TRIB_ASSIGN_OR_RETURN(auto r, call("PUT", url(key), {}, h, std::string(body), what));
            return outcome_of(r, what);
        }
        // Large: blocks, then one Put Block List (conditional). Uncommitted blocks of a failed
        // upload are dropped by Azure after a week; there is nothing to abort.
        std::string list = "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>";
        for (std::uint64_t off = 0, n = 0; off < body.size(); off += s_.part_size, ++n) {
            const auto len = std::min<std::uint64_t>(s_.part_size, body.size() - off);
            const auto id = azure_block_id(n);
            const auto bwhat = fmt::format("put block {} of '{}'", n, key);
            TRIB_ASSIGN_OR_RETURN(auto r,
                                  call("PUT", url(key), {{"comp", "block"}, {"blockid", id}},
                                       {{"Content-Type", "application/octet-stream"}},
                                       std::string(body.substr(off, len)), bwhat));
            if (!r.ok())
                return classify(r, bwhat);
            list += "<Latest>" + id + "</Latest>";
        }
        list += "</BlockList>";
        h["Content-Type"] = "application/xml";
        h["x-ms-blob-content-type"] = ct;
        TRIB_ASSIGN_OR_RETURN(auto r,
                              call("PUT", url(key), {{"comp", "blocklist"}}, h, list, what));
        auto out = outcome_of(r, what);
        if (out && *out == put_outcome::created)
            ++multipart_;
        return out;
    }

    result<std::string> tag_of(std::string_view key) override {
        const auto what = fmt::format("get properties of '{}'", key);
        TRIB_ASSIGN_OR_RETURN(auto r, call("HEAD", url(key), {}, {}, {}, what));
        if (r.status == 404)
            return unexpected(error(errc::not_found, retry_class::fatal,
                                    fmt::format("blob '{}' does not exist", key), 404));
        if (!r.ok())
            return classify(r, what);
        return std::string(r.header(k_tag_meta));
    }

    result<list_page> list(std::string_view prefix, std::string_view start_after,
                           std::string_view continuation, int max_keys) override {
        // List Blobs has no start-after: the blobs up to it are left out here, page by page.
        std::string marker(continuation);
        for (int pages = 0; pages < 1000; ++pages) {
            std::map<std::string, std::string> q{
                {"restype", "container"},
                {"comp", "list"},
                {"maxresults", std::to_string(std::clamp(max_keys, 1, 5000))}};
            if (!prefix.empty())
                q["prefix"] = std::string(prefix);
            if (!marker.empty())
                q["marker"] = marker;
            const auto what = fmt::format("list '{}'", prefix);
            TRIB_ASSIGN_OR_RETURN(auto r, call("GET", base_, q, {}, {}, what));
            if (!r.ok())
                return classify(r, what);
            TRIB_ASSIGN_OR_RETURN(auto page, parse_azure_list(r.body));
            drop_up_to(page, start_after);
            if (!page.objects.empty() || !page.truncated)
                return page;
            marker = page.next_token;
        }
        return fail(errc::resource_exhausted, "Azure Blob: too many pages before start_after");
    }

    result<std::string> get(std::string_view key, std::uint64_t first, std::uint64_t count,
                            std::string_view if_match) override {
        net::header_map h;
        if (auto range = byte_range(first, count); !range.empty())
            h["x-ms-range"] = std::move(range);
        if (!if_match.empty())
            h["If-Match"] = std::string(if_match);
        const auto what = fmt::format("get blob '{}'", key);
        TRIB_ASSIGN_OR_RETURN(auto r, call("GET", url(key), {}, h, {}, what));
        if (r.status == 416)
            return std::string();
        if (r.status == 412)
            return unexpected(error(errc::failed_precondition, retry_class::fatal,
                                    fmt::format("blob '{}' changed since it was listed", key),
                                    412));
        if (!r.ok())
            return classify(r, what);
        if (r.status == 200 && first > 0) {
            if (r.body.size() <= first)
                return std::string();
            r.body.erase(0, first);
            if (count > 0 && r.body.size() > count)
                r.body.resize(count);
        }
        return std::move(r.body);
    }

    status remove(std::string_view key) override {
        const auto what = fmt::format("delete blob '{}'", key);
        TRIB_ASSIGN_OR_RETURN(auto r, call("DELETE", url(key), {}, {}, {}, what));
        if (r.ok() || r.status == 404)
            return ok();
        return classify(r, what);
    }

    status copy(std::string_view from, std::string_view to) override {
        const auto what = fmt::format("copy blob '{}' to '{}'", from, to);
        std::string src = url(from);
        if (!s_.azure.sas.empty())
            src += "?" + s_.azure.sas;
        TRIB_ASSIGN_OR_RETURN(auto r,
                              call("PUT", url(to), {}, {{"x-ms-copy-source", src}}, {}, what));
        if (!r.ok())
            return classify(r, what);
        // A copy within an account is usually done at once; else wait for it (bounded).
        auto state = std::string(r.header("x-ms-copy-status"));
        for (int i = 0; state == "pending" && i < 600; ++i) {
            if (s_.stop.stop_requested())
                return unexpected(error(errc::cancelled, "stopped"));
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
            TRIB_ASSIGN_OR_RETURN(auto h, call("HEAD", url(to), {}, {}, {}, what));
            if (!h.ok())
                return classify(h, what);
            state = std::string(h.header("x-ms-copy-status"));
        }
        if (state == "success" || state.empty())
            return ok();
        return unexpected(error(errc::unavailable, retry_class::retryable,
                                fmt::format("Azure Blob: {}: copy status '{}'", what, state)));
    }

    std::uint64_t multipart_uploads() const override { return multipart_; }

  private:
    std::string url(std::string_view key) const { return base_ + "/" + percent_encode(key, true); }

    error classify(const net::http_response& r, std::string_view what) const {
        return classify_azure_response(r, what, s_.bucket);
    }

    result<put_outcome> outcome_of(const net::http_response& r, std::string_view what) const {
        if (r.ok())
            return put_outcome::created;
        if (r.status == 412 ||
            (r.status == 409 && (r.header("x-ms-error-code") == "BlobAlreadyExists" ||
                                 r.body.find("BlobAlreadyExists") != std::string::npos)))
            return put_outcome::already_existed;
        return classify(r, what);
    }

    result<net::http_response> call(const std::string& method, const std::string& u,
                                    const std::map<std::string, std::string>& query,
                                    const net::header_map& headers, const std::string& body,
                                    const std::string& what) {
        auto make = [&]() -> result<net::http_request> {
            net::http_request req;
            req.method = method;
            req.headers = headers;
            req.headers["x-ms-version"] = k_version;
            req.headers["x-ms-date"] =
                http_date(std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
            std::string qs;
            for (const auto& [k, v] : query)
                qs += (qs.empty() ? "?" : "&") + k + "=" + percent_encode(v, false);
            if (!s_.azure.sas.empty() && s_.azure.key.empty())
                qs += (qs.empty() ? "?" : "&") + s_.azure.sas;
            req.url = u + qs;
            req.body = body;
            if (!s_.azure.key.empty()) {
                azure_request_view v;
                v.method = method;
                v.path = url_path(u);
                v.query = query;
                for (const auto& [k, val] : req.headers)
                    v.headers[k] = val;
                v.content_length = body.size();
                TRIB_ASSIGN_OR_RETURN(
                    auto auth, azure_shared_key_header(s_.azure.account, s_.azure.key,
                                                       azure_string_to_sign(v, s_.azure.account)));
                req.headers["Authorization"] = std::move(auth);
            }
            return req;
        };
        return call_with_retries(
            http_, s_, make,
            [this](const net::http_response& r, std::string_view w) { return classify(r, w); },
            what);
    }

    s3_settings s_;
    std::string base_;
    net::http_client http_;
    std::uint64_t multipart_ = 0;
};

}  // namespace

std::unique_ptr<object_store> make_azure_store(s3_settings s) {
    return std::make_unique<azure_store>(std::move(s));
}

}  // namespace trib::connectors::s3_detail
