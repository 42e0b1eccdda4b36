#include "config/spec.h"
#include "connectors/stdout/stdout.h"

namespace trib::connectors {

config::spec stdout_sink_spec() {
    using config::opt_type;
    config::spec s;
    s.name = "stdout";
    s.kind = config::spec_kind::sink;
    s.guarantee = "at-least-once (a replay prints again)";
    s.summary = "Prints the messages it receives to standard output (Iggy's stdout sink)";
    s.description =
        "For debugging and demos. Each batch prints one line naming the connector, the number of "
        "messages, schema, stream, topic, partition and first offset; with `print_payload` every "
        "message follows on its own line (offset and payload; control bytes escaped).\n\n"
        "Writing to a terminal or a pipe counts as delivered: the runtime commits the offsets "
        "after the lines were written.";
    s.idempotent = false;
    s.plugin_aliases = {"iggy_connector_stdout_sink"};
    s.example = R"(type = "sink"
key = "stdout"
enabled = true
version = 0
name = "Stdout sink"
path = "target/release/libiggy_connector_stdout_sink"

[[streams]]
stream = "example_stream"
topics = ["example_topic"]
schema = "json"
batch_length = 100
poll_interval = "5ms"
consumer_group = "stdout_sink_connector"

[plugin_config]
print_payload = true)";

    s.options.push_back(config::opt("print_payload", opt_type::boolean,
                                    "Print every message's payload, not only the batch summary.",
                                    "false"));
    s.options.push_back(config::opt("print_headers", opt_type::boolean,
                                    "With print_payload: also print each message's headers.",
                                    "false", true));
    s.options.push_back(config::opt("max_payload_bytes", opt_type::size,
                                    "Cut printed payloads after this many bytes (0: print them "
                                    "whole).",
                                    "0", true));
    return s;
}

}  // namespace trib::connectors
