// Connector files: spec of their own keys, plugin_config and transforms validation through the
// catalog, environment overrides, and versions across a directory.
// The [[streams]] section (codec options, source_schema, json_schema_* keys) is in
// connector_streams.cpp.

#include "config/connector_config.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <set>

#include "config/connector_streams.h"
#include "config/node.h"
#include "config/units.h"
#include "config/validate.h"
#include "core/parse_number.h"

namespace trib::config {

std::string_view to_string(connector_type t) {
    return t == connector_type::sink ? "sink" : "source";
}

std::string_view to_string(error_mode m) {
    switch (m) {
        case error_mode::retry:
            return "retry";
        case error_mode::dead_letter:
            return "dead_letter";
        case error_mode::skip:
            return "skip";
        case error_mode::stop:
            return "stop";
    }
    return "retry";
}

namespace {

using detail::quote;

spec build_file_spec(connector_type t) {
    spec s;
    s.name = t == connector_type::sink ? "sink file" : "source file";
    s.kind = t == connector_type::sink ? spec_kind::sink : spec_kind::source;
    s.summary = "The keys of a connector file (Iggy's format plus Tributary's additions).";
    option type = opt("type", opt_type::enumeration, "Connector type.");
    type.choices = {"sink", "source"};
    s.options.push_back(type);
    s.options.push_back(optional_opt(
        "key", opt_type::string,
        "Unique id of the connector (per type); files sharing it are versions of one connector."));
    s.options.push_back(opt("enabled", opt_type::boolean, "Run this connector.", "true"));
    option version = opt("version", opt_type::integer, "Config version.", "0");
    version.min = 0;
    s.options.push_back(version);
    s.options.push_back(optional_opt("name", opt_type::string, "Human-readable name."));
    s.options.push_back(
        optional_opt("path", opt_type::string,
                     "Iggy's plugin library path; its file name picks the built-in connector."));
    s.options.push_back(optional_opt(
        "plugin", opt_type::string, "The built-in connector to run (Tributary; instead of path)."));
    option fmt = optional_opt("plugin_config_format", opt_type::enumeration,
                              "Format the plugin config is served in by the API.");
    fmt.choices = {"json", "yaml", "toml", "text"};
    fmt.aliases = {"config_format"};
    s.options.push_back(fmt);
    s.options.push_back(opt("verbose", opt_type::boolean, "Log every batch at info.", "false"));
    s.options.push_back(opt("benchmark", opt_type::boolean, "Log per-batch timings.", "false"));
    option streams = opt("streams", opt_type::table_list, "The Iggy streams and topics.");
    streams.children = detail::stream_options(t);
    s.options.push_back(streams);
    option pc = optional_opt("plugin_config", opt_type::any, "The connector's own options.");
    pc.aliases = {"config"};
    s.options.push_back(pc);
    s.options.push_back(optional_opt("transforms", opt_type::any, "[transforms.<name>] tables."));

    option mode = optional_opt(
        "mode", opt_type::enumeration,
        "What happens to a message that fails for good (a fatal error or a rejection at once, a "
        "retryable one after max_retries). Unset: dead_letter when dead_letter_stream or "
        "dead_letter_topic is set, otherwise stop (the connector stops before the message, "
        "nothing is committed past it; restart it once the cause is fixed). retry keeps "
        "retrying with the backoff below.");
    mode.choices = {"retry", "dead_letter", "skip", "stop"};
    option retries =
        opt("max_retries", opt_type::integer,
            "Attempts of a retryable failure before `mode` applies (0: retry for ever).", "0");
    retries.min = 0;
    retries.max = 1'000'000;
    option initial = opt("backoff_initial", opt_type::duration, "First retry delay.", "\"100ms\"");
    option maxb = opt("backoff_max", opt_type::duration, "Longest retry delay.", "\"30s\"");
    option mult = opt("backoff_multiplier", opt_type::number, "Delay growth per retry.", "2.0");
    mult.min = 1;
    mult.max = 100;
    option jitter =
        opt("jitter", opt_type::number, "Share of each retry delay drawn at random (0..1).", "0.2");
    jitter.min = 0;
    jitter.max = 1;
    option policy = opt("error_policy", opt_type::table, "Error handling (Tributary).");
    policy.children = {
        mode,
        retries,
        initial,
        maxb,
        mult,
        jitter,
        opt("throttle_min", opt_type::duration, "Least wait after a throttled error (rate limits).",
            "\"1s\""),
        optional_opt("dead_letter_stream", opt_type::string,
                     "Dead-letter stream (mode = dead_letter)."),
        optional_opt("dead_letter_topic", opt_type::string,
                     "Dead-letter topic (mode = dead_letter)."),
    };
    s.options.push_back(policy);

    option batches =
        opt("max_in_flight_batches", opt_type::integer, "Batches in flight at once.", "32");
    batches.min = 1;
    batches.max = 1024;
    option bytes =
        opt("max_in_flight_bytes", opt_type::size, "Payload bytes in flight at once.", "\"64MiB\"");
    bytes.min = 1;
    option delivery = opt("delivery", opt_type::table, "Pipelining and backpressure (Tributary).");
    delivery.children = {
        batches,
        bytes,
        opt("shutdown_timeout", opt_type::duration, "How long a stop waits for in-flight batches.",
            "\"30s\""),
    };
    s.options.push_back(delivery);

    s.check = [](const values& v, const check_report& report) {
        if (!v.has("path") && !v.has("plugin")) {
            report("path", "set `path` (Iggy's plugin path) or `plugin` (a built-in connector)");
        }
        if (v.tables("streams").empty()) {
            report("streams", "at least one [[streams]] entry is needed");
        }
        const values ep = v.table("error_policy");
        if (ep.str("mode") == "dead_letter" &&
            (!ep.has("dead_letter_stream") || !ep.has("dead_letter_topic"))) {
            report("error_policy",
                   "mode = \"dead_letter\" needs dead_letter_stream and dead_letter_topic");
        }
        if (ep.duration_ns("backoff_initial") > ep.duration_ns("backoff_max")) {
            report("error_policy.backoff_initial", "is longer than backoff_max");
        }
    };
    return s;
}

std::string upper_env(std::string_view s, bool keep_hyphen) {
    std::string out(s);
    for (auto& c : out) {
        if (c == '-' && keep_hyphen)
            continue;
        c = (c == '.' || c == '-') ? '_'
                                   : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

// Iggy's runtime infers the type of a free-form environment value (no spec to go by).
node infer_env_value(std::string_view text) {
    std::string_view s = text;
    if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
        node arr = node::make_array();
        std::string_view inner = s.substr(1, s.size() - 2);
        std::size_t start = 0;
        if (!inner.empty()) {
            for (std::size_t i = 0; i <= inner.size(); ++i) {
                if (i == inner.size() || inner[i] == ',') {
                    std::string_view e = inner.substr(start, i - start);
                    while (!e.empty() && e.front() == ' ')
                        e.remove_prefix(1);
                    while (!e.empty() && e.back() == ' ')
                        e.remove_suffix(1);
                    if (e.size() >= 2 && (e.front() == '"' || e.front() == '\'') &&
                        e.back() == e.front()) {
                        e = e.substr(1, e.size() - 2);
                    }
                    arr.items.push_back(infer_env_value(e));
                    start = i + 1;
                }
            }
        }
        return arr;
    }
    std::string lower(s);
    for (auto& c : lower)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower == "true")
        return node::make_bool(true);
    if (lower == "false")
        return node::make_bool(false);
    if (!s.empty()) {
        const std::string_view t = s.starts_with('+') ? s.substr(1) : s;  // TOML allows +1
        if (auto iv = parse_i64(t))
            return node::make_int(*iv);
        if (auto dv = parse_double(t))
            return node::make_number(*dv);
    }
    return node::make_string(std::string(s));
}

// The file's identity, read before full validation so that versions can be ranked.
struct header {
    std::optional<connector_type> type;
    std::string key;
    bool key_derived = false;
    std::uint64_t version = 0;
    bool enabled = true;
};

std::string file_stem(const std::string& file) {
    std::filesystem::path p(file);
    return p.stem().string();
}

// Iggy names files {key}_{type}[_v{N}].toml; older examples had no `key`.
std::string key_from_file_name(const std::string& file, connector_type t) {
    std::string stem = file_stem(file);
    auto v = stem.rfind("_v");
    if (v != std::string::npos && v + 2 < stem.size() &&
        std::all_of(stem.begin() + static_cast<std::ptrdiff_t>(v + 2), stem.end(),
                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
        stem.resize(v);
    }
    std::string suffix = "_" + std::string(to_string(t));
    if (stem.size() > suffix.size() &&
        stem.compare(stem.size() - suffix.size(), suffix.size(), suffix) == 0) {
        stem.resize(stem.size() - suffix.size());
    }
    return stem;
}

header read_header(const node& tree, const std::string& file) {
    header h;
    if (const node* t = tree.find("type"); t && t->is_string()) {
        if (t->s == "sink")
            h.type = connector_type::sink;
        if (t->s == "source")
            h.type = connector_type::source;
    }
    if (const node* k = tree.find("key"); k && k->is_string() && !k->s.empty()) {
        h.key = k->s;
    } else if (h.type) {
        h.key = key_from_file_name(file, *h.type);
        h.key_derived = true;
    }
    if (const node* v = tree.find("version"); v && v->kind == node_kind::integer && v->i >= 0) {
        h.version = static_cast<std::uint64_t>(v->i);
    }
    if (const node* e = tree.find("enabled"); e && e->kind == node_kind::boolean)
        h.enabled = e->b;
    return h;
}

std::vector<std::string> env_prefixes(connector_type t, const std::string& key) {
    std::vector<std::string> out;
    std::string type = upper_env(to_string(t), false);
    for (const char* base : {"TRIBUTARY_", "IGGY_CONNECTORS_"}) {
        for (bool keep : {true, false}) {
            std::string p = std::string(base) + type + "_" + upper_env(key, keep) + "_";
            if (std::find(out.begin(), out.end(), p) == out.end())
                out.push_back(p);
        }
    }
    return out;
}

// Environment overrides of plugin_config fields no spec describes: the rest of the variable name,
// lower-cased, is the field (Iggy's rule), with the value's type inferred.
void apply_free_form_env(node& pc, const std::vector<std::string>& prefixes, const spec* s,
                         const environment& env) {
    // The last prefix in the list has the lowest precedence; apply in reverse so the first wins.
    for (auto it = prefixes.rbegin(); it != prefixes.rend(); ++it) {
        std::string head = *it + "PLUGIN_CONFIG_";
        for (const auto& [name, value] : env.with_prefix(head)) {
            std::string rest = upper_env(name.substr(head.size()), false);
            if (rest.empty())
                continue;
            bool described = false;
            if (s != nullptr) {
                for (const auto& o : s->options) {
                    std::string u = upper_env(o.name, false);
                    if (rest == u || rest.rfind(u + "_", 0) == 0)
                        described = true;
                }
            }
            if (described)
                continue;
            std::string field = rest;
            for (auto& c : field)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            node v = infer_env_value(value);
            v.origin = "environment variable " + name;
            pc.set(field, std::move(v));
        }
    }
}

// `keys`: the keys of every connector of the directory (to tell this connector's mistyped
// variables from another's: IGGY_CONNECTORS_SINK_PG_BACKUP_PATH belongs to "pg_backup", not to
// "pg"); nullptr when loading one file alone (then no such warnings).
loaded<connector_config> load_tree(
    node tree, const std::string& file, const catalog& cat, const environment& env,
    bool warnings_only, const std::vector<std::pair<connector_type, std::string>>* keys = nullptr) {
    loaded<connector_config> out;
    problems& issues = out.issues;
    auto report = [&](const std::string& path, std::string message, const node* at = nullptr) {
        std::string f = (at && !at->origin.empty()) ? at->origin : file;
        if (warnings_only) {
            issues.warning(std::move(f), path, std::move(message));
        } else {
            issues.error(std::move(f), path, std::move(message));
        }
    };

    header h = read_header(tree, file);
    if (!h.type) {
        // Without a type there is no spec to check the rest against; say only this.
        const node* t = tree.find("type");
        if (t == nullptr) {
            report("type", "required option is missing (\"sink\" or \"source\")");
        } else {
            std::string msg = "expected one of \"sink\", \"source\", got " + t->describe();
            if (t->is_string()) {
                if (auto m = closest_match(t->s, {"sink", "source"})) {
                    msg += "; did you mean " + quote(*m) + "?";
                }
            }
            report("type", std::move(msg), t);
        }
        return out;
    }
    const connector_type type = *h.type;
    const spec& fspec = connector_file_spec(type);
    const std::vector<std::string> prefixes = env_prefixes(type, h.key);

    // Overrides of the file's own keys (PATH, ENABLED, STREAMS_0_STREAM, ...), then of
    // plugin_config through the connector's spec when it is known.
    apply_env_overrides(fspec.options, tree, prefixes, env);
    if (keys != nullptr && !warnings_only) {
        std::vector<std::string> ignore = {"PLUGIN_CONFIG_"};
        for (const auto& [t, k] : *keys) {
            if (t == type && k.size() > h.key.size() + 1 && k.rfind(h.key + "_", 0) == 0) {
                ignore.push_back(upper_env(k.substr(h.key.size() + 1), false) + "_");
            }
        }
        for (const auto& [name, suggestion] :
             unknown_env_overrides(fspec.options, prefixes, env, ignore)) {
            std::string msg = "matches no option of this connector; ignored";
            if (suggestion)
                msg += "; did you mean " + *suggestion + "?";
            issues.warning("environment variable " + name, "", std::move(msg));
        }
    }
    if (h.key_derived) {
        issues.warning(file, "key",
                       "missing; using " + quote(h.key) +
                           " from the file name (Iggy's runtime "
                           "requires it)");
    }

    validation_context ctx;
    ctx.file = file;
    ctx.env = &env;
    ctx.warnings_only = warnings_only;
    const std::vector<detail::stream_codec_nodes> codec_opts = detail::take_codec_options(
        tree, type, cat, [&](const std::string& path, std::string msg, const node* at) {
            report(path, std::move(msg), at);
        });
    values fv = validate(fspec, tree, ctx, issues);

    connector_config cc;
    cc.file = file;
    cc.type = type;
    cc.key = h.key;
    const node* root = fv.root();
    auto has = [&](std::string_view n) {
        return root && root->find(n) && !root->find(n)->is_null();
    };
    cc.enabled = has("enabled") ? fv.boolean("enabled") : true;
    cc.version = has("version") ? static_cast<std::uint64_t>(fv.integer("version")) : 0;
    cc.name = has("name") ? fv.str("name") : cc.key;
    cc.path = has("path") ? fv.str("path") : "";
    cc.plugin_config_format = has("plugin_config_format") ? fv.str("plugin_config_format") : "";
    cc.verbose = has("verbose") && fv.boolean("verbose");
    cc.benchmark = has("benchmark") && fv.boolean("benchmark");

    // Which connector: `plugin` names a built-in, `path` an Iggy plugin library.
    std::string plugin_key_path;
    if (has("plugin")) {
        cc.plugin = fv.str("plugin");
        plugin_key_path = "plugin";
    } else if (!cc.path.empty()) {
        cc.plugin = plugin_name_from_path(cc.path);
        plugin_key_path = "path";
    }
    if (!cc.plugin.empty() && cat.find_connector) {
        cc.plugin_spec = cat.find_connector(type, cc.plugin);
        if (cc.plugin_spec == nullptr) {
            std::string msg =
                "unknown " + std::string(to_string(type)) + " plugin " + quote(cc.plugin);
            if (cat.connector_names) {
                if (auto m = closest_match(cc.plugin, cat.connector_names(type))) {
                    msg += "; did you mean " + quote(*m) + "?";
                }
            }
            if (plugin_key_path == "path") {
                msg += " (loading plugin libraries is not supported; name a built-in connector)";
            }
            // A disabled connector for a plugin this build lacks must not stop the others.
            if (cc.enabled) {
                report(plugin_key_path, std::move(msg));
            } else {
                issues.warning(file, plugin_key_path, std::move(msg));
            }
        }
    }

    // [plugin_config]: the connector's own options.
    node pc = node::make_table();
    if (const node* raw = tree.find("plugin_config")) {
        pc = *raw;
    } else if (const node* old = tree.find("config")) {
        pc = *old;
    }
    if (pc.kind == node_kind::table) {
        if (cc.plugin_spec) {
            std::vector<std::string> pc_prefixes;
            for (const auto& p : prefixes)
                pc_prefixes.push_back(p + "PLUGIN_CONFIG_");
            apply_env_overrides(cc.plugin_spec->options, pc, pc_prefixes, env);
        }
        apply_free_form_env(pc, prefixes, cc.plugin_spec, env);
        validation_context pctx = ctx;
        pctx.prefix = "plugin_config";
        if (cc.plugin_spec) {
            cc.plugin_config = validate(*cc.plugin_spec, pc, pctx, issues);
        } else {
            // Unchecked: kept as written (references resolved).
            spec free;
            option all = opt("plugin_config", opt_type::any, "");
            all.optional = true;
            free.options.push_back(all);
            node wrapper = node::make_table();
            wrapper.set("plugin_config", pc);
            pctx.prefix = "";
            values w = validate(free, wrapper, pctx, issues);
            cc.plugin_config = w.table("plugin_config");
        }
    } else {
        report("plugin_config", "expected a table, got " + pc.describe(), &pc);
    }

    // [transforms.<name>]: each validated against its transform's spec, in file order.
    if (const node* tr = tree.find("transforms")) {
        if (tr->kind != node_kind::table) {
            report("transforms",
                   "expected a table of [transforms.<name>] tables, got " + tr->describe(), tr);
        } else {
            for (const auto& [name, body] : tr->fields) {
                std::string path = "transforms." + name;
                if (body.kind != node_kind::table) {
                    report(path, "expected a table, got " + body.describe(), &body);
                    continue;
                }
                transform_config t;
                t.name = name;
                node opts = body;
                if (const node* en = opts.find("enabled")) {
                    if (en->kind == node_kind::boolean) {
                        t.enabled = en->b;
                    } else {
                        report(path + ".enabled",
                               "expected a boolean (true or false), got " + en->describe(), en);
                    }
                    opts.erase("enabled");
                }
                const spec* ts = cat.find_transform ? cat.find_transform(name) : nullptr;
                if (cat.find_transform && ts == nullptr) {
                    std::string msg = "unknown transform";
                    static const std::set<std::string> iggy_only = {"proto_convert", "avro_convert",
                                                                    "flatbuffer_convert"};
                    if (iggy_only.count(name)) {
                        msg = "transform " + quote(name) + " is not supported by Tributary yet";
                    } else if (cat.transform_names) {
                        if (auto m = closest_match(name, cat.transform_names())) {
                            msg += "; did you mean " + quote(*m) + "?";
                        }
                    }
                    if (t.enabled) {
                        report(path, std::move(msg), &body);
                    } else {
                        issues.warning(file, path, std::move(msg));
                    }
                    continue;
                }
                validation_context tctx = ctx;
                tctx.prefix = path;
                if (ts) {
                    t.options = validate(*ts, opts, tctx, issues);
                } else {
                    spec free;
                    for (const auto& [k, v] : opts.fields) {
                        option a = opt(k, opt_type::any, "");
                        a.optional = true;
                        free.options.push_back(a);
                    }
                    t.options = validate(free, opts, tctx, issues);
                }
                cc.transforms.push_back(std::move(t));
            }
        }
    }

    // [[streams]]: codec names, defaults and each stream's codec options (connector_streams.cpp).
    std::vector<detail::stream_codec_view> validated_codec_options = detail::read_streams(
        fv, codec_opts, cat, ctx, issues,
        [&](const std::string& path, std::string msg, const node* at) {
            report(path, std::move(msg), at);
        },
        cc);

    if (root && root->find("error_policy")) {
        const values ep = fv.table("error_policy");
        if (auto mode = ep.opt_str("mode")) {
            cc.error_policy.mode = *mode == "dead_letter" ? error_mode::dead_letter
                                   : *mode == "skip"      ? error_mode::skip
                                   : *mode == "stop"      ? error_mode::stop
                                                          : error_mode::retry;
        }
        cc.error_policy.max_retries = static_cast<std::uint32_t>(ep.integer("max_retries"));
        cc.error_policy.backoff_initial = ep.duration("backoff_initial");
        cc.error_policy.backoff_max = ep.duration("backoff_max");
        cc.error_policy.backoff_multiplier = ep.number("backoff_multiplier");
        cc.error_policy.jitter = ep.number("jitter");
        cc.error_policy.throttle_min = ep.duration("throttle_min");
        cc.error_policy.dead_letter_stream = ep.opt_str("dead_letter_stream").value_or("");
        cc.error_policy.dead_letter_topic = ep.opt_str("dead_letter_topic").value_or("");
    }
    if (root && root->find("delivery")) {
        const values d = fv.table("delivery");
        cc.delivery.max_in_flight_batches =
            static_cast<std::uint32_t>(d.integer("max_in_flight_batches"));
        cc.delivery.max_in_flight_bytes = d.size("max_in_flight_bytes");
        cc.delivery.shutdown_timeout = d.duration("shutdown_timeout");
    }

    // The whole file as validated, with plugin_config and transforms in their checked form, for
    // the API's redacted view.
    node whole = root ? *root : node::make_table();
    if (cc.plugin_config.root())
        whole.set("plugin_config", *cc.plugin_config.root());
    if (!cc.transforms.empty()) {
        node tnode = node::make_table();
        for (const auto& t : cc.transforms) {
            node body = t.options.root() ? *t.options.root() : node::make_table();
            if (body.kind == node_kind::table) {
                body.fields.insert(body.fields.begin(), {"enabled", node::make_bool(t.enabled)});
            }
            tnode.set(t.name, std::move(body));
        }
        whole.set("transforms", std::move(tnode));
    }
    whole.erase("config");
    detail::put_back_codec_options(whole, std::move(validated_codec_options));
    cc.raw = values(std::make_shared<const node>(std::move(whole)));

    if (!issues.has_errors())
        out.value = std::move(cc);
    return out;
}

}  // namespace

std::string plugin_name_from_path(std::string_view path) {
    std::string_view p = path;
    auto slash = p.find_last_of("/\\");
    if (slash != std::string_view::npos)
        p.remove_prefix(slash + 1);
    for (std::string_view ext : {".so", ".dylib", ".dll"}) {
        if (p.size() > ext.size() && p.substr(p.size() - ext.size()) == ext) {
            p.remove_suffix(ext.size());
            break;
        }
    }
    if (p.size() > 3 && p.substr(0, 3) == "lib")
        p.remove_prefix(3);
    return std::string(p);
}

const spec& connector_file_spec(connector_type t) {
    static const spec sink = build_file_spec(connector_type::sink);
    static const spec source = build_file_spec(connector_type::source);
    return t == connector_type::sink ? sink : source;
}

loaded<connector_config> parse_connector_config(std::string_view toml, const std::string& file,
                                                const catalog& cat, const environment& env,
                                                bool warnings_only) {
    auto parsed = parse_toml(toml, file);
    if (!parsed) {
        loaded<connector_config> out;
        out.issues.error(file, "", parsed.error().message());
        return out;
    }
    return load_tree(std::move(parsed).value(), file, cat, env, warnings_only);
}

loaded<connector_config> load_connector_file(const std::string& path, const catalog& cat,
                                             const environment& env) {
    auto parsed = parse_toml_file(path);
    if (!parsed) {
        loaded<connector_config> out;
        out.issues.error(path, "", parsed.error().message());
        return out;
    }
    return load_tree(std::move(parsed).value(), path, cat, env, false);
}

loaded<connector_set> load_connectors(const std::string& dir, const catalog& cat,
                                      const environment& env, const std::string& runtime_file) {
    loaded<connector_set> out;
    if (dir.empty()) {
        out.issues.error(runtime_file, "connectors.config_dir", "must be set");
        return out;
    }
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        out.issues.error(runtime_file, "connectors.config_dir",
                         "the connector directory \"" + dir + "\" does not exist" +
                             (ec ? " (" + ec.message() + ")" : std::string()) +
                             "; create it or fix the path (relative paths start at the working "
                             "directory)");
        return out;
    }
    if (!fs::is_directory(dir, ec)) {
        out.issues.error(runtime_file, "connectors.config_dir",
                         "\"" + dir + "\" is not a directory");
        return out;
    }
    std::vector<std::string> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        const fs::path& p = it->path();
        std::string name = p.filename().string();
        if (name.empty() || name.front() == '.')
            continue;  // hidden, .active_versions.toml
        if (p.extension() != ".toml")
            continue;
        std::string lower = name;
        for (auto& c : lower)
            c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        if (lower == "cargo.toml")
            continue;
        std::error_code fec;
        if (!it->is_regular_file(fec))
            continue;
        files.push_back(p.string());
    }
    if (ec) {
        out.issues.error(runtime_file, "connectors.config_dir",
                         "cannot list \"" + dir + "\": " + ec.message());
        return out;
    }
    std::sort(files.begin(), files.end());

