#include "core/net/http_client.h"

#include "core/hex.h"
#include "core/text.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <utility>
#include <vector>

namespace trib::net {

bool header_name_less::operator()(std::string_view a, std::string_view b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) <
               std::tolower(static_cast<unsigned char>(y));
    });
}

std::string_view http_response::header(std::string_view name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string_view{} : std::string_view(it->second);
}

namespace {

/// Header lines and bodies: CR and LF count as whitespace too.
std::string_view trim(std::string_view s) {
    return trib::trim(s, line_ws_chars);
}

/// The URL without credentials and query string: safe to put in logs and error messages.
std::string redact_url(std::string_view url) {
    std::string out(url.substr(0, url.find_first_of("?#")));
    auto scheme = out.find("://");
    std::size_t host_start = scheme == std::string::npos ? 0 : scheme + 3;
    auto at = out.find('@', host_start);
    auto slash = out.find('/', host_start);
    if (at != std::string::npos && (slash == std::string::npos || at < slash)) {
        out.erase(host_start, at + 1 - host_start);
    }
    return out;
}

/// The start of a response body for an error message: printable, bounded.
std::string body_snippet(std::string_view body) {
    constexpr std::size_t max = 256;
    std::string out;
    for (char c : body.substr(0, max)) {
        out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? ' ' : c;
    }
    if (body.size() > max)
        out += "...";
    return std::string(trim(out));
}

/// AWS SigV4's URI encoding: RFC 3986 unreserved characters kept, everything else %XX.
std::string aws_uri_encode(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 15];
        }
    }
    return out;
}

/// The URL with its query in SigV4 canonical form (parameters encoded and sorted). libcurl 7.88
/// signs the query exactly as given, while AWS canonicalizes it before checking: handing curl
/// the canonical form makes both agree. The order of query parameters means nothing to AWS.
std::string aws_canonical_query_url(const std::string& url) {
    auto q = url.find('?');
    if (q == std::string::npos)
        return url;
    auto frag = url.find('#', q);
    std::string_view query(url.data() + q + 1,
                           (frag == std::string::npos ? url.size() : frag) - q - 1);
    std::vector<std::pair<std::string, std::string>> params;
    for_each_query_param(query, [&](std::string_view k, std::string_view v) {
        params.emplace_back(aws_uri_encode(percent_decode_lenient(k)),
                            aws_uri_encode(percent_decode_lenient(v)));
    });
    std::sort(params.begin(), params.end());
    std::string out = url.substr(0, q);
    for (std::size_t i = 0; i < params.size(); ++i) {
        out += i == 0 ? '?' : '&';
        out += params[i].first;
        out += '=';
        out += params[i].second;
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    static constexpr char hex[] = "0123456789abcdef";
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned n = 0;
    EVP_Digest(data.data(), data.size(), md.data(), &n, EVP_sha256(), nullptr);
    std::string out;
    for (unsigned i = 0; i < n; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    return out;
}

void global_init_once() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

/// State of one transfer, shared with libcurl's callbacks.
struct transfer {
    http_response* resp = nullptr;
    std::size_t max_bytes = 0;
    bool too_large = false;
    std::stop_token stop;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<transfer*>(user);
    std::size_t len = size * n;
    if (t->resp->body.size() + len > t->max_bytes) {
        t->too_large = true;
        return 0;  // makes libcurl fail with CURLE_WRITE_ERROR
    }
    t->resp->body.append(data, len);
    return len;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<transfer*>(user);
    std::size_t len = size * n;
    std::string_view line(data, len);
    if (line.starts_with("HTTP/")) {
        // A new response (after 100 Continue or a followed redirect): keep only the last one.
        t->resp->headers.clear();
        return len;
    }
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
        return len;  // the blank line at the end, or an obsolete folded line
    std::string name(trim(line.substr(0, colon)));
    std::string_view value = trim(line.substr(colon + 1));
    auto [it, inserted] = t->resp->headers.try_emplace(std::move(name), value);
    if (!inserted) {
        it->second += ", ";
        it->second += value;
    }
    return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* t = static_cast<transfer*>(user);
    return t->stop.stop_requested() ? 1 : 0;
}

/// The one mapping from libcurl's transport failures to Tributary errors.
error from_curl(CURLcode rc, const char* detail, std::string_view what, const transfer& t) {
    std::string msg =
        fmt::format("{}: {}", what, detail && *detail ? detail : curl_easy_strerror(rc));
    auto code = static_cast<std::int64_t>(rc);
    switch (rc) {
        case CURLE_OPERATION_TIMEDOUT:
            return error(errc::timeout, retry_class::retryable, msg, code);
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_RESOLVE_PROXY:
        case CURLE_SEND_ERROR:
        case CURLE_RECV_ERROR:
        case CURLE_GOT_NOTHING:
        case CURLE_PARTIAL_FILE:
        case CURLE_HTTP2:
        case CURLE_HTTP2_STREAM:
        case CURLE_SSL_CONNECT_ERROR:  // mostly a reset during the handshake
        case CURLE_AGAIN:
            return error(errc::unavailable, retry_class::retryable, msg, code);
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
            return error(errc::unauthenticated, retry_class::fatal, msg, code);
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_URL_MALFORMAT:
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_BAD_FUNCTION_ARGUMENT:
            return error(errc::invalid_argument, retry_class::fatal, msg, code);
        case CURLE_LOGIN_DENIED:
            return error(errc::unauthenticated, retry_class::fatal, msg, code);
        case CURLE_TOO_MANY_REDIRECTS:
            return error(errc::protocol_error, retry_class::fatal, msg, code);
        case CURLE_WEIRD_SERVER_REPLY:
            return error(errc::protocol_error, retry_class::retryable, msg, code);
        case CURLE_ABORTED_BY_CALLBACK:
            return error(errc::cancelled, retry_class::fatal, fmt::format("{}: cancelled", what),
                         code);
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
            if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
                return error(errc::resource_exhausted, retry_class::fatal,
                             fmt::format("{}: response body over {} bytes", what, t.max_bytes),
                             code);
            }
            return error(errc::io_error, retry_class::retryable, msg, code);
        case CURLE_OUT_OF_MEMORY:
            return error(errc::resource_exhausted, retry_class::retryable, msg, code);
        default:
            return error(errc::unavailable, retry_class::retryable, msg, code);
    }
}

class slist {
  public:
    slist() = default;
    slist(const slist&) = delete;
    slist& operator=(const slist&) = delete;
    ~slist() { curl_slist_free_all(l_); }
    void add(const std::string& line) {
        if (auto* n = curl_slist_append(l_, line.c_str()))
            l_ = n;
    }
    curl_slist* get() const { return l_; }

  private:
    curl_slist* l_ = nullptr;
};

}  // namespace

