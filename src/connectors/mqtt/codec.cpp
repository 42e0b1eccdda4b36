// Over 1,000 lines: one encoder/decoder per MQTT 3.1.1/5 packet type plus the property table, all
// pure functions over one bounds-checked reader; each packet is short and they are read side by
// side against the specification, so they stay in one file.

#include "connectors/mqtt/codec.h"
#include "core/byte_reader.h"

#include <array>
#include <cstring>

namespace trib::mqtt {

namespace {

// ---- writing ----

void put_u8(std::string& out, std::uint8_t v) {
    out.push_back(static_cast<char>(v));
}
void put_u16(std::string& out, std::uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xff));
}
void put_u32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((v >> shift) & 0xff));
}
// Strings and binary data: a 2-byte length, then the bytes. Longer input is a caller bug; it is
// cut at 65535 bytes rather than producing a packet the peer would misparse.
void put_str(std::string& out, std::string_view s) {
    if (s.size() > 0xffff)
        s = s.substr(0, 0xffff);
    put_u16(out, static_cast<std::uint16_t>(s.size()));
    out.append(s);
}

std::size_t varint_size(std::uint32_t v) {
    return v < 128 ? 1 : v < 16'384 ? 2 : v < 2'097'152 ? 3 : 4;
}

enum prop_id : std::uint8_t {
    p_payload_format = 0x01,
    p_message_expiry = 0x02,
    p_content_type = 0x03,
    p_response_topic = 0x08,
    p_correlation_data = 0x09,
    p_subscription_id = 0x0B,
    p_session_expiry = 0x11,
    p_assigned_client_id = 0x12,
    p_server_keep_alive = 0x13,
    p_auth_method = 0x15,
    p_auth_data = 0x16,
    p_request_problem_info = 0x17,
    p_will_delay = 0x18,
    p_request_response_info = 0x19,
    p_response_info = 0x1A,
    p_server_reference = 0x1C,
    p_reason_string = 0x1F,
    p_receive_maximum = 0x21,
    p_topic_alias_maximum = 0x22,
    p_topic_alias = 0x23,
    p_maximum_qos = 0x24,
    p_retain_available = 0x25,
    p_user_property = 0x26,
    p_maximum_packet_size = 0x27,
    p_wildcard_available = 0x28,
    p_sub_id_available = 0x29,
    p_shared_available = 0x2A,
};

// Encodes the property list (without its length prefix) in identifier order.
void put_props_body(std::string& out, const properties& p) {
    auto b = [&](prop_id id, const std::optional<std::uint8_t>& v) {
        if (v) {
            put_u8(out, id);
            put_u8(out, *v);
        }
    };
    auto h = [&](prop_id id, const std::optional<std::uint16_t>& v) {
        if (v) {
            put_u8(out, id);
            put_u16(out, *v);
        }
    };
    auto w = [&](prop_id id, const std::optional<std::uint32_t>& v) {
        if (v) {
            put_u8(out, id);
            put_u32(out, *v);
        }
    };
    auto s = [&](prop_id id, const std::optional<std::string>& v) {
        if (v) {
            put_u8(out, id);
            put_str(out, *v);
        }
    };
    b(p_payload_format, p.payload_format_indicator);
    w(p_message_expiry, p.message_expiry_interval);
    s(p_content_type, p.content_type);
    s(p_response_topic, p.response_topic);
    s(p_correlation_data, p.correlation_data);
    for (auto id : p.subscription_identifiers) {
        put_u8(out, p_subscription_id);
        put_varint(out, id);
    }
    w(p_session_expiry, p.session_expiry_interval);
    s(p_assigned_client_id, p.assigned_client_identifier);
    h(p_server_keep_alive, p.server_keep_alive);
    s(p_auth_method, p.authentication_method);
    s(p_auth_data, p.authentication_data);
    b(p_request_problem_info, p.request_problem_information);
    w(p_will_delay, p.will_delay_interval);
    b(p_request_response_info, p.request_response_information);
    s(p_response_info, p.response_information);
    s(p_server_reference, p.server_reference);
    s(p_reason_string, p.reason_string);
    h(p_receive_maximum, p.receive_maximum);
    h(p_topic_alias_maximum, p.topic_alias_maximum);
    h(p_topic_alias, p.topic_alias);
    b(p_maximum_qos, p.maximum_qos);
    b(p_retain_available, p.retain_available);
    for (const auto& [k, v] : p.user_properties) {
        put_u8(out, p_user_property);
        put_str(out, k);
        put_str(out, v);
    }
    w(p_maximum_packet_size, p.maximum_packet_size);
    b(p_wildcard_available, p.wildcard_subscription_available);
    b(p_sub_id_available, p.subscription_identifier_available);
    b(p_shared_available, p.shared_subscription_available);
}

