// The Google Cloud Storage implementation of object_store over the JSON API on core/net's HTTP
// client: multipart upload (metadata + bytes) for small objects, a resumable upload in chunks
// above the part size, objects.list (prefix, startOffset, pageToken), ranged media downloads,
// delete, rewrite (copy). Conditional create: `ifGenerationMatch=0` (412 when the object exists).
// Auth: a bearer token from a service-account key (signed JWT exchanged at token_uri, refreshed
// five minutes before it expires), a given token, or none (emulators).

#include "connectors/s3/gcs_store.h"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include "connectors/s3/credentials.h"
#include "connectors/s3/gcs_util.h"
#include "connectors/s3/rest_util.h"
#include "core/hex.h"
#include "core/json_text.h"

namespace trib::connectors::s3_detail {

std::string gcs_endpoint(std::string_view option, std::string_view emulator_host_env) {
    std::string ep(option);
    if (ep.empty() && !emulator_host_env.empty()) {
        ep = emulator_host_env;
        if (ep.find("://") == std::string::npos)
            ep = "http://" + ep;
    }
    if (ep.empty())
        ep = "https://storage.googleapis.com";
    while (ep.ends_with('/'))
        ep.pop_back();
    return ep;
}

error classify_gcs_response(const net::http_response& r, std::string_view what) {
    const auto body = parse_gcs_error(r.body);
    std::string msg = fmt::format("GCS: {}: HTTP {}", what, r.status);
    if (!body.reason.empty())
        msg += " " + body.reason;
    if (!body.message.empty())
        msg += ": " + body.message;
    auto e = [&](errc c, retry_class rc, std::string extra = {}) {
        return error(c, rc, extra.empty() ? msg : msg + " (" + extra + ")", r.status);
    };
    if (r.status == 429 || r.status == 503 || body.reason == "rateLimitExceeded") {
        auto err = e(errc::unavailable, retry_class::throttled);
        if (auto ra = net::parse_retry_after(r.header("Retry-After")))
            err.with_retry_after(std::chrono::duration_cast<std::chrono::milliseconds>(*ra));
        return err;
    }
    if (r.status >= 500 || r.status == 408)
        return e(errc::unavailable, retry_class::retryable);
    if (r.status == 401)
        return e(errc::unauthenticated, retry_class::fatal, "check credentials_file or token");
    if (r.status == 403)
        return e(errc::permission_denied, retry_class::fatal,
                 "the credentials are not allowed to do this");
    if (r.status == 404)
        return e(errc::not_found, retry_class::fatal);
    if (r.status == 412)
        return e(errc::failed_precondition, retry_class::fatal);
    return e(errc::invalid_argument, retry_class::fatal);
}

namespace {

std::int64_t unix_seconds() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

class gcs_store final : public object_store {
  public:
    gcs_store(s3_settings s, std::optional<gcs_service_account> sa)
        : s_(std::move(s)), sa_(std::move(sa)), http_(make_store_client(s_)) {
        ep_ = gcs_endpoint(s_.endpoint, real_getenv("STORAGE_EMULATOR_HOST").value_or(""));
        bucket_url_ = ep_ + "/storage/v1/b/" + percent_encode(s_.bucket, false);
        upload_url_ = ep_ + "/upload/storage/v1/b/" + percent_encode(s_.bucket, false) + "/o";
        // Resumable chunks are multiples of 256 KiB (all but the last).
        chunk_ = std::max<std::uint64_t>(256 * 1024, s_.part_size / (256 * 1024) * (256 * 1024));
    }

    status check() override {
        const auto what = fmt::format("check bucket '{}'", s_.bucket);
        TRIB_ASSIGN_OR_RETURN(auto r, call("GET", bucket_url_, {}, {}, what));
        if (r.ok())
            return ok();
        if (r.status == 404)
            return unexpected(error(errc::not_found, retry_class::fatal,
                                    fmt::format("GCS: bucket '{}' does not exist", s_.bucket),
                                    404));
        return classify_gcs_response(r, what);
    }

