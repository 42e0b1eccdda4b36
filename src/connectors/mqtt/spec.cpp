// The MQTT source and sink specs, and the connection options they share. Option names follow
// the common MQTT connectors (Redpanda Connect/Benthos `mqtt`: urls, client_id, topics, qos,
// clean_session, user/password, keepalive, tls), spelled the way Tributary's other connectors
// spell theirs (username/password, keep_alive, tls.ca_file...), with the Benthos names accepted
// as aliases.

#include <unistd.h>

#include <algorithm>
#include <limits>

#include "connectors/mqtt/codec.h"
#include "connectors/mqtt/mqtt.h"
#include "connectors/mqtt/options.h"

namespace trib::connectors {
namespace {

using config::opt_type;

config::option qos_opt(std::string doc) {
    auto o = config::opt("qos", opt_type::integer, std::move(doc), "1");
    o.min = 0;
    o.max = 2;
    return o;
}

// Connection, authentication and TLS: the same for the source and the sink.
void add_connection_options(config::spec& s, const std::string& default_client_id) {
    auto urls =
        config::opt("urls", opt_type::list,
                    "Broker URLs, `mqtt://host:port` or `mqtts://host:port` (TLS); tried in "
                    "order at start and on every reconnect (fail-over).",
                    "[\"mqtt://127.0.0.1:1883\"]");
    s.options.push_back(urls);
    s.options.push_back(
        config::opt("client_id", opt_type::string,
                    "The MQTT client identifier. `{key}` is the connector's key, `{role}` "
                    "`source` or `sink`, `{hostname}` this machine's name. A persistent "
                    "session belongs to it: keep it stable across restarts, and give "
                    "every process its own (two clients with one id take the session "
                    "from each other).",
                    "\"" + default_client_id + "\""));
    auto version = config::opt("protocol_version", opt_type::enumeration,
                               "MQTT protocol version. 5 is needed for session expiry, shared "
                               "subscriptions, user properties, content type and for the receive "
                               "maximum that lets many messages be in flight.",
                               "\"5\"");
    version.choices = {"5", "3.1.1"};
    s.options.push_back(version);
    auto user = config::optional_opt("username", opt_type::string, "User name for the broker.");
    user.aliases = {"user"};
    s.options.push_back(user);
    s.options.push_back(
        config::optional_opt("password", opt_type::secret, "Password for the broker."));
    auto ka =
        config::opt("keep_alive", opt_type::duration,
                    "Keep alive: a PINGREQ after this much silence; the connection counts as lost "
                    "when the broker does not answer within another period.",
                    "\"30s\"");
    ka.aliases = {"keepalive"};
    ka.min = 1000;
    ka.max = 65'535'000;
    s.options.push_back(ka);
    s.options.push_back(config::opt(
        "connect_timeout", opt_type::duration,
        "Limit for one connection attempt (TCP, TLS handshake and CONNACK).", "\"10s\""));
    auto rmin =
        config::opt("reconnect_backoff_min", opt_type::duration,
                    "First delay before reconnecting after a lost connection; doubled (with "
                    "jitter) after each failed attempt.",
                    "\"100ms\"", true);
    rmin.min = 1;
    s.options.push_back(rmin);
    s.options.push_back(config::opt("reconnect_backoff_max", opt_type::duration,
                                    "The longest delay between reconnect attempts.", "\"10s\"",
                                    true));
    auto clean =
        config::opt("clean_session", opt_type::boolean,
                    "Start a new session on every connect. Off (the default), the broker keeps "
                    "the session for `session_expiry`: its subscriptions and the QoS 1/2 "
                    "messages that arrive while Tributary is away.",
                    "false");
    clean.aliases = {"clean_start"};
    s.options.push_back(clean);
    auto expiry =
        config::opt("session_expiry", opt_type::duration,
                    "MQTT 5: how long the broker keeps the session after a disconnect (0: it "
                    "ends with the connection). MQTT 3.1.1 sessions last until the broker drops "
                    "them.",
                    "\"7d\"");
    expiry.max = 4'294'967'295'000.0;
    s.options.push_back(expiry);

    config::option tls;
    tls.name = "tls";
    tls.type = opt_type::table;
    tls.doc = "TLS to the broker (also on for mqtts:// URLs).";
    tls.children.push_back(
        config::opt("enabled", opt_type::boolean, "Use TLS for every URL.", "false"));
    tls.children.push_back(config::optional_opt(
        "ca_file", opt_type::string,
        "PEM file of the CA certificates that may sign the broker's certificate (default: the "
        "system's CAs)."));
    tls.children.push_back(
        config::optional_opt("cert_file", opt_type::string,
                             "Client certificate (PEM, chain allowed) for brokers "
                             "that require one."));
    tls.children.push_back(config::optional_opt("key_file", opt_type::string,
                                                "The client certificate's private key (PEM)."));
    auto verify =
        config::opt("verify", opt_type::boolean,
                    "Verify the broker's certificate chain and that it names the host. Turn "
                    "off only for tests.",
                    "true");
    tls.children.push_back(verify);
    tls.children.push_back(
        config::optional_opt("server_name", opt_type::string,
                             "Name sent as SNI and checked against the certificate "
                             "(default: the URL's host)."));
    s.options.push_back(tls);
}

std::string hostname() {
    char buf[256] = {};
    if (::gethostname(buf, sizeof buf - 1) != 0)
        return "localhost";
    return buf;
}

std::string fill_client_id(std::string t, std::string_view key, std::string_view role) {
    auto replace = [&](std::string_view what, std::string_view with) {
        for (std::size_t p = t.find(what); p != std::string::npos;
             p = t.find(what, p + with.size()))
            t.replace(p, what.size(), with);
    };
    replace("{key}", key);
    replace("{role}", role);
    if (t.find("{hostname}") != std::string::npos)
        replace("{hostname}", hostname());
    return t;
}

}  // namespace

namespace mqtt_detail {

result<mqtt::client_options> client_options_from(const config::values& v, std::string_view key,
                                                 std::string_view role) {
    mqtt::client_options o;
    o.urls = v.list("urls");
    if (o.urls.empty())
        return fail(errc::invalid_argument, "urls: at least one broker URL is needed");
    for (const auto& u : o.urls) {
        TRIB_TRY(mqtt::parse_url(u));
    }
    o.client_id = fill_client_id(v.str("client_id"), key, role);
    o.version = v.str("protocol_version") == "3.1.1" ? mqtt::protocol_version::v311
                                                     : mqtt::protocol_version::v5;
    if (auto u = v.opt_str("username"))
        o.username = *u;
    if (auto p = v.opt_str("password"))
        o.password = *p;
    o.keep_alive = std::chrono::duration_cast<std::chrono::seconds>(v.duration("keep_alive"));
    o.connect_timeout = v.duration("connect_timeout");
    o.reconnect_min = v.duration("reconnect_backoff_min");
    o.reconnect_max = std::max(v.duration("reconnect_backoff_max"), o.reconnect_min);
    o.clean_start = v.boolean("clean_session");
    auto expiry = std::chrono::duration_cast<std::chrono::seconds>(v.duration("session_expiry"));
    o.session_expiry_s = static_cast<std::uint32_t>(
        std::min<std::int64_t>(expiry.count(), std::numeric_limits<std::uint32_t>::max()));
    auto tls = v.table("tls");
    o.tls.enabled = tls.boolean("enabled");
    o.tls.ca_file = tls.opt_str("ca_file").value_or("");
    o.tls.cert_file = tls.opt_str("cert_file").value_or("");
    o.tls.key_file = tls.opt_str("key_file").value_or("");
    o.tls.verify = tls.boolean("verify");
    o.tls.server_name = tls.opt_str("server_name").value_or("");
    o.name = std::string(key);
    if (o.client_id.empty() && !o.clean_start)
        return fail(errc::invalid_argument,
                    "client_id: a persistent session (clean_session = false) needs a client id");
    return o;
}

}  // namespace mqtt_detail

config::spec mqtt_source_spec() {
    config::spec s;
    s.name = "mqtt";
    s.kind = config::spec_kind::source;
    s.guarantee =
        "QoS 0 at-most-once; QoS 1/2 at-least-once; with `message_ids = \"packet\"` and a "
        "de-duplicating Iggy server the broker's redeliveries are dropped";
    s.summary = "Subscribes to MQTT topics (3.1.1 or 5, QoS 0/1/2) and sends the messages to Iggy";
    s.description =
        "Each PUBLISH the broker delivers becomes one Iggy message: the payload as it is, the "
        "MQTT topic, QoS and retain flag (and, with MQTT 5, content type, response topic, "
        "correlation data and every user property) as user headers. Topic filters may use `+` "
        "and `#`, and several subscriptions can route to different Iggy streams and topics.\n\n"
        "**Nothing is lost across restarts of either side.** The session is persistent by "
        "default (`clean_session = false`, `session_expiry = 7d`), so the broker keeps the "
        "subscriptions and queues QoS 1/2 messages while Tributary is down. A QoS 1/2 message "
        "is acknowledged to the broker (PUBACK/PUBREC) only after Iggy accepted it; "
        "acknowledgements leave in the order the messages arrived. A crash between the two "
        "means the broker delivers the message again, never that it is gone (at-least-once; "
        "QoS 0 is at-most-once by definition). Messages the broker resends after a reconnect "
        "that Tributary already holds are recognised and not sent to Iggy twice. The broker's "
        "own limits still apply: Mosquitto keeps at most `max_queued_messages` (default 1000) "
        "per offline client, so raise it for long outages.\n\n"
        "Several Tributary processes can split one flow with an MQTT 5 shared subscription "
        "(`shared_group`, or a filter written `$share/group/filter`); give each process its own "
        "`client_id`.\n\n"
        "Routing: a message goes to the `[[streams]]` entry unless its subscription names "
        "`stream` and `topic`. Its partitioning key is the whole MQTT topic by default "
        "(`key = \"topic\"`: one device's messages stay in order in one partition), one level "
        "of it (`key = \"level\"`, `key_level`), or none.";
    s.example = R"(type = "source"
key = "sensors"
enabled = true
version = 0
name = "Sensor readings from Mosquitto"
plugin = "mqtt"

[[streams]]
stream = "iot"
topic = "events"
schema = "json"

[plugin_config]
urls = ["mqtts://broker.example.com:8883"]
client_id = "tributary-{key}"
username = "tributary"
password = "${env:MQTT_PASSWORD}"
qos = 1
key = "level"
key_level = 1

[[plugin_config.subscriptions]]
filter = "sensors/+/temp"
stream = "iot"
topic = "temperature"

[[plugin_config.subscriptions]]
filter = "sensors/+/humidity"
stream = "iot"
topic = "humidity"

[plugin_config.tls]
ca_file = "/etc/ssl/certs/broker-ca.pem")";

