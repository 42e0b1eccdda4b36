// The MQTT session state machine without a socket: the test plays the broker, feeding the
// session encoded packets and decoding what it queues to send. The Mosquitto tests
// (client_test.cpp) then cover only the I/O around it.

#include "connectors/mqtt/session.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace trib::mqtt {
namespace {

struct sent {
    packet_type type{};
    std::uint16_t packet_id = 0;
    std::uint8_t reason = 0;
    bool dup = false;
    std::string topic;
    std::string payload;
};

// Plays the broker's side of one session.
class broker_side {
  public:
    explicit broker_side(protocol_version v = protocol_version::v5, std::size_t max_inflight = 1000)
        : v_(v), s_(session_options{v, "cid", max_inflight}, [this] { ++wakes_; }) {}

    session& s() { return s_; }
    int wakes() const { return wakes_; }

    void connack(bool session_present, properties props = {}) {
        s_.on_connected(connack_packet{session_present, 0, std::move(props)});
    }

    // Feeds packets; expects the session to accept them all.
    feed_result feed(const std::string& wire) {
        auto r = s_.on_bytes(wire);
        EXPECT_TRUE(r.st.has_value()) << r.st.error().message();
        EXPECT_EQ(r.consumed, wire.size());
        return r;
    }
    feed_result publish(std::uint16_t pid, std::uint8_t qos, std::string_view payload,
                        bool dup = false) {
        publish_packet p;
        p.topic = "t";
        p.payload = payload;
        p.packet_id = pid;
        p.qos = qos;
        p.dup = dup;
        std::string w;
        encode(w, p, v_);
        return feed(w);
    }
    feed_result ack(packet_type t, std::uint16_t pid, std::uint8_t reason = 0) {
        std::string w;
        encode(w, ack_packet{t, pid, reason, {}}, v_);
        return feed(w);
    }

    // Decodes everything the session queued since the last call.
    std::vector<sent> out() {
        std::string bytes;
        s_.take_output(bytes);
        s_.on_written(bytes.size());
        std::vector<sent> list;
        std::string_view rest = bytes;
        while (!rest.empty()) {
            auto f = next_frame(rest);
            EXPECT_TRUE(f && *f) << "the session queued an incomplete packet";
            if (!f || !*f)
                break;
            rest.remove_prefix((*f)->size);
            sent x;
            x.type = (*f)->type();
            if (x.type == packet_type::publish) {
                auto p = decode_publish(**f, v_);
                EXPECT_TRUE(p.has_value());
                x.packet_id = p->packet_id;
                x.dup = p->dup;
                x.topic = std::string(p->topic);
                x.payload = std::string(p->payload);
            } else {
                auto p = decode(**f, v_);
                EXPECT_TRUE(p.has_value());
                if (auto* a = std::get_if<ack_packet>(&*p)) {
                    x.packet_id = a->packet_id;
                    x.reason = a->reason;
                } else if (auto* sp = std::get_if<subscribe_packet>(&*p)) {
                    x.packet_id = sp->packet_id;
                    x.topic = sp->filters.empty() ? "" : sp->filters[0].first;
                }
            }
            list.push_back(std::move(x));
        }
        return list;
    }

    std::vector<message> take() {
        std::vector<message> m;
        s_.take_inbound(m, 1000);
        return m;
    }

