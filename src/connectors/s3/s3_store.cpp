// The S3 REST API (PutObject, multipart upload, ListObjectsV2, GetObject, DeleteObject,
// CopyObject, HeadBucket) on core/net's HTTP client.

#include "connectors/s3/s3_store.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "connectors/s3/xml.h"

namespace trib::connectors::s3_detail {
namespace {

bool unreserved(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == '~';
}

std::string uri_encode(std::string_view s, bool keep_slash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (unreserved(c) || (keep_slash && c == '/')) {
            out += c;
        } else {
            const auto u = static_cast<unsigned char>(c);
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

std::string base_url(const s3_settings& s) {
    std::string ep =
        s.endpoint.empty() ? fmt::format("https://s3.{}.amazonaws.com", s.region) : s.endpoint;
    while (!ep.empty() && ep.back() == '/')
        ep.pop_back();
    if (s.path_style)
        return ep + "/" + uri_encode(s.bucket, false);
    const auto scheme_end = ep.find("://");
    if (scheme_end == std::string::npos)
        return "https://" + s.bucket + "." + ep;
    return ep.substr(0, scheme_end + 3) + s.bucket + "." + ep.substr(scheme_end + 3);
}

constexpr const char* k_tag_header = "x-amz-meta-tributary-tag";

class s3_store final : public object_store {
  public:
    explicit s3_store(s3_settings s) : s_(std::move(s)), base_(base_url(s_)) {
        net::client_options o;
        o.timeout = s_.timeout;
        o.connect_timeout = s_.connect_timeout;
        o.tls = s_.tls;
        o.accept_compressed = false;  // object bytes as stored
        net::aws_sigv4_options sig;
        sig.region = s_.region;
        sig.service = "s3";
        sig.access_key_id = s_.credentials.access_key_id;
        sig.secret_access_key = s_.credentials.secret_access_key;
        sig.session_token = s_.credentials.session_token;
        o.aws_sigv4 = sig;
        http_ = net::http_client(std::move(o));
        conditional_ = s_.conditional_put;
    }

    status check() override {
        TRIB_ASSIGN_OR_RETURN(auto r, call("HEAD", base_ + "/", {}, {}));
        if (r.ok())
            return ok();
        return classify_s3_response(r, fmt::format("check bucket '{}'", s_.bucket), s_.bucket);
    }

    result<put_outcome> put_if_absent(std::string_view key, std::string_view body,
                                      std::string_view content_type,
                                      std::string_view tag) override {
        tag_ = std::string(tag);
        if (body.size() > s_.part_size)
            return put_multipart(key, body, content_type);
        net::header_map h = object_headers(content_type, true);
        if (conditional_)
            h["If-None-Match"] = "*";
        TRIB_ASSIGN_OR_RETURN(auto r, call("PUT", url(key), h, std::string(body)));
        if (r.ok())
            return put_outcome::created;
        if (r.status == 412)
            return put_outcome::already_existed;
        if (r.status == 501 && conditional_) {
            // A store without conditional writes: fall back to an overwrite of the same bytes.
            spdlog::warn(
                "s3: the store does not support If-None-Match on PUT; objects are "
                "overwritten with identical bytes on replays instead");
            conditional_ = false;
            return put_if_absent(key, body, content_type, tag);
        }
        return classify_s3_response(r, fmt::format("put object '{}'", key), s_.bucket);
    }

    result<list_page> list(std::string_view prefix, std::string_view start_after,
                           std::string_view continuation, int max_keys) override {
        std::string q = "?list-type=2&encoding-type=url";
        q += fmt::format("&max-keys={}", std::clamp(max_keys, 1, 1000));
        if (!prefix.empty())
            q += "&prefix=" + uri_encode(prefix, false);
        if (!start_after.empty())
            q += "&start-after=" + uri_encode(start_after, false);
        if (!continuation.empty())
            q += "&continuation-token=" + uri_encode(continuation, false);
        TRIB_ASSIGN_OR_RETURN(auto r, call("GET", base_ + "/" + q, {}, {}));
        if (!r.ok())
            return classify_s3_response(r, fmt::format("list '{}'", prefix), s_.bucket);
        return parse_list_result(r.body, true);
    }

    result<std::string> get(std::string_view key, std::uint64_t first, std::uint64_t count,
                            std::string_view if_match) override {
        net::header_map h;
        if (auto range = byte_range(first, count); !range.empty())
            h["Range"] = std::move(range);
        if (!if_match.empty())
            h["If-Match"] = std::string(if_match);
        TRIB_ASSIGN_OR_RETURN(auto r, call("GET", url(key), h, {}));
        if (r.status == 416)
            return std::string();  // at or past the end
        if (r.status == 412)
            return unexpected(error(errc::failed_precondition, retry_class::fatal,
                                    fmt::format("object '{}' changed since it was listed", key),
                                    412));
        if (!r.ok())
            return classify_s3_response(r, fmt::format("get object '{}'", key), s_.bucket);
        if (r.status == 200 && first > 0) {
            // A store that ignored the Range header sent the whole object.
            if (r.body.size() <= first)
                return std::string();
            r.body.erase(0, first);
            if (count > 0 && r.body.size() > count)
                r.body.resize(count);
        }
        return std::move(r.body);
    }

    result<std::string> tag_of(std::string_view key) override {
        TRIB_ASSIGN_OR_RETURN(auto r, call("HEAD", url(key), {}, {}));
        if (r.status == 404)
            return unexpected(error(errc::not_found, retry_class::fatal,
                                    fmt::format("object '{}' does not exist", key), 404));
        if (!r.ok())
            return classify_s3_response(r, fmt::format("head object '{}'", key), s_.bucket);
        return std::string(r.header(k_tag_header));
    }

    status remove(std::string_view key) override {
        TRIB_ASSIGN_OR_RETURN(auto r, call("DELETE", url(key), {}, {}));
        if (r.ok() || r.status == 404)
            return ok();
        return classify_s3_response(r, fmt::format("delete object '{}'", key), s_.bucket);
    }

    status copy(std::string_view from, std::string_view to) override {
        net::header_map h = object_headers({}, false);
        h["x-amz-copy-source"] = "/" + s_.bucket + "/" + uri_encode(from, true);
        TRIB_ASSIGN_OR_RETURN(auto r, call("PUT", url(to), h, {}));
        if (r.ok() && !parse_error(r.body))
            return ok();
        return classify_s3_response(r, fmt::format("copy '{}' to '{}'", from, to), s_.bucket);
    }

    std::uint64_t multipart_uploads() const override { return multipart_; }

  private:
    std::string url(std::string_view key) const { return base_ + "/" + uri_encode(key, true); }

    net::header_map object_headers(std::string_view content_type, bool with_tag) const {
        net::header_map h;
        if (!content_type.empty())
            h["Content-Type"] = std::string(content_type);
        if (!s_.sse.empty())
            h["x-amz-server-side-encryption"] = s_.sse;
        if (!s_.sse_kms_key_id.empty())
            h["x-amz-server-side-encryption-aws-kms-key-id"] = s_.sse_kms_key_id;
        if (with_tag && !tag_.empty())
            h[k_tag_header] = tag_;
        return h;
    }

    /// One request with the store's retries of transport failures and retryable answers.
    result<net::http_response> call(const std::string& method, const std::string& u,
                                    const net::header_map& h, std::string body) {
        auto delay = s_.retry_delay;
        for (std::uint32_t attempt = 0;; ++attempt) {
            net::http_request req;
            req.method = method;
            req.url = u;
            req.headers = h;
            req.body = body;
            req.stop = s_.stop;
            auto r = http_.perform(req);
            std::optional<error> e;
            if (!r) {
                e = r.error();
            } else if (r->status >= 500 || r->status == 429 || r->status == 408) {
                if (attempt >= s_.retries)
                    return r;
                e = classify_s3_response(*r, method + " " + u.substr(0, u.find('?')), s_.bucket);
            } else {
                return r;
            }
            if (!e->retryable() || attempt >= s_.retries || s_.stop.stop_requested())
                return *e;
            auto wait = std::max(delay, e->retry_after());
            spdlog::debug("s3: {} failed ({}), retrying in {} ms", method, e->message(),
                          wait.count());
            if (!sleep(wait))
                return unexpected(error(errc::cancelled, "stopped"));
            delay = std::min(delay * 2, std::chrono::milliseconds(30000));
        }
    }

    bool sleep(std::chrono::milliseconds d) {
        const auto until = std::chrono::steady_clock::now() + d;
        while (std::chrono::steady_clock::now() < until) {
            if (s_.stop.stop_requested())
                return false;
            std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
                until - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
        }
        return true;
    }

    result<put_outcome> put_multipart(std::string_view key, std::string_view body,
                                      std::string_view content_type) {
        const std::string u = url(key);
        TRIB_ASSIGN_OR_RETURN(
            auto init, call("POST", u + "?uploads=", object_headers(content_type, true), {}));
        if (!init.ok())
            return classify_s3_response(init, fmt::format("start multipart upload of '{}'", key),
                                        s_.bucket);
        TRIB_ASSIGN_OR_RETURN(auto id, parse_upload_id(init.body));
        const std::string qid = "uploadId=" + uri_encode(id, false);
        auto outcome = upload_parts(key, u, qid, body);
        if (!outcome) {
            // Abort, so that the parts do not linger (and cost) in the bucket.
            auto a = call("DELETE", u + "?" + qid, {}, {});
            if (!a || (!a->ok() && a->status != 404))
                spdlog::warn(
                    "s3: aborting the multipart upload of '{}' failed; a bucket "
                    "lifecycle rule for incomplete uploads removes its parts",
                    key);
        } else {
            ++multipart_;
        }
        return outcome;
    }

    result<put_outcome> upload_parts(std::string_view key, const std::string& u,
                                     const std::string& qid, std::string_view body) {
        std::vector<std::string> etags;
        for (std::size_t off = 0, n = 1; off < body.size(); off += s_.part_size, ++n) {
            const auto len = std::min<std::size_t>(s_.part_size, body.size() - off);
            TRIB_ASSIGN_OR_RETURN(auto r, call("PUT", fmt::format("{}?partNumber={}&{}", u, n, qid),
                                               {}, std::string(body.substr(off, len))));
            if (!r.ok())
                return classify_s3_response(r, fmt::format("upload part {} of '{}'", n, key),
                                            s_.bucket);
            auto etag = std::string(r.header("ETag"));
            if (etag.empty())
                return unexpected(
                    error(errc::protocol_error, retry_class::retryable,
                          fmt::format("part {} of '{}' came back without an ETag", n, key)));
            etags.push_back(std::move(etag));
        }
        net::header_map h;
        h["Content-Type"] = "application/xml";
        if (conditional_)
            h["If-None-Match"] = "*";
        TRIB_ASSIGN_OR_RETURN(auto r,
                              call("POST", u + "?" + qid, h, complete_multipart_body(etags)));
        if (r.status == 412)
            return put_outcome::already_existed;
        // CompleteMultipartUpload can answer 200 with an error document.
        if (r.ok()) {
            if (auto e = parse_error(r.body)) {
                if (e->code == "PreconditionFailed")
                    return put_outcome::already_existed;
                net::http_response as_error = r;
                as_error.status = e->code == "InternalError" || e->code == "SlowDown" ? 503 : 400;
                return classify_s3_response(
                    as_error, fmt::format("complete multipart upload of '{}'", key), s_.bucket);
            }
            return put_outcome::created;
        }
        return classify_s3_response(r, fmt::format("complete multipart upload of '{}'", key),
                                    s_.bucket);
    }

    s3_settings s_;
    std::string base_;
    net::http_client http_;
    bool conditional_ = true;
    std::uint64_t multipart_ = 0;
    std::string tag_;  // of the put in progress
};

}  // namespace

std::string s3_object_url(const s3_settings& s, std::string_view key) {
    return base_url(s) + "/" + uri_encode(key, true);
}

std::unique_ptr<object_store> make_s3_store(s3_settings s) {
    return std::make_unique<s3_store>(std::move(s));
}

}  // namespace trib::connectors::s3_detail
