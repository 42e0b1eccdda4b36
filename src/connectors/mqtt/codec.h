#pragma once
// The MQTT 3.1.1 and 5.0 packet codec: encodes packets into a byte string and decodes them from
// one. Pure functions, no I/O, so they can be unit-tested against the specifications' bytes and
// fuzzed. Written by us (see README.md, "Why our own client").
//
// Layout reminders (both versions): a fixed header byte (type << 4 | flags), the remaining length
// as a variable byte integer (1..4 bytes), then the variable header and payload. Integers are
// big-endian; strings and binary data have a 2-byte length prefix. MQTT 5 adds properties
// (a variable-byte length, then identifier/value pairs) to most packets and reason codes to acks.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/error.h"

namespace trib::mqtt {

enum class protocol_version : std::uint8_t { v311 = 4, v5 = 5 };

enum class packet_type : std::uint8_t {
    connect = 1,
    connack = 2,
    publish = 3,
    puback = 4,
    pubrec = 5,
    pubrel = 6,
    pubcomp = 7,
    subscribe = 8,
    suback = 9,
    unsubscribe = 10,
    unsuback = 11,
    pingreq = 12,
    pingresp = 13,
    disconnect = 14,
    auth = 15,
};

std::string_view to_string(packet_type t);

/// The largest remaining length a packet can have (4-byte variable byte integer).
inline constexpr std::uint32_t max_remaining_length = 268'435'455;

/// MQTT 5 properties. One struct for every packet; the decoder accepts only the properties the
/// specification allows in the packet at hand and rejects duplicates of single-valued ones.
struct properties {
    std::optional<std::uint8_t> payload_format_indicator;              // 0x01
    std::optional<std::uint32_t> message_expiry_interval;              // 0x02
    std::optional<std::string> content_type;                           // 0x03
    std::optional<std::string> response_topic;                         // 0x08
    std::optional<std::string> correlation_data;                       // 0x09 (binary)
    std::vector<std::uint32_t> subscription_identifiers;               // 0x0B
    std::optional<std::uint32_t> session_expiry_interval;              // 0x11
    std::optional<std::string> assigned_client_identifier;             // 0x12
    std::optional<std::uint16_t> server_keep_alive;                    // 0x13
    std::optional<std::string> authentication_method;                  // 0x15
    std::optional<std::string> authentication_data;                    // 0x16 (binary)
    std::optional<std::uint8_t> request_problem_information;           // 0x17
    std::optional<std::uint32_t> will_delay_interval;                  // 0x18
    std::optional<std::uint8_t> request_response_information;          // 0x19
    std::optional<std::string> response_information;                   // 0x1A
    std::optional<std::string> server_reference;                       // 0x1C
    std::optional<std::string> reason_string;                          // 0x1F
    std::optional<std::uint16_t> receive_maximum;                      // 0x21
    std::optional<std::uint16_t> topic_alias_maximum;                  // 0x22
    std::optional<std::uint16_t> topic_alias;                          // 0x23
    std::optional<std::uint8_t> maximum_qos;                           // 0x24
    std::optional<std::uint8_t> retain_available;                      // 0x25
    std::vector<std::pair<std::string, std::string>> user_properties;  // 0x26
    std::optional<std::uint32_t> maximum_packet_size;                  // 0x27
    std::optional<std::uint8_t> wildcard_subscription_available;       // 0x28
    std::optional<std::uint8_t> subscription_identifier_available;     // 0x29
    std::optional<std::uint8_t> shared_subscription_available;         // 0x2A

