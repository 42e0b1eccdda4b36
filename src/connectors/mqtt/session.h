#pragma once
// The MQTT session state of one client, as pure logic: packet ids, the outgoing in-flight window,
// the QoS 2 handshakes, acknowledgement of received messages in arrival order, and recognition of
// messages the broker resends after a reconnect. No socket, no thread, no lock, no clock, no
// logging: the client (client.cpp) owns those, feeds this class the bytes it reads and writes
// out what this class queues. That keeps every protocol decision testable without a broker
// (tests/connectors/mqtt/session_test.cpp).

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "connectors/mqtt/codec.h"
#include "core/error.h"

namespace trib::mqtt {

/// A message received from the broker.
struct message {
    std::string topic;
    std::string payload;
    properties props;
    std::uint8_t qos = 0;
    bool retain = false;
    bool dup = false;
    /// The broker's packet identifier (QoS 1/2; 0 for QoS 0). Reused once acknowledged.
    std::uint16_t packet_id = 0;
    /// Pass to acknowledge()/reject(); 0 for QoS 0 (nothing to acknowledge).
    std::uint64_t handle = 0;
};

/// One subscription. With MQTT 5 each gets its own subscription identifier (its index + 1 in
/// the order subscribe() was called), which the broker puts on matching messages.
struct subscription {
    std::string filter;  // may be a shared subscription: $share/group/filter
    subscribe_options options;
};

/// A publish the broker refused (MQTT 5 PUBACK/PUBREC reason >= 0x80).
struct publish_refusal {
    std::uint64_t ticket = 0;
    error err;
};

struct session_options {
    protocol_version version = protocol_version::v5;
    std::string client_id;  // named in the error when the broker takes the session over
    /// Outgoing QoS 1/2 messages awaiting PUBACK/PUBCOMP at most (the broker's receive maximum
    /// caps it further).
    std::size_t max_inflight = 1000;
};

/// Something the client should log (the session itself does not).
struct session_notice {
    bool is_error = false;  // error, else warning
    std::string text;
};

/// What one call of session::on_bytes found.
struct feed_result {
    status st;                  // a protocol error or the broker's DISCONNECT: drop the connection
    std::size_t consumed = 0;   // bytes of complete packets handled (the caller drops them)
    std::size_t delivered = 0;  // messages added to the inbound queue
    bool pingresp = false;      // a PINGRESP arrived
    bool wake_waiters = false;  // publishes finished or a SUBACK arrived
};

/// Not thread-safe: the client calls it under its own lock. `on_output` is called whenever the
/// queue of bytes to send goes from empty to non-empty (the client wakes its I/O thread).
class session {
  public:
    explicit session(session_options o, std::function<void()> on_output = {});

    // ---- connection lifecycle ----

    /// The broker accepted the connection: adopt its limits and reconcile the session (resend
    /// unfinished publishes and SUBSCRIBEs, renew subscriptions after a session loss, expect the
    /// broker to resend unacknowledged received messages when it kept the session).
    void on_connected(const connack_packet& ca);
    /// The connection is gone: unsent bytes (QoS 0 publishes among them) are dropped.
    void on_lost();
    bool connected() const { return connected_; }
    bool session_present() const { return session_present_; }

    // ---- bytes in and out ----

    /// Decodes and handles every complete packet at the start of `in`.
    feed_result on_bytes(std::string_view in);
    /// Bytes queued for the broker (the caller takes them with take_output()).
    bool has_output() const { return !pending_.empty(); }
    /// Moves the queued bytes into `out` (which must be empty or fully written).
    void take_output(std::string& out);
    /// Appends the queued bytes to `out` and counts them as written (a deliberate close
    /// writes them best effort).
    void drain_output(std::string& out);
    /// `n` more queued bytes reached the socket; QoS 0 publishes among them are finished.
    /// Returns true when any finished.
    bool on_written(std::size_t n);
    void queue_pingreq();
    void queue_disconnect();

    // ---- received messages ----

    std::size_t inbound_size() const { return inbound_.size(); }
    /// Moves up to `max` received messages into `out`; returns how many.
    std::size_t take_inbound(std::vector<message>& out, std::size_t max);
    /// See client::acknowledge.
    void acknowledge(std::span<const std::uint64_t> handles);
    /// See client::reject. True when a message changed to rejected (the client reconnects so
    /// that the broker resends it).
    bool reject(std::span<const std::uint64_t> handles);

    // ---- publishing ----

    /// The broker's limits allow this message (QoS, maximum packet size).
    status check_publish(const publish_packet& p) const;
    /// Room in the outgoing window for one more QoS 1/2 message.
    bool has_room() const;
    /// Queues a PUBLISH (packet id assigned here; QoS 0 is dropped while disconnected) and
    /// returns its ticket. QoS 1/2 needs has_room().
    std::uint64_t publish(const publish_packet& p);
    /// Every publish up to `ticket` finished (acked, or QoS 0 written or dropped).
    bool published_through(std::uint64_t ticket) const;
    /// Removes and returns the refusals of publishes up to `ticket`.
    std::vector<publish_refusal> take_refusals(std::uint64_t ticket);

