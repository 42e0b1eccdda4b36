#include "config/spec.h"
#include "connectors/random/random.h"

namespace trib::connectors {

config::spec random_source_spec() {
    using config::opt_type;
    config::spec s;
    s.name = "random";
    s.kind = config::spec_kind::source;
    s.guarantee =
        "not applicable: generated records have no identity (random ids); a restart generates new "
        "ones";
    s.summary = "Generates random records (Iggy's random source), for demos, tests and benchmarks";
    s.description =
        "Every `interval` the source produces a batch of a random number of messages (uniform in "
        "`messages_range`). With `format = \"json\"` each message is Iggy's random record "
        "`{\"id\": <uuid v4>, \"title\": \"Hello\", \"name\": \"World\", \"text\": <payload_size "
        "random letters and digits>}`; `text` sends only the random text and `raw` exactly "
        "`payload_size` random bytes.\n\n"
        "The state is the number of messages produced so far (8 bytes, little-endian, as in "
        "Iggy's runtime), persisted once Iggy acknowledged them; with `max_count` the source "
        "stops after that many messages in total, across restarts.";
    s.plugin_aliases = {"iggy_connector_random_source"};
    s.example = R"(type = "source"
key = "random"
enabled = true
version = 0
name = "Random source"
path = "target/release/libiggy_connector_random_source"

[[streams]]
stream = "example_stream"
topic = "example_topic"
schema = "json"
batch_length = 1000
linger_time = "5ms"

[plugin_config]
interval = "100ms"
max_count = 1000
messages_range = [10, 50]
payload_size = 200)";

    s.options.push_back(config::opt(
        "interval", opt_type::duration,
        "Time between two batches (\"0ms\": as fast as the pipeline takes them).", "\"1s\""));
    auto max_count = config::optional_opt(
        "max_count", opt_type::integer,
        "Stop after this many messages in total (kept across restarts); unset: never.");
    max_count.min = 0;
    s.options.push_back(max_count);
    auto range = config::opt("messages_range", opt_type::list,
                             "[min, max]: the number of messages per batch is drawn uniformly "
                             "from this range (both included).",
                             "[10, 50]");
    range.element = opt_type::integer;
    s.options.push_back(range);
    auto size = config::opt(
        "payload_size", opt_type::integer,
        "Length of the random text (json, text) or of the whole payload (raw), in bytes.", "100");
    size.min = 1;
    size.max = 64'000'000;
    s.options.push_back(size);
    auto format =
        config::opt("format", opt_type::enumeration,
                    "json: Iggy's random record; text: the random text alone; raw: random bytes.",
                    "\"json\"", true);
    format.choices = {"json", "text", "raw"};
    s.options.push_back(format);

    s.check = [](const config::values& v, const config::check_report& report) {
        const auto r = v.integers("messages_range");
        if (r.size() != 2) {
            report("messages_range", "must have exactly two numbers: [min, max]");
        } else if (r[0] < 1 || r[1] < r[0]) {
            report("messages_range", "needs 1 <= min <= max");
        }
    };
    return s;
}

}  // namespace trib::connectors
