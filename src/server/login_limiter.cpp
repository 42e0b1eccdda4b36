#include "server/login_limiter.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <iterator>

namespace trib::server {

namespace {

using std::chrono::milliseconds;

}  // namespace

std::string peer_host(std::string_view peer) {
    auto colon = peer.rfind(':');
    if (colon == std::string_view::npos)
        return std::string(peer);
    auto host = peer.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    return std::string(host);
}

std::string limiter_address(std::string_view peer) {
    std::string host = peer_host(peer);
    in6_addr a{};
    if (host.find(':') == std::string::npos || ::inet_pton(AF_INET6, host.c_str(), &a) != 1)
        return host;
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
        char v4[INET_ADDRSTRLEN] = {};
        if (::inet_ntop(AF_INET, &a.s6_addr[12], v4, sizeof(v4)))
            return v4;
        return host;
    }
    // One IPv6 host usually holds a whole /64: count failures per /64, or rotating addresses
    // would never be locked out.
    std::fill(std::begin(a.s6_addr) + 8, std::end(a.s6_addr), std::uint8_t{0});
    char buf[INET6_ADDRSTRLEN] = {};
    if (!::inet_ntop(AF_INET6, &a, buf, sizeof(buf)))
        return host;
    return std::string(buf) + "/64";
}

bool login_limiter::stale(const entry& e, clock::time_point now) const {
    // Quiet for as long as the longest lockout, and not locked: start afresh.
    return e.locked_until <= now && now - e.last_failure >= limits_.max_lockout;
}

std::optional<milliseconds> login_limiter::remaining(const table& t, std::string_view key,
                                                     clock::time_point now) const {
    if (key.empty())
        return std::nullopt;
    auto it = t.find(std::string(key));
    if (it == t.end() || it->second.locked_until <= now)
        return std::nullopt;
    return std::max(milliseconds(1),
                    std::chrono::ceil<milliseconds>(it->second.locked_until - now));
}

std::optional<milliseconds> login_limiter::locked(std::string_view address,
                                                  std::string_view username,
                                                  clock::time_point now) {
    if (limits_.free_failures == 0)
        return std::nullopt;
    std::lock_guard l(mu_);
    auto a = remaining(by_address_, address, now);
    auto u = remaining(by_user_, username, now);
    if (a && u)
        return std::max(*a, *u);
    return a ? a : u;
}

void login_limiter::make_room(table& t, clock::time_point now) {
    if (t.size() < limits_.max_entries)
        return;
    std::erase_if(t, [&](const auto& kv) { return stale(kv.second, now); });
    if (t.size() < limits_.max_entries)
        return;
    // Still full (a flood within one lockout period): forget the one quiet for longest.
    auto oldest = std::min_element(t.begin(), t.end(), [](const auto& x, const auto& y) {
        return x.second.last_failure < y.second.last_failure;
    });
    if (oldest != t.end())
        t.erase(oldest);
}

milliseconds login_limiter::count(table& t, std::string_view key, clock::time_point now) {
    if (key.empty())
        return milliseconds(0);
    auto it = t.find(std::string(key));
    if (it == t.end()) {
        make_room(t, now);
        it = t.emplace(std::string(key), entry{}).first;
    } else if (stale(it->second, now)) {
        it->second = entry{};
    }
    entry& e = it->second;
    e.failures = e.failures == UINT32_MAX ? e.failures : e.failures + 1;
    e.last_failure = now;
    if (e.failures < limits_.free_failures)
        return milliseconds(0);
    const std::uint32_t doublings = std::min<std::uint32_t>(e.failures - limits_.free_failures, 30);
    auto lock = limits_.first_lockout;
    for (std::uint32_t i = 0; i < doublings && lock < limits_.max_lockout; ++i)
        lock *= 2;
    lock = std::min(lock, limits_.max_lockout);
    e.locked_until = std::max(e.locked_until, now + lock);
    return lock;
}

milliseconds login_limiter::failed(std::string_view address, std::string_view username,
                                   clock::time_point now) {
    if (limits_.free_failures == 0)
        return milliseconds(0);
    std::lock_guard l(mu_);
    auto a = count(by_address_, address, now);
    auto u = count(by_user_, username, now);
    return std::max(a, u);
}

void login_limiter::succeeded(std::string_view address, std::string_view username) {
    std::lock_guard l(mu_);
    if (!address.empty())
        by_address_.erase(std::string(address));
    if (!username.empty())
        by_user_.erase(std::string(username));
}

std::size_t login_limiter::size() const {
    std::lock_guard l(mu_);
    return by_address_.size() + by_user_.size();
}

}  // namespace trib::server