    // First pass: identities, to rank versions before judging each file.
    struct entry {
        std::string file;
        node tree;
        header h;
    };
    std::vector<entry> entries;
    for (const auto& f : files) {
        auto parsed = parse_toml_file(f);
        if (!parsed) {
            out.issues.error(f, "", parsed.error().message());
            continue;
        }
        entry e{f, std::move(parsed).value(), {}};
        e.h = read_header(e.tree, f);
        entries.push_back(std::move(e));
    }

    // {config_dir}/.active_versions.toml pins versions ([sinks] key = N, [sources] key = N).
    std::map<std::pair<connector_type, std::string>, std::uint64_t> pinned;
    std::string active_file = (fs::path(dir) / ".active_versions.toml").string();
    if (fs::exists(active_file, ec)) {
        auto parsed = parse_toml_file(active_file);
        if (!parsed) {
            out.issues.warning(active_file, "", parsed.error().message() + "; ignored");
        } else {
            for (auto [section, t] : {std::pair{"sinks", connector_type::sink},
                                      std::pair{"sources", connector_type::source}}) {
                const node* sec = parsed->find(section);
                if (sec == nullptr || sec->kind != node_kind::table)
                    continue;
                for (const auto& [k, v] : sec->fields) {
                    if (v.kind == node_kind::integer && v.i >= 0) {
                        pinned[{t, k}] = static_cast<std::uint64_t>(v.i);
                    } else {
                        out.issues.warning(active_file, std::string(section) + "." + k,
                                           "expected a version number; ignored");
                    }
                }
            }
        }
    }

