// The MQTT sink: one PUBLISH per Iggy message, to a topic made from a template; write() returns
// only when the broker acknowledged the whole batch (PUBACK/PUBCOMP), so the runtime commits
// offsets of delivered messages only.

#include <rapidjson/document.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cstring>

#include "connectors/mqtt/client.h"
#include "connectors/mqtt/codec.h"
#include "connectors/mqtt/mqtt.h"
#include "connectors/mqtt/options.h"
#include "core/json_parse.h"
#include "core/json_path.h"

namespace trib::connectors {
namespace {

using clock = std::chrono::steady_clock;

// One piece of a topic template.
struct segment {
    enum kind_t { literal, field, iggy_stream, iggy_topic, iggy_partition, iggy_offset };
    kind_t kind = literal;
    std::string text;               // literal text, or the header/field name
    std::vector<std::string> path;  // the name split at dots (JSON path)
};

result<std::vector<segment>> parse_template(std::string_view t) {
    std::vector<segment> out;
    std::string lit;
    for (std::size_t i = 0; i < t.size(); ++i) {
        char c = t[i];
        if (c == '{' && i + 1 < t.size() && t[i + 1] == '{') {
            lit += '{';
            ++i;
            continue;
        }
        if (c == '}' && i + 1 < t.size() && t[i + 1] == '}') {
            lit += '}';
            ++i;
            continue;
        }
        if (c != '{') {
            lit += c;
            continue;
        }
        auto close = t.find('}', i);
        if (close == std::string_view::npos)
            return fail(errc::invalid_argument,
                        "topic: unclosed '{' in \"" + std::string(t) + "\"");
        std::string name(t.substr(i + 1, close - i - 1));
        if (name.empty())
            return fail(errc::invalid_argument, "topic: empty placeholder {}");
        if (!lit.empty()) {
            out.push_back({segment::literal, std::move(lit), {}});
            lit.clear();
        }
        segment s;
        if (name.starts_with("$")) {
            if (name == "$stream")
                s.kind = segment::iggy_stream;
            else if (name == "$topic")
                s.kind = segment::iggy_topic;
            else if (name == "$partition")
                s.kind = segment::iggy_partition;
            else if (name == "$offset")
                s.kind = segment::iggy_offset;
            else
                return fail(errc::invalid_argument,
                            "topic: unknown placeholder {" + name +
                                "} (known: {$stream}, {$topic}, {$partition}, {$offset})");
        } else {
            s.kind = segment::field;
            std::size_t start = 0;
            for (;;) {
                auto dot = name.find('.', start);
                s.path.push_back(name.substr(start, dot == std::string::npos ? dot : dot - start));
                if (dot == std::string::npos)
                    break;
                start = dot + 1;
            }
        }
        s.text = std::move(name);
        out.push_back(std::move(s));
        i = close;
    }
    if (!lit.empty())
        out.push_back({segment::literal, std::move(lit), {}});
    return out;
}

template <class T>
T read_le(std::string_view v) {
    T x{};
    std::memcpy(&x, v.data(), std::min(sizeof(T), v.size()));
    return x;
}

// A header's value as text (for topics and MQTT 5 user properties). Numbers are little-endian
// on the wire.
std::optional<std::string> header_text(const header& h) {
    const auto& v = h.value;
    auto need = [&](std::size_t n) { return v.size() == n; };
    switch (h.kind) {
        case value_kind::string:
            return v;
        case value_kind::raw:
            if (mqtt::valid_utf8(v))
                return v;
            return std::nullopt;
        case value_kind::boolean:
            return need(1) ? std::optional<std::string>(v[0] ? "true" : "false") : std::nullopt;
        case value_kind::int8:
            return need(1) ? std::optional(std::to_string(read_le<std::int8_t>(v))) : std::nullopt;
        case value_kind::int16:
            return need(2) ? std::optional(std::to_string(read_le<std::int16_t>(v))) : std::nullopt;
        case value_kind::int32:
            return need(4) ? std::optional(std::to_string(read_le<std::int32_t>(v))) : std::nullopt;
        case value_kind::int64:
            return need(8) ? std::optional(std::to_string(read_le<std::int64_t>(v))) : std::nullopt;
        case value_kind::uint8:
            return need(1) ? std::optional(std::to_string(read_le<std::uint8_t>(v))) : std::nullopt;
        case value_kind::uint16:
            return need(2) ? std::optional(std::to_string(read_le<std::uint16_t>(v)))
                           : std::nullopt;
        case value_kind::uint32:
            return need(4) ? std::optional(std::to_string(read_le<std::uint32_t>(v)))
                           : std::nullopt;
        case value_kind::uint64:
            return need(8) ? std::optional(std::to_string(read_le<std::uint64_t>(v)))
                           : std::nullopt;
        case value_kind::float32: {
            if (!need(4))
                return std::nullopt;
            char buf[32];
            auto r = std::to_chars(buf, buf + sizeof buf, read_le<float>(v));
            return std::string(buf, r.ptr);
        }
        case value_kind::float64: {
            if (!need(8))
                return std::nullopt;
            char buf[32];
            auto r = std::to_chars(buf, buf + sizeof buf, read_le<double>(v));
            return std::string(buf, r.ptr);
        }
        default:
            return std::nullopt;  // 128-bit integers: no text form here
    }
}

class mqtt_sink final : public sink {
  public:
    struct options {
        config::values raw;
        std::vector<segment> topic;
        std::uint8_t qos = 1;
        bool retain = false;
        bool headers_to_properties = true;
        std::optional<std::string> content_type;
        std::optional<std::uint32_t> message_expiry_s;
        std::size_t max_in_flight = 1000;
        std::chrono::milliseconds write_timeout{30000};
    };