struct http_client::impl {
    client_options opts;
    CURL* easy = nullptr;
    std::mutex mu;
    std::uint64_t connections = 0;
    std::array<char, CURL_ERROR_SIZE> errbuf{};
    std::string sigv4_param;
    std::string user_agent;

    explicit impl(client_options o) : opts(std::move(o)) {
        global_init_once();
        easy = curl_easy_init();
        if (opts.aws_sigv4) {
            sigv4_param = fmt::format("{}:{}:{}", opts.aws_sigv4->provider, opts.aws_sigv4->region,
                                      opts.aws_sigv4->service);
        }
        user_agent =
            opts.user_agent.empty() ? std::string("tributary/" TRIB_VERSION) : opts.user_agent;
    }
    ~impl() {
        if (easy)
            curl_easy_cleanup(easy);
    }
};

http_client::http_client(client_options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}
http_client::~http_client() = default;
http_client::http_client(http_client&&) noexcept = default;
http_client& http_client::operator=(http_client&&) noexcept = default;

const client_options& http_client::options() const {
    return impl_->opts;
}

std::uint64_t http_client::connections_opened() const {
    std::lock_guard lk(impl_->mu);
    return impl_->connections;
}

result<http_response> http_client::perform(const http_request& req) {
    std::lock_guard lk(impl_->mu);
    std::string what = fmt::format("{} {}", req.method, redact_url(req.url));
    CURL* h = impl_->easy;
    if (h == nullptr)
        return error(errc::internal, retry_class::fatal, what + ": curl_easy_init failed");
    // reset() clears options but keeps the connection cache, DNS cache and TLS sessions.
    curl_easy_reset(h);
    const client_options& o = impl_->opts;

    http_response resp;
    transfer t;
    t.resp = &resp;
    t.max_bytes = o.max_response_bytes;
    t.stop = req.stop;
    impl_->errbuf[0] = '\0';

    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, impl_->errbuf.data());
    std::string url = o.aws_sigv4 ? aws_canonical_query_url(req.url) : req.url;
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    // URLs come from configuration: refuse file://, gopher:// and friends.
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // threads: no SIGALRM for DNS timeouts
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout.count()));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
                     static_cast<long>(req.timeout.value_or(o.timeout).count()));
    curl_easy_setopt(h, CURLOPT_USERAGENT, impl_->user_agent.c_str());
    if (o.accept_compressed)
        curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
    if (o.follow_redirects) {
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, o.max_redirects);
    }
    if (!o.proxy.empty())
        curl_easy_setopt(h, CURLOPT_PROXY, o.proxy.c_str());

    // TLS.
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, o.tls.verify_peer ? 1L : 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, o.tls.verify_host ? 2L : 0L);
    if (!o.tls.ca_file.empty())
        curl_easy_setopt(h, CURLOPT_CAINFO, o.tls.ca_file.c_str());
    if (!o.tls.ca_path.empty())
        curl_easy_setopt(h, CURLOPT_CAPATH, o.tls.ca_path.c_str());
    if (!o.tls.client_cert.empty())
        curl_easy_setopt(h, CURLOPT_SSLCERT, o.tls.client_cert.c_str());
    if (!o.tls.client_key.empty())
        curl_easy_setopt(h, CURLOPT_SSLKEY, o.tls.client_key.c_str());
    if (!o.tls.client_key_password.empty())
        curl_easy_setopt(h, CURLOPT_KEYPASSWD, o.tls.client_key_password.c_str());

    // Credentials: SigV4 and Basic both use libcurl's user/password slot.
    if (o.aws_sigv4) {
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, impl_->sigv4_param.c_str());
        curl_easy_setopt(h, CURLOPT_USERNAME, o.aws_sigv4->access_key_id.c_str());
        curl_easy_setopt(h, CURLOPT_PASSWORD, o.aws_sigv4->secret_access_key.c_str());
    } else if (o.basic) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, static_cast<long>(CURLAUTH_BASIC));
        curl_easy_setopt(h, CURLOPT_USERNAME, o.basic->user.c_str());
        curl_easy_setopt(h, CURLOPT_PASSWORD, o.basic->password.c_str());
    }

    // Method and body. The body stays owned by `req` for the whole transfer.
    bool has_body =
        !req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
    if (req.method == "HEAD") {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (req.method == "GET" && req.body.empty()) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        if (req.method != "POST")
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
        if (has_body) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                             static_cast<curl_off_t>(req.body.size()));
        }
    }

    // Headers: the request's override the defaults of the client.
    header_map headers = req.headers;
    for (const auto& [k, v] : o.default_headers) {
        headers.try_emplace(k, v);
    }
    if (!o.bearer_token.empty() && !o.aws_sigv4)
        headers.try_emplace("Authorization", bearer_auth_header(o.bearer_token));
    if (o.aws_sigv4) {
        if (!o.aws_sigv4->session_token.empty())
            headers.try_emplace("x-amz-security-token", o.aws_sigv4->session_token);
        // S3 refuses requests without the payload hash header; libcurl 7.88 does not add it.
        if (o.aws_sigv4->service == "s3")
            headers.try_emplace("x-amz-content-sha256", sha256_hex(req.body));
    }
    slist hl;
    for (const auto& [k, v] : headers) {
        // "Name;" is libcurl's way to send a header with an empty value.
        hl.add(v.empty() ? k + ";" : k + ": " + v);
    }
    // Header removals ("Name:") are signed by libcurl 7.88's SigV4 code but never sent, which
    // breaks the signature: with SigV4, send real values instead of removing.
    bool can_remove = !o.aws_sigv4;
    // No "Expect: 100-continue" round trip on large bodies: it costs a full RTT per request
    // and the servers we talk to read the body anyway.
    if (!headers.count("Expect") && can_remove)
        hl.add("Expect:");
    // libcurl would otherwise label a body application/x-www-form-urlencoded.
    if (has_body && !headers.count("Content-Type"))
        hl.add(can_remove ? "Content-Type:" : "Content-Type: application/octet-stream");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl.get());

    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
    if (req.stop.stop_possible()) {
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
    }
    if (req.stop.stop_requested())
        return error(errc::cancelled, retry_class::fatal, what + ": cancelled");

    CURLcode rc = curl_easy_perform(h);
    long new_conns = 0;
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &new_conns);
    impl_->connections += static_cast<std::uint64_t>(new_conns);
    // Drop our pointers from the handle: they die with this call.
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, static_cast<curl_slist*>(nullptr));
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, static_cast<char*>(nullptr));
    if (rc != CURLE_OK)
        return from_curl(rc, impl_->errbuf.data(), what, t);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    resp.status = static_cast<int>(code);
    return resp;
}

