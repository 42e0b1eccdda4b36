// The MQTT packet codec against the bytes given in the MQTT 3.1.1 (OASIS 2014) and MQTT 5.0
// (OASIS 2019) specifications, plus round trips and malformed input.

#include "connectors/mqtt/codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trib::mqtt {
namespace {

std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (int x : b)
        s.push_back(static_cast<char>(x));
    return s;
}

std::string hex(std::string_view s) {
    std::string out;
    char buf[4];
    for (unsigned char c : s) {
        std::snprintf(buf, sizeof buf, "%02X ", c);
        out += buf;
    }
    return out;
}

result<packet> decode_all(std::string_view wire, protocol_version v) {
    auto f = next_frame(wire);
    if (!f)
        return f.error();
    if (!*f)
        return fail(errc::protocol_error, "incomplete");
    EXPECT_EQ((*f)->size, wire.size()) << "the frame must span the whole packet";
    return decode(**f, v);
}

// 3.1.1 section 2.2.3 / 5.0 section 1.5.5: Variable Byte Integer table.
TEST(mqtt_codec, variable_byte_integer_golden_table) {
    const std::vector<std::pair<std::uint32_t, std::string>> table = {
        {0, bytes({0x00})},
        {127, bytes({0x7F})},
        {128, bytes({0x80, 0x01})},
        {16'383, bytes({0xFF, 0x7F})},
        {16'384, bytes({0x80, 0x80, 0x01})},
        {2'097'151, bytes({0xFF, 0xFF, 0x7F})},
        {2'097'152, bytes({0x80, 0x80, 0x80, 0x01})},
        {268'435'455, bytes({0xFF, 0xFF, 0xFF, 0x7F})},
    };
    for (const auto& [v, want] : table) {
        std::string got;
        put_varint(got, v);
        EXPECT_EQ(hex(got), hex(want)) << v;
    }
    // As a remaining length: the frame needs the announced bytes.
    std::string wire = bytes({0x30, 0x80, 0x01});
    auto f = next_frame(wire);
    ASSERT_TRUE(f);
    EXPECT_FALSE(*f) << "128 body bytes announced, none present";
    wire += std::string(128, 'x');
    f = next_frame(wire);
    ASSERT_TRUE(f);
    ASSERT_TRUE(*f);
    EXPECT_EQ((*f)->body.size(), 128u);
    EXPECT_EQ((*f)->size, 131u);
    // A fifth length byte is malformed.
    EXPECT_FALSE(next_frame(bytes({0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F})));
    // Over a caller's limit.
    EXPECT_FALSE(next_frame(wire, 100));
}

// 3.1.1 Figure 3.6 / 5.0 Figure 3-? : CONNECT variable header example, flags 0xCE (user name,
// password, will QoS 1, will flag, clean session), keep alive 10.
TEST(mqtt_codec, connect_v311_variable_header_golden) {
    connect_packet c;
    c.version = protocol_version::v311;
    c.clean_start = true;
    c.keep_alive = 10;
    c.client_id = "c";
    c.will = will_message{"w", "x", 1, false, {}};
    c.username = "u";
    c.password = "p";
    std::string out;
    encode(out, c);
    const std::string var_header = bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0xCE, 0x00, 0x0A});
    ASSERT_GT(out.size(), 12u);
    EXPECT_EQ(out[0], '\x10');
    EXPECT_EQ(hex(out.substr(2, var_header.size())), hex(var_header));
    // Payload order: client id, will topic, will message, user name, password.
    EXPECT_EQ(hex(out.substr(2 + var_header.size())),
              hex(bytes({0, 1, 'c', 0, 1, 'w', 0, 1, 'x', 0, 1, 'u', 0, 1, 'p'})));
    EXPECT_EQ(static_cast<std::size_t>(out[1]), out.size() - 2);
    auto back = decode_all(out, protocol_version::v311);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(std::get<connect_packet>(*back), c);
}