    explicit mqtt_sink(options o) : o_(std::move(o)) {}
    ~mqtt_sink() override { close(); }

    status open(connector_context& ctx) override {
        close();
        TRIB_ASSIGN_OR_RETURN(auto co, mqtt_detail::client_options_from(o_.raw, ctx.key, "sink"));
        co.max_inflight = o_.max_in_flight;
        v5_ = co.version == mqtt::protocol_version::v5;
        auto c = mqtt::client::connect(std::move(co));
        if (!c)
            return c.error().wrap("mqtt sink " + ctx.key);
        client_ = std::move(*c);
        return ok();
    }

    result<write_outcome> write(const sink_batch& batch) override {
        if (!client_)
            return fail(errc::failed_precondition, "mqtt sink: write before open");
        write_outcome out;
        const auto& msgs = batch.messages->messages;
        if (msgs.empty())
            return out;
        if (o_.qos == 0 && !client_->connected()) {
            return error(errc::unavailable, retry_class::retryable,
                         "not connected to the MQTT broker: " + client_->last_error().message());
        }
        const auto connects_before = client_->stats().connects;
        const auto deadline = clock::now() + o_.write_timeout;
        std::vector<std::pair<std::uint64_t, std::size_t>> tickets;  // ticket, message index
        tickets.reserve(msgs.size());
        std::string topic;
        mqtt::publish_packet p;
        for (std::size_t i = 0; i < msgs.size(); ++i) {
            const message& m = msgs[i];
            topic.clear();
            auto st = render_topic(batch, m, topic);
            if (!st) {
                out.rejected.push_back({i, st.error()});
                continue;
            }
            p = mqtt::publish_packet{};
            p.topic = topic;
            p.payload = m.payload;
            p.qos = o_.qos;
            p.retain = o_.retain;
            if (v5_)
                fill_properties(m, p.props);
            auto t = client_->publish(p, deadline);
            if (!t) {
                if (t.error().code() == errc::invalid_argument) {
                    out.rejected.push_back({i, t.error()});
                    continue;
                }
                return t.error().wrap("mqtt sink");
            }
            tickets.emplace_back(*t, i);
        }
        if (tickets.empty())
            return out;
        auto refused = client_->wait_published(tickets.back().first, deadline);
        if (!refused)
            return refused.error().wrap("mqtt sink");
        for (auto& r : *refused) {
            if (r.err.retry() != retry_class::fatal)
                return r.err.wrap("mqtt sink");  // e.g. quota exceeded: the batch again, later
            auto it = std::lower_bound(tickets.begin(), tickets.end(), r.ticket,
                                       [](const auto& a, std::uint64_t t) { return a.first < t; });
            if (it != tickets.end() && it->first == r.ticket)
                out.rejected.push_back({it->second, std::move(r.err)});
        }
        // QoS 0 has no acknowledgement: if the connection changed under the batch, some
        // messages may not have been written; report the batch failed so that it is sent again.
        if (o_.qos == 0 && client_->stats().connects != connects_before) {
            return error(errc::unavailable, retry_class::retryable,
                         "the MQTT connection was re-established during a QoS 0 batch");
        }
        return out;
    }

