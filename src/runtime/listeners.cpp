#include "runtime/listeners.h"
#include "core/errno_text.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

namespace trib::runtime {
namespace {

std::string shown(const configured_listener& l) {
    return (l.host.find(':') != std::string::npos ? "[" + l.host + "]" : l.host) + ":" +
           std::to_string(l.port);
}

// Empty when `l` can listen; otherwise what is wrong.
std::string try_bind(const configured_listener& l) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const std::string port = std::to_string(l.port);
    if (const int rc = ::getaddrinfo(l.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
        return "cannot resolve the host of " + shown(l) + ": " + ::gai_strerror(rc);
    }
    std::string problem;
    // The first address the listener would use (servers bind the first resolved one).
    for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
        const int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            problem = "cannot listen on " + shown(l) + ": " + errno_text(errno);
            continue;
        }
        const int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        const bool bound = ::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 1) == 0;
        const int err = errno;
        ::close(fd);
        if (bound) {
            problem.clear();
            break;
        }
        problem = err == EADDRINUSE ? "address in use (" + shown(l) + ")"
                                    : "cannot listen on " + shown(l) + ": " + errno_text(err);
        break;
    }
    ::freeaddrinfo(res);
    return problem;
}

}  // namespace

std::vector<configured_listener> listeners_of(const config::runtime_config& rc,
                                              const std::vector<config::connector_config>& active) {
    std::vector<configured_listener> out;
    auto add = [&](const std::string& file, const std::string& key, const std::string& text) {
        auto a = config::parse_listen_address(text);
        if (a)
            out.push_back(configured_listener{file, key, a->host, a->port});
    };
    if (rc.use_embedded_server())
        add(rc.file, "server.address", rc.server.address);
    if (rc.http.enabled)
        add(rc.file, "http.address", rc.http.address);
    for (const auto& c : active) {
        if (!c.enabled || c.plugin_spec == nullptr || !c.plugin_spec->listeners)
            continue;
        for (const auto& e : c.plugin_spec->listeners(c.plugin_config)) {
            if (e.port <= 0 || e.port > 65535)
                continue;
            out.push_back(configured_listener{c.file, "plugin_config." + e.key, e.host,
                                              static_cast<std::uint16_t>(e.port)});
        }
    }
    return out;
}

config::problems check_listeners(const std::vector<configured_listener>& ls) {
    config::problems out;
    std::map<std::pair<std::string, std::uint16_t>, const configured_listener*> seen;
    for (const auto& l : ls) {
        if (l.port == 0)
            continue;
        auto [it, fresh] = seen.emplace(std::make_pair(l.host, l.port), &l);
        if (!fresh) {
            out.error(l.file, l.key,
                      "address " + shown(l) + " is also used by " + it->second->file + ": " +
                          it->second->key);
            continue;
        }
        if (auto p = try_bind(l); !p.empty())
            out.error(l.file, l.key, p);
    }
    return out;
}

}  // namespace trib::runtime