// 5.0 section 3.1.2.11 "Variable Header example": ... properties length 5, Session Expiry
// Interval (17) = 10.
TEST(mqtt_codec, connect_v5_variable_header_golden) {
    connect_packet c;
    c.version = protocol_version::v5;
    c.clean_start = true;
    c.keep_alive = 10;
    c.client_id = "c";
    c.will = will_message{"w", "x", 1, false, {}};
    c.username = "u";
    c.password = "p";
    c.props.session_expiry_interval = 10;
    std::string out;
    encode(out, c);
    const std::string var_header = bytes({0x00, 0x04, 'M', 'Q', 'T', 'T', 0x05, 0xCE, 0x00, 0x0A,
                                          0x05, 0x11, 0x00, 0x00, 0x00, 0x0A});
    EXPECT_EQ(hex(out.substr(2, var_header.size())), hex(var_header));
    auto back = decode_all(out, protocol_version::v5);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(std::get<connect_packet>(*back), c);
}

// 3.1.1 section 1.5.3 / 5.0 section 1.5.4: "A" followed by U+2A6D4 is 00 05 41 F0 AA 9B 94.
TEST(mqtt_codec, utf8_string_golden) {
    connect_packet c;
    c.version = protocol_version::v311;
    c.client_id = "A\xF0\xAA\x9B\x94";
    std::string out;
    encode(out, c);
    EXPECT_NE(out.find(bytes({0x00, 0x05, 0x41, 0xF0, 0xAA, 0x9B, 0x94})), std::string::npos)
        << hex(out);
    EXPECT_TRUE(valid_utf8("A\xF0\xAA\x9B\x94"));
    EXPECT_FALSE(valid_utf8(std::string("a\0b", 3)));  // U+0000
    EXPECT_FALSE(valid_utf8("\xC0\x80"));              // overlong
    EXPECT_FALSE(valid_utf8("\xED\xA0\x80"));          // surrogate D800
    EXPECT_FALSE(valid_utf8("\xF4\x90\x80\x80"));      // beyond U+10FFFF
    EXPECT_FALSE(valid_utf8("\xE2\x82"));              // truncated
}

// 3.1.1 Figure 3.10 / 5.0 Figure 3-9: PUBLISH variable header, topic "a/b", packet id 10.
TEST(mqtt_codec, publish_golden_both_versions) {
    publish_packet p;
    p.topic = "a/b";
    p.packet_id = 10;
    p.qos = 1;
    p.payload = "hi";
    std::string v3;
    encode(v3, p, protocol_version::v311);
    EXPECT_EQ(hex(v3), hex(bytes({0x32, 0x09, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 'h', 'i'})));
    std::string v5;
    encode(v5, p, protocol_version::v5);
    EXPECT_EQ(hex(v5),
              hex(bytes({0x32, 0x0A, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x0A, 0x00, 'h', 'i'})));
    EXPECT_EQ(encoded_size(p, protocol_version::v5), v5.size());
    EXPECT_EQ(encoded_size(p, protocol_version::v311), v3.size());
    auto back = decode_all(v5, protocol_version::v5);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(std::get<publish_packet>(*back), p);

    // QoS 0 has no packet id; retain and DUP flags land in the fixed header.
    publish_packet q;
    q.topic = "t";
    q.payload = "";
    q.retain = true;
    std::string q0;
    encode(q0, q, protocol_version::v311);
    EXPECT_EQ(hex(q0), hex(bytes({0x31, 0x03, 0x00, 0x01, 't'})));
    publish_packet d = p;
    d.qos = 2;
    d.dup = true;
    std::string dup;
    encode(dup, d, protocol_version::v311);
    EXPECT_EQ(static_cast<unsigned char>(dup[0]), 0x3C);
}

TEST(mqtt_codec, publish_v5_properties_round_trip) {
    publish_packet p;
    p.topic = "sensors/1/temp";
    p.payload = std::string_view("\x00\x01\x02", 3);
    p.qos = 2;
    p.packet_id = 65535;
    p.props.content_type = "application/json";
    p.props.payload_format_indicator = 1;
    p.props.message_expiry_interval = 3600;
    p.props.response_topic = "reply/here";
    p.props.correlation_data = std::string("\x00\xFF", 2);
    p.props.user_properties = {{"site", "north"}, {"site", "south"}, {"unit", "C"}};
    p.props.subscription_identifiers = {1, 268'435'455};
    std::string out;
    encode(out, p, protocol_version::v5);
    EXPECT_EQ(encoded_size(p, protocol_version::v5), out.size());
    auto back = decode_all(out, protocol_version::v5);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(std::get<publish_packet>(*back), p);
}