result<http_response> http_client::send(const http_request& req) {
    TRIB_ASSIGN_OR_RETURN(http_response resp, perform(req));
    auto st = classify_status(resp, fmt::format("{} {}", req.method, redact_url(req.url)));
    if (!st)
        return std::move(st).error();
    return resp;
}

result<http_response> http_client::get(std::string url) {
    http_request r;
    r.url = std::move(url);
    return send(r);
}

result<http_response> http_client::post(std::string url, std::string body,
                                        std::string content_type) {
    http_request r;
    r.method = "POST";
    r.url = std::move(url);
    r.body = std::move(body);
    r.headers.emplace("Content-Type", std::move(content_type));
    return send(r);
}

status classify_status(const http_response& resp, std::string_view what,
                       std::chrono::system_clock::time_point now) {
    int s = resp.status;
    if (s >= 200 && s < 300)
        return ok();
    std::string snippet = body_snippet(resp.body);
    std::string msg = fmt::format("{}{}HTTP {}{}{}", what, what.empty() ? "" : ": ", s,
                                  snippet.empty() ? "" : ": ", snippet);
    auto throttled = [&](errc code) {
        error e(code, retry_class::throttled, msg, s);
        if (auto ra = parse_retry_after(resp.header("Retry-After"), now))
            e.with_retry_after(*ra);
        return e;
    };
    switch (s) {
        case 429:
            return throttled(errc::resource_exhausted);
        case 503:
            return throttled(errc::unavailable);
        case 408:
            return error(errc::timeout, retry_class::retryable, msg, s);
        case 501:  // retrying cannot make the server implement the method
            return error(errc::unimplemented, retry_class::fatal, msg, s);
        case 505:
            return error(errc::protocol_error, retry_class::fatal, msg, s);
        case 400:
        case 422:
            return error(errc::invalid_argument, retry_class::fatal, msg, s);
        case 401:
            return error(errc::unauthenticated, retry_class::fatal, msg, s);
        case 403:
            return error(errc::permission_denied, retry_class::fatal, msg, s);
        case 404:
        case 410:
            return error(errc::not_found, retry_class::fatal, msg, s);
        case 409:
            return error(errc::already_exists, retry_class::fatal, msg, s);
        case 412:
            return error(errc::failed_precondition, retry_class::fatal, msg, s);
        case 413:
            return error(errc::resource_exhausted, retry_class::fatal, msg, s);
        default:
            break;
    }
    if (s >= 500 && s < 600)
        return error(errc::unavailable, retry_class::retryable, msg, s);
    if (s >= 400 && s < 500)
        return error(errc::invalid_argument, retry_class::fatal, msg, s);
    return error(errc::protocol_error, retry_class::fatal,
                 fmt::format("{}{}unexpected HTTP status {}", what, what.empty() ? "" : ": ", s),
                 s);
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value,
                                                      std::chrono::system_clock::time_point now) {
    value = trim(value);
    if (value.empty())
        return std::nullopt;
    if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        // Cap absurd values at a day rather than overflow.
        if (value.size() > 6)
            return std::chrono::seconds(86400);
        long v = 0;
        for (char c : value) {
            v = v * 10 + (c - '0');
        }
        return std::chrono::seconds(std::min(v, 86400L));
    }
    // curl_getdate reads all three HTTP date forms.
    std::string s(value);
    time_t t = curl_getdate(s.c_str(), nullptr);
    if (t == -1)
        return std::nullopt;
    auto when = std::chrono::system_clock::from_time_t(t);
    if (when <= now)
        return std::chrono::seconds(0);
    return std::chrono::ceil<std::chrono::seconds>(when - now);
}

std::string basic_auth_header(std::string_view user, std::string_view password) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string in;
    in.reserve(user.size() + 1 + password.size());
    in.append(user).append(":").append(password);
    std::string out = "Basic ";
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        auto n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8) |
                 static_cast<unsigned char>(in[i + 2]);
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += alphabet[n & 63];
    }
    if (i + 1 == in.size()) {
        auto n = static_cast<unsigned char>(in[i]) << 16;
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += "==";
    } else if (i + 2 == in.size()) {
        auto n = (static_cast<unsigned char>(in[i]) << 16) |
                 (static_cast<unsigned char>(in[i + 1]) << 8);
        out += alphabet[(n >> 18) & 63];
        out += alphabet[(n >> 12) & 63];
        out += alphabet[(n >> 6) & 63];
        out += '=';
    }
    return out;
}

std::string bearer_auth_header(std::string_view token) {
    return "Bearer " + std::string(token);
}

}  // namespace trib::net