  private:
    protocol_version v_;
    int wakes_ = 0;
    session s_;
};

publish_packet pub(std::uint8_t qos, std::string_view payload = "x") {
    publish_packet p;
    p.topic = "out";
    p.payload = payload;
    p.qos = qos;
    return p;
}

TEST(mqtt_session, qos1_publish_finishes_on_its_puback) {
    broker_side b;
    b.connack(false);
    auto t1 = b.s().publish(pub(1, "a"));
    auto t2 = b.s().publish(pub(1, "b"));
    auto o = b.out();
    ASSERT_EQ(o.size(), 2u);
    EXPECT_EQ(o[0].type, packet_type::publish);
    EXPECT_EQ(o[0].payload, "a");
    EXPECT_NE(o[0].packet_id, o[1].packet_id);
    EXPECT_FALSE(b.s().published_through(t1));
    auto r = b.ack(packet_type::puback, o[1].packet_id);
    EXPECT_TRUE(r.wake_waiters);
    // The second finished, but "through t2" includes the first, still in flight.
    EXPECT_FALSE(b.s().published_through(t2));
    b.ack(packet_type::puback, o[0].packet_id);
    EXPECT_TRUE(b.s().published_through(t2));
    EXPECT_EQ(b.s().published(), 2u);
}

TEST(mqtt_session, qos2_publish_goes_through_pubrec_pubrel_pubcomp) {
    broker_side b;
    b.connack(false);
    auto t = b.s().publish(pub(2));
    auto o = b.out();
    ASSERT_EQ(o.size(), 1u);
    b.ack(packet_type::pubrec, o[0].packet_id);
    auto rel = b.out();
    ASSERT_EQ(rel.size(), 1u);
    EXPECT_EQ(rel[0].type, packet_type::pubrel);
    EXPECT_EQ(rel[0].packet_id, o[0].packet_id);
    EXPECT_FALSE(b.s().published_through(t));
    b.ack(packet_type::pubcomp, o[0].packet_id);
    EXPECT_TRUE(b.s().published_through(t));
}

TEST(mqtt_session, unknown_pubrec_is_answered_with_packet_id_not_found) {
    broker_side b;
    b.connack(false);
    b.ack(packet_type::pubrec, 77);
    auto o = b.out();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].type, packet_type::pubrel);
    EXPECT_EQ(o[0].reason, 0x92);
}

TEST(mqtt_session, reconnect_resends_unfinished_publishes_with_dup_or_pubrel) {
    broker_side b;
    b.connack(false);
    b.s().publish(pub(1, "one"));
    b.s().publish(pub(2, "two"));
    auto o = b.out();
    ASSERT_EQ(o.size(), 2u);
    b.ack(packet_type::pubrec, o[1].packet_id);  // QoS 2 half done
    (void)b.out();
    b.s().on_lost();
    b.connack(true);
    auto again = b.out();
    ASSERT_EQ(again.size(), 2u);
    EXPECT_EQ(again[0].type, packet_type::publish);
    EXPECT_TRUE(again[0].dup);
    EXPECT_EQ(again[0].packet_id, o[0].packet_id);
    EXPECT_EQ(again[1].type, packet_type::pubrel);
    EXPECT_EQ(again[1].packet_id, o[1].packet_id);
}

TEST(mqtt_session, a_new_session_gets_the_publishes_again_without_dup) {
    broker_side b;
    b.connack(false);
    b.s().publish(pub(2, "two"));
    auto o = b.out();
    b.ack(packet_type::pubrec, o[0].packet_id);
    (void)b.out();
    b.s().on_lost();
    b.connack(false);  // the broker lost the session: the whole QoS 2 exchange starts again
    auto again = b.out();
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].type, packet_type::publish);
    EXPECT_FALSE(again[0].dup);
}

TEST(mqtt_session, publishes_queued_while_disconnected_go_out_on_connect_and_qos0_is_dropped) {
    broker_side b;
    auto t0 = b.s().publish(pub(0));
    b.s().publish(pub(1, "later"));
    EXPECT_TRUE(b.s().published_through(t0));  // dropped, nothing to wait for
    EXPECT_TRUE(b.out().empty());
    b.connack(false);
    auto o = b.out();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].payload, "later");
    EXPECT_FALSE(o[0].dup);  // never sent before
}

TEST(mqtt_session, qos0_finishes_when_its_bytes_are_written_and_not_on_loss) {
    broker_side b;
    b.connack(false);
    auto t = b.s().publish(pub(0, "zero"));
    EXPECT_FALSE(b.s().published_through(t));
    std::string bytes;
    b.s().take_output(bytes);
    ASSERT_GT(bytes.size(), 1u);
    EXPECT_FALSE(b.s().on_written(bytes.size() - 1));
    EXPECT_FALSE(b.s().published_through(t));
    EXPECT_TRUE(b.s().on_written(1));
    EXPECT_TRUE(b.s().published_through(t));
    EXPECT_EQ(b.s().published(), 1u);
}