    result<put_outcome> put_if_absent(std::string_view key, std::string_view body,
                                      std::string_view content_type,
                                      std::string_view tag) override {
        const std::string ct =
            content_type.empty() ? "application/octet-stream" : std::string(content_type);
        std::string meta = "{\"name\":";
        append_json_string(meta, key);
        meta += ",\"contentType\":";
        append_json_string(meta, ct);
        if (!tag.empty()) {
            meta += ",\"metadata\":{\"tributary-tag\":";
            append_json_string(meta, tag);
            meta += "}";
        }
        meta += "}";
        const std::string cond = s_.conditional_put ? "&ifGenerationMatch=0" : "";
        const auto what = fmt::format("upload object '{}'", key);
        if (body.size() > s_.part_size)
            return put_resumable(key, body, ct, meta, cond);
        unsigned char rnd[16];
        if (RAND_bytes(rnd, sizeof rnd) != 1)
            return fail(errc::internal, "no random bytes for a multipart boundary");
        const std::string boundary =
            "tributary_" + hex_encode(std::string_view(reinterpret_cast<char*>(rnd), sizeof rnd));
        std::string mp;
        mp.reserve(body.size() + meta.size() + 256);
        mp += "--" + boundary + "\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n";
        mp += meta;
        mp += "\r\n--" + boundary + "\r\nContent-Type: " + ct + "\r\n\r\n";
        mp += body;
        mp += "\r\n--" + boundary + "--\r\n";
        TRIB_ASSIGN_OR_RETURN(
            auto r, call("POST", upload_url_ + "?uploadType=multipart" + cond,
                         {{"Content-Type", "multipart/related; boundary=" + boundary}}, mp, what));
        if (r.ok())
            return put_outcome::created;
        if (r.status == 412)
            return put_outcome::already_existed;
        return classify_gcs_response(r, what);
    }

    result<std::string> tag_of(std::string_view key) override {
        const auto what = fmt::format("get metadata of '{}'", key);
        TRIB_ASSIGN_OR_RETURN(auto r, call("GET", object_url(key), {}, {}, what));
        if (r.status == 404)
            return unexpected(error(errc::not_found, retry_class::fatal,
                                    fmt::format("GCS: object '{}' does not exist", key), 404));
        if (!r.ok())
            return classify_gcs_response(r, what);
        TRIB_ASSIGN_OR_RETURN(auto m, parse_gcs_object(r.body));
        return m.tag;
    }

    result<list_page> list(std::string_view prefix, std::string_view start_after,
                           std::string_view continuation, int max_keys) override {
        std::string token(continuation);
        for (int pages = 0; pages < 1000; ++pages) {
            std::string q = fmt::format("?maxResults={}", std::clamp(max_keys, 1, 1000));
            if (!prefix.empty())
                q += "&prefix=" + percent_encode(prefix, false);
            if (!start_after.empty())
                q += "&startOffset=" + percent_encode(start_after, false);  // inclusive
            if (!token.empty())
                q += "&pageToken=" + percent_encode(token, false);
            const auto what = fmt::format("list '{}'", prefix);
            TRIB_ASSIGN_OR_RETURN(auto r, call("GET", bucket_url_ + "/o" + q, {}, {}, what));
            if (!r.ok())
                return classify_gcs_response(r, what);
            TRIB_ASSIGN_OR_RETURN(auto page, parse_gcs_list(r.body));
            // startOffset is inclusive (S3's start-after is not); a store that ignores it is
            // filtered here as well.
            drop_up_to(page, start_after);
            if (!page.objects.empty() || !page.truncated)
                return page;
            token = page.next_token;
        }
        return fail(errc::resource_exhausted, "GCS: too many pages before start_after");
    }