void put_props(std::string& out, const properties& p) {
    if (p.empty()) {
        out.push_back('\0');
        return;
    }
    std::string body;
    put_props_body(body, p);
    put_varint(out, static_cast<std::uint32_t>(body.size()));
    out += body;
}

// Appends the fixed header and `body`.
void finish(std::string& out, std::uint8_t header, const std::string& body) {
    put_u8(out, header);
    put_varint(out, static_cast<std::uint32_t>(body.size()));
    out += body;
}

// ---- reading ----

// Where a property may appear (bit = packet type; bit 0 = will properties).
constexpr std::uint32_t bit(packet_type t) {
    return 1u << static_cast<unsigned>(t);
}
constexpr std::uint32_t will_bit = 1u;
constexpr std::uint32_t acks = bit(packet_type::puback) | bit(packet_type::pubrec) |
                               bit(packet_type::pubrel) | bit(packet_type::pubcomp);

// The packet reader: core/byte_reader does the bounds checks; this adds MQTT's encodings
// (variable byte integers, length-prefixed binary and UTF-8) and names the field in the error.
class reader {
  public:
    explicit reader(std::string_view s) : r_(s), size_(s.size()) {}

    bool ok() const { return err_.empty(); }
    const std::string& err() const { return err_; }
    std::size_t left() const { return size_ - r_.position(); }
    bool done() const { return r_.position() == size_; }
    void fail(std::string msg) {
        if (err_.empty())
            err_ = std::move(msg);
    }
    bool need(std::size_t n, const char* what) {
        if (!ok())
            return false;
        if (left() < n) {
            fail(std::string("truncated ") + what);
            return false;
        }
        return true;
    }
    std::uint8_t u8(const char* what) { return need(1, what) ? r_.u8() : 0; }
    std::uint16_t u16(const char* what) { return need(2, what) ? r_.be16() : 0; }
    std::uint32_t u32(const char* what) { return need(4, what) ? r_.be32() : 0; }
    std::uint32_t varint(const char* what) {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) {
            std::uint8_t b = u8(what);
            if (!ok())
                return 0;
            v |= static_cast<std::uint32_t>(b & 0x7f) << (7 * i);
            if ((b & 0x80) == 0)
                return v;
        }
        fail(std::string("malformed variable byte integer in ") + what);
        return 0;
    }
    std::string_view bin(const char* what) {
        std::uint16_t n = u16(what);
        return need(n, what) ? r_.take(n) : std::string_view();
    }
    std::string_view str(const char* what) {
        auto v = bin(what);
        if (ok() && !valid_utf8(v))
            fail(std::string("malformed UTF-8 in ") + what);
        return v;
    }
    std::string_view rest() { return r_.rest(); }
    /// The next `n` bytes; the caller checked them with need().
    std::string_view take(std::size_t n) { return r_.take(n); }

  private:
    byte_reader r_;
    std::size_t size_;
    std::string err_;
};

template <class T>
void set_once(reader& r, std::optional<T>& slot, T v, const char* name) {
    if (slot) {
        r.fail(std::string("duplicate property ") + name);
        return;
    }
    slot = std::move(v);
}