    add_connection_options(s, "tributary-{key}");
    auto topics =
        config::opt("topics", opt_type::list,
                    "Topic filters to subscribe to (`+` one level, `#` the rest), all with "
                    "`qos`, routed to the `[[streams]]` entry.",
                    "[]");
    s.options.push_back(topics);
    s.options.push_back(qos_opt(
        "The QoS to subscribe with (the broker delivers at most this): 0 at most once, 1 at "
        "least once, 2 exactly once between broker and Tributary."));
    s.options.push_back(config::optional_opt("shared_group", opt_type::string,
                                             "MQTT 5: subscribe to every filter as the shared "
                                             "subscription `$share/<group>/<filter>`, so that the "
                                             "processes of one group split the messages."));
    config::option subs;
    subs.name = "subscriptions";
    subs.type = opt_type::table_list;
    subs.optional = true;
    subs.doc = "Subscriptions with their own QoS, destination and key (in addition to `topics`).";
    subs.children.push_back(
        config::opt("filter", opt_type::string, "The topic filter.", std::nullopt));
    auto sq =
        config::optional_opt("qos", opt_type::integer, "QoS (default: the connector's `qos`).");
    sq.min = 0;
    sq.max = 2;
    subs.children.push_back(sq);
    subs.children.push_back(config::optional_opt("stream", opt_type::string,
                                                 "Iggy stream for these messages (with `topic`)."));
    subs.children.push_back(config::optional_opt("topic", opt_type::string,
                                                 "Iggy topic for these messages (with `stream`)."));
    auto skl =
        config::optional_opt("key_level", opt_type::integer,
                             "Key these messages by this topic level (0 = the first), whatever "
                             "the connector's `key`.");
    skl.min = 0;
    subs.children.push_back(skl);
    s.options.push_back(subs);
    auto key = config::opt("key", opt_type::enumeration,
                           "The Iggy partitioning key: the whole MQTT topic, one level of it "
                           "(`key_level`), or none (the stream's default partitioning).",
                           "\"topic\"");
    key.choices = {"topic", "level", "none"};
    s.options.push_back(key);
    auto kl =
        config::opt("key_level", opt_type::integer,
                    "With `key = \"level\"`: the topic level (0 = the first) that is the key, e.g. "
                    "1 for the device in `sensors/<device>/temp`.",
                    "0");
    kl.min = 0;
    s.options.push_back(kl);
    auto rh =
        config::opt("retained", opt_type::enumeration,
                    "MQTT 5: which retained messages the broker sends when subscribing: all, only "
                    "for a subscription the session did not have yet (no repeats on every "
                    "restart), or none.",
                    "\"new_subscription_only\"");
    rh.choices = {"all", "new_subscription_only", "none"};
    s.options.push_back(rh);
    s.options.push_back(
        config::opt("headers", opt_type::boolean,
                    "Add the `mqtt.*` headers (topic, qos, retain; MQTT 5 content type, "
                    "response topic, correlation data, message expiry).",
                    "true"));
    s.options.push_back(
        config::opt("user_properties", opt_type::boolean,
                    "MQTT 5: add every user property as a string header of the same name "
                    "(the first one wins when a name repeats).",
                    "true"));
    auto batch =
        config::opt("max_batch_messages", opt_type::integer,
                    "At most this many messages per batch handed to the runtime.", "1000", true);
    batch.min = 1;
    batch.max = 1'000'000;
    s.options.push_back(batch);
    auto rm =
        config::opt("receive_maximum", opt_type::integer,
                    "MQTT 5: how many QoS 1/2 messages the broker may send before Tributary "
                    "acknowledged them (the window between the broker and Iggy). With 3.1.1 the "
                    "broker's setting applies (Mosquitto `max_inflight_messages`, default 20).",
                    "65535", true);
    rm.min = 1;
    rm.max = 65535;
    s.options.push_back(rm);
    auto ids = config::opt(
        "message_ids", opt_type::enumeration,
        "`random`: Iggy draws each message id. `packet`: QoS 1/2 messages get an id hashed "
        "from the client id, topic, packet identifier and payload, so the broker's redelivery "
        "after a crash (same packet identifier) gets the same id and a de-duplicating server "
        "drops it; the identical payload on the same topic under a reused packet identifier "
        "within the de-duplication window is dropped too (see the README). QoS 0: random.",
        "\"random\"");
    ids.choices = {"random", "packet"};
    s.options.push_back(ids);
    auto mq = config::opt("max_buffered_messages", opt_type::integer,
                          "Received messages held before Tributary stops reading from the broker "
                          "(backpressure).",
                          "100000", true);
    mq.min = 1;
    s.options.push_back(mq);
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.list("topics").empty() && v.tables("subscriptions").empty())
            report("topics", "subscribe to something: `topics` or `[[subscriptions]]`");
        for (const auto& t : v.list("topics")) {
            if (!mqtt::valid_topic_filter(t))
                report("topics", "invalid topic filter \"" + t + "\"");
        }
        auto subs_list = v.tables("subscriptions");
        for (std::size_t i = 0; i < subs_list.size(); ++i) {
            const auto& sub = subs_list[i];
            const std::string p = "subscriptions[" + std::to_string(i) + "]";
            if (!mqtt::valid_topic_filter(sub.str("filter")))
                report(p + ".filter", "invalid topic filter \"" + sub.str("filter") + "\"");
            if (sub.opt_str("stream").has_value() != sub.opt_str("topic").has_value())
                report(p, "`stream` and `topic` go together");
        }
        const bool v5 = v.str("protocol_version") == "5";
        if (!v5 && v.opt_str("shared_group"))
            report("shared_group", "shared subscriptions need protocol_version = \"5\"");
    };
    return s;
}

