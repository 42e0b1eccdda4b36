#pragma once
// Tributary's own MQTT 3.1.1/5 client (see README.md, "Why our own client"). What it adds over
// libmosquitto and Paho: the application acknowledges received QoS 1/2 messages when it is
// ready (PUBACK/PUBREC are sent only then, in arrival order), so a message the runtime has not
// handed to Iggy is never acknowledged to the broker and a crash means redelivery, not loss.
//
// One I/O thread per client owns the socket (plain TCP or TLS through OpenSSL, poll()-driven):
// it reads and decodes packets, answers the broker (PINGREQ, PUBREL/PUBCOMP), writes what the
// application queued, and reconnects with capped, jittered exponential backoff. After a
// reconnect it renews subscriptions (when the broker lost the session) and resends unfinished
// outgoing QoS 1/2 messages; messages it received on the old connection and the broker resends
// are recognised (same packet id and content) and not delivered twice. Those protocol decisions
// live in session.h (pure logic); client.cpp is the I/O around it.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/mqtt/codec.h"
#include "connectors/mqtt/session.h"
#include "core/error.h"

namespace trib::mqtt {

/// Where to connect: parsed from mqtt://host:port, mqtts://host:port (also tcp://, ssl://,
/// tls://; [v6addr] for IPv6; default ports 1883 and 8883).
struct endpoint {
    std::string host;
    std::uint16_t port = 1883;
    bool tls = false;
    std::string to_string() const;
};
result<endpoint> parse_url(std::string_view url);

struct tls_options {
    bool enabled = false;     // also implied by an mqtts:// URL
    std::string ca_file;      // PEM CA bundle; empty: the system's default CAs
    std::string cert_file;    // client certificate chain (PEM), for mutual TLS
    std::string key_file;     // its private key (PEM)
    bool verify = true;       // verify the broker's certificate chain and host name
    std::string server_name;  // SNI and the name verified; default: the URL's host
};

struct client_options {
    std::vector<std::string> urls;  // tried in order, at start and on every reconnect
    protocol_version version = protocol_version::v5;
    std::string client_id;  // empty: the broker assigns one (needs clean_start)
    std::optional<std::string> username;
    std::optional<std::string> password;
    /// false: resume the broker's session for client_id (its subscriptions and the messages
    /// queued while this client was away).
    bool clean_start = false;
    /// MQTT 5: how long the broker keeps the session after a disconnect (0: none). With 3.1.1 a
    /// session without clean start lasts until the broker drops it.
    std::uint32_t session_expiry_s = 0;
    std::chrono::seconds keep_alive{30};
    /// MQTT 5: how many QoS 1/2 messages the broker may send before it waits for our
    /// acknowledgements. With 3.1.1 the broker's own limit applies (Mosquitto:
    /// max_inflight_messages, default 20).
    std::uint16_t receive_maximum = 65535;
    tls_options tls;
    std::chrono::milliseconds connect_timeout{10000};
    std::chrono::milliseconds reconnect_min{100};
    std::chrono::milliseconds reconnect_max{10000};
    /// Outgoing QoS 1/2 messages awaiting PUBACK/PUBCOMP at most (the broker's receive maximum
    /// caps it further); publish() waits for room.
    std::size_t max_inflight = 1000;
    /// Received messages not yet taken by receive(); above it the client stops reading the
    /// socket, which pushes back on the broker through TCP.
    std::size_t max_queued = 100'000;
    std::optional<will_message> will;
    /// Log prefix (the connector's key).
    std::string name = "mqtt";
};

struct client_stats {
    std::uint64_t received = 0;      // PUBLISH packets delivered to the application
    std::uint64_t duplicates = 0;    // resent PUBLISH packets recognised and not delivered
    std::uint64_t acknowledged = 0;  // PUBACK/PUBREC sent for received messages
    std::uint64_t published = 0;     // PUBLISH packets completed (QoS 0 written, 1/2 acked)
    std::uint64_t connects = 0;      // successful CONNACKs
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
};

/// Thread-safety: every member function may be called from any thread. receive() is meant for
/// one consumer thread; acknowledge()/reject() from another is fine.
class client {
  public:
    /// Connects to the first URL that accepts within connect_timeout and starts the I/O thread.
    /// The error names the reason: the CONNACK reason ("Bad User Name or Password"), a TLS
    /// verification failure, a refused connection...
    [[nodiscard]] static result<std::unique_ptr<client>> connect(client_options opts);
    /// Disconnects (DISCONNECT, normal) and joins the I/O thread.
    ~client();
    client(const client&) = delete;
    client& operator=(const client&) = delete;

    /// Subscribes and waits for the SUBACK. Subscriptions are remembered and renewed after a
    /// reconnect on which the broker had lost the session. Fails if the broker refuses a filter
    /// (naming the filter and the reason).
    status subscribe(const std::vector<subscription>& subs, std::chrono::milliseconds timeout);

    /// Moves up to `max` received messages into `out` (appending), waiting up to `wait` for
    /// the first. Returns how many were added.
    std::size_t receive(std::vector<message>& out, std::size_t max, std::chrono::milliseconds wait);

    /// The application has taken responsibility for these messages: send PUBACK (QoS 1) or
    /// PUBREC (QoS 2). Acknowledgements leave in arrival order: one waits for every earlier
    /// message's. Unknown or already finished handles are ignored.
    void acknowledge(std::span<const std::uint64_t> handles);
    /// The application could not take these messages: they are not acknowledged, and the
    /// client reconnects so that the broker resends them (received again through receive(),
    /// with the same handles). Needs a persistent session; otherwise they are lost (logged).
    void reject(std::span<const std::uint64_t> handles);

    /// Queues a PUBLISH (packet id assigned here). Waits while max_inflight QoS 1/2 messages
    /// are unacknowledged, up to `deadline`. Returns a ticket for wait_published(). While
    /// disconnected QoS 1/2 messages wait for the next connection; QoS 0 ones are dropped.
    result<std::uint64_t> publish(const publish_packet& p,
                                  std::chrono::steady_clock::time_point deadline);

    /// A publish the broker refused (MQTT 5 PUBACK/PUBREC reason >= 0x80).
    using refusal = publish_refusal;
    /// Waits until every publish up to `ticket` is finished (QoS 0 written to the socket,
    /// QoS 1 PUBACKed, QoS 2 PUBCOMPed), across reconnects, up to `deadline`. Returns the
    /// refusals among them (and forgets them). Error: timeout, or the client stopped.
    result<std::vector<refusal>> wait_published(std::uint64_t ticket,
                                                std::chrono::steady_clock::time_point deadline);

    bool connected() const;
    /// The last connection error (empty message while all is well).
    error last_error() const;
    client_stats stats() const;
    /// The protocol in use and what the broker said in its last CONNACK.
    protocol_version version() const;
    bool session_present() const;
    /// Test hook: closes the socket without DISCONNECT, as a network failure would; the client
    /// then reconnects as usual.
    void drop_connection();

    struct impl;

  private:
    explicit client(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace trib::mqtt