TEST(mqtt_session, the_window_is_the_smaller_of_ours_and_the_brokers_receive_maximum) {
    broker_side b(protocol_version::v5, 3);
    properties limits;
    limits.receive_maximum = 2;
    b.connack(false, limits);
    EXPECT_TRUE(b.s().has_room());
    b.s().publish(pub(1));
    b.s().publish(pub(1));
    EXPECT_FALSE(b.s().has_room());
    auto o = b.out();
    b.ack(packet_type::puback, o[0].packet_id);
    EXPECT_TRUE(b.s().has_room());
}

TEST(mqtt_session, broker_limits_refuse_a_publish_before_it_is_queued) {
    broker_side b;
    properties limits;
    limits.maximum_qos = 1;
    limits.maximum_packet_size = 64;
    b.connack(false, limits);
    EXPECT_FALSE(b.s().check_publish(pub(2)).has_value());
    EXPECT_TRUE(b.s().check_publish(pub(1)).has_value());
    EXPECT_FALSE(b.s().check_publish(pub(1, std::string(100, 'x'))).has_value());
}

TEST(mqtt_session, a_refused_publish_is_reported_once_with_its_class) {
    broker_side b;
    b.connack(false);
    auto t1 = b.s().publish(pub(1));
    auto t2 = b.s().publish(pub(1));
    auto o = b.out();
    b.ack(packet_type::puback, o[0].packet_id, 0x87);  // not authorized
    b.ack(packet_type::puback, o[1].packet_id, 0x97);  // quota exceeded
    auto r1 = b.s().take_refusals(t1);
    ASSERT_EQ(r1.size(), 1u);
    EXPECT_EQ(r1[0].ticket, t1);
    EXPECT_EQ(r1[0].err.retry(), retry_class::fatal);
    auto r2 = b.s().take_refusals(t2);
    ASSERT_EQ(r2.size(), 1u);
    EXPECT_EQ(r2[0].err.retry(), retry_class::throttled);
    EXPECT_TRUE(b.s().take_refusals(t2).empty());
}

TEST(mqtt_session, packet_ids_wrap_and_skip_the_ones_in_use) {
    broker_side b;
    b.connack(false);
    b.s().publish(pub(1));  // pid 1 stays in flight
    auto first = b.out();
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].packet_id, 1);
    // Cycle through every other id once; each is acknowledged at once.
    for (int i = 2; i <= 65535; ++i) {
        b.s().publish(pub(1));
        auto o = b.out();
        ASSERT_EQ(o.size(), 1u);
        ASSERT_EQ(o[0].packet_id, i);
        b.ack(packet_type::puback, o[0].packet_id);
    }
    b.s().publish(pub(1));
    auto o = b.out();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].packet_id, 2) << "0 is never used and 1 is still in flight";
}

TEST(mqtt_session, received_messages_are_acknowledged_in_arrival_order) {
    broker_side b;
    b.connack(false);
    b.publish(10, 1, "a");
    b.publish(11, 2, "b");
    b.publish(12, 0, "c");
    auto m = b.take();
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[2].handle, 0u) << "QoS 0 has nothing to acknowledge";
    std::uint64_t second = m[1].handle;
    b.s().acknowledge({&second, 1});
    EXPECT_TRUE(b.out().empty()) << "the second waits for the first";
    std::uint64_t first = m[0].handle;
    b.s().acknowledge({&first, 1});
    auto o = b.out();
    ASSERT_EQ(o.size(), 2u);
    EXPECT_EQ(o[0].type, packet_type::puback);
    EXPECT_EQ(o[0].packet_id, 10);
    EXPECT_EQ(o[1].type, packet_type::pubrec);
    EXPECT_EQ(o[1].packet_id, 11);
    EXPECT_EQ(b.s().acknowledged(), 2u);
    // Acknowledging again is ignored.
    b.s().acknowledge({&first, 1});
    EXPECT_TRUE(b.out().empty());
}

