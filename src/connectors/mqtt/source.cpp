// The MQTT source: subscribes, turns each PUBLISH into an Iggy message (payload as is, MQTT
// metadata as headers, key and route from the subscription), and acknowledges QoS 1/2 messages
// to the broker only when the runtime says Iggy has them (ack), in arrival order.

#include <spdlog/spdlog.h>

#include <deque>
#include <mutex>

#include "connectors/mqtt/client.h"
#include "connectors/mqtt/codec.h"
#include "connectors/mqtt/mqtt.h"
#include "connectors/mqtt/options.h"
#include "core/message_id.h"

namespace trib::connectors {
namespace {

using namespace std::chrono_literals;

enum class key_mode { topic, level, none };

struct subscription_cfg {
    std::string filter;  // as subscribed (may be $share/...)
    std::string match;   // the filter part that topics match
    std::uint8_t qos = 1;
    std::optional<stream_ref> dest;
    std::optional<int> key_level;
    std::uint16_t route = 0;  // filled at open
};

header string_header(std::string key, std::string_view v) {
    return header{std::move(key), value_kind::string, std::string(v)};
}

// The level `n` (0-based) of an MQTT topic; empty if the topic has fewer levels.
std::string_view topic_level(std::string_view topic, int n) {
    std::size_t start = 0;
    for (int i = 0; i < n; ++i) {
        auto slash = topic.find('/', start);
        if (slash == std::string_view::npos)
            return {};
        start = slash + 1;
    }
    auto end = topic.find('/', start);
    return topic.substr(start, end == std::string_view::npos ? end : end - start);
}

class mqtt_source final : public source {
  public:
    struct options {
        config::values raw;  // the connection options are read at open (they need the key)
        std::vector<subscription_cfg> subs;
        key_mode key = key_mode::topic;
        int key_level = 0;
        std::uint8_t retain_handling = 1;
        bool headers = true;
        bool user_properties = true;
        std::size_t max_batch = 1000;
        std::uint16_t receive_maximum = 65535;
        std::size_t max_buffered = 100'000;
        bool packet_ids = false;  // message_ids = "packet"
    };

    explicit mqtt_source(options o) : o_(std::move(o)) {}
    ~mqtt_source() override { close(); }

    status open(connector_context& ctx, std::string_view /*state: the broker keeps it*/) override {
        close();
        TRIB_ASSIGN_OR_RETURN(auto co, mqtt_detail::client_options_from(o_.raw, ctx.key, "source"));
        co.receive_maximum = o_.receive_maximum;
        co.max_queued = o_.max_buffered;
        v5_ = co.version == mqtt::protocol_version::v5;
        client_id_ = co.client_id;
        for (auto& s : o_.subs)
            s.route = s.dest ? ctx.add_route(*s.dest) : 0;
        auto c = mqtt::client::connect(std::move(co));
        if (!c)
            return c.error().wrap("mqtt source " + ctx.key);
        std::vector<mqtt::subscription> list;
        for (const auto& s : o_.subs) {
            mqtt::subscription sub;
            sub.filter = s.filter;
            sub.options.qos = s.qos;
            sub.options.retain_handling = o_.retain_handling;
            list.push_back(std::move(sub));
        }
        auto st = (*c)->subscribe(list, 30s);
        if (!st)
            return st.error().wrap("mqtt source " + ctx.key);
        std::lock_guard lk(mu_);
        client_ = std::move(*c);
        key_ = ctx.key;
        seq_ = 0;
        pending_.clear();
        return ok();
    }

    result<source_batch> poll(std::chrono::milliseconds max_wait) override {
        if (!client_)
            return fail(errc::failed_precondition, "mqtt source: poll before open");
        received_.clear();
        client_->receive(received_, o_.max_batch, max_wait);
        source_batch out;
        if (received_.empty())
            return out;
        std::vector<std::uint64_t> handles;
        out.batch.messages.reserve(received_.size());
        for (auto& m : received_) {
            if (m.handle != 0)
                handles.push_back(m.handle);
            out.batch.messages.push_back(convert(m, out.batch));
        }
        std::lock_guard lk(mu_);
        pending_.emplace_back(++seq_, std::move(handles));
        return out;
    }

    void ack(std::uint64_t seq) override {
        std::lock_guard lk(mu_);
        auto h = take_locked(seq);
        if (client_ && !h.empty())
            client_->acknowledge(h);
    }

    void nack(std::uint64_t seq) override {
        std::lock_guard lk(mu_);
        auto h = take_locked(seq);
        if (client_ && !h.empty())
            client_->reject(h);
    }

    // Unacknowledged messages stay with the broker's session: the next open gets them again.
    void close() override {
        std::lock_guard lk(mu_);
        client_.reset();
    }

  private:
    std::vector<std::uint64_t> take_locked(std::uint64_t seq) {
        for (auto it = pending_.begin(); it != pending_.end(); ++it) {
            if (it->first == seq) {
                auto h = std::move(it->second);
                pending_.erase(it);
                return h;
            }
        }
        return {};
    }

    // The subscription a message came through: by MQTT 5 subscription identifier (the
    // client numbers subscriptions 1.. in the order of our single subscribe call), else the
    // first whose filter matches.
    const subscription_cfg* subscription_of(const mqtt::message& m) const {
        if (!m.props.subscription_identifiers.empty()) {
            std::uint32_t id = m.props.subscription_identifiers.front();
            for (auto x : m.props.subscription_identifiers)
                id = std::min(id, x);
            if (id >= 1 && id <= o_.subs.size())
                return &o_.subs[id - 1];
        }
        for (const auto& s : o_.subs) {
            if (mqtt::topic_matches(s.match, m.topic))
                return &s;
        }
        return nullptr;
    }

