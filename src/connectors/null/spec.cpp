#include "config/spec.h"
#include "connectors/null/null.h"

namespace trib::connectors {

config::spec null_sink_spec() {
    using config::opt_type;
    config::spec s;
    s.name = "null";
    s.kind = config::spec_kind::sink;
    s.guarantee = "exactly-once effect (nothing is kept, so a replay changes nothing)";
    s.summary = "Accepts and discards every message, counting them (benchmarks and tests)";
    s.description =
        "Measures the runtime without a target system: each batch is counted and dropped at "
        "once, so the figures of the management API (messages, bytes, batch latency, lag) show "
        "what the runtime and Iggy alone can do. `latency` makes every write take that long, to "
        "try backpressure and drains; `log_interval` logs the rate it sees.";
    s.idempotent = true;  // nothing is kept, so a replay changes nothing
    s.example = R"(type = "sink"
key = "discard"
enabled = true
version = 0
name = "Null sink"
plugin = "null"

[[streams]]
stream = "bench"
topics = ["events"]
schema = "raw"
batch_length = 1000
poll_interval = "1ms"

[plugin_config]
log_interval = "10s")";

    s.options.push_back(config::opt("latency", opt_type::duration,
                                    "Time each write takes (\"0ms\": none).", "\"0ms\""));
    s.options.push_back(config::opt(
        "log_interval", opt_type::duration,
        "Log the messages and bytes per second seen, this often (\"0ms\": never).", "\"0ms\""));
    return s;
}

}  // namespace trib::connectors