TEST(mqtt_session, received_qos2_resend_is_not_delivered_twice_and_pubrel_completes) {
    broker_side b;
    b.connack(false);
    b.publish(5, 2, "q2");
    auto m = b.take();
    ASSERT_EQ(m.size(), 1u);
    b.s().acknowledge({&m[0].handle, 1});
    ASSERT_EQ(b.out().size(), 1u);  // PUBREC
    auto r = b.publish(5, 2, "q2", true);
    EXPECT_EQ(r.delivered, 0u);
    EXPECT_EQ(b.s().duplicates(), 1u);
    auto o = b.out();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].type, packet_type::pubrec);
    b.ack(packet_type::pubrel, 5);
    o = b.out();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].type, packet_type::pubcomp);
    // After PUBCOMP the id is free: the same id is a new message.
    EXPECT_EQ(b.publish(5, 2, "new").delivered, 1u);
}

TEST(mqtt_session, resent_after_reconnect_is_recognised_and_only_the_ack_is_owed) {
    broker_side b;
    b.connack(false);
    b.publish(7, 1, "m7");
    auto m = b.take();
    ASSERT_EQ(m.size(), 1u);
    b.s().on_lost();  // before the application acknowledged it
    b.connack(true);
    b.s().acknowledge({&m[0].handle, 1});
    EXPECT_TRUE(b.out().empty()) << "not acknowledgeable until the broker resends it";
    auto r = b.publish(7, 1, "m7", true);
    EXPECT_EQ(r.delivered, 0u);
    EXPECT_EQ(b.s().duplicates(), 1u);
    auto o = b.out();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].type, packet_type::puback);
    EXPECT_EQ(o[0].packet_id, 7);
}

TEST(mqtt_session, an_ack_lost_with_the_connection_is_sent_again) {
    broker_side b;
    b.connack(false);
    b.publish(8, 1, "m8");
    auto m = b.take();
    b.s().acknowledge({&m[0].handle, 1});
    std::string lost;
    b.s().take_output(lost);  // the PUBACK never reaches the broker
    b.s().on_lost();
    b.connack(true);
    auto r = b.publish(8, 1, "m8", true);
    EXPECT_EQ(r.delivered, 0u);
    auto o = b.out();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].type, packet_type::puback);
    // Same id, different content: a new message, delivered.
    b.s().on_lost();
    b.connack(true);
    EXPECT_EQ(b.publish(8, 1, "other", true).delivered, 1u);
}

TEST(mqtt_session, rejected_messages_come_back_with_their_handles) {
    broker_side b;
    b.connack(false);
    b.publish(3, 1, "r");
    auto m = b.take();
    ASSERT_TRUE(b.s().reject({&m[0].handle, 1}));
    EXPECT_FALSE(b.s().reject({&m[0].handle, 1})) << "already rejected";
    b.s().on_lost();
    b.connack(true);
    auto r = b.publish(3, 1, "r", true);
    EXPECT_EQ(r.delivered, 1u);
    auto again = b.take();
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].handle, m[0].handle);
    b.s().acknowledge({&again[0].handle, 1});
    auto o = b.out();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].packet_id, 3);
}

TEST(mqtt_session, rejected_messages_the_broker_does_not_resend_are_reported) {
    broker_side b;
    b.connack(false);
    b.publish(3, 1, "r");
    auto m = b.take();
    ASSERT_TRUE(b.s().reject({&m[0].handle, 1}));
    b.s().on_lost();
    b.connack(true);
    b.publish(4, 1, "fresh");  // not a resend: the redelivery phase is over
    auto n = b.s().take_notices();
    ASSERT_EQ(n.size(), 1u);
    EXPECT_NE(n[0].text.find("did not resend 1 rejected"), std::string::npos) << n[0].text;
    // And a lost session says so at connect.
    auto m2 = b.take();
    ASSERT_EQ(m2.size(), 1u);
    ASSERT_TRUE(b.s().reject({&m2[0].handle, 1}));
    b.s().on_lost();
    b.connack(false);
    n = b.s().take_notices();
    ASSERT_EQ(n.size(), 1u);
    EXPECT_NE(n[0].text.find("1 rejected messages are lost"), std::string::npos) << n[0].text;
}