config::spec mqtt_sink_spec() {
    config::spec s;
    s.name = "mqtt";
    s.kind = config::spec_kind::sink;
    s.guarantee =
        "QoS 0 at-most-once; QoS 1/2 at-least-once (a runtime crash publishes the unacknowledged "
        "batch again)";
    s.summary = "Publishes Iggy messages to an MQTT broker (3.1.1 or 5, QoS 0/1/2)";
    s.description =
        "Each Iggy message becomes one PUBLISH with the message's payload, to a topic made from "
        "`topic`: `{name}` is replaced by the message's header `name`, or else by the field "
        "`name` of a JSON payload (dots go into nested objects: `{device.id}`); `{$stream}`, "
        "`{$topic}`, `{$partition}` and `{$offset}` are the Iggy message's. A message whose "
        "topic cannot be made (missing field, wildcard, empty) is rejected to the error "
        "policy.\n\n"
        "With MQTT 5 the headers `mqtt.content_type`, `mqtt.response_topic`, "
        "`mqtt.correlation_data` and `mqtt.message_expiry` become the PUBLISH properties of "
        "those names, and every other header a user property (`headers_to_properties`).\n\n"
        "**Offsets are committed only after the broker acknowledged** every message of the "
        "batch (PUBACK for QoS 1, PUBCOMP for QoS 2); messages are pipelined, up to "
        "`max_in_flight` unacknowledged. Across a lost connection the client resends what was "
        "not acknowledged (with a persistent session, QoS 2 stays exactly-once between "
        "Tributary and the broker). QoS 0 messages are only written to the socket; a batch "
        "during which the connection dropped is reported failed and sent again.";
    s.example = R"(type = "sink"
key = "commands"
enabled = true
version = 0
name = "Device commands to MQTT"
plugin = "mqtt"

[[streams]]
stream = "iot"
topics = ["commands"]
schema = "json"

[plugin_config]
urls = ["mqtt://127.0.0.1:1883"]
topic = "devices/{device_id}/commands"
qos = 1)";
    add_connection_options(s, "tributary-{key}-sink");
    s.options.push_back(
        config::opt("topic", opt_type::string,
                    "The MQTT topic to publish to, with `{header or JSON field}` and "
                    "`{$stream}`, `{$topic}`, `{$partition}`, `{$offset}` placeholders.",
                    std::nullopt));
    s.options.push_back(qos_opt("QoS of the PUBLISH packets."));
    s.options.push_back(
        config::opt("retain", opt_type::boolean,
                    "Publish with the retain flag (the broker keeps the last message of "
                    "each topic for new subscribers).",
                    "false"));
    s.options.push_back(
        config::opt("headers_to_properties", opt_type::boolean,
                    "MQTT 5: the `mqtt.*` headers become PUBLISH properties and the other "
                    "headers user properties.",
                    "true"));
    s.options.push_back(config::optional_opt("content_type", opt_type::string,
                                             "MQTT 5: content type of every message (overrides the "
                                             "`mqtt.content_type` header)."));
    s.options.push_back(config::optional_opt("message_expiry", opt_type::duration,
                                             "MQTT 5: message expiry interval of every message."));
    auto mif =
        config::opt("max_in_flight", opt_type::integer,
                    "QoS 1/2 messages sent and not yet acknowledged at most (the broker's receive "
                    "maximum may lower it).",
                    "1000");
    mif.min = 1;
    mif.max = 65000;
    s.options.push_back(mif);
    s.options.push_back(
        config::opt("write_timeout", opt_type::duration,
                    "How long a batch may wait for the broker's acknowledgements "
                    "(including reconnects) before it is reported failed and retried.",
                    "\"30s\""));
    s.check = [](const config::values& v, const config::check_report& report) {
        const auto t = v.str("topic");
        if (t.empty())
            report("topic", "must not be empty");
        if (t.find_first_of("+#") != std::string::npos)
            report("topic", "MQTT topic names cannot contain wildcards (+ or #)");
    };
    return s;
}

}  // namespace trib::connectors