// Reads a property list (length prefix included) allowed in packet `where`.
void get_props(reader& r, properties& p, std::uint32_t where) {
    std::uint32_t len = r.varint("property length");
    if (!r.need(len, "properties"))
        return;
    reader pr(r.take(len));
    while (pr.ok() && !pr.done()) {
        std::uint32_t id = pr.varint("property identifier");
        if (!pr.ok())
            break;
        std::uint32_t allowed = 0;
        switch (id) {
            case p_payload_format:
                allowed = bit(packet_type::publish) | will_bit;
                set_once(pr, p.payload_format_indicator, pr.u8("property"), "payload format");
                break;
            case p_message_expiry:
                allowed = bit(packet_type::publish) | will_bit;
                set_once(pr, p.message_expiry_interval, pr.u32("property"), "message expiry");
                break;
            case p_content_type:
                allowed = bit(packet_type::publish) | will_bit;
                set_once(pr, p.content_type, std::string(pr.str("content type")), "content type");
                break;
            case p_response_topic:
                allowed = bit(packet_type::publish) | will_bit;
                set_once(pr, p.response_topic, std::string(pr.str("response topic")),
                         "response topic");
                break;
            case p_correlation_data:
                allowed = bit(packet_type::publish) | will_bit;
                set_once(pr, p.correlation_data, std::string(pr.bin("correlation data")),
                         "correlation data");
                break;
            case p_subscription_id: {
                allowed = bit(packet_type::publish) | bit(packet_type::subscribe);
                std::uint32_t v = pr.varint("subscription identifier");
                if (pr.ok() && v == 0)
                    pr.fail("subscription identifier 0");
                if ((where & bit(packet_type::subscribe)) && !p.subscription_identifiers.empty())
                    pr.fail("duplicate property subscription identifier");
                p.subscription_identifiers.push_back(v);
                break;
            }
            case p_session_expiry:
                allowed = bit(packet_type::connect) | bit(packet_type::connack) |
                          bit(packet_type::disconnect);
                set_once(pr, p.session_expiry_interval, pr.u32("property"), "session expiry");
                break;
            case p_assigned_client_id:
                allowed = bit(packet_type::connack);
                set_once(pr, p.assigned_client_identifier,
                         std::string(pr.str("assigned client id")), "assigned client id");
                break;
            case p_server_keep_alive:
                allowed = bit(packet_type::connack);
                set_once(pr, p.server_keep_alive, pr.u16("property"), "server keep alive");
                break;
            case p_auth_method:
                allowed =
                    bit(packet_type::connect) | bit(packet_type::connack) | bit(packet_type::auth);
                set_once(pr, p.authentication_method, std::string(pr.str("auth method")),
                         "authentication method");
                break;
            case p_auth_data:
                allowed =
                    bit(packet_type::connect) | bit(packet_type::connack) | bit(packet_type::auth);
                set_once(pr, p.authentication_data, std::string(pr.bin("auth data")),
                         "authentication data");
                break;
            case p_request_problem_info:
                allowed = bit(packet_type::connect);
                set_once(pr, p.request_problem_information, pr.u8("property"),
                         "request problem information");
                break;
            case p_will_delay:
                allowed = will_bit;
                set_once(pr, p.will_delay_interval, pr.u32("property"), "will delay");
                break;
            case p_request_response_info:
                allowed = bit(packet_type::connect);
                set_once(pr, p.request_response_information, pr.u8("property"),
                         "request response information");
                break;
            case p_response_info:
                allowed = bit(packet_type::connack);
                set_once(pr, p.response_information, std::string(pr.str("response info")),
                         "response information");
                break;
            case p_server_reference:
                allowed = bit(packet_type::connack) | bit(packet_type::disconnect);
                set_once(pr, p.server_reference, std::string(pr.str("server reference")),
                         "server reference");
                break;
            case p_reason_string:
                allowed = bit(packet_type::connack) | acks | bit(packet_type::suback) |
                          bit(packet_type::unsuback) | bit(packet_type::disconnect) |
                          bit(packet_type::auth);
                set_once(pr, p.reason_string, std::string(pr.str("reason string")),
                         "reason string");
                break;
            case p_receive_maximum: {
                allowed = bit(packet_type::connect) | bit(packet_type::connack);
                std::uint16_t v = pr.u16("property");
                if (pr.ok() && v == 0)
                    pr.fail("receive maximum 0");
                set_once(pr, p.receive_maximum, v, "receive maximum");
                break;
            }
            case p_topic_alias_maximum:
                allowed = bit(packet_type::connect) | bit(packet_type::connack);
                set_once(pr, p.topic_alias_maximum, pr.u16("property"), "topic alias maximum");
                break;
            case p_topic_alias:
                allowed = bit(packet_type::publish);
                set_once(pr, p.topic_alias, pr.u16("property"), "topic alias");
                break;
            case p_maximum_qos:
                allowed = bit(packet_type::connack);
                set_once(pr, p.maximum_qos, pr.u8("property"), "maximum qos");
                break;
            case p_retain_available:
                allowed = bit(packet_type::connack);
                set_once(pr, p.retain_available, pr.u8("property"), "retain available");
                break;
            case p_user_property: {
                allowed = ~0u;
                auto k = pr.str("user property name");
                auto v = pr.str("user property value");
                if (pr.ok())
                    p.user_properties.emplace_back(k, v);
                break;
            }
            case p_maximum_packet_size: {
                allowed = bit(packet_type::connect) | bit(packet_type::connack);
                std::uint32_t v = pr.u32("property");
                if (pr.ok() && v == 0)
                    pr.fail("maximum packet size 0");
                set_once(pr, p.maximum_packet_size, v, "maximum packet size");
                break;
            }
            case p_wildcard_available:
                allowed = bit(packet_type::connack);
                set_once(pr, p.wildcard_subscription_available, pr.u8("property"),
                         "wildcard subscription available");
                break;
            case p_sub_id_available:
                allowed = bit(packet_type::connack);
                set_once(pr, p.subscription_identifier_available, pr.u8("property"),
                         "subscription identifier available");
                break;
            case p_shared_available:
                allowed = bit(packet_type::connack);
                set_once(pr, p.shared_subscription_available, pr.u8("property"),
                         "shared subscription available");
                break;
            default:
                pr.fail("unknown property 0x" + [&] {
                    char buf[16];
                    std::snprintf(buf, sizeof buf, "%02X", id);
                    return std::string(buf);
                }());
                continue;
        }
        if (pr.ok() && (allowed & where) == 0)
            pr.fail("property 0x" + std::to_string(id) + " not allowed here");
    }
    if (!pr.ok())
        r.fail(pr.err());
}

