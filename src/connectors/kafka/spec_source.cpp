// The Kafka source's spec. Iggy has no Kafka connector, so the names are Tributary's: the
// connection options are shared with the sink (common.cpp), the rest follows the MQTT and
// PostgreSQL sources (`[[streams]]` as the default route, per-topic routes in a table list).
// Its prose and options are data (spec.toml); the rules one option cannot express are here.

#include <re2/re2.h>

#include <optional>

#include "config/spec_data.h"
#include "connectors/kafka/common.h"
#include "connectors/kafka/kafka.h"
#include "connectors/kafka/source_options.h"
#include "embedded/kafka_spec.h"

namespace trib::connectors {

namespace {

// librdkafka's regex subscriptions start with ^; routes use the same convention.
bool is_regex(std::string_view s) {
    return !s.empty() && s.front() == '^';
}

// The reason RE2 refuses a pattern, or nothing.
std::optional<std::string> regex_problem(const std::string& pattern) {
    RE2::Options opts;
    opts.set_log_errors(false);
    RE2 re(pattern, opts);
    if (re.ok())
        return std::nullopt;
    return re.error();
}

}  // namespace

config::spec kafka_source_spec() {
    auto s = config::builtin_spec(embedded::kafka_spec, embedded::kafka_spec_file, "source");
    s.check = [](const config::values& v, const config::check_report& report) {
        kafka::check_common_options(
            v, report,
            {{"group.id", "use `group_id`"},
             {"enable.auto.commit", "offsets are committed after Iggy acknowledged"},
             {"enable.auto.offset.store", "offsets are committed after Iggy acknowledged"},
             {"partition.assignment.strategy", "the source rebalances cooperatively"},
             {"auto.offset.reset", "use `start_position`"},
             {"isolation.level", "use `isolation_level`"},
             {"enable.partition.eof", "the source reads continuously"}});
        if (v.list("topics").empty())
            report("topics", "name at least one topic or ^regex");
        for (const auto& t : v.list("topics")) {
            if (t.empty())
                report("topics", "an empty topic name");
            else if (is_regex(t))
                if (auto p = regex_problem(t))
                    report("topics", "\"" + t + "\": " + *p);
        }
        auto rs = v.tables("routes");
        for (std::size_t i = 0; i < rs.size(); ++i) {
            const std::string m = rs[i].str("match");
            if (is_regex(m)) {
                if (auto p = regex_problem(m))
                    report("routes[" + std::to_string(i) + "].match", "\"" + m + "\": " + *p);
            }
        }
        const bool by_ts = v.str("start_position") == "timestamp";
        if (by_ts && !v.opt_integer("start_timestamp"))
            report("start_timestamp", "start_position = \"timestamp\" needs start_timestamp");
        if (!by_ts && v.opt_integer("start_timestamp"))
            report("start_timestamp", "only used with start_position = \"timestamp\"");
    };
    return s;
}

namespace kafka {

source_options source_options_from(const config::values& v) {
    source_options o;
    o.raw = v;
    o.topics = v.list("topics");
    o.group_id = v.str("group_id");
    const std::string sp = v.str("start_position");
    o.start = sp == "latest"      ? start_position::latest
              : sp == "timestamp" ? start_position::timestamp
                                  : start_position::earliest;
    o.start_timestamp_ms = v.opt_integer("start_timestamp").value_or(0);
    o.read_committed = v.str("isolation_level") == "read_committed";
    for (const auto& r : v.tables("routes"))
        o.routes.push_back(route_rule{r.str("match"), stream_ref{r.str("stream"), r.str("topic")}});
    o.mapping.partition_by_key = v.str("key") == "key";
    o.mapping.metadata_headers = v.boolean("metadata_headers");
    o.mapping.key_header = o.mapping.metadata_headers;
    o.mapping.unfit_headers =
        v.str("unfit_headers") == "skip" ? unfit_policy::skip : unfit_policy::reject;
    o.mapping.empty_values =
        v.str("empty_values") == "skip" ? unfit_policy::skip : unfit_policy::reject;
    o.max_batch = static_cast<std::size_t>(v.integer("max_batch_messages"));
    o.session_timeout = v.duration("session_timeout");
    o.commit_interval = v.duration("commit_interval");
    return o;
}

}  // namespace kafka

}  // namespace trib::connectors
