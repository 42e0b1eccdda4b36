#include "iggy/address.h"

#include <xxhash.h>

#include <charconv>

#include "core/hex.h"

namespace trib::iggy {

result<std::string> percent_decode(std::string_view s) {
    auto out = trib::percent_decode(s);
    if (!out)
        return fail(errc::invalid_argument, "address: bad or truncated percent escape");
    return std::move(*out);
}

result<server_address> server_address::parse(std::string_view text) {
    server_address a;
    std::string_view rest = text;
    if (auto p = rest.find("://"); p != std::string_view::npos) {
        std::string_view scheme = rest.substr(0, p);
        rest = rest.substr(p + 3);
        if (scheme == "iggy+tcp+tls" || scheme == "tls" || scheme == "iggy+tls" ||
            scheme == "tcp+tls") {
            a.tls = true;
        } else if (scheme != "iggy+tcp" && scheme != "iggy" && scheme != "tcp") {
            return fail(errc::invalid_argument, "address: unsupported scheme '" +
                                                    std::string(scheme) +
                                                    "' (use iggy+tcp:// or iggy+tcp+tls://)");
        }
    }
    // Drop a path or query (e.g. a trailing '/').
    if (auto p = rest.find_first_of("/?"); p != std::string_view::npos)
        rest = rest.substr(0, p);
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view cred = rest.substr(0, at);
        rest = rest.substr(at + 1);
        auto colon = cred.find(':');
        TRIB_ASSIGN_OR_RETURN(a.username, percent_decode(cred.substr(0, colon)));
        if (colon != std::string_view::npos) {
            TRIB_ASSIGN_OR_RETURN(a.password, percent_decode(cred.substr(colon + 1)));
        }
    }
    std::string_view port_text;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string_view::npos)
            return fail(errc::invalid_argument, "address: unclosed '[' in IPv6 host");
        a.host = std::string(rest.substr(1, close - 1));
        std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':')
                return fail(errc::invalid_argument, "address: junk after IPv6 host");
            port_text = after.substr(1);
        }
    } else {
        auto colon = rest.rfind(':');
        if (colon != std::string_view::npos && rest.find(':') != colon)
            return fail(errc::invalid_argument, "address: IPv6 hosts need [brackets]");
        a.host = std::string(rest.substr(0, colon));
        if (colon != std::string_view::npos)
            port_text = rest.substr(colon + 1);
    }
    if (a.host.empty())
        return fail(errc::invalid_argument, "address: no host in '" + std::string(text) + "'");
    if (!port_text.empty()) {
        unsigned v = 0;
        auto [ptr, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), v);
        if (ec != std::errc() || ptr != port_text.data() + port_text.size() || v == 0 || v > 65535)
            return fail(errc::invalid_argument,
                        "address: bad port '" + std::string(port_text) + "'");
        a.port = static_cast<std::uint16_t>(v);
    }
    return a;
}

std::string server_address::to_string() const {
    bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::chrono::milliseconds backoff::next() {
    auto ceiling = base_.count();
    for (unsigned i = 0; i < attempt_ && ceiling < max_.count(); ++i)
        ceiling *= 2;
    if (ceiling > max_.count())
        ceiling = max_.count();
    ++attempt_;
    std::uniform_int_distribution<long long> d(ceiling / 2, ceiling);
    return std::chrono::milliseconds(d(rng_));
}

std::uint32_t xxh32(std::string_view data) {
    return XXH32(data.data(), data.size(), 0);
}

}  // namespace trib::iggy
