// The spec of the Kafka sink. Iggy has no Kafka connector, so the option names are ours; the
// connection options follow librdkafka's property names where one exists. Its prose and options are
// data (spec.toml, shared with the source); the rules one option cannot express are here.

#include "config/spec_data.h"
#include "connectors/kafka/common.h"
#include "connectors/kafka/kafka.h"
#include "connectors/kafka/sink_record.h"
#include "embedded/kafka_spec.h"

namespace trib::connectors {

config::spec kafka_sink_spec() {
    auto s = config::builtin_spec(embedded::kafka_spec, embedded::kafka_spec_file, "sink");
    s.check = [](const config::values& v, const config::check_report& report) {
        auto t = kafka_sink::topic_template::parse(v.str("topic"));
        if (!t)
            report("topic", t.error().message());
        if (v.str("key_from") == "field" && !v.has("key_field"))
            report("key_field", "key_from = \"field\" needs key_field");
        if (v.has("key_field") && v.str("key_field").empty())
            report("key_field", "must not be empty");
        kafka::check_common_options(
            v, report,
            {{"bootstrap.servers", "use bootstrap_servers"},
             {"transactional.id", "use transactional_id"},
             {"enable.idempotence", "the sink's no-duplicates guarantee needs it"},
             {"acks", "the sink's guarantee needs acks=all"},
             {"message.timeout.ms", "use delivery_timeout"},
             {"delivery.timeout.ms", "use delivery_timeout"}});
    };
    return s;
}

}  // namespace trib::connectors
