#pragma once
// The thread-safe Iggy client: one connection, a method per command returning result<T>, a
// heartbeat, and consumer groups re-joined after a reconnect.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/error.h"
#include "iggy/connection.h"
#include "iggy/wire/requests.h"
#include "iggy/wire/responses.h"

namespace trib::iggy {

struct client_options {
    connection_options conn;
    /// PING when idle this long (the SDKs use 5 s); zero disables the heartbeat thread. Keeps
    /// consumer-group sessions from being evicted as stale.
    std::chrono::milliseconds heartbeat_interval{5000};
    /// Retry a read-only (NR) request once after the connection broke under it.
    bool retry_reads_after_reconnect = true;
};

/// Messages from a poll, owning the reply buffer the messages point into. Reusable: pass the same
/// object to `poll_messages` again to keep its buffers.
struct polled_messages {
    bytes buffer;
    poll_reply reply;
    std::uint32_t partition_id() const { return reply.partition_id; }
    std::uint64_t current_offset() const { return reply.current_offset; }
    const std::vector<polled_message>& messages() const { return reply.messages; }
    bool empty() const { return reply.messages.empty(); }
};

/// A connected, logged-in client.
///
/// Thread-safety: every method may be called from any thread; requests are serialised on the one
/// connection (lockstep). For parallel sends open several clients (the producer does).
/// Lifecycle: `connect` logs in; the destructor stops the heartbeat and closes without logout.
class client {
  public:
    [[nodiscard]] static result<std::unique_ptr<client>> connect(client_options options);
    [[nodiscard]] static result<std::unique_ptr<client>> connect(std::string_view address);
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    // system
    [[nodiscard]] status ping();
    [[nodiscard]] result<stats> get_stats();
    [[nodiscard]] result<client_details> get_me();
    [[nodiscard]] result<std::vector<client_info>> get_clients();
    [[nodiscard]] result<cluster_metadata> get_cluster_metadata();
    [[nodiscard]] status logout();

    // streams
    [[nodiscard]] result<stream_info> create_stream(const std::string& name);
    [[nodiscard]] result<std::optional<stream_details>> get_stream(const identifier& stream);
    [[nodiscard]] result<std::vector<stream_info>> get_streams();
    [[nodiscard]] status update_stream(const identifier& stream, const std::string& name);
    [[nodiscard]] status delete_stream(const identifier& stream);
    [[nodiscard]] status purge_stream(const identifier& stream);

    // topics and partitions
    [[nodiscard]] result<topic_details> create_topic(const identifier& stream,
                                                     const std::string& name,
                                                     std::uint32_t partitions = 1,
                                                     iggy::options opts = {});
    [[nodiscard]] result<std::optional<topic_details>> get_topic(const identifier& stream,
                                                                 const identifier& topic);
    [[nodiscard]] result<std::vector<topic_info>> get_topics(const identifier& stream);
    [[nodiscard]] status update_topic(const identifier& stream, const identifier& topic,
                                      const std::string& name, iggy::options opts = {});
    [[nodiscard]] status delete_topic(const identifier& stream, const identifier& topic);
    [[nodiscard]] status purge_topic(const identifier& stream, const identifier& topic);
    [[nodiscard]] status create_partitions(const identifier& stream, const identifier& topic,
                                           std::uint32_t count);
    [[nodiscard]] status delete_partitions(const identifier& stream, const identifier& topic,
                                           std::uint32_t count);

    // messages
    /// Sends a finished batch (batch_builder). Returns the confirmation (base offset) if the
    /// server reported one.
    [[nodiscard]] result<send_messages_reply> send_messages(const identifier& stream,
                                                            const identifier& topic,
                                                            const partitioning& part,
                                                            bytes_view batch);
    /// Polls into `out`, reusing its buffers; messages view `out.buffer`.
    [[nodiscard]] status poll_messages(const poll_messages_request& req, polled_messages& out);
    [[nodiscard]] status flush_unsaved_buffer(const identifier& stream, const identifier& topic,
                                              std::uint32_t partition, bool fsync);

    // consumer offsets
    [[nodiscard]] status store_consumer_offset(const consumer& who, const identifier& stream,
                                               const identifier& topic, std::uint32_t partition,
                                               std::uint64_t offset);
    [[nodiscard]] result<std::optional<consumer_offset_info>> get_consumer_offset(
        const consumer& who, const identifier& stream, const identifier& topic,
        std::optional<std::uint32_t> partition);
    [[nodiscard]] status delete_consumer_offset(const consumer& who, const identifier& stream,
                                                const identifier& topic, std::uint32_t partition);

    // consumer groups
    [[nodiscard]] result<consumer_group_details> create_consumer_group(const identifier& stream,
                                                                       const identifier& topic,
                                                                       const std::string& name);
    [[nodiscard]] result<std::optional<consumer_group_details>> get_consumer_group(
        const identifier& stream, const identifier& topic, const identifier& group);
    [[nodiscard]] result<std::vector<consumer_group_info>> get_consumer_groups(
        const identifier& stream, const identifier& topic);
    [[nodiscard]] status delete_consumer_group(const identifier& stream, const identifier& topic,
                                               const identifier& group);
    /// Joins and remembers the group so that a reconnect joins it again.
    [[nodiscard]] status join_consumer_group(const identifier& stream, const identifier& topic,
                                             const identifier& group);
    [[nodiscard]] status leave_consumer_group(const identifier& stream, const identifier& topic,
                                              const identifier& group);
    /// This member's partitions; nullopt when the server says this client is not a member.
    [[nodiscard]] result<std::optional<sync_consumer_group_reply>> sync_consumer_group(
        const identifier& stream, const identifier& topic, const identifier& group);

    // users and tokens
    [[nodiscard]] result<user_details> create_user(const create_user_request& req);
    [[nodiscard]] result<std::optional<user_details>> get_user(const identifier& user);
    [[nodiscard]] result<std::vector<user_info>> get_users();
    [[nodiscard]] status update_user(const update_user_request& req);
    [[nodiscard]] status update_permissions(const update_permissions_request& req);
    [[nodiscard]] status change_password(const identifier& user, const std::string& current,
                                         const std::string& next);
    [[nodiscard]] status delete_user(const identifier& user);
    [[nodiscard]] result<std::string> create_personal_access_token(const std::string& name,
                                                                   std::uint64_t expiry_us = 0);
    [[nodiscard]] result<std::vector<personal_access_token_info>> get_personal_access_tokens();
    [[nodiscard]] status delete_personal_access_token(const std::string& name);

    /// Any request, typed reply (for commands without a method).
    template <class Req, class Reply>
    [[nodiscard]] result<Reply> request(const Req& req) {
        std::lock_guard lk(mu_);
        TRIB_ASSIGN_OR_RETURN(auto p, call_locked(req));
        return Reply::decode(p);
    }

    std::uint64_t reconnects() const;
    std::uint64_t session() const;
    const client_options& options() const { return opts_; }

  private:
    explicit client(client_options options);
    template <class R>
    result<bytes_view> call_locked(const R& req);
    template <class R>
    status call_empty(const R& req);
    void heartbeat_loop();
    status rejoin(connection& c);

    struct joined_group {
        identifier stream, topic, group;
    };

    client_options opts_;
    mutable std::mutex mu_;
    connection conn_;
    std::vector<joined_group> groups_;  // guarded by mu_
    std::thread heartbeat_;
    std::mutex hb_mu_;
    std::condition_variable hb_cv_;
    bool stopping_ = false;
};

}  // namespace trib::iggy