result<packet> bad(const frame& f, const std::string& why) {
    return fail(errc::protocol_error,
                "malformed MQTT " + std::string(to_string(f.type())) + " packet: " + why);
}

bool is_v5(protocol_version v) {
    return v == protocol_version::v5;
}

}  // namespace

std::string_view to_string(packet_type t) {
    static constexpr std::array<std::string_view, 16> names = {
        "reserved", "CONNECT",  "CONNACK",    "PUBLISH", "PUBACK",      "PUBREC",
        "PUBREL",   "PUBCOMP",  "SUBSCRIBE",  "SUBACK",  "UNSUBSCRIBE", "UNSUBACK",
        "PINGREQ",  "PINGRESP", "DISCONNECT", "AUTH"};
    return names[static_cast<std::size_t>(t) & 15];
}

bool properties::empty() const {
    return *this == properties{};
}

void put_varint(std::string& out, std::uint32_t v) {
    do {
        std::uint8_t b = v & 0x7f;
        v >>= 7;
        if (v > 0)
            b |= 0x80;
        out.push_back(static_cast<char>(b));
    } while (v > 0);
}

void encode(std::string& out, const connect_packet& p) {
    std::string body;
    put_str(body, "MQTT");
    put_u8(body, static_cast<std::uint8_t>(p.version));
    std::uint8_t flags = 0;
    if (p.username)
        flags |= 0x80;
    if (p.password)
        flags |= 0x40;
    if (p.will) {
        flags |= 0x04;
        flags |= static_cast<std::uint8_t>((p.will->qos & 3) << 3);
        if (p.will->retain)
            flags |= 0x20;
    }
    if (p.clean_start)
        flags |= 0x02;
    put_u8(body, flags);
    put_u16(body, p.keep_alive);
    if (is_v5(p.version))
        put_props(body, p.props);
    put_str(body, p.client_id);
    if (p.will) {
        if (is_v5(p.version))
            put_props(body, p.will->props);
        put_str(body, p.will->topic);
        put_str(body, p.will->payload);
    }
    if (p.username)
        put_str(body, *p.username);
    if (p.password)
        put_str(body, *p.password);
    finish(out, 0x10, body);
}

void encode(std::string& out, const connack_packet& p, protocol_version v) {
    std::string body;
    put_u8(body, p.session_present ? 1 : 0);
    put_u8(body, p.reason);
    if (is_v5(v))
        put_props(body, p.props);
    finish(out, 0x20, body);
}

std::size_t encoded_size(const publish_packet& p, protocol_version v) {
    std::size_t rl = 2 + p.topic.size() + (p.qos > 0 ? 2 : 0) + p.payload.size();
    if (is_v5(v)) {
        if (p.props.empty()) {
            rl += 1;
        } else {
            std::string body;
            put_props_body(body, p.props);
            rl += varint_size(static_cast<std::uint32_t>(body.size())) + body.size();
        }
    }
    return 1 + varint_size(static_cast<std::uint32_t>(rl)) + rl;
}

void encode(std::string& out, const publish_packet& p, protocol_version v) {
    // Written in place (no temporary body) because PUBLISH is the hot path and carries payloads.
    std::string props;
    if (is_v5(v) && !p.props.empty())
        put_props_body(props, p.props);
    std::size_t rl = 2 + p.topic.size() + (p.qos > 0 ? 2 : 0) + p.payload.size();
    if (is_v5(v))
        rl += varint_size(static_cast<std::uint32_t>(props.size())) + props.size();
    std::uint8_t h = 0x30 | static_cast<std::uint8_t>((p.qos & 3) << 1);
    if (p.dup)
        h |= 0x08;
    if (p.retain)
        h |= 0x01;
    out.reserve(out.size() + rl + 5);
    put_u8(out, h);
    put_varint(out, static_cast<std::uint32_t>(rl));
    put_str(out, p.topic);
    if (p.qos > 0)
        put_u16(out, p.packet_id);
    if (is_v5(v)) {
        put_varint(out, static_cast<std::uint32_t>(props.size()));
        out += props;
    }
    out.append(p.payload);
}