// 3.1.1 Figures 3.20/3.21: SUBSCRIBE packet id 10, "a/b" QoS 1, "c/d" QoS 2.
TEST(mqtt_codec, subscribe_golden_and_options) {
    subscribe_packet s;
    s.packet_id = 10;
    s.filters = {{"a/b", {1}}, {"c/d", {2}}};
    std::string v3;
    encode(v3, s, protocol_version::v311);
    EXPECT_EQ(hex(v3), hex(bytes({0x82, 0x0E, 0x00, 0x0A, 0x00, 0x03, 'a', '/', 'b', 0x01, 0x00,
                                  0x03, 'c', '/', 'd', 0x02})));
    // MQTT 5: property length, subscription identifier, options bits (QoS, no local,
    // retain as published, retain handling).
    subscribe_packet s5;
    s5.packet_id = 10;
    s5.filters = {{"$share/g/a/#", {1, true, true, 2}}};
    s5.props.subscription_identifiers = {3};
    std::string v5;
    encode(v5, s5, protocol_version::v5);
    const std::string tail = bytes({0x02, 0x0B, 0x03});
    EXPECT_EQ(hex(v5.substr(4, 3)), hex(tail));
    EXPECT_EQ(static_cast<unsigned char>(v5.back()), 0x01 | 0x04 | 0x08 | 0x20);
    auto back = decode_all(v5, protocol_version::v5);
    ASSERT_TRUE(back) << back.error().message();
    EXPECT_EQ(std::get<subscribe_packet>(*back), s5);
}

// 3.1.1 Figure 3.26: SUBACK return codes 0, 2, 0x80 (failure).
TEST(mqtt_codec, suback_and_unsuback) {
    auto p = decode_all(bytes({0x90, 0x05, 0x00, 0x0A, 0x00, 0x02, 0x80}), protocol_version::v311);
    ASSERT_TRUE(p) << p.error().message();
    auto& sa = std::get<suback_packet>(*p);
    EXPECT_EQ(sa.packet_id, 10);
    EXPECT_EQ(sa.reasons, (std::vector<std::uint8_t>{0x00, 0x02, 0x80}));
    // MQTT 5 with a reason string property.
    suback_packet s5{packet_type::suback, 7, {0x01, 0x8F}, {}};
    s5.props.reason_string = "bad filter";
    std::string out;
    encode(out, s5, protocol_version::v5);
    auto back = decode_all(out, protocol_version::v5);
    ASSERT_TRUE(back);
    EXPECT_EQ(std::get<suback_packet>(*back), s5);
    auto ua = decode_all(bytes({0xB0, 0x02, 0x00, 0x0A}), protocol_version::v311);
    ASSERT_TRUE(ua);
    EXPECT_EQ(std::get<suback_packet>(*ua).type, packet_type::unsuback);
    unsubscribe_packet u{10, {"a/b", "c/d"}, {}};
    std::string uo;
    encode(uo, u, protocol_version::v311);
    EXPECT_EQ(
        hex(uo),
        hex(bytes({0xA2, 0x0C, 0x00, 0x0A, 0x00, 0x03, 'a', '/', 'b', 0x00, 0x03, 'c', '/', 'd'})));
}