TEST(mqtt_session, subscriptions_are_renewed_after_a_session_loss_only) {
    broker_side b;
    b.connack(false);
    EXPECT_TRUE(b.s().per_subscription_ids());
    auto pid = b.s().queue_subscribe({{"a/#", {}}}, 1);
    EXPECT_FALSE(b.s().subscribe_done(pid));
    (void)b.out();
    std::string w;
    encode(w, suback_packet{packet_type::suback, pid, {1}, {}}, protocol_version::v5);
    EXPECT_TRUE(b.feed(w).wake_waiters);
    EXPECT_TRUE(b.s().subscribe_done(pid));
    EXPECT_EQ(b.s().finish_subscribe(pid, true), "");
    b.s().add_subscriptions({{"a/#", {}}});
    b.s().on_lost();
    b.connack(true);
    EXPECT_TRUE(b.out().empty()) << "the broker kept the subscription";
    b.s().on_lost();
    b.connack(false);
    auto o = b.out();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].type, packet_type::subscribe);
    EXPECT_EQ(o[0].topic, "a/#");
}

TEST(mqtt_session, a_refused_filter_is_named) {
    broker_side b;
    b.connack(false);
    auto pid = b.s().queue_subscribe({{"x", {}}, {"y", {}}}, 0);
    std::string w;
    encode(w, suback_packet{packet_type::suback, pid, {1, 0x87}, {}}, protocol_version::v5);
    b.feed(w);
    std::string refused = b.s().finish_subscribe(pid, true);
    EXPECT_NE(refused.find("'y'"), std::string::npos) << refused;
    EXPECT_EQ(refused.find("'x'"), std::string::npos) << refused;
}

TEST(mqtt_session, session_takeover_disconnect_names_the_client_id) {
    broker_side b;
    b.connack(false);
    std::string w;
    encode(w, disconnect_packet{packet_type::disconnect, 0x8E, {}}, protocol_version::v5);
    auto r = b.s().on_bytes(w);
    ASSERT_FALSE(r.st.has_value());
    EXPECT_NE(r.st.error().message().find("'cid'"), std::string::npos) << r.st.error().message();
}

TEST(mqtt_session, a_topic_alias_we_did_not_allow_is_a_protocol_error) {
    broker_side b;
    b.connack(false);
    publish_packet p;
    p.topic = "t";
    p.payload = "x";
    p.props.topic_alias = 1;
    std::string w;
    encode(w, p, protocol_version::v5);
    EXPECT_FALSE(b.s().on_bytes(w).st.has_value());
}

TEST(mqtt_session, partial_packets_wait_for_their_remaining_bytes) {
    broker_side b;
    b.connack(false);
    publish_packet p;
    p.topic = "t";
    p.payload = "hello";
    std::string w;
    encode(w, p, protocol_version::v5);
    auto r = b.s().on_bytes(std::string_view(w).substr(0, w.size() - 1));
    EXPECT_TRUE(r.st.has_value());
    EXPECT_EQ(r.consumed, 0u);
    EXPECT_EQ(r.delivered, 0u);
    r = b.s().on_bytes(w);
    EXPECT_EQ(r.consumed, w.size());
    EXPECT_EQ(r.delivered, 1u);
}

TEST(mqtt_session, the_io_thread_is_woken_only_when_output_appears) {
    broker_side b;
    b.connack(false);
    int before = b.wakes();
    b.s().publish(pub(1));
    b.s().publish(pub(1));
    EXPECT_EQ(b.wakes(), before + 1);
    (void)b.out();
    b.s().queue_pingreq();
    EXPECT_EQ(b.wakes(), before + 2);
    auto o = b.out();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].type, packet_type::pingreq);
    EXPECT_TRUE(b.ack(packet_type::puback, 1).wake_waiters);
}

TEST(mqtt_session, mqtt_311_uses_one_subscribe_without_identifiers) {
    broker_side b(protocol_version::v311);
    b.connack(false);
    EXPECT_FALSE(b.s().per_subscription_ids());
    b.publish(1, 1, "v3");
    auto m = b.take();
    ASSERT_EQ(m.size(), 1u);
    b.s().acknowledge({&m[0].handle, 1});
    auto o = b.out();
    ASSERT_EQ(o.size(), 1u);
    EXPECT_EQ(o[0].type, packet_type::puback);
}

}  // namespace
}  // namespace trib::mqtt
