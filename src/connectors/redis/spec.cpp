// The Redis source and sink specs (prose and options are data: spec.toml, the connection options
// shared as group "connection"), the rules one option cannot express, and the options read
// from them.

#include "config/enum_option.h"
#include "config/spec_data.h"
#include "connectors/redis/options.h"
#include "connectors/redis/redis.h"
#include "embedded/redis_spec.h"

namespace trib::connectors {
namespace redis {

std::string fill_names(std::string t, std::string_view connector_key, std::string_view list) {
    auto replace = [&](std::string_view what, std::string_view with) {
        for (std::size_t p = t.find(what); p != std::string::npos;
             p = t.find(what, p + with.size()))
            t.replace(p, what.size(), with);
    };
    replace("{key}", connector_key);
    replace("{list}", list);
    return t;
}

result<connection_options> connection_from(const config::values& v) {
    connection_options o;
    TRIB_ASSIGN_OR_RETURN(o.ep, parse_url(v.str("connection_url")));
    if (auto u = v.opt_str("username"))
        o.ep.username = *u;
    if (auto p = v.opt_str("password"))
        o.ep.password = *p;
    if (auto d = v.opt_integer("database"))
        o.ep.database = static_cast<int>(*d);
    if (!o.ep.username.empty() && o.ep.password.empty())
        return fail(errc::invalid_argument, "username: an ACL user needs a password");
    o.connect_timeout = v.duration("connect_timeout");
    o.command_timeout = v.duration("command_timeout");
    return o;
}

result<sink_options> sink_options_from(const config::values& v) {
    sink_options o;
    TRIB_ASSIGN_OR_RETURN(o.conn, connection_from(v));
    auto& l = o.layout;
    l.mode = config::enum_option<sink_mode>(v, "mode",
                                            {{"stream", sink_mode::stream},
                                             {"list", sink_mode::list},
                                             {"publish", sink_mode::publish},
                                             {"hash", sink_mode::hash},
                                             {"set", sink_mode::set},
                                             {"zset", sink_mode::zset},
                                             {"string", sink_mode::string}});
    auto key = parse_template(v.str("key"));
    if (!key)
        return unexpected(key.error().wrap("key"));
    l.key = std::move(*key);
    if (auto m = v.opt_integer("max_len"))
        l.max_len = static_cast<std::uint64_t>(*m);
    l.max_len_approximate = v.boolean("max_len_approximate");
    l.offset_ids = v.str("entry_id") == "offset";
    l.payload_field = v.str("payload_field");
    l.fields_from_payload = v.boolean("fields_from_payload");
    l.include_metadata = v.boolean("include_metadata");
    l.include_headers = v.boolean("include_headers");
    l.list_left = v.str("list_command") == "lpush";
    if (auto m = v.opt_str("member")) {
        auto t = parse_template(*m);
        if (!t)
            return unexpected(t.error().wrap("member"));
        l.member = std::move(*t);
    }
    l.score_field = v.opt_str("score_field").value_or("");
    if (v.has("ttl"))
        l.ttl = v.duration("ttl");
    o.batch_size = static_cast<std::size_t>(v.integer("batch_size"));
    return o;
}

result<source_options> source_options_from(const config::values& v) {
    source_options o;
    TRIB_ASSIGN_OR_RETURN(o.conn, connection_from(v));
    o.mode = config::enum_option<source_mode>(v, "mode",
                                              {{"stream", source_mode::stream},
                                               {"list", source_mode::list},
                                               {"pubsub", source_mode::pubsub}});
    o.keys = v.list("keys");
    o.patterns = v.list("patterns");
    o.group = v.str("group");
    o.consumer = v.str("consumer");
    o.create_group = v.boolean("create_group");
    o.group_start_id = v.str("group_start_id");
    o.claim_min_idle = v.duration("claim_min_idle");
    o.claim_interval = v.duration("claim_interval");
    o.count = static_cast<std::size_t>(v.integer("count"));
    o.entry.payload_field = v.str("payload_field");
    o.entry.fields_as_headers = v.boolean("fields_as_headers");
    o.entry.database = o.conn.ep.database;
    o.processing_key = v.str("processing_key");
    o.pop_left = v.str("pop_from") == "left";
    return o;
}

}  // namespace redis

config::spec redis_sink_spec() {
    auto s = config::builtin_spec(embedded::redis_spec, embedded::redis_spec_file, "sink");
    s.check = [](const config::values& v, const config::check_report& report) {
        if (auto c = redis::connection_from(v); !c)
            report("connection_url", c.error().message());
        auto key = redis::parse_template(v.str("key"));
        if (!key)
            report("key", key.error().message());
        const std::string mode = v.str("mode");
        if (v.str("entry_id") == "offset") {
            if (mode != "stream")
                report("entry_id", "\"offset\" ids are for mode = \"stream\"");
            else if (key && !(key->has(redis::key_template::kind::stream) &&
                              key->has(redis::key_template::kind::topic) &&
                              key->has(redis::key_template::kind::partition)))
                report("key",
                       "entry_id = \"offset\" needs {stream}, {topic} and {partition} in the key, "
                       "so that one Redis stream receives one Iggy partition in offset order");
        }
        if (auto m = v.opt_str("member")) {
            if (mode != "set" && mode != "zset")
                report("member", "only for mode = \"set\" or \"zset\"");
            if (auto t = redis::parse_template(*m); !t)
                report("member", t.error().message());
        }
        if (v.has("score_field") && mode != "zset")
            report("score_field", "only for mode = \"zset\"");
        if (v.has("ttl")) {
            if (mode == "stream" || mode == "publish")
                report("ttl", "not for mode = \"" + mode + "\"");
            else if (v.duration("ttl").count() <= 0)
                report("ttl", "must be at least 1ms");
        }
        if (v.has("max_len") && mode != "stream")
            report("max_len", "only for mode = \"stream\"");
    };
    return s;
}

config::spec redis_source_spec() {
    auto s = config::builtin_spec(embedded::redis_spec, embedded::redis_spec_file, "source");
    s.check = [](const config::values& v, const config::check_report& report) {
        if (auto c = redis::connection_from(v); !c)
            report("connection_url", c.error().message());
        const std::string mode = v.str("mode");
        const auto keys = v.list("keys");
        if (mode == "list" && keys.size() != 1)
            report("keys", "mode = \"list\" reads exactly one list");
        if (mode == "stream" && keys.empty())
            report("keys", "name at least one stream key");
        if (mode == "pubsub" && keys.empty() && v.list("patterns").empty())
            report("keys", "subscribe to something: `keys` (channels) or `patterns`");
        if (mode != "pubsub" && !v.list("patterns").empty())
            report("patterns", "only for mode = \"pubsub\"");
        for (const auto& k : keys) {
            if (k.empty())
                report("keys", "an empty key");
        }
        const std::string start = v.str("group_start_id");
        if (start != "0" && start != "$" && !redis::entry_id_millis(start))
            report("group_start_id", "\"0\", \"$\" or an entry id like 1700000000000-0");
        if (mode == "list" && keys.size() == 1 &&
            redis::fill_names(v.str("processing_key"), "k", keys.front()) == keys.front())
            report("processing_key", "must differ from the source list");
        if (v.str("consumer").empty())
            report("consumer", "must not be empty");
        if (v.str("group").empty())
            report("group", "must not be empty");
    };
    return s;
}

}  // namespace trib::connectors
