#pragma once
// The broker's in-memory model and its persistence (internal to src/server).
//
// Locking: `model::mu` guards the topology (streams, topics, partitions lists, groups and their
// members, users, tokens). Metadata changes hold it exclusively; reads, sends and polls hold it
// shared only long enough to resolve names and take references, then do I/O without it. Each
// topic's consumer offsets have their own mutex. Lock order: mu, then a topic's offsets_mu, then
// conn_mu.

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "core/error.h"
#include "iggy/wire/primitives.h"
#include "server/broker.h"
#include "server/login_limiter.h"
#include "server/storage/partition_log.h"

namespace trib::server {

/// Topic settings from the options block (iggy-protocol.md section 7), as stored.
struct topic_settings {
    std::uint8_t compression = 1;               // 1 none, 2 gzip (metadata only)
    std::uint64_t message_expiry = UINT64_MAX;  // µs; 0 = server default, MAX = never
    std::uint64_t max_topic_size = UINT64_MAX;  // bytes; 0 = server default, MAX = unlimited
    std::uint64_t segment_size = 0;             // bytes (0: the server's default at creation)
    bool durability_persisted = false;
    bool offsets_persisted = false;
    std::uint32_t messages_required_to_save = 1024;
    std::uint64_t size_of_messages_required_to_save = 1u << 20;
    bool preallocate_segments = false;
};

/// Parses an options block into settings. `create`: every key is allowed and missing keys keep
/// the defaults in `s`; update: only compression_algorithm, message_expiry, max_topic_size.
/// Returns 0 or an Iggy error code (4041 unknown key, 4042 bad value, 4043 too large, 1019).
std::uint32_t apply_topic_options(const iggy::options& opts, bool create, topic_settings& s);
/// Iggy's duration text ("7 days", "1h 30m", "500ms"; a bare number is seconds) in µs;
/// "unlimited"/"none"/"never" give UINT64_MAX and "server_default" gives 0.
std::optional<std::uint64_t> parse_duration_us(std::string_view text);
/// Iggy's size text ("1 GiB", "500MB", "1024" bytes); "unlimited" gives UINT64_MAX and
/// "server_default" gives 0.
std::optional<std::uint64_t> parse_size(std::string_view text);
/// The options the client did not give, with their effective values (TopicHeader "derived").
iggy::options derived_topic_options(const topic_settings& s, const iggy::options& explicit_opts);
/// Sorted copy of the client's entries, keys canonical (TopicHeader "explicit").
iggy::options canonical_options(const iggy::options& opts);

struct partition {
    std::uint32_t id = 0;
    std::uint64_t created_at = 0;
    std::shared_ptr<storage::partition_log> log;
};

struct group_member {
    std::uint32_t id = 0;
    std::uint32_t conn_id = 0;  // the connection that joined (membership ends with it)
    u128 client;
    std::vector<std::uint32_t> partitions;
};

struct consumer_group {
    std::uint32_t id = 0;
    std::string name;
    std::uint64_t generation = 0;
    std::vector<group_member> members;  // ordered by member id
};

/// A stored consumer offset: kind 1 consumer (key = id or XXH32(name)), kind 2 group (key = id).
struct offset_key {
    std::uint8_t kind = 1;
    std::uint32_t key = 0;
    std::uint32_t partition = 0;
    friend auto operator<=>(const offset_key&, const offset_key&) = default;
};

struct topic {
    std::uint32_t id = 0;
    std::uint32_t stream_id = 0;
    std::uint64_t uid = 0;  // never reused: names the topic's directory
    std::string name;
    std::uint64_t created_at = 0;
    topic_settings settings;
    iggy::options explicit_opts;
    std::vector<std::shared_ptr<partition>> partitions;  // dense ids 0..n-1
    std::atomic<std::uint64_t> round_robin{0};
    std::uint32_t next_group_id = 0;
    std::map<std::uint32_t, consumer_group> groups;
    std::filesystem::path dir;

    std::mutex offsets_mu;
    std::map<offset_key, std::uint64_t> offsets;  // (offsets_mu)
    std::uint64_t offsets_version = 0;            // (offsets_mu) bumped on every change
    std::uint64_t offsets_saved = 0;              // (offsets_write_mu) version on disk
    std::mutex offsets_write_mu;                  // serialises offsets file writes
    std::atomic<bool> deleted{false};
};

struct stream {
    std::uint32_t id = 0;
    std::string name;
    std::uint64_t created_at = 0;
    std::map<std::uint32_t, std::shared_ptr<topic>> topics;
};

struct user {
    std::uint32_t id = 0;
    std::string username;
    std::string password_hash;
    std::uint8_t status = 1;  // 1 active, 2 inactive
    std::uint64_t created_at = 0;
    std::optional<iggy::permissions> perms;
};

struct token {
    std::uint32_t user_id = 0;
    std::string name;
    std::string digest;
    std::uint64_t expiry_at = 0;  // µs since the epoch; 0 = never
};

struct broker::model {
    std::shared_mutex mu;
    std::map<std::uint32_t, stream> streams;
    std::map<std::uint32_t, user> users;
    std::vector<token> tokens;
    std::uint64_t next_uid = 1;
    std::atomic<std::uint64_t> commit{0};  // metadata changes applied (reply header "commit")

    std::mutex conn_mu;
    std::map<std::uint32_t, connection_state*> connections;  // (conn_mu)
    std::atomic<std::uint32_t> next_conn_id{1};
    std::atomic<std::uint64_t> next_session{1};

    std::unique_ptr<storage::flusher> flusher;
    /// Failed-login accounting (lockouts), and a hash that logins of unknown users are checked
    /// against, so that they take as long as those of known ones.
    std::unique_ptr<login_limiter> logins;
    std::string dummy_hash;
    std::string host = "127.0.0.1";
    std::uint16_t port = 0;
    std::uint64_t start_time_us = 0;
};

/// Persistence of the model (store.cpp). Metadata (everything but offsets and messages) is one
/// JSON file written atomically (temp file, fsync, rename, directory fsync); each topic's
/// consumer offsets are a small file of their own in the topic directory.
std::filesystem::path metadata_path(const std::filesystem::path& data_dir);
std::filesystem::path topics_root(const std::filesystem::path& data_dir);
/// Serialises the model (callers hold mu).
std::string serialize_metadata(const broker::model& m);
/// Fills `m` from the JSON (streams, topics with settings and partitions lists, groups, users,
/// tokens). Partition logs are not opened here.
[[nodiscard]] status parse_metadata(std::string_view json, broker::model& m);
/// Offsets file of a topic: text lines "kind key partition offset".
std::string serialize_offsets(const std::map<offset_key, std::uint64_t>& offsets);
[[nodiscard]] status parse_offsets(std::string_view text,
                                   std::map<offset_key, std::uint64_t>& offsets);

}  // namespace trib::server