    // ---- subscribing ----

    /// With MQTT 5 each subscription gets its own SUBSCRIBE and identifier.
    bool per_subscription_ids() const;
    /// Queues a SUBSCRIBE (sent now or on the next connection); returns its packet id.
    std::uint16_t queue_subscribe(const std::vector<subscription>& list, std::size_t sub_id);
    /// The SUBACK for `pid` arrived (or nobody waits for it).
    bool subscribe_done(std::uint16_t pid) const;
    /// Forgets the SUBSCRIBE `pid`; when `answered`, returns the refused filters as
    /// "'filter': reason" joined with "; " (empty when all were granted).
    std::string finish_subscribe(std::uint16_t pid, bool answered);
    /// Remembers granted subscriptions, renewed after a session loss.
    void add_subscriptions(const std::vector<subscription>& list);
    std::size_t subscription_count() const { return subs_.size(); }

    // ---- observation ----

    std::vector<session_notice> take_notices();
    std::uint64_t duplicates() const { return duplicates_; }
    std::uint64_t acknowledged() const { return acknowledged_; }
    std::uint64_t published() const { return published_; }
    std::uint8_t server_max_qos() const { return server_max_qos_; }
    std::uint32_t server_max_packet() const { return server_max_packet_; }

  private:
    // A received QoS 1/2 message whose acknowledgement is owed to the broker.
    struct track {
        enum state_t : std::uint8_t { pending, acked, nacked, dropped };
        std::uint16_t packet_id = 0;
        std::uint8_t qos = 1;
        state_t state = pending;
        // Received on an earlier connection: the broker will resend it; not acknowledgeable
        // until then.
        bool awaiting_redelivery = false;
        std::uint64_t fingerprint = 0;  // of topic and payload, to recognise the resend
    };
    // An outgoing QoS 1/2 message not finished yet.
    struct out_msg {
        enum state_t : std::uint8_t { await_ack, await_pubcomp };
        std::uint16_t packet_id = 0;
        std::uint8_t qos = 1;
        state_t state = await_ack;
        bool sent = false;
        std::string bytes;  // the encoded PUBLISH, to resend after a reconnect
    };
    // A SUBSCRIBE awaiting its SUBACK.
    struct sub_wait {
        std::string bytes;
        std::vector<std::string> filters;
        bool renewal = false;  // sent by the client itself after a session loss: nobody waits
        bool done = false;
        std::vector<std::uint8_t> reasons;
    };

    void enqueue(std::string_view bytes);
    void queue_ack(packet_type t, std::uint16_t pid, std::uint8_t reason = 0);
    void flush_acks();
    void end_redelivery();
    std::uint16_t alloc_pid();
    std::uint16_t queue_subscribe(const std::vector<subscription>& list, std::size_t sub_id,
                                  bool renewal);
    void finish_publish(std::uint64_t ticket, std::uint8_t reason, const char* what);
    void on_publish(const publish_packet& p, feed_result& r);
    void on_ack(const ack_packet& a);

    session_options opts_;
    std::function<void()> on_output_;
    bool connected_ = false;
    bool session_present_ = false;
    std::uint16_t server_receive_max_ = 65535;
    std::uint32_t server_max_packet_ = max_remaining_length + 5;
    std::uint8_t server_max_qos_ = 2;
    bool server_sub_ids_ = true;

    std::string pending_;  // bytes to send
    std::uint64_t enqueued_bytes_ = 0;
    std::uint64_t written_bytes_ = 0;

    std::deque<message> inbound_;
    std::deque<track> tracks_;
    std::uint64_t tracks_base_ = 1;                              // handle of tracks_.front()
    std::unordered_map<std::uint16_t, std::uint64_t> awaiting_;  // packet id -> handle
    std::unordered_set<std::uint16_t> pubrec_sent_;              // QoS 2 received, PUBREL not yet
    // Per packet id, the fingerprint of the last QoS 1 message we acknowledged with it. An ack
    // may be lost with the connection; the broker then resends the message (DUP) after the
    // reconnect, and this recognises it as one the application already has.
    std::vector<std::uint64_t> acked_fp_ = std::vector<std::uint64_t>(65536, 0);
    bool redelivery_phase_ = false;

    std::map<std::uint64_t, out_msg> inflight_;                         // ticket -> message
    std::unordered_map<std::uint16_t, std::uint64_t> by_pid_;           // packet id -> ticket
    std::deque<std::pair<std::uint64_t, std::uint64_t>> qos0_pending_;  // ticket, end byte
    std::vector<publish_refusal> refusals_;
    bool completions_pending_ = false;  // publishes finished since waiters were last woken
    std::uint64_t next_ticket_ = 1;
    std::uint16_t next_pid_ = 0;

    std::vector<subscription> subs_;  // everything subscribed, in order
    std::map<std::uint16_t, sub_wait> sub_waits_;

    std::vector<session_notice> notices_;
    std::uint64_t duplicates_ = 0;
    std::uint64_t acknowledged_ = 0;
    std::uint64_t published_ = 0;
};

}  // namespace trib::mqtt
