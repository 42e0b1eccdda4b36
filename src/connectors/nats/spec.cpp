// The specs of the NATS source and sink. Iggy has no NATS connector, so the option names are
// ours (close to the NATS clients' own: urls, stream, consumer, ack_wait, max_ack_pending). The
// prose and options are data (spec.toml); the rules one option cannot express are here.

#include <fmt/format.h>

#include "config/spec_data.h"
#include "connectors/nats/connection.h"
#include "connectors/nats/mapping.h"
#include "connectors/nats/nats.h"
#include "embedded/nats_spec.h"

namespace trib::connectors {

config::spec nats_source_spec() {
    auto s = config::builtin_spec(embedded::nats_spec, embedded::nats_spec_file, "source");
    s.check = [](const config::values& v, const config::check_report& report) {
        nats::check_connection_options(v, report);
        const bool js = v.str("mode") == "jetstream";
        const auto subjects = v.list("subjects");
        if (js && !v.has("stream"))
            report("stream", "mode = \"jetstream\" needs the stream to consume");
        if (!js && subjects.empty())
            report("subjects", "mode = \"core\" needs at least one subject");
        if (js && subjects.size() > 1)
            report("subjects", "JetStream takes one filter subject (NATS 2.9)");
        for (std::size_t i = 0; i < subjects.size(); ++i) {
            if (auto st = nats::check_subscribe_subject(subjects[i]); !st)
                report(fmt::format("subjects[{}]", i), st.error().message());
        }
        if (v.str("deliver_policy") == "by_start_sequence" && !v.has("start_sequence"))
            report("start_sequence", "deliver_policy = \"by_start_sequence\" needs start_sequence");
        if (v.has("queue_group") && js)
            report("queue_group", "only for mode = \"core\" (JetStream consumers share by name)");
    };
    return s;
}

config::spec nats_sink_spec() {
    auto s = config::builtin_spec(embedded::nats_spec, embedded::nats_spec_file, "sink");
    s.check = [](const config::values& v, const config::check_report& report) {
        nats::check_connection_options(v, report);
        auto t = nats::parse_subject(v.str("subject"));
        if (!t)
            report("subject", t.error().message());
        if (v.boolean("create_stream") && !v.has("stream"))
            report("create_stream", "needs `stream`, the stream to create");
    };
    return s;
}

}  // namespace trib::connectors
