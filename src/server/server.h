#pragma once
// The embedded single-node Iggy-compatible server (protocol 0.11, server 0.9.x): public API.
//
// `tributary serve` runs it alone (serve.h); `tributary run` starts it in-process when the runtime
// config names no external Iggy server. Official Iggy clients (the Python SDK, the `iggy` CLI)
// talk to it over TCP (optionally TLS) exactly as they talk to Iggy. No Asio in this header.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "core/error.h"
#include "server/storage/partition_log.h"

namespace trib::server {

using storage::dedup_options;
using storage::fsync_policy;

/// Everything the server needs to start. Only `data_dir` is required.
struct server_options {
    /// Where streams, topics, messages, users, tokens, groups and offsets live. Created if missing.
    std::filesystem::path data_dir;
    /// `host:port` to listen on. Loopback by default; port 0 picks a free port (see `port()`).
    std::string address = "127.0.0.1:8090";
    /// PEM certificate chain and private key. Both set: the port serves TLS instead of plain TCP.
    std::filesystem::path tls_cert;
    std::filesystem::path tls_key;

    /// Root user credentials, used when the root user is first created (an existing data dir
    /// keeps its root user, as Iggy does). Empty: IGGY_ROOT_USERNAME / IGGY_ROOT_PASSWORD from
    /// the environment; otherwise username `iggy` and a random password that is printed (logged
    /// at warn level) once. `default_root_credentials` gives iggy/iggy (development only, like
    /// Iggy's --with-default-root-credentials), also printed.
    std::string root_username;
    std::string root_password;
    bool default_root_credentials = false;

    /// When appended messages are fsynced. `always`: before the send is acknowledged.
    /// `interval`: at most `fsync_interval` later. `never`: left to the OS. Topics created with
    /// `durability = persisted` (or `consumer_offset_durability = persisted`) always sync before
    /// acknowledging, whatever this says.
    fsync_policy fsync = fsync_policy::interval;
    std::chrono::milliseconds fsync_interval{1000};
    /// Default segment size of new topics (a topic's `segment_size` option overrides it).
    std::uint64_t segment_size = std::uint64_t{1} << 30;
    /// Consumer-group members that send nothing for 1.2 x this long are evicted (StaleClient)
    /// and their partitions rebalanced, as Iggy's [heartbeat] does. Zero disables it.
    std::chrono::milliseconds heartbeat_interval{30000};
    /// Network threads; 0 = one per core (at least 2).
    unsigned threads = 0;

    // Limits (docs/security.md). Before login a connection may send only frames up to
    // `max_unauthenticated_frame` bytes (Register, Ping); a larger one closes it. After login the
    // protocol's 64 MiB frame limit applies, and a body buffer grows only as its bytes arrive.

    /// Open connections at most; more are closed at once. Clamped to what RLIMIT_NOFILE leaves.
    std::uint32_t max_connections = 1024;
    /// Connections not logged in (yet) at most, so that idle sockets cannot take every slot.
    std::uint32_t max_unauthenticated_connections = 256;
    /// A connection that has not logged in this long after it opened (or logged out) is closed.
    /// Zero disables it.
    std::chrono::milliseconds login_timeout{10000};
    /// A logged-in connection that sends nothing this long is closed. Zero (the default)
    /// disables it: Iggy keeps idle clients, and its SDKs ping every 5 s anyway.
    std::chrono::milliseconds idle_timeout{0};
    /// Failed logins (per peer address and per user name) before attempts are refused unchecked
    /// for 1 s, doubling with each further failure up to `login_lockout_max`. Zero disables it.
    std::uint32_t login_max_failures = 5;
    std::chrono::milliseconds login_lockout_max{std::chrono::minutes(5)};

    /// Iggy's `[system.message_deduplication]`: per partition, messages whose id was appended
    /// within `expiry` (and is among the newest `max_entries`) are dropped from later sends; the
    /// send is still acknowledged. Id 0 is never de-duplicated. Off by default, as in Iggy. The
    /// window survives a restart (rebuilt from each partition's log tail).
    dedup_options message_deduplication;
};

/// Frames (header included) a connection may send before it logs in.
inline constexpr std::uint32_t max_unauthenticated_frame = 64 * 1024;

/// The root credentials the server started with, so that an in-process caller can log in.
struct root_credentials {
    std::string username;
    std::string password;  // empty when the root user already existed in the data dir
};

/// A running server.
///
/// Lifecycle: `start` opens the data dir (recovering logs and metadata), binds, and returns once
/// the port accepts connections; `stop` (or the destructor) closes the listener and every
/// connection, flushes offsets and logs, and joins the threads. Thread-safe: `stop` may be called
/// from any thread, more than once.
class embedded_server {
  public:
    [[nodiscard]] static result<std::unique_ptr<embedded_server>> start(server_options options);
    ~embedded_server();
    embedded_server(const embedded_server&) = delete;
    embedded_server& operator=(const embedded_server&) = delete;

    /// The bound TCP port (the real one when the address asked for port 0).
    std::uint16_t port() const;
    /// The bound address as `host:port`.
    std::string address() const;
    bool tls() const;
    const root_credentials& credentials() const;
    const server_options& options() const;

    /// Stops the server (idempotent).
    void stop();

    struct impl;

  private:
    explicit embedded_server(std::unique_ptr<impl> i);
    std::unique_ptr<impl> impl_;
};

/// Applies the environment to options: IGGY_ROOT_USERNAME / IGGY_ROOT_PASSWORD when the options
/// name no root credentials, and Iggy's overrides of `[system.message_deduplication]`
/// (IGGY_SYSTEM_MESSAGE_DEDUPLICATION_ENABLED / _MAX_ENTRIES / _EXPIRY), which win over the
/// options as Iggy's environment wins over its server.toml. `start` calls it; exposed for
/// `tributary serve`, `tributary run` and tests. Errors (invalid_argument) name the variable.
[[nodiscard]] status apply_environment(server_options& options);

/// Reads the keys Tributary's server takes from an Iggy server.toml into `options`: today
/// `[system.message_deduplication]` enabled / max_entries / expiry. Other tables and keys of
/// Iggy's file are accepted and ignored (their settings are `tributary serve` flags), so Iggy's
/// file works unchanged. Errors (invalid_argument) name the file and the key.
[[nodiscard]] status apply_iggy_server_config(const std::filesystem::path& file,
                                              server_options& options);

}  // namespace trib::server