void encode(std::string& out, const ack_packet& p, protocol_version v) {
    std::uint8_t h = static_cast<std::uint8_t>(static_cast<std::uint8_t>(p.type) << 4);
    if (p.type == packet_type::pubrel)
        h |= 0x02;
    if (!is_v5(v) || (p.reason == 0 && p.props.empty())) {
        put_u8(out, h);
        put_u8(out, 2);
        put_u16(out, p.packet_id);
        return;
    }
    std::string body;
    put_u16(body, p.packet_id);
    put_u8(body, p.reason);
    if (!p.props.empty())
        put_props(body, p.props);
    finish(out, h, body);
}

void encode(std::string& out, const subscribe_packet& p, protocol_version v) {
    std::string body;
    put_u16(body, p.packet_id);
    if (is_v5(v))
        put_props(body, p.props);
    for (const auto& [filter, o] : p.filters) {
        put_str(body, filter);
        std::uint8_t b = o.qos & 3;
        if (is_v5(v)) {
            if (o.no_local)
                b |= 0x04;
            if (o.retain_as_published)
                b |= 0x08;
            b |= static_cast<std::uint8_t>((o.retain_handling & 3) << 4);
        }
        put_u8(body, b);
    }
    finish(out, 0x82, body);
}

void encode(std::string& out, const suback_packet& p, protocol_version v) {
    std::string body;
    put_u16(body, p.packet_id);
    if (is_v5(v))
        put_props(body, p.props);
    if (p.type == packet_type::suback || is_v5(v)) {
        for (auto r : p.reasons)
            put_u8(body, r);
    }
    finish(out, p.type == packet_type::suback ? 0x90 : 0xB0, body);
}

void encode(std::string& out, const unsubscribe_packet& p, protocol_version v) {
    std::string body;
    put_u16(body, p.packet_id);
    if (is_v5(v))
        put_props(body, p.props);
    for (const auto& f : p.filters)
        put_str(body, f);
    finish(out, 0xA2, body);
}

void encode(std::string& out, const ping_packet& p) {
    put_u8(out, p.type == packet_type::pingreq ? 0xC0 : 0xD0);
    put_u8(out, 0);
}

void encode(std::string& out, const disconnect_packet& p, protocol_version v) {
    std::uint8_t h = p.type == packet_type::auth ? 0xF0 : 0xE0;
    if (!is_v5(v) || (p.type == packet_type::disconnect && p.reason == 0 && p.props.empty())) {
        put_u8(out, h);
        put_u8(out, 0);
        return;
    }
    std::string body;
    put_u8(body, p.reason);
    put_props(body, p.props);
    finish(out, h, body);
}

void encode(std::string& out, const packet& p, protocol_version v) {
    std::visit(
        [&](const auto& x) {
            using T = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<T, connect_packet> || std::is_same_v<T, ping_packet>)
                encode(out, x);
            else
                encode(out, x, v);
        },
        p);
}

result<std::optional<frame>> next_frame(std::string_view buf, std::uint32_t max_size) {
    if (buf.size() < 2)
        return std::optional<frame>{};
    std::uint32_t rl = 0;
    std::size_t i = 1;
    for (;; ++i) {
        if (i > 4)
            return fail(errc::protocol_error, "malformed MQTT remaining length");
        if (i >= buf.size())
            return std::optional<frame>{};
        auto b = static_cast<std::uint8_t>(buf[i]);
        rl |= static_cast<std::uint32_t>(b & 0x7f) << (7 * (i - 1));
        if ((b & 0x80) == 0)
            break;
    }
    std::size_t total = i + 1 + rl;
    if (total > max_size) {
        return fail(errc::protocol_error, "MQTT packet of " + std::to_string(total) +
                                              " bytes exceeds the maximum packet size " +
                                              std::to_string(max_size));
    }
    if (buf.size() < total)
        return std::optional<frame>{};
    frame f;
    f.header = static_cast<std::uint8_t>(buf[0]);
    f.body = buf.substr(i + 1, rl);
    f.size = total;
    return std::optional<frame>{f};
}

