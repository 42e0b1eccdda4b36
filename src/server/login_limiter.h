#pragma once
// Login failure accounting of the embedded server: after `free_failures` failed logins from one
// address, or for one user name, further attempts are refused unchecked for a lockout that
// doubles with every further failure (1 s, 2 s, 4 s, ... up to `max_lockout`). Unknown user
// names are counted like known ones, so a lockout tells nothing about which names exist.
//
// Internal header. Time is an input (`now`), so tests drive it without sleeping.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace trib::server {

struct login_limits {
    /// Failures (per address and per user name) before the first lockout. 0 disables lockouts.
    std::uint32_t free_failures = 5;
    /// The first lockout; each further failure doubles it, up to `max_lockout`.
    std::chrono::milliseconds first_lockout{1000};
    std::chrono::milliseconds max_lockout{std::chrono::minutes(5)};
    /// Entries kept per kind (addresses, user names); the stalest are forgotten beyond it, so a
    /// flood of made-up names cannot grow memory.
    std::size_t max_entries = 10000;
};

/// Thread-safe.
class login_limiter {
  public:
    using clock = std::chrono::steady_clock;

    explicit login_limiter(login_limits limits = {}) : limits_(limits) {}

    /// How long attempts from `address` (an IP, no port) or for `username` (empty: not known,
    /// e.g. a token login) stay refused; nullopt when an attempt may be checked now.
    std::optional<std::chrono::milliseconds> locked(std::string_view address,
                                                    std::string_view username,
                                                    clock::time_point now);
    /// Counts a failed attempt. Returns the lockout it starts (zero when none starts).
    std::chrono::milliseconds failed(std::string_view address, std::string_view username,
                                     clock::time_point now);
    /// A successful login forgets the failures of its address and user name.
    void succeeded(std::string_view address, std::string_view username);

    /// Entries currently tracked (addresses + user names), for tests.
    std::size_t size() const;

  private:
    struct entry {
        std::uint32_t failures = 0;
        clock::time_point last_failure{};
        clock::time_point locked_until{};
    };
    using table = std::unordered_map<std::string, entry>;

    std::chrono::milliseconds count(table& t, std::string_view key, clock::time_point now);
    std::optional<std::chrono::milliseconds> remaining(const table& t, std::string_view key,
                                                       clock::time_point now) const;
    void make_room(table& t, clock::time_point now);
    bool stale(const entry& e, clock::time_point now) const;

    login_limits limits_;
    mutable std::mutex mu_;
    table by_address_;  // (mu_)
    table by_user_;     // (mu_)
};

/// The address part of "ip:port" / "[v6]:port".
std::string peer_host(std::string_view peer);
/// What the limiter counts failures of "ip:port" by: the IPv4 address (also of a v4-mapped IPv6
/// one), or the /64 of an IPv6 address ("2001:db8:1:2::/64").
std::string limiter_address(std::string_view peer);

}  // namespace trib::server