    std::map<std::pair<connector_type, std::string>, std::vector<std::size_t>> groups;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (entries[i].h.type)
            groups[{*entries[i].h.type, entries[i].h.key}].push_back(i);
    }
    std::set<std::size_t> active_index;
    for (auto& [id, idx] : groups) {
        std::map<std::uint64_t, std::size_t> by_version;
        for (std::size_t i : idx) {
            auto [it, fresh] = by_version.emplace(entries[i].h.version, i);
            if (!fresh) {
                out.issues.error(entries[i].file, "version",
                                 std::string(to_string(id.first)) + " " + quote(id.second) +
                                     " version " + std::to_string(entries[i].h.version) +
                                     " is also defined in " + entries[it->second].file);
            }
        }
        std::size_t chosen = by_version.rbegin()->second;  // the highest version
        if (auto p = pinned.find(id); p != pinned.end()) {
            if (auto v = by_version.find(p->second); v != by_version.end()) {
                chosen = v->second;
            } else {
                out.issues.warning(
                    active_file,
                    std::string(id.first == connector_type::sink ? "sinks." : "sources.") +
                        id.second,
                    "version " + std::to_string(p->second) +
                        " does not exist; using the highest version");
            }
        }
        active_index.insert(chosen);
    }

    std::vector<std::pair<connector_type, std::string>> keys;
    for (const auto& [id, idx] : groups)
        keys.push_back(id);
    connector_set set;
    for (std::size_t i = 0; i < entries.size(); ++i) {
        bool active = active_index.count(i) > 0 || !entries[i].h.type;
        auto r = load_tree(std::move(entries[i].tree), entries[i].file, cat, env, !active, &keys);
        out.issues.append(r.issues);
        if (r.value) {
            if (active)
                set.active.push_back(*r.value);
            set.all.push_back(std::move(*r.value));
        }
    }
    auto order = [](const connector_config& a, const connector_config& b) {
        if (a.type != b.type)
            return a.type < b.type;
        if (a.key != b.key)
            return a.key < b.key;
        return a.version < b.version;
    };
    std::sort(set.all.begin(), set.all.end(), order);
    std::sort(set.active.begin(), set.active.end(), order);
    if (!out.issues.has_errors())
        out.value = std::move(set);
    return out;
}

}  // namespace trib::config
