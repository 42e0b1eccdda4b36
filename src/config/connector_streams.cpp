// The [[streams]] section of a connector file (connector_streams.h).

#include "config/connector_streams.h"

#include <algorithm>

#include "config/units.h"

namespace trib::config::detail {

namespace {

const std::vector<std::string>& iggy_schemas() {
    static const std::vector<std::string> s = {"json",  "raw",        "text",
                                               "proto", "flatbuffer", "avro"};
    return s;
}

std::vector<std::string> codec_names(const catalog& cat) {
    if (cat.codec_names)
        return cat.codec_names();
    return {"json", "raw", "text"};
}

}  // namespace

std::string quote(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

std::vector<option> stream_options(connector_type t) {
    std::vector<option> o;
    o.push_back(opt("stream", opt_type::string, "The Iggy stream (name or numeric id)."));
    if (t == connector_type::sink) {
        option topics = opt("topics", opt_type::list, "Topics of that stream to consume.");
        o.push_back(topics);
    } else {
        o.push_back(opt("topic", opt_type::string, "The topic to produce to."));
    }
    o.push_back(opt("schema", opt_type::string,
                    "Payload codec (docs/connectors/codecs.md): json, raw, text, "
                    "msgpack, csv, proto, avro, flat_buffer, bson or "
                    "schema_registry.",
                    "\"json\""));
    option batch =
        opt("batch_length", opt_type::integer,
            t == connector_type::sink ? "Messages polled per batch." : "Messages sent per batch.",
            "1000");
    batch.min = 1;
    batch.max = 1'000'000;
    batch.aliases = {"batch_size"};
    o.push_back(batch);
    if (t == connector_type::sink) {
        o.push_back(opt("poll_interval", opt_type::duration,
                        "Pause between polls when a poll is empty.", "\"5ms\""));
        o.push_back(optional_opt("consumer_group", opt_type::string,
                                 "Consumer group (default: iggy-connect-sink-<key>)."));
    } else {
        option linger = opt("linger_time", opt_type::duration,
                            "Longest wait to fill a batch before sending.", "\"5ms\"");
        linger.aliases = {"send_interval"};
        o.push_back(linger);
    }
    option avro_json = optional_opt("avro_schema_json", opt_type::string, "Avro schema (JSON).");
    avro_json.advanced = true;
    option avro_path = optional_opt("avro_schema_path", opt_type::string, "Avro schema file.");
    avro_path.advanced = true;
    o.push_back(avro_json);
    o.push_back(avro_path);
    option jsp = optional_opt("json_schema_path", opt_type::string,
                              "A JSON Schema file every record of this stream must match "
                              "(Tributary): checked on the decoded record before the "
                              "transforms; a record that does not match goes to the error "
                              "policy with the JSON pointer and keyword.");
    jsp.advanced = true;
    o.push_back(jsp);
    option jsj = optional_opt("json_schema_json", opt_type::string,
                              "The same JSON Schema, inline (Tributary).");
    jsj.advanced = true;
    o.push_back(jsj);
    option jsd = optional_opt("json_schema_draft", opt_type::enumeration,
                              "The JSON Schema draft; auto (the default): the schema's "
                              "$schema, else 2020-12 (Tributary).");
    jsd.choices = {"auto", "2020-12", "7"};
    jsd.advanced = true;
    o.push_back(jsd);
    option so = optional_opt("schema_options", opt_type::any,
                             "Options of the `schema` codec (Tributary); they may also be "
                             "written on the [[streams]] table itself.");
    so.advanced = true;
    o.push_back(so);
    if (t == connector_type::source) {
        option ss = optional_opt("source_schema", opt_type::string,
                                 "Format the source's payloads are in (Tributary); when it "
                                 "differs from `schema` the runtime converts. Default: what "
                                 "the connector declares, else `schema`.");
        ss.advanced = true;
        o.push_back(ss);
        option sso = optional_opt("source_schema_options", opt_type::any,
                                  "Options of the `source_schema` codec (Tributary).");
        sso.advanced = true;
        o.push_back(sso);
    }
    return o;
}

namespace {

// The option of `options` called `key` by name or deprecated alias; nullptr if none.
const option* option_named(const std::vector<option>& options, std::string_view key) {
    for (const auto& o : options) {
        if (o.name == key)
            return &o;
        for (const auto& a : o.aliases) {
            if (a == key)
                return &o;
        }
    }
    return nullptr;
}

}  // namespace

std::vector<stream_codec_nodes> take_codec_options(node& tree, connector_type t, const catalog& cat,
                                                   const report_fn& report) {
    std::vector<stream_codec_nodes> out;
    node* streams = tree.find("streams");
    if (streams == nullptr || !streams->is_array())
        return out;
    const std::vector<option> own = stream_options(t);
    out.resize(streams->items.size());
    for (std::size_t i = 0; i < streams->items.size(); ++i) {
        node& st = streams->items[i];
        if (!st.is_table())
            continue;
        const std::string path = "streams[" + std::to_string(i) + "]";
        auto sub_table = [&](std::string_view key, node& into, const spec* cs) {
            node* sub = st.find(key);
            if (sub == nullptr)
                return;
            if (!sub->is_table()) {
                report(path + "." + std::string(key), "expected a table, got " + sub->describe(),
                       nullptr);
            } else if (cs == nullptr && !sub->fields.empty() && cat.find_codec) {
                // The schema is unknown (reported with the schema) or takes no options.
            } else {
                for (auto& [k, v] : sub->fields) {
                    if (into.find(k) != nullptr) {
                        report(path + "." + std::string(key) + "." + k,
                               "given twice (also on the [[streams]] table)", nullptr);
                        continue;
                    }
                    into.set(k, v);
                }
            }
            st.erase(key);
        };
        const node* sch = st.find("schema");
        const std::string schema = sch != nullptr && sch->is_string() ? sch->s : "json";
        const spec* cs = cat.find_codec ? cat.find_codec(schema) : nullptr;
        if (cs != nullptr) {
            std::vector<std::string> moved;
            for (const auto& [k, v] : st.fields) {
                if (option_named(cs->options, k) == nullptr)
                    continue;
                out[i].schema.set(k, v);
                if (option_named(own, k) == nullptr)
                    moved.push_back(k);
            }
            for (const auto& k : moved)
                st.erase(k);
        }
        sub_table("schema_options", out[i].schema, cs);
        if (t == connector_type::source) {
            const node* ss = st.find("source_schema");
            const spec* scs = ss != nullptr && ss->is_string() && cat.find_codec
                                  ? cat.find_codec(ss->s)
                                  : nullptr;
            sub_table("source_schema_options", out[i].source, scs);
        }
    }
    return out;
}

std::vector<stream_codec_view> read_streams(const values& fv,
                                            const std::vector<stream_codec_nodes>& codec_opts,
                                            const catalog& cat, const validation_context& ctx,
                                            problems& issues, const report_fn& report_at,
                                            connector_config& cc) {
    auto report = [&](const std::string& path, std::string message, const node* at = nullptr) {
        report_at(path, std::move(message), at);
    };
    const std::vector<std::string> codecs = codec_names(cat);
    const auto streams = fv.tables("streams");
    std::vector<stream_codec_view> validated_codec_options(streams.size());
    for (std::size_t i = 0; i < streams.size(); ++i) {
        const values& sv = streams[i];
        std::string path = "streams[" + std::to_string(i) + "]";
        std::string schema = sv.str("schema");
        if (std::find(codecs.begin(), codecs.end(), schema) == codecs.end()) {
            std::string msg;
            const auto& iggy = iggy_schemas();
            if (std::find(iggy.begin(), iggy.end(), schema) != iggy.end()) {
                msg = "schema " + quote(schema) + " is not supported by Tributary yet";
            } else {
                msg = "unknown schema " + quote(schema);
                if (auto m = closest_match(schema, codecs))
                    msg += "; did you mean " + quote(*m) + "?";
            }
            report(path + ".schema", std::move(msg), sv.raw("schema"));
        }
        // The codec's own options, validated against its spec, then the codec built once so
        // that a schema file that does not load stops the runtime now (exit 2).
        auto codec_values = [&](const std::string& name, const node& opts, const std::string& key) {
            if (!cat.find_codec)
                return values();
            const spec* cs = cat.find_codec(name);
            if (cs == nullptr)
                return values();  // unknown schema: reported above
            validation_context cctx = ctx;
            cctx.prefix = path;
            const std::size_t before = issues.error_count();
            values v = validate(*cs, opts, cctx, issues);
            if (issues.error_count() == before && cat.check_codec) {
                if (auto st = cat.check_codec(name, v); !st)
                    report(path + "." + key, st.error().message(), sv.raw(key));
            }
            return v;
        };
        // The stream's JSON Schema keys as the json_schema transform's options, validated with
        // its spec and compiled now, so that a bad schema stops the runtime (exit 2).
        auto json_schema_values = [&]() -> values {
            const node* p = sv.raw("json_schema_path");
            const node* j = sv.raw("json_schema_json");
            const node* d = sv.raw("json_schema_draft");
            if (p == nullptr && j == nullptr) {
                if (d != nullptr)
                    report(path + ".json_schema_draft",
                           "needs json_schema_path or json_schema_json", d);
                return values();
            }
            if (p != nullptr && j != nullptr) {
                report(path + ".json_schema_json",
                       "give one of json_schema_path and json_schema_json", j);
                return values();
            }
            const spec* ts = cat.find_transform ? cat.find_transform("json_schema") : nullptr;
            if (ts == nullptr)
                return values();
            node opts = node::make_table();
            if (p != nullptr)
                opts.set("schema_path", *p);
            if (j != nullptr)
                opts.set("schema_json", *j);
            if (d != nullptr)
                opts.set("draft", *d);
            validation_context tctx = ctx;
            tctx.prefix = path;
            const std::size_t before = issues.error_count();
            values v = validate(*ts, opts, tctx, issues);
            if (issues.error_count() == before && cat.check_transform) {
                const char* key = p != nullptr ? "json_schema_path" : "json_schema_json";
                if (auto st = cat.check_transform("json_schema", v); !st)
                    report(path + "." + key, st.error().message(), p != nullptr ? p : j);
            }
            return v;
        };
        const values json_schema = json_schema_values();
        const node empty = node::make_table();
        const node& schema_node = i < codec_opts.size() ? codec_opts[i].schema : empty;
        values schema_values = codec_values(schema, schema_node, "schema");
        if (schema_values.root() != nullptr && !schema_node.fields.empty())
            validated_codec_options[i].schema = *schema_values.root();
        if (cc.type == connector_type::sink) {
            sink_stream_config s;
            s.stream = sv.str("stream");
            s.topics = sv.list("topics");
            s.schema = schema;
            s.batch_length = static_cast<std::uint32_t>(sv.integer("batch_length"));
            s.poll_interval = sv.duration("poll_interval");
            s.consumer_group = sv.opt_str("consumer_group").value_or("iggy-connect-sink-" + cc.key);
            s.avro_schema_json = sv.opt_str("avro_schema_json");
            s.avro_schema_path = sv.opt_str("avro_schema_path");
            s.schema_options = schema_values;
            s.json_schema = json_schema;
            if (s.stream.empty())
                report(path + ".stream", "must not be empty");
            if (s.topics.empty())
                report(path + ".topics", "must name at least one topic");
            cc.sink_streams.push_back(std::move(s));
        } else {
            source_stream_config s;
            s.stream = sv.str("stream");
            s.topic = sv.str("topic");
            s.schema = schema;
            s.batch_length = static_cast<std::uint32_t>(sv.integer("batch_length"));
            s.linger_time = sv.duration("linger_time");
            s.avro_schema_json = sv.opt_str("avro_schema_json");
            s.avro_schema_path = sv.opt_str("avro_schema_path");
            s.schema_options = schema_values;
            s.json_schema = json_schema;
            if (auto src = sv.opt_str("source_schema")) {
                s.source_schema = *src;
                if (std::find(codecs.begin(), codecs.end(), *src) == codecs.end()) {
                    std::string msg = "unknown schema " + quote(*src);
                    if (auto m = closest_match(*src, codecs))
                        msg += "; did you mean " + quote(*m) + "?";
                    report(path + ".source_schema", std::move(msg), sv.raw("source_schema"));
                } else {
                    s.source_schema_options =
                        codec_values(*src, i < codec_opts.size() ? codec_opts[i].source : empty,
                                     "source_schema");
                    if (s.source_schema_options.root() != nullptr)
                        validated_codec_options[i].source = *s.source_schema_options.root();
                }
            } else if (i < codec_opts.size() && !codec_opts[i].source.fields.empty()) {
                report(path + ".source_schema_options", "needs source_schema");
            }
            if (s.stream.empty())
                report(path + ".stream", "must not be empty");
            if (s.topic.empty())
                report(path + ".topic", "must not be empty");
            cc.source_streams.push_back(std::move(s));
        }
    }

    return validated_codec_options;
}

void put_back_codec_options(node& whole, std::vector<stream_codec_view> validated_codec_options) {
    if (node* st = whole.find("streams"); st != nullptr && st->is_array()) {
        for (std::size_t i = 0; i < st->items.size() && i < validated_codec_options.size(); ++i) {
            auto& [opts, source_opts] = validated_codec_options[i];
            if (!st->items[i].is_table())
                continue;
            if (opts.is_table())
                st->items[i].set("schema_options", std::move(opts));
            if (source_opts.is_table())
                st->items[i].set("source_schema_options", std::move(source_opts));
        }
    }
}

}  // namespace trib::config::detail