TEST(mqtt_codec, acks_ping_disconnect_connack) {
    std::string out;
    encode(out, ack_packet{packet_type::puback, 10, 0, {}}, protocol_version::v5);
    encode(out, ack_packet{packet_type::pubrel, 10, 0, {}}, protocol_version::v311);
    encode(out, ack_packet{packet_type::pubrec, 10, 0x10, {}}, protocol_version::v5);
    encode(out, ping_packet{packet_type::pingreq});
    encode(out, ping_packet{packet_type::pingresp});
    encode(out, disconnect_packet{}, protocol_version::v311);
    encode(out, disconnect_packet{}, protocol_version::v5);
    encode(out, connack_packet{true, 0, {}}, protocol_version::v311);
    EXPECT_EQ(hex(out), hex(bytes({0x40, 0x02, 0x00, 0x0A, 0x62, 0x02, 0x00, 0x0A, 0x50,
                                   0x03, 0x00, 0x0A, 0x10, 0xC0, 0x00, 0xD0, 0x00, 0xE0,
                                   0x00, 0xE0, 0x00, 0x20, 0x02, 0x01, 0x00})));
    // A v5 ack with reason and an empty property list; a DISCONNECT with reason 0x8E.
    auto a = decode_all(bytes({0x40, 0x04, 0x00, 0x0A, 0x97, 0x00}), protocol_version::v5);
    ASSERT_TRUE(a) << a.error().message();
    EXPECT_EQ(std::get<ack_packet>(*a).reason, 0x97);
    auto d = decode_all(bytes({0xE0, 0x01, 0x8E}), protocol_version::v5);
    ASSERT_TRUE(d) << d.error().message();
    EXPECT_EQ(std::get<disconnect_packet>(*d).reason, 0x8E);
    // CONNACK v5 with receive maximum and maximum packet size.
    connack_packet ca{false, 0x86, {}};
    ca.props.receive_maximum = 20;
    ca.props.maximum_packet_size = 1024;
    ca.props.reason_string = "nope";
    std::string co;
    encode(co, ca, protocol_version::v5);
    auto cb = decode_all(co, protocol_version::v5);
    ASSERT_TRUE(cb) << cb.error().message();
    EXPECT_EQ(std::get<connack_packet>(*cb), ca);
    EXPECT_EQ(connack_reason_name(0x86, protocol_version::v5), "Bad User Name or Password");
    EXPECT_EQ(connack_reason_name(5, protocol_version::v311), "not authorized");
}

TEST(mqtt_codec, malformed_packets_are_refused_with_a_reason) {
    struct bad_case {
        const char* what;
        std::string wire;
        protocol_version v;
    };
    const std::vector<bad_case> cases = {
        {"PUBLISH QoS 3", bytes({0x36, 0x05, 0x00, 0x01, 't', 0x00, 0x01}), protocol_version::v5},
        {"DUP with QoS 0", bytes({0x38, 0x03, 0x00, 0x01, 't'}), protocol_version::v311},
        {"packet id 0", bytes({0x32, 0x05, 0x00, 0x01, 't', 0x00, 0x00}), protocol_version::v311},
        {"wildcard in topic", bytes({0x30, 0x03, 0x00, 0x01, '#'}), protocol_version::v311},
        {"bad UTF-8 topic", bytes({0x30, 0x04, 0x00, 0x02, 0xC0, 0x80}), protocol_version::v311},
        {"topic longer than packet", bytes({0x30, 0x03, 0x00, 0x05, 't'}), protocol_version::v311},
        {"unknown property", bytes({0x30, 0x06, 0x00, 0x01, 't', 0x02, 0x7F, 0x00}),
         protocol_version::v5},
        {"property not allowed in PUBLISH (session expiry)",
         bytes({0x30, 0x09, 0x00, 0x01, 't', 0x05, 0x11, 0, 0, 0, 1}), protocol_version::v5},
        {"duplicate content type",
         bytes({0x30, 0x0C, 0x00, 0x01, 't', 0x08, 0x03, 0, 1, 'a', 0x03, 0, 1, 'b'}),
         protocol_version::v5},
        {"property length past the end", bytes({0x30, 0x04, 0x00, 0x01, 't', 0x09}),
         protocol_version::v5},
        {"PUBREL without flag 0010", bytes({0x60, 0x02, 0x00, 0x01}), protocol_version::v311},
        {"PUBACK with trailing bytes (3.1.1)", bytes({0x40, 0x03, 0x00, 0x01, 0x00}),
         protocol_version::v311},
        {"CONNACK reserved flags", bytes({0x20, 0x02, 0x02, 0x00}), protocol_version::v311},
        {"PINGRESP with body", bytes({0xD0, 0x01, 0x00}), protocol_version::v311},
        {"SUBACK without codes", bytes({0x90, 0x02, 0x00, 0x01}), protocol_version::v311},
        {"AUTH in 3.1.1", bytes({0xF0, 0x00}), protocol_version::v311},
        {"reserved type 0", bytes({0x00, 0x00}), protocol_version::v311},
        {"CONNECT bad protocol name",
         bytes({0x10, 0x0A, 0x00, 0x04, 'M', 'Q', 'T', 'X', 0x04, 0x02, 0x00, 0x0A}),
         protocol_version::v311},
        {"receive maximum 0", bytes({0x20, 0x06, 0x00, 0x00, 0x03, 0x21, 0x00, 0x00}),
         protocol_version::v5},
    };
    for (const auto& c : cases) {
        auto r = decode_all(c.wire, c.v);
        ASSERT_FALSE(r) << c.what << " was accepted";
        EXPECT_EQ(r.error().code(), errc::protocol_error) << c.what;
        EXPECT_FALSE(r.error().message().empty()) << c.what;
    }
}