result<publish_packet> decode_publish(const frame& f, protocol_version v) {
    publish_packet p;
    p.qos = (f.header >> 1) & 3;
    p.dup = (f.header & 0x08) != 0;
    p.retain = (f.header & 0x01) != 0;
    if (p.qos == 3)
        return fail(errc::protocol_error, "malformed MQTT PUBLISH packet: QoS 3");
    if (p.qos == 0 && p.dup)
        return fail(errc::protocol_error, "malformed MQTT PUBLISH packet: DUP set with QoS 0");
    reader r(f.body);
    p.topic = r.str("topic name");
    if (p.qos > 0) {
        p.packet_id = r.u16("packet identifier");
        if (r.ok() && p.packet_id == 0)
            r.fail("packet identifier 0");
    }
    if (is_v5(v))
        get_props(r, p.props, bit(packet_type::publish));
    if (r.ok() && p.topic.find_first_of("+#") != std::string_view::npos)
        r.fail("wildcard in topic name");
    if (r.ok() && p.topic.empty() && !p.props.topic_alias)
        r.fail("empty topic name");
    if (!r.ok())
        return fail(errc::protocol_error, "malformed MQTT PUBLISH packet: " + r.err());
    p.payload = r.rest();
    return p;
}

result<packet> decode(const frame& f, protocol_version v) {
    const packet_type t = f.type();
    const std::uint8_t flags = f.header & 0x0f;
    if (t == packet_type::publish) {
        auto p = decode_publish(f, v);
        if (!p)
            return p.error();
        return packet{std::move(*p)};
    }
    const bool wants_0010 =
        t == packet_type::pubrel || t == packet_type::subscribe || t == packet_type::unsubscribe;
    if (flags != (wants_0010 ? 2 : 0))
        return bad(f, "reserved flags " + std::to_string(flags));
    reader r(f.body);
    switch (t) {
        case packet_type::connect: {
            connect_packet p;
            auto name = r.str("protocol name");
            std::uint8_t level = r.u8("protocol level");
            if (r.ok() && name != "MQTT")
                return bad(f, "protocol name '" + std::string(name) + "'");
            if (r.ok() && level != 4 && level != 5)
                return bad(f, "protocol level " + std::to_string(level));
            p.version = static_cast<protocol_version>(level);
            std::uint8_t cf = r.u8("connect flags");
            p.keep_alive = r.u16("keep alive");
            if (!r.ok())
                return bad(f, r.err());
            if (cf & 0x01)
                return bad(f, "reserved connect flag set");
            bool has_will = cf & 0x04;
            std::uint8_t will_qos = (cf >> 3) & 3;
            bool will_retain = cf & 0x20;
            if (!has_will && (will_qos != 0 || will_retain))
                return bad(f, "will QoS or retain without a will");
            if (will_qos == 3)
                return bad(f, "will QoS 3");
            if (p.version == protocol_version::v311 && (cf & 0x40) && !(cf & 0x80))
                return bad(f, "password without user name");
            p.clean_start = cf & 0x02;
            if (is_v5(p.version))
                get_props(r, p.props, bit(packet_type::connect));
            p.client_id = r.str("client identifier");
            if (has_will) {
                will_message w;
                w.qos = will_qos;
                w.retain = will_retain;
                if (is_v5(p.version))
                    get_props(r, w.props, will_bit);
                w.topic = r.str("will topic");
                w.payload = r.bin("will payload");
                p.will = std::move(w);
            }
            if (cf & 0x80)
                p.username = std::string(r.str("user name"));
            if (cf & 0x40)
                p.password = std::string(r.bin("password"));
            if (r.ok() && !r.done())
                r.fail("trailing bytes");
            if (!r.ok())
                return bad(f, r.err());
            return packet{std::move(p)};
        }
        case packet_type::connack: {
            connack_packet p;
            std::uint8_t ack_flags = r.u8("acknowledge flags");
            p.reason = r.u8("reason code");
            if (r.ok() && (ack_flags & 0xfe))
                return bad(f, "reserved acknowledge flags");
            p.session_present = ack_flags & 1;
            if (is_v5(v) && !r.done())
                get_props(r, p.props, bit(packet_type::connack));
            if (r.ok() && !r.done())
                r.fail("trailing bytes");
            if (!r.ok())
                return bad(f, r.err());
            return packet{std::move(p)};
        }
        case packet_type::puback:
        case packet_type::pubrec:
        case packet_type::pubrel:
        case packet_type::pubcomp: {
            ack_packet p;
            p.type = t;
            p.packet_id = r.u16("packet identifier");
            if (r.ok() && p.packet_id == 0)
                r.fail("packet identifier 0");
            if (is_v5(v) && r.ok() && !r.done()) {
                p.reason = r.u8("reason code");
                if (!r.done())
                    get_props(r, p.props, bit(t));
            }
            if (r.ok() && !r.done())
                r.fail("trailing bytes");
            if (!r.ok())
                return bad(f, r.err());
            return packet{std::move(p)};
        }
        case packet_type::subscribe: {
            subscribe_packet p;
            p.packet_id = r.u16("packet identifier");
            if (is_v5(v))
                get_props(r, p.props, bit(packet_type::subscribe));
            while (r.ok() && !r.done()) {
                std::string filter(r.str("topic filter"));
                std::uint8_t b = r.u8("subscription options");
                if (!r.ok())
                    break;
                subscribe_options o;
                o.qos = b & 3;
                if (o.qos == 3)
                    return bad(f, "subscription QoS 3");
                if (is_v5(v)) {
                    o.no_local = b & 0x04;
                    o.retain_as_published = b & 0x08;
                    o.retain_handling = (b >> 4) & 3;
                    if (o.retain_handling == 3 || (b & 0xc0))
                        return bad(f, "reserved subscription options");
                } else if (b & 0xfc) {
                    return bad(f, "reserved subscription options");
                }
                if (!valid_topic_filter(filter))
                    return bad(f, "invalid topic filter '" + filter + "'");
                p.filters.emplace_back(std::move(filter), o);
            }
            if (r.ok() && p.filters.empty())
                r.fail("no topic filter");
            if (!r.ok())
                return bad(f, r.err());
            return packet{std::move(p)};
        }
        case packet_type::suback:
        case packet_type::unsuback: {
            suback_packet p;
            p.type = t;
            p.packet_id = r.u16("packet identifier");
            if (is_v5(v))
                get_props(r, p.props, bit(t));
            while (r.ok() && !r.done())
                p.reasons.push_back(r.u8("reason code"));
            if (r.ok() && t == packet_type::suback && p.reasons.empty())
                r.fail("no reason code");
            if (r.ok() && t == packet_type::unsuback && !is_v5(v) && !p.reasons.empty())
                r.fail("trailing bytes");
            if (!r.ok())
                return bad(f, r.err());
            return packet{std::move(p)};
        }
        case packet_type::unsubscribe: {
            unsubscribe_packet p;
            p.packet_id = r.u16("packet identifier");
            if (is_v5(v))
                get_props(r, p.props, bit(packet_type::unsubscribe));
            while (r.ok() && !r.done())
                p.filters.emplace_back(r.str("topic filter"));
            if (r.ok() && p.filters.empty())
                r.fail("no topic filter");
            if (!r.ok())
                return bad(f, r.err());
            return packet{std::move(p)};
        }
        case packet_type::pingreq:
        case packet_type::pingresp:
            if (!r.done())
                return bad(f, "trailing bytes");
            return packet{ping_packet{t}};
        case packet_type::disconnect:
        case packet_type::auth: {
            if (t == packet_type::auth && !is_v5(v))
                return bad(f, "AUTH before MQTT 5");
            disconnect_packet p;
            p.type = t;
            if (is_v5(v) && !r.done()) {
                p.reason = r.u8("reason code");
                if (!r.done())
                    get_props(r, p.props, bit(t));
            }
            if (r.ok() && !r.done())
                r.fail("trailing bytes");
            if (!r.ok())
                return bad(f, r.err());
            return packet{std::move(p)};
        }
        default:
            return bad(f, "reserved packet type 0");
    }
}