    bool empty() const;
    friend bool operator==(const properties&, const properties&) = default;
};

struct will_message {
    std::string topic;
    std::string payload;
    std::uint8_t qos = 0;
    bool retain = false;
    properties props;  // MQTT 5 will properties
    friend bool operator==(const will_message&, const will_message&) = default;
};

struct connect_packet {
    protocol_version version = protocol_version::v5;
    bool clean_start = true;
    std::uint16_t keep_alive = 60;  // seconds; 0 disables
    std::string client_id;
    std::optional<std::string> username;
    std::optional<std::string> password;  // binary in MQTT 5
    std::optional<will_message> will;
    properties props;
    friend bool operator==(const connect_packet&, const connect_packet&) = default;
};

struct connack_packet {
    bool session_present = false;
    std::uint8_t reason = 0;  // MQTT 3.1.1 return code or MQTT 5 reason code
    properties props;
    friend bool operator==(const connack_packet&, const connack_packet&) = default;
};

/// A PUBLISH. When decoded, `topic` and `payload` view the decoded buffer.
struct publish_packet {
    std::string_view topic;
    std::string_view payload;
    std::uint16_t packet_id = 0;  // only with qos > 0
    std::uint8_t qos = 0;
    bool retain = false;
    bool dup = false;
    properties props;
    friend bool operator==(const publish_packet&, const publish_packet&) = default;
};

/// PUBACK, PUBREC, PUBREL or PUBCOMP.
struct ack_packet {
    packet_type type = packet_type::puback;
    std::uint16_t packet_id = 0;
    std::uint8_t reason = 0;
    properties props;
    friend bool operator==(const ack_packet&, const ack_packet&) = default;
};

/// Subscription options (MQTT 5 3.8.3.1; only `qos` exists in 3.1.1).
struct subscribe_options {
    std::uint8_t qos = 1;
    bool no_local = false;
    bool retain_as_published = false;
    std::uint8_t retain_handling = 0;  // 0 send retained, 1 only if new, 2 never
    friend bool operator==(const subscribe_options&, const subscribe_options&) = default;
};

struct subscribe_packet {
    std::uint16_t packet_id = 0;
    std::vector<std::pair<std::string, subscribe_options>> filters;
    properties props;  // subscription identifier, user properties
    friend bool operator==(const subscribe_packet&, const subscribe_packet&) = default;
};

/// SUBACK or UNSUBACK (3.1.1 UNSUBACK has no reason codes).
struct suback_packet {
    packet_type type = packet_type::suback;
    std::uint16_t packet_id = 0;
    std::vector<std::uint8_t> reasons;
    properties props;
    friend bool operator==(const suback_packet&, const suback_packet&) = default;
};

struct unsubscribe_packet {
    std::uint16_t packet_id = 0;
    std::vector<std::string> filters;
    properties props;
    friend bool operator==(const unsubscribe_packet&, const unsubscribe_packet&) = default;
};

/// PINGREQ or PINGRESP.
struct ping_packet {
    packet_type type = packet_type::pingreq;
    friend bool operator==(const ping_packet&, const ping_packet&) = default;
};

/// DISCONNECT or (MQTT 5) AUTH.
struct disconnect_packet {
    packet_type type = packet_type::disconnect;
    std::uint8_t reason = 0;
    properties props;
    friend bool operator==(const disconnect_packet&, const disconnect_packet&) = default;
};

using packet =
    std::variant<connect_packet, connack_packet, publish_packet, ack_packet, subscribe_packet,
                 suback_packet, unsubscribe_packet, ping_packet, disconnect_packet>;

// ---- encoding: each appends one complete packet to `out` ----

/// Appends a variable byte integer (v <= max_remaining_length).
void put_varint(std::string& out, std::uint32_t v);

void encode(std::string& out, const connect_packet& p);
void encode(std::string& out, const connack_packet& p, protocol_version v);
void encode(std::string& out, const publish_packet& p, protocol_version v);
/// MQTT 5: the reason code and properties are left out when the reason is 0 and there are no
/// properties (the short form the specification allows).
void encode(std::string& out, const ack_packet& p, protocol_version v);
void encode(std::string& out, const subscribe_packet& p, protocol_version v);
void encode(std::string& out, const suback_packet& p, protocol_version v);
void encode(std::string& out, const unsubscribe_packet& p, protocol_version v);
void encode(std::string& out, const ping_packet& p);
void encode(std::string& out, const disconnect_packet& p, protocol_version v);
void encode(std::string& out, const packet& p, protocol_version v);

/// The encoded size of a PUBLISH, to check it against the broker's maximum packet size before
/// sending.
std::size_t encoded_size(const publish_packet& p, protocol_version v);

// ---- decoding ----

/// One packet's bytes found at the front of a buffer.
struct frame {
    std::uint8_t header = 0;  // the fixed header's first byte
    std::string_view body;    // the remaining length bytes after the fixed header
    std::size_t size = 0;     // fixed header + body
    packet_type type() const { return static_cast<packet_type>(header >> 4); }
};

/// Looks for a complete packet at the front of `buf`. Returns std::nullopt when more bytes are
/// needed; an error (protocol_error) when the length is malformed or exceeds `max_size`.
result<std::optional<frame>> next_frame(std::string_view buf,
                                        std::uint32_t max_size = max_remaining_length + 5);

/// Decodes one packet. Views in the result (PUBLISH topic and payload) point into `f.body`.
/// Errors are protocol_error with the reason (malformed packet, bad flags, unknown property...).
result<packet> decode(const frame& f, protocol_version v);
result<publish_packet> decode_publish(const frame& f, protocol_version v);

/// True if `s` is well-formed UTF-8 without U+0000 and without surrogates or U+FFFF-style
/// non-characters the specification forbids (MQTT 1.5.4).
bool valid_utf8(std::string_view s);
/// A valid topic name to publish to: 1..65535 bytes, valid UTF-8, no wildcards.
bool valid_topic_name(std::string_view topic);
/// A valid topic filter: '#' only last and alone in its level, '+' alone in its level.
bool valid_topic_filter(std::string_view filter);
/// Whether `topic` matches `filter` (MQTT 4.7; a filter starting with a wildcard does not match
/// topics starting with '$'). A shared subscription filter ($share/group/f) matches as f.
bool topic_matches(std::string_view filter, std::string_view topic);
/// The filter of a shared subscription ($share/group/filter -> filter), otherwise `filter`.
std::string_view strip_share(std::string_view filter);

/// The name of a CONNACK return/reason code ("Bad User Name or Password").
std::string_view connack_reason_name(std::uint8_t code, protocol_version v);
/// The name of an MQTT 5 reason code in other packets ("Quota exceeded").
std::string_view reason_name(std::uint8_t code);

}  // namespace trib::mqtt
