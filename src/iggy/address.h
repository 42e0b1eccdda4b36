#pragma once
// Where and how to reach an Iggy server: address parsing, TLS and credentials options, the
// reconnect backoff, and the client-side partitioner.

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include "core/error.h"

namespace trib::iggy {

/// TLS settings of a connection.
struct tls_options {
    bool enabled = false;
    std::string ca_file;  // PEM; empty = the system's default trust store
    std::string domain;   // SNI and the name to verify; empty = the host of the address
    bool verify = true;   // false: accept any certificate (tests, self-signed dev servers)
};

/// A parsed server address.
///
/// Accepted forms: `host:port`, `[::1]:port`, `iggy://...`, `iggy+tcp://user:pass@host:port`,
/// `iggy+tcp+tls://...` (TLS on), `tcp://...`, `tls://...`. User and password are
/// percent-decoded. A missing port means 8090.
struct server_address {
    std::string host;
    std::uint16_t port = 8090;
    bool tls = false;
    std::string username;  // empty when the address names none
    std::string password;

    [[nodiscard]] static result<server_address> parse(std::string_view text);
    /// `host:port` (IPv6 in brackets), no credentials: safe to log.
    std::string to_string() const;
};

/// Decodes `%XX` escapes; fails on a malformed escape.
[[nodiscard]] result<std::string> percent_decode(std::string_view s);

/// Capped exponential backoff with full jitter: attempt n waits a random time in
/// [base * 2^n / 2, min(max, base * 2^n)]. Not thread-safe.
class backoff {
  public:
    backoff(std::chrono::milliseconds base = std::chrono::milliseconds(100),
            std::chrono::milliseconds max = std::chrono::milliseconds(10000),
            std::uint64_t seed = std::random_device{}())
        : base_(base), max_(max), rng_(seed) {}
    /// The wait before the next attempt; each call doubles the ceiling up to `max`.
    std::chrono::milliseconds next();
    void reset() { attempt_ = 0; }
    unsigned attempts() const { return attempt_; }

  private:
    std::chrono::milliseconds base_, max_;
    unsigned attempt_ = 0;
    std::mt19937_64 rng_;
};

/// XXH32 with seed 0, the hash Iggy uses for message keys and named consumers.
std::uint32_t xxh32(std::string_view data);
/// Partition index for a message key: XXH32(key, 0) % partitions (Iggy's MessagesKey rule).
inline std::uint32_t partition_for_key(std::string_view key, std::uint32_t partitions) {
    return partitions == 0 ? 0 : xxh32(key) % partitions;
}

}  // namespace trib::iggy