// 3.1.1 section 4.7 / 5.0 section 4.7: the topic filter examples.
TEST(mqtt_codec, topic_filters_match_as_the_spec_says) {
    EXPECT_TRUE(topic_matches("sport/tennis/player1/#", "sport/tennis/player1"));
    EXPECT_TRUE(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
    EXPECT_TRUE(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
    EXPECT_TRUE(topic_matches("sport/#", "sport"));
    EXPECT_TRUE(topic_matches("sport/tennis/+", "sport/tennis/player1"));
    EXPECT_FALSE(topic_matches("sport/tennis/+", "sport/tennis/player1/ranking"));
    EXPECT_FALSE(topic_matches("sport/+", "sport"));
    EXPECT_TRUE(topic_matches("sport/+", "sport/"));
    EXPECT_TRUE(topic_matches("+/+", "/finance"));
    EXPECT_TRUE(topic_matches("/+", "/finance"));
    EXPECT_FALSE(topic_matches("+", "/finance"));
    EXPECT_FALSE(topic_matches("#", "$SYS/x"));
    EXPECT_FALSE(topic_matches("+/monitor/Clients", "$SYS/monitor/Clients"));
    EXPECT_TRUE(topic_matches("$SYS/#", "$SYS/monitor/Clients"));
    EXPECT_TRUE(topic_matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
    EXPECT_TRUE(topic_matches("sensors/+/temp", "sensors/7/temp"));
    EXPECT_FALSE(topic_matches("sensors/+/temp", "sensors/7/humidity"));
    EXPECT_TRUE(topic_matches("$share/g/sensors/#", "sensors/7/temp"));
    EXPECT_EQ(strip_share("$share/grp/a/+"), "a/+");
    EXPECT_EQ(strip_share("a/+"), "a/+");

    EXPECT_TRUE(valid_topic_filter("#"));
    EXPECT_TRUE(valid_topic_filter("+"));
    EXPECT_TRUE(valid_topic_filter("sport/+/player1"));
    EXPECT_TRUE(valid_topic_filter("$share/g/a/#"));
    EXPECT_FALSE(valid_topic_filter("sport/tennis#"));
    EXPECT_FALSE(valid_topic_filter("sport/tennis/#/ranking"));
    EXPECT_FALSE(valid_topic_filter("sport+"));
    EXPECT_FALSE(valid_topic_filter(""));
    EXPECT_FALSE(valid_topic_filter("$share//a"));
    EXPECT_FALSE(valid_topic_filter("$share/g"));
    EXPECT_FALSE(valid_topic_filter("$share/g+/a"));
    EXPECT_TRUE(valid_topic_name("a/b"));
    EXPECT_FALSE(valid_topic_name("a/+"));
    EXPECT_FALSE(valid_topic_name(""));
}

}  // namespace
}  // namespace trib::mqtt