    result<std::string> get(std::string_view key, std::uint64_t first, std::uint64_t count,
                            std::string_view if_match) override {
        net::header_map h;
        if (auto range = byte_range(first, count); !range.empty())
            h["Range"] = std::move(range);
        std::string u = object_url(key) + "?alt=media";
        if (!if_match.empty())
            u += "&ifGenerationMatch=" + percent_encode(if_match, false);
        const auto what = fmt::format("get object '{}'", key);
        TRIB_ASSIGN_OR_RETURN(auto r, call("GET", u, h, {}, what));
        if (r.status == 416)
            return std::string();
        if (r.status == 412)
            return unexpected(
                error(errc::failed_precondition, retry_class::fatal,
                      fmt::format("GCS: object '{}' changed since it was listed", key), 412));
        if (!r.ok())
            return classify_gcs_response(r, what);
        if (r.status == 200 && first > 0) {
            if (r.body.size() <= first)
                return std::string();
            r.body.erase(0, first);
        }
        if (count > 0 && r.body.size() > count)
            r.body.resize(count);
        return std::move(r.body);
    }

    status remove(std::string_view key) override {
        const auto what = fmt::format("delete object '{}'", key);
        TRIB_ASSIGN_OR_RETURN(auto r, call("DELETE", object_url(key), {}, {}, what));
        if (r.ok() || r.status == 404)
            return ok();
        return classify_gcs_response(r, what);
    }

    status copy(std::string_view from, std::string_view to) override {
        const auto what = fmt::format("copy '{}' to '{}'", from, to);
        const std::string base = object_url(from) + "/rewriteTo/b/" +
                                 percent_encode(s_.bucket, false) + "/o/" +
                                 percent_encode(to, false);
        std::string token;
        for (int i = 0; i < 10000; ++i) {
            const std::string u =
                token.empty() ? base : base + "?rewriteToken=" + percent_encode(token, false);
            TRIB_ASSIGN_OR_RETURN(
                auto r, call("POST", u, {{"Content-Type", "application/json"}}, "{}", what));
            if (!r.ok())
                return classify_gcs_response(r, what);
            TRIB_ASSIGN_OR_RETURN(auto rw, parse_gcs_rewrite(r.body));
            if (rw.done)
                return ok();
            token = std::move(rw.token);
        }
        return fail(errc::resource_exhausted, "GCS: rewrite did not finish");
    }

    std::uint64_t multipart_uploads() const override { return resumable_; }

  private:
    std::string object_url(std::string_view key) const {
        return bucket_url_ + "/o/" + percent_encode(key, false);
    }

    result<put_outcome> put_resumable(std::string_view key, std::string_view body,
                                      const std::string& ct, const std::string& meta,
                                      const std::string& cond) {
        const auto what = fmt::format("start resumable upload of '{}'", key);
        TRIB_ASSIGN_OR_RETURN(auto init,
                              call("POST", upload_url_ + "?uploadType=resumable" + cond,
                                   {{"Content-Type", "application/json; charset=UTF-8"},
                                    {"X-Upload-Content-Type", ct},
                                    {"X-Upload-Content-Length", std::to_string(body.size())}},
                                   meta, what));
        if (init.status == 412)
            return put_outcome::already_existed;
        if (!init.ok())
            return classify_gcs_response(init, what);
        const std::string session(init.header("Location"));
        if (session.empty())
            return fail(errc::protocol_error, "GCS: the resumable upload has no Location");
        for (std::uint64_t off = 0; off < body.size(); off += chunk_) {
            const auto len = std::min<std::uint64_t>(chunk_, body.size() - off);
            const auto cwhat = fmt::format("upload bytes {}-{} of '{}'", off, off + len - 1, key);
            TRIB_ASSIGN_OR_RETURN(
                auto r, call("PUT", session,
                             {{"Content-Type", ct},
                              {"Content-Range",
                               fmt::format("bytes {}-{}/{}", off, off + len - 1, body.size())}},
                             std::string(body.substr(off, len)), cwhat));
            if (r.status == 308 && off + len < body.size())
                continue;
            if (r.status == 412)
                return put_outcome::already_existed;
            if (r.ok() && off + len >= body.size()) {
                ++resumable_;
                return put_outcome::created;
            }
            return classify_gcs_response(r, cwhat);
        }
        return fail(errc::internal, "GCS: empty resumable upload");
    }