bool valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        unsigned char c = *p;
        if (c < 0x80) {
            if (c == 0)
                return false;
            ++p;
            continue;
        }
        std::uint32_t cp = 0;
        int n = 0;
        if ((c & 0xe0) == 0xc0) {
            cp = c & 0x1f;
            n = 1;
        } else if ((c & 0xf0) == 0xe0) {
            cp = c & 0x0f;
            n = 2;
        } else if ((c & 0xf8) == 0xf0) {
            cp = c & 0x07;
            n = 3;
        } else {
            return false;
        }
        if (end - p <= n)
            return false;
        for (int i = 1; i <= n; ++i) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        static constexpr std::uint32_t min_for_len[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min_for_len[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

bool valid_topic_name(std::string_view topic) {
    return !topic.empty() && topic.size() <= 0xffff &&
           topic.find_first_of("+#") == std::string_view::npos && valid_utf8(topic);
}

bool valid_topic_filter(std::string_view filter) {
    if (filter.empty() || filter.size() > 0xffff || !valid_utf8(filter))
        return false;
    if (filter.starts_with("$share/")) {
        auto rest = filter.substr(7);
        auto slash = rest.find('/');
        if (slash == 0 || slash == std::string_view::npos)
            return false;
        auto group = rest.substr(0, slash);
        if (group.find_first_of("+#") != std::string_view::npos)
            return false;
        filter = rest.substr(slash + 1);
        if (filter.empty())
            return false;
    }
    std::size_t start = 0;
    for (;;) {
        auto end = filter.find('/', start);
        auto level = filter.substr(start, end == std::string_view::npos ? end : end - start);
        if (level.find_first_of("+#") != std::string_view::npos && level.size() != 1)
            return false;
        if (level == "#" && end != std::string_view::npos)
            return false;
        if (end == std::string_view::npos)
            return true;
        start = end + 1;
    }
}

std::string_view strip_share(std::string_view filter) {
    if (!filter.starts_with("$share/"))
        return filter;
    auto rest = filter.substr(7);
    auto slash = rest.find('/');
    return slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
}

bool topic_matches(std::string_view filter, std::string_view topic) {
    filter = strip_share(filter);
    if (filter.empty() || topic.empty())
        return false;
    if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#'))
        return false;
    std::size_t fi = 0;
    std::size_t ti = 0;
    for (;;) {
        auto fe = filter.find('/', fi);
        auto flevel = filter.substr(fi, fe == std::string_view::npos ? fe : fe - fi);
        if (flevel == "#")
            return true;  // matches the parent level and everything below
        if (ti > topic.size())
            return false;  // topic ran out of levels
        auto te = topic.find('/', ti);
        auto tlevel = topic.substr(ti, te == std::string_view::npos ? te : te - ti);
        if (flevel != "+" && flevel != tlevel)
            return false;
        if (fe == std::string_view::npos)
            return te == std::string_view::npos;
        fi = fe + 1;
        // "a/#" also matches "a": the filter continues with "#" while the topic ends.
        ti = te == std::string_view::npos ? topic.size() + 1 : te + 1;
    }
}

std::string_view connack_reason_name(std::uint8_t code, protocol_version v) {
    if (!is_v5(v)) {
        switch (code) {
            case 0:
                return "Connection Accepted";
            case 1:
                return "unacceptable protocol version";
            case 2:
                return "identifier rejected";
            case 3:
                return "server unavailable";
            case 4:
                return "bad user name or password";
            case 5:
                return "not authorized";
            default:
                return "unknown return code";
        }
    }
    return reason_name(code);
}

std::string_view reason_name(std::uint8_t code) {
    switch (code) {
        case 0x00:
            return "Success";
        case 0x01:
            return "Granted QoS 1";
        case 0x02:
            return "Granted QoS 2";
        case 0x04:
            return "Disconnect with Will Message";
        case 0x10:
            return "No matching subscribers";
        case 0x11:
            return "No subscription existed";
        case 0x18:
            return "Continue authentication";
        case 0x19:
            return "Re-authenticate";
        case 0x80:
            return "Unspecified error";
        case 0x81:
            return "Malformed Packet";
        case 0x82:
            return "Protocol Error";
        case 0x83:
            return "Implementation specific error";
        case 0x84:
            return "Unsupported Protocol Version";
        case 0x85:
            return "Client Identifier not valid";
        case 0x86:
            return "Bad User Name or Password";
        case 0x87:
            return "Not authorized";
        case 0x88:
            return "Server unavailable";
        case 0x89:
            return "Server busy";
        case 0x8A:
            return "Banned";
        case 0x8B:
            return "Server shutting down";
        case 0x8C:
            return "Bad authentication method";
        case 0x8D:
            return "Keep Alive timeout";
        case 0x8E:
            return "Session taken over";
        case 0x8F:
            return "Topic Filter invalid";
        case 0x90:
            return "Topic Name invalid";
        case 0x91:
            return "Packet Identifier in use";
        case 0x92:
            return "Packet Identifier not found";
        case 0x93:
            return "Receive Maximum exceeded";
        case 0x94:
            return "Topic Alias invalid";
        case 0x95:
            return "Packet too large";
        case 0x96:
            return "Message rate too high";
        case 0x97:
            return "Quota exceeded";
        case 0x98:
            return "Administrative action";
        case 0x99:
            return "Payload format invalid";
        case 0x9A:
            return "Retain not supported";
        case 0x9B:
            return "QoS not supported";
        case 0x9C:
            return "Use another server";
        case 0x9D:
            return "Server moved";
        case 0x9E:
            return "Shared Subscriptions not supported";
        case 0x9F:
            return "Connection rate exceeded";
        case 0xA0:
            return "Maximum connect time";
        case 0xA1:
            return "Subscription Identifiers not supported";
        case 0xA2:
            return "Wildcard Subscriptions not supported";
        default:
            return "unknown reason code";
    }
}

}  // namespace trib::mqtt