    void close() override { client_.reset(); }

  private:
    status render_topic(const sink_batch& b, const message& m, std::string& out) {
        bool parsed = false;
        std::string parse_error;
        doc_.SetNull();
        // A reused Document keeps every parse's values in its pool: bound it.
        if (doc_.GetAllocator().Capacity() > (1u << 20))
            doc_.GetAllocator().Clear();
        for (const auto& s : o_.topic) {
            switch (s.kind) {
                case segment::literal:
                    out += s.text;
                    break;
                case segment::iggy_stream:
                    out += b.stream;
                    break;
                case segment::iggy_topic:
                    out += b.topic;
                    break;
                case segment::iggy_partition:
                    out += std::to_string(b.partition);
                    break;
                case segment::iggy_offset:
                    out += std::to_string(m.offset);
                    break;
                case segment::field: {
                    if (const header* h = m.find_header(s.text)) {
                        auto text = header_text(*h);
                        if (!text)
                            return bad(m, "header '" + s.text + "' has no text form");
                        out += *text;
                        break;
                    }
                    if (!parsed) {
                        parsed = true;
                        if (auto st = parse_json_document(m.payload, doc_); !st)
                            parse_error = st.error().message();
                    }
                    if (!parse_error.empty())
                        return bad(m, "no header '" + s.text + "' for the topic, and the payload " +
                                          "is not JSON: " + parse_error);
                    auto text = json_field(s.path);
                    if (!text)
                        return bad(m, "no header or JSON field '" + s.text + "' for the topic");
                    out += *text;
                    break;
                }
            }
        }
        if (!mqtt::valid_topic_name(out))
            return bad(m, "'" + out + "' is not a valid MQTT topic name");
        return ok();
    }

    std::optional<std::string> json_field(const std::vector<std::string>& path) const {
        const rapidjson::Value* v = doc_.IsObject() ? json_member_at(doc_, path) : nullptr;
        return v != nullptr ? json_scalar_text(*v) : std::nullopt;
    }

    static status bad(const message& m, const std::string& why) {
        return error(errc::invalid_argument, retry_class::fatal,
                     "message at offset " + std::to_string(m.offset) + ": " + why);
    }

    void fill_properties(const message& m, mqtt::properties& p) const {
        if (o_.content_type)
            p.content_type = *o_.content_type;
        if (o_.message_expiry_s)
            p.message_expiry_interval = *o_.message_expiry_s;
        if (!o_.headers_to_properties)
            return;
        for (const auto& h : m.headers) {
            if (h.key.starts_with("mqtt.")) {
                if (h.key == "mqtt.content_type" && !p.content_type)
                    p.content_type = header_text(h);
                else if (h.key == "mqtt.response_topic")
                    p.response_topic = header_text(h);
                else if (h.key == "mqtt.correlation_data")
                    p.correlation_data = h.value;
                else if (h.key == "mqtt.message_expiry" && !p.message_expiry_interval &&
                         h.kind == value_kind::uint32 && h.value.size() == 4)
                    p.message_expiry_interval = read_le<std::uint32_t>(h.value);
                continue;  // mqtt.topic, mqtt.qos, mqtt.retain: the source's metadata
            }
            if (auto text = header_text(h); text && mqtt::valid_utf8(h.key))
                p.user_properties.emplace_back(h.key, std::move(*text));
        }
    }

    options o_;
    std::unique_ptr<mqtt::client> client_;
    bool v5_ = true;
    rapidjson::Document doc_;
};

}  // namespace

result<std::unique_ptr<sink>> make_mqtt_sink(const config::values& v) {
    mqtt_sink::options o;
    o.raw = v;
    TRIB_ASSIGN_OR_RETURN(o.topic, parse_template(v.str("topic")));
    o.qos = static_cast<std::uint8_t>(v.integer("qos"));
    o.retain = v.boolean("retain");
    o.headers_to_properties = v.boolean("headers_to_properties");
    o.content_type = v.opt_str("content_type");
    if (v.has("message_expiry")) {
        o.message_expiry_s = static_cast<std::uint32_t>(
            std::chrono::duration_cast<std::chrono::seconds>(v.duration("message_expiry")).count());
    }
    o.max_in_flight = static_cast<std::size_t>(v.integer("max_in_flight"));
    o.write_timeout = v.duration("write_timeout");
    return std::unique_ptr<sink>(std::make_unique<mqtt_sink>(std::move(o)));
}

}  // namespace trib::connectors