    /// The bearer token (fetched or refreshed through the token endpoint when needed).
    result<std::string> token() {
        if (!s_.gcs.token.empty())
            return s_.gcs.token;
        if (!sa_)
            return std::string();
        const auto now = unix_seconds();
        if (!access_token_.empty() && now + 300 < expires_at_)
            return access_token_;
        TRIB_ASSIGN_OR_RETURN(auto jwt, gcs_jwt(*sa_, s_.gcs.scope, now));
        net::http_request req;
        req.method = "POST";
        req.url = sa_->token_uri;
        req.headers["Content-Type"] = "application/x-www-form-urlencoded";
        req.body = gcs_token_request_body(jwt);
        req.stop = s_.stop;
        TRIB_ASSIGN_OR_RETURN(auto r, http_.perform(req));
        if (!r.ok()) {
            auto e = classify_gcs_response(r, "token exchange at " + sa_->token_uri);
            if (r.status == 400 || r.status == 401 || r.status == 403)
                return unexpected(error(errc::unauthenticated, retry_class::fatal,
                                        e.message() + " (the service account was refused)",
                                        r.status));
            return e;
        }
        TRIB_ASSIGN_OR_RETURN(auto t, parse_gcs_token(r.body));
        access_token_ = std::move(t.access_token);
        expires_at_ = now + t.expires_in;
        return access_token_;
    }

    result<net::http_response> call(const std::string& method, const std::string& u,
                                    const net::header_map& headers, const std::string& body,
                                    const std::string& what) {
        auto make = [&]() -> result<net::http_request> {
            net::http_request req;
            req.method = method;
            req.url = u;
            req.headers = headers;
            req.body = body;
            TRIB_ASSIGN_OR_RETURN(auto t, token());
            if (!t.empty())
                req.headers["Authorization"] = net::bearer_auth_header(t);
            return req;
        };
        auto r = call_with_retries(
            http_, s_, make,
            [](const net::http_response& x, std::string_view w) {
                return classify_gcs_response(x, w);
            },
            what);
        if (r && r->status == 401 && sa_) {
            access_token_.clear();  // revoked or expired early: one more try with a new token
            r = call_with_retries(
                http_, s_, make,
                [](const net::http_response& x, std::string_view w) {
                    return classify_gcs_response(x, w);
                },
                what);
        }
        return r;
    }

    s3_settings s_;
    std::optional<gcs_service_account> sa_;
    net::http_client http_;
    std::string ep_, bucket_url_, upload_url_;
    std::uint64_t chunk_ = 8u << 20;
    std::uint64_t resumable_ = 0;
    std::string access_token_;  // secret
    std::int64_t expires_at_ = 0;
};

}  // namespace

result<std::unique_ptr<object_store>> make_gcs_store(s3_settings s) {
    std::optional<gcs_service_account> sa;
    if (!s.gcs.anonymous && s.gcs.token.empty()) {
        std::string file = s.gcs.credentials_file;
        if (file.empty())
            file = real_getenv("GOOGLE_APPLICATION_CREDENTIALS").value_or("");
        if (!file.empty()) {
            auto text = real_read_file(file);
            if (!text)
                return unexpected(
                    error(errc::unauthenticated, retry_class::fatal,
                          fmt::format("GCS: cannot read the service-account key file '{}'", file)));
            auto parsed = parse_gcs_service_account(*text);
            if (!parsed)
                return unexpected(
                    error(errc::unauthenticated, retry_class::fatal,
                          fmt::format("GCS: key file '{}': {}", file, parsed.error().message())));
            sa = std::move(*parsed);
        }
    }
    return std::unique_ptr<object_store>(std::make_unique<gcs_store>(std::move(s), std::move(sa)));
}

}  // namespace trib::connectors::s3_detail