    message convert(mqtt::message& m, message_batch& b) const {
        message out;
        const subscription_cfg* sub = subscription_of(m);
        if (sub != nullptr)
            out.route = sub->route;
        const std::optional<int> level = sub != nullptr && sub->key_level ? sub->key_level
                                         : o_.key == key_mode::level
                                             ? std::optional<int>(o_.key_level)
                                             : std::nullopt;
        if (level)
            out.key = std::string(topic_level(m.topic, *level));
        else if (o_.key == key_mode::topic)
            out.key = m.topic;
        if (o_.headers) {
            out.headers.reserve(3 + m.props.user_properties.size());
            out.headers.push_back(string_header("mqtt.topic", m.topic));
            out.headers.push_back(
                header{"mqtt.qos", value_kind::uint8, std::string(1, static_cast<char>(m.qos))});
            out.headers.push_back(
                header{"mqtt.retain", value_kind::boolean, std::string(1, m.retain ? 1 : 0)});
            const auto& p = m.props;
            if (p.content_type)
                out.headers.push_back(string_header("mqtt.content_type", *p.content_type));
            if (p.response_topic)
                out.headers.push_back(string_header("mqtt.response_topic", *p.response_topic));
            if (p.correlation_data)
                out.headers.push_back(
                    header{"mqtt.correlation_data", value_kind::raw, *p.correlation_data});
            if (p.message_expiry_interval) {
                std::string le(4, '\0');
                for (int i = 0; i < 4; ++i)
                    le[static_cast<std::size_t>(i)] =
                        static_cast<char>((*p.message_expiry_interval >> (8 * i)) & 0xff);
                out.headers.push_back(header{"mqtt.message_expiry", value_kind::uint32, le});
            }
        }
        if (o_.user_properties && v5_) {
            for (auto& [k, v] : m.props.user_properties) {
                if (k.empty() || out.find_header(k) != nullptr)
                    continue;  // Iggy header keys are unique: the first one wins
                out.headers.push_back(string_header(k, v));
            }
        }
        if (o_.packet_ids && m.qos > 0)
            out.id = packet_message_id(client_id_, m.topic, m.packet_id, m.payload);
        out.payload = b.own(std::move(m.payload));
        return out;
    }

    options o_;
    std::unique_ptr<mqtt::client> client_;
    std::string key_;
    std::string client_id_;  // the session's (the broker redelivers within it)
    bool v5_ = true;
    std::uint64_t seq_ = 0;
    std::vector<mqtt::message> received_;
    // pending_ and client_ (reset by close): poll() adds, ack()/nack() (another thread) take.
    std::mutex mu_;
    std::deque<std::pair<std::uint64_t, std::vector<std::uint64_t>>> pending_;
};

}  // namespace

message_id packet_message_id(std::string_view client_id, std::string_view topic,
                             std::uint16_t packet_id, std::string_view payload) {
    return message_id_builder("mqtt")
        .add(client_id)
        .add(topic)
        .add_u32(packet_id)
        .add(payload)
        .finish();
}

result<std::unique_ptr<source>> make_mqtt_source(const config::values& v) {
    mqtt_source::options o;
    o.raw = v;
    const auto qos = static_cast<std::uint8_t>(v.integer("qos"));
    const auto group = v.opt_str("shared_group");
    auto add = [&](subscription_cfg s) {
        s.match = std::string(mqtt::strip_share(s.filter));
        if (group && !s.filter.starts_with("$share/"))
            s.filter = "$share/" + *group + "/" + s.filter;
        o.subs.push_back(std::move(s));
    };
    for (const auto& t : v.list("topics")) {
        subscription_cfg s;
        s.filter = t;
        s.qos = qos;
        add(std::move(s));
    }
    for (const auto& t : v.tables("subscriptions")) {
        subscription_cfg s;
        s.filter = t.str("filter");
        s.qos = static_cast<std::uint8_t>(t.opt_integer("qos").value_or(qos));
        auto stream = t.opt_str("stream");
        auto topic = t.opt_str("topic");
        if (stream && topic)
            s.dest = stream_ref{*stream, *topic};
        if (auto kl = t.opt_integer("key_level"))
            s.key_level = static_cast<int>(*kl);
        add(std::move(s));
    }
    if (o.subs.empty())
        return fail(errc::invalid_argument, "mqtt source: no topics or subscriptions");
    for (const auto& s : o.subs) {
        if (!mqtt::valid_topic_filter(s.filter))
            return fail(errc::invalid_argument, "invalid MQTT topic filter '" + s.filter + "'");
    }
    const auto key = v.str("key");
    o.key = key == "level" ? key_mode::level : key == "none" ? key_mode::none : key_mode::topic;
    o.key_level = static_cast<int>(v.integer("key_level"));
    const auto retained = v.str("retained");
    o.retain_handling = retained == "all" ? 0 : retained == "none" ? 2 : 1;
    o.headers = v.boolean("headers");
    o.user_properties = v.boolean("user_properties");
    o.max_batch = static_cast<std::size_t>(v.integer("max_batch_messages"));
    o.receive_maximum = static_cast<std::uint16_t>(v.integer("receive_maximum"));
    o.max_buffered = static_cast<std::size_t>(v.integer("max_buffered_messages"));
    o.packet_ids = v.str("message_ids") == "packet";
    return std::unique_ptr<source>(std::make_unique<mqtt_source>(std::move(o)));
}

}  // namespace trib::connectors
