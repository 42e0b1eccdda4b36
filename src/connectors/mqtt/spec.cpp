// The MQTT source and sink specs (their prose and options are data: spec.toml, with the
// connection options both share as group "connection"), the rules one option cannot express, and
// the client options read from them. Option names follow the common MQTT connectors (Redpanda
// Connect/Benthos `mqtt`: urls, client_id, topics, qos, clean_session, user/password, keepalive,
// tls), spelled the way Tributary's other connectors spell theirs (username/password, keep_alive,
// tls.ca_file...), with the Benthos names accepted as aliases.

#include <unistd.h>

#include <algorithm>
#include <limits>

#include "config/spec_data.h"
#include "connectors/mqtt/codec.h"
#include "connectors/mqtt/mqtt.h"
#include "connectors/mqtt/options.h"
#include "embedded/mqtt_spec.h"

namespace trib::connectors {
namespace {

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
    auto s = config::builtin_spec(embedded::mqtt_spec, embedded::mqtt_spec_file, "source");
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
    auto s = config::builtin_spec(embedded::mqtt_spec, embedded::mqtt_spec_file, "sink");
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
