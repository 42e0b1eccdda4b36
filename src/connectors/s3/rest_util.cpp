// Percent-encoding and the retry loop of the REST stores (GCS, Azure Blob, WebHDFS).

#include "connectors/s3/rest_util.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

namespace trib::connectors::s3_detail {

std::string percent_encode(std::string_view s, bool keep_slash) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
                                c == '~';
        if (unreserved || (keep_slash && c == '/')) {
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

std::string_view url_path(std::string_view url) {
    auto p = url.find("://");
    p = p == std::string_view::npos ? 0 : p + 3;
    const auto slash = url.find('/', p);
    if (slash == std::string_view::npos)
        return "/";
    auto path = url.substr(slash);
    return path.substr(0, path.find('?'));
}

namespace {

bool sleep_unless_stopped(std::chrono::milliseconds d, const std::stop_token& stop) {
    const auto until = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < until) {
        if (stop.stop_requested())
            return false;
        std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
            until - std::chrono::steady_clock::now(), std::chrono::milliseconds(50)));
    }
    return true;
}

}  // namespace

result<net::http_response> call_with_retries(net::http_client& http, const s3_settings& s,
                                             const request_fn& make, const classify_fn& classify,
                                             std::string_view what) {
    auto delay = s.retry_delay;
    for (std::uint32_t attempt = 0;; ++attempt) {
        TRIB_ASSIGN_OR_RETURN(auto req, make());
        req.stop = s.stop;
        auto r = http.perform(req);
        std::optional<error> e;
        if (!r) {
            e = r.error();
        } else if (r->status >= 500 || r->status == 429 || r->status == 408) {
            if (attempt >= s.retries)
                return r;
            e = classify(*r, what);
        } else {
            return r;
        }
        if (!e->retryable() || attempt >= s.retries || s.stop.stop_requested())
            return *e;
        auto wait = std::max(delay, e->retry_after());
        spdlog::debug("{}: {} failed ({}), retrying in {} ms", store_label(s.kind), what,
                      e->message(), wait.count());
        if (!sleep_unless_stopped(wait, s.stop))
            return unexpected(error(errc::cancelled, "stopped"));
        delay = std::min(delay * 2, std::chrono::milliseconds(30000));
    }
}

net::http_client make_store_client(const s3_settings& s) {
    net::client_options o;
    o.timeout = s.timeout;
    o.connect_timeout = s.connect_timeout;
    o.tls = s.tls;
    o.accept_compressed = false;
    o.follow_redirects = false;
    return net::http_client(std::move(o));
}

}  // namespace trib::connectors::s3_detail
