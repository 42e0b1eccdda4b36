#include "runtime/api_access.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace trib::runtime {
namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

bool is_ip_literal(const std::string& h) {
    unsigned char buf[16];
    return ::inet_pton(AF_INET, h.c_str(), buf) == 1 || ::inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

bool state_changing(std::string_view method) {
    return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

}  // namespace

std::string host_of_authority(std::string_view a) {
    if (!a.empty() && a.front() == '[') {
        const auto close = a.find(']');
        return lower(a.substr(1, close == std::string_view::npos ? a.size() - 1 : close - 1));
    }
    const auto colon = a.find(':');
    if (colon != std::string_view::npos && a.find(':', colon + 1) == std::string_view::npos)
        a = a.substr(0, colon);  // one colon: host:port (several: a bare IPv6 address)
    std::string h = lower(a);
    while (!h.empty() && h.back() == '.')
        h.pop_back();  // "localhost." is "localhost"
    return h;
}

api_access::api_access(api_access_settings s) : s_(std::move(s)) {
    s_.bind_host = host_of_authority(s_.bind_host);
    for (auto& h : s_.allowed_hosts)
        h = h == "*" ? h : host_of_authority(h);
}

bool api_access::host_allowed(std::string_view header) const {
    if (header.empty())
        return true;  // HTTP/1.0 clients; browsers always send Host
    const std::string h = host_of_authority(header);
    if (h.empty())
        return false;
    if (is_ip_literal(h) || h == "localhost" || h.ends_with(".localhost"))
        return true;
    if (h == s_.bind_host)
        return true;
    return std::any_of(s_.allowed_hosts.begin(), s_.allowed_hosts.end(),
                       [&](const std::string& a) { return a == "*" || a == h; });
}

bool api_access::origin_allowed(std::string_view origin, std::string_view host_header) const {
    // Same origin: scheme://Host exactly (the browser puts the page's origin; the Host is the
    // API's address as the browser reached it).
    const std::string own = std::string(s_.tls ? "https://" : "http://") + lower(host_header);
    const std::string o = lower(origin);
    if (!host_header.empty()) {
        const std::string default_port = s_.tls ? ":443" : ":80";
        if (o == own || o + default_port == own)
            return true;
    }
    for (const auto& a : s_.allowed_origins) {
        if (a == "*" ? s_.api_key_set : lower(a) == o)
            return true;
    }
    return false;
}

std::optional<api_refusal> api_access::check(std::string_view method, std::string_view host,
                                             std::string_view origin) const {
    if (!s_.api_key_set && !host_allowed(host)) {
        return api_refusal{403, "Host \"" + std::string(host) +
                                    "\" is not an address of this API (DNS rebinding guard); add "
                                    "the name to [http] allowed_hosts or set [http] api_key"};
    }
    if (state_changing(method) && !origin.empty() && !origin_allowed(origin, host)) {
        return api_refusal{403, "cross-origin " + std::string(method) + " from \"" +
                                    std::string(origin) +
                                    "\" refused; list the origin in [http.cors] allowed_origins"};
    }
    return std::nullopt;
}

}  // namespace trib::runtime
