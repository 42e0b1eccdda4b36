// The RabbitMQ source and sink specs (their prose and options are data: spec.toml, with the
// connection options both share as group "connection") and the rules one option cannot express.

#include <vector>

#include "config/spec_data.h"
#include "connectors/rabbitmq/connection.h"
#include "connectors/rabbitmq/rabbitmq.h"
#include "core/name_template.h"
#include "embedded/rabbitmq_spec.h"

namespace trib::connectors {
namespace {

void check_connection(const config::values& v, const config::check_report& report) {
    auto o = rabbitmq::connection_options_from(v);
    if (!o) {
        // The message starts with the key it is about ("amqp_url: ...", "tls: ...").
        const auto& m = o.error().message();
        const auto colon = m.find(':');
        report(colon == std::string::npos ? "amqp_url" : m.substr(0, colon),
               colon == std::string::npos ? m : m.substr(colon + 2));
    }
}

}  // namespace

config::spec rabbitmq_source_spec() {
    auto s = config::builtin_spec(embedded::rabbitmq_spec, embedded::rabbitmq_spec_file, "source");
    s.check = [](const config::values& v, const config::check_report& report) {
        check_connection(v, report);
        if (v.str("queue").empty())
            report("queue", "must not be empty");
        const auto off = v.str("stream_offset");
        if (off != "first" && off != "last" && off != "next" &&
            (off.empty() || off.find_first_not_of("0123456789") != std::string::npos ||
             off.size() > 18))
            report("stream_offset",
                   "`first`, `last`, `next` or an offset number, not \"" + off + "\"");
        if (v.boolean("declare") && !v.str("exchange").empty() &&
            v.str("exchange") == "amq.default")
            report("exchange", "the default exchange cannot be bound to");
    };
    return s;
}

config::spec rabbitmq_sink_spec() {
    auto s = config::builtin_spec(embedded::rabbitmq_spec, embedded::rabbitmq_spec_file, "sink");
    s.check = [](const config::values& v, const config::check_report& report) {
        check_connection(v, report);
        for (const char* k : {"exchange", "routing_key"}) {
            auto t = name_template::parse(v.str(k), k, true);
            if (!t)
                report(k, t.error().message());
        }
        if (v.integer("max_retry_delay_secs") < v.integer("retry_delay_secs"))
            report("max_retry_delay_secs", "must not be below retry_delay_secs");
    };
    return s;
}

}  // namespace trib::connectors
