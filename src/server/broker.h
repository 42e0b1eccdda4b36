#pragma once
// The embedded server's state machine: streams, topics, partitions, consumer groups, offsets,
// users, tokens and sessions, and the handling of every request of protocol 0.11. No sockets:
// the network layer (net.cpp) reads frames and hands them here, so tests and the fuzz target can
// drive the broker directly.
//
// Internal header (not part of the public API in server.h).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "core/dir_lock.h"
#include "core/error.h"
#include "iggy/wire/bytes.h"
#include "iggy/wire/header.h"
#include "iggy/wire/primitives.h"
#include "server/server.h"
#include "server/storage/partition_log.h"

namespace trib::server {

using iggy::bytes;
using iggy::bytes_view;
using iggy::u128;

/// One client connection as the broker sees it. Created by `broker::connect`; the network layer
/// owns it and passes it to every `handle` call of that connection (one at a time: clients are
/// lockstep). Fields marked (mu) are also read by other connections' GET_CLIENTS under the
/// broker's lock.
struct connection_state {
    std::uint32_t id = 0;  // the u32 client id of GET_ME / GET_CLIENTS (from 1)
    std::string address;   // "ip:port" of the peer
    std::uint8_t transport = 1;

    // Session binding (mu).
    u128 client;  // VSR client id from the Register header
    std::uint64_t session = 0;
    std::optional<std::uint32_t> user_id;

    // Metadata request de-duplication (section 1.6).
    std::uint64_t watermark = 0;
    u128 last_stamp;
    bytes last_reply;

    /// True while the connection is logged in (the network layer's pre-login limits read it).
    std::atomic<bool> authenticated{false};

    /// Milliseconds (steady clock) of the last request; the heartbeat sweep reads it.
    std::atomic<std::int64_t> last_activity_ms{0};
    /// Set by the heartbeat sweep: the network layer sends Eviction(StaleClient) and closes.
    std::atomic<bool> evict_stale{false};
};

/// What the network layer does with a handled frame.
enum class reply_action : std::uint8_t {
    send,  // write `frame` then `tail`
    drop,  // no reply (Iggy's silent drops)
    close  // close the connection without a reply
};

/// A reply: the header and small payload in `frame`; large read-only pieces (poll batches) in
/// `tail`, written after it without a copy. The header's size already counts the tail.
struct reply {
    reply_action action = reply_action::send;
    bytes frame;
    std::vector<bytes_view> tail;
    std::vector<std::shared_ptr<const void>> owners;  // keep `tail` alive
    void clear() {
        action = reply_action::send;
        frame.clear();
        tail.clear();
        owners.clear();
    }
};

/// Counters the benchmark and GET_STATS read.
struct broker_counters {
    std::atomic<std::uint64_t> bytes_received{0};
    std::atomic<std::uint64_t> bytes_sent{0};
    std::atomic<std::uint64_t> messages_appended{0};
};

class broker {
  public:
    /// Opens the data dir: loads metadata, opens every partition log (recovering it), creates the
    /// root user on first start. `bound_host`/`bound_port` feed the cluster-metadata answer.
    [[nodiscard]] static result<std::unique_ptr<broker>> open(const server_options& options);
    ~broker();
    broker(const broker&) = delete;
    broker& operator=(const broker&) = delete;

    const root_credentials& credentials() const { return creds_; }
    void set_endpoint(std::string host, std::uint16_t port);

    /// A new connection from `address`.
    std::shared_ptr<connection_state> connect(std::string address, std::uint8_t transport = 1);
    /// The connection closed: its session ends and it leaves every consumer group.
    void disconnect(connection_state& c);

    /// Handles one request frame: `header` is its 256 bytes (command byte 5), `body` the rest.
    /// The body is mutable: sends are stamped in place and appended from it (no copy). When
    /// `body_owner` owns the body, a send may keep it (the log's recent-batch cache serves polls
    /// from it): the caller must then not reuse the buffer (check its use_count).
    /// `body_owner_bytes` is the memory the owner keeps (the buffer's capacity); the cache
    /// counts it.
    void handle(connection_state& c, bytes_view header, std::span<std::uint8_t> body, reply& out,
                std::shared_ptr<const void> body_owner = nullptr, std::size_t body_owner_bytes = 0);

    /// True when handling this request may wait for a disk sync (the network layer then runs it
    /// off the event loop).
    bool may_block(bytes_view header) const;

    /// Heartbeat sweep: consumer-group members idle for more than `limit` are removed from their
    /// groups (rebalancing) and flagged `evict_stale`; returns their connection ids.
    std::vector<std::uint32_t> sweep_stale(std::chrono::milliseconds limit);
    /// Writes offsets committed by polls (auto-commit) that are not on disk yet; applies
    /// retention (message expiry, max topic size). Called periodically and at shutdown.
    void maintenance(bool final_flush = false);

    const broker_counters& counters() const { return counters_; }
    static std::int64_t now_ms();

    struct model;

  private:
    explicit broker(const server_options& options);
    status load();

    server_options options_;
    // Held for the broker's lifetime; declared before the model so that it is released last.
    dir_lock lock_;
    root_credentials creds_;
    broker_counters counters_;
    std::unique_ptr<model> m_;
};

}  // namespace trib::server
