#include "runtime/host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>
#include <thread>

#include "core/redact.h"
#include "iggy/connection.h"
#include "runtime/chain_processor.h"
#include "runtime/iggy_port.h"
#include "runtime/sink_pipeline.h"
#include "runtime/source_pipeline.h"
#include "transforms/registry.h"

namespace trib::runtime {

using clock = std::chrono::steady_clock;

std::string_view to_string(connector_kind k) {
    return k == connector_kind::sink ? "sink" : "source";
}

connector_status connector_slot::status() const {
    if (setup_error)
        return connector_status::error;
    if (!sup)
        return connector_status::stopped;
    return sup->status();
}

std::optional<connector_error> connector_slot::last_error() const {
    if (setup_error)
        return connector_error{redact(setup_error->to_string()), 0};
    if (!sup)
        return std::nullopt;
    return sup->last_error();
}

error_policy policy_of(const config::connector_config& c) {
    const auto& e = c.error_policy;
    error_policy p;
    // No mode: dead-letter when a destination is configured, else stop (error_policy_config).
    const config::error_mode mode =
        e.mode.value_or(e.dead_letter_stream.empty() && e.dead_letter_topic.empty()
                            ? config::error_mode::stop
                            : config::error_mode::dead_letter);
    p.on_error_defaulted = !e.mode.has_value();
    switch (mode) {
        case config::error_mode::retry:
            p.on_error = policy_action::retry;
            break;
        case config::error_mode::dead_letter:
            p.on_error = policy_action::dead_letter;
            break;
        case config::error_mode::skip:
            p.on_error = policy_action::skip;
            break;
        case config::error_mode::stop:
            p.on_error = policy_action::stop;
            break;
    }
    p.max_retries = e.max_retries;
    p.backoff = backoff_settings{e.backoff_initial, e.backoff_max, e.backoff_multiplier, e.jitter};
    p.throttle_min = e.throttle_min;
    if (p.on_error == policy_action::dead_letter || !e.dead_letter_stream.empty() ||
        !e.dead_letter_topic.empty()) {
        // Defaults so that `mode = "dead_letter"` alone works: stream "dead_letter", one topic
        // per connector.
        p.dead_letter = stream_ref{
            e.dead_letter_stream.empty() ? "dead_letter" : e.dead_letter_stream,
            e.dead_letter_topic.empty()
                ? std::string(c.type == config::connector_type::sink ? "sink_" : "source_") + c.key
                : e.dead_letter_topic};
    }
    return p;
}

stream_codecs sink_codecs(const config::sink_stream_config& st) {
    stream_codecs c;
    c.decode = transforms::codec_choice{st.schema, st.schema_options};
    // Text in another encoding (`encoding = "latin1"`, ...) is converted to UTF-8 text: sinks
    // read a text payload as UTF-8.
    const bool foreign_text = st.schema == "text" && st.schema_options.root() != nullptr &&
                              st.schema_options.has("encoding") &&
                              st.schema_options.str("encoding") != "utf-8" &&
                              st.schema_options.str("encoding") != "utf8";
    if (foreign_text) {
        c.encode = transforms::codec_choice{"text", {}};
        c.mode = transforms::codec_mode::convert;
    } else if (transforms::sink_reads_directly(st.schema)) {
        c.encode = c.decode;
        c.mode = transforms::codec_mode::same;
    } else {
        c.encode = transforms::codec_choice{"json", {}};
        c.mode = transforms::codec_mode::convert;
    }
    return c;
}

namespace {
std::vector<config::transform_config> stream_transforms(
    const config::values& json_schema, const std::vector<config::transform_config>& transforms) {
    if (json_schema.root() == nullptr)
        return transforms;
    // The stream's JSON Schema checks the decoded record first: the connector's transforms
    // then see only records that match it.
    std::vector<config::transform_config> out;
    out.reserve(transforms.size() + 1);
    out.push_back(config::transform_config{"json_schema", true, json_schema});
    out.insert(out.end(), transforms.begin(), transforms.end());
    return out;
}
}  // namespace

stream_codecs source_codecs(const config::source_stream_config& st, std::string_view declared) {
    stream_codecs c;
    c.encode = transforms::codec_choice{st.schema, st.schema_options};
    if (!st.source_schema.empty()) {
        c.decode = transforms::codec_choice{st.source_schema, st.source_schema_options};
    } else if (!declared.empty()) {
        c.decode = transforms::codec_choice{std::string(declared), {}};
    } else {
        c.decode = c.encode;
    }
    // A declared format has no options: the same name is the same codec. `source_schema` with
    // options of its own converts when they differ from the stream's.
    const bool same_codec = c.decode.name == c.encode.name &&
                            (st.source_schema.empty() || c.decode.options.to_redacted_json() ==
                                                             c.encode.options.to_redacted_json());
    // Bytes that are already valid in the stream's schema need no conversion: anything is raw,
    // JSON and text are text.
    const bool already_valid =
        c.encode.name == "raw" ||
        (c.encode.name == "text" && (c.decode.name == "json" || c.decode.name == "text"));
    if (!same_codec && !already_valid) {
        c.mode = transforms::codec_mode::convert;
    } else {
        // The same format: json/raw/text pass through untouched (zero copy); a typed format is
        // decoded so that a payload that does not decode goes to the error policy here rather
        // than into the stream, but its bytes are kept.
        if (already_valid)
            c.decode = c.encode;
        c.encode = c.decode;
        c.mode = transforms::sink_reads_directly(c.decode.name) ? transforms::codec_mode::same
                                                                : transforms::codec_mode::validate;
    }
    return c;
}

config::catalog make_catalog(std::shared_ptr<const connectors::registry> reg) {
    config::catalog cat;
    cat.find_connector = [reg](config::connector_type t, std::string_view name) {
        const auto* e =
            t == config::connector_type::sink ? reg->find_sink(name) : reg->find_source(name);
        return e != nullptr ? &e->spec : nullptr;
    };
    cat.connector_names = [reg](config::connector_type t) {
        return reg->names(t == config::connector_type::sink ? config::spec_kind::sink
                                                            : config::spec_kind::source);
    };
    transforms::builtins().fill(cat);
    return cat;
}

host::host(host_options o) : o_(std::move(o)) {}

host::~host() {
    stop();
}

connector_slot* host::find(connector_kind kind, std::string_view key) const {
    for (const auto& s : slots_) {
        if (s->kind == kind && s->cfg.key == key)
            return s.get();
    }
    return nullptr;
}

status host::restart(connector_kind kind, std::string_view key) {
    auto* s = find(kind, key);
    if (s == nullptr) {
        return fail(errc::not_found,
                    std::string(to_string(kind)) + " " + std::string(key) + " does not exist");
    }
    if (!s->sup) {
        return fail(
            errc::failed_precondition,
            std::string(to_string(kind)) + " " + std::string(key) +
                (s->setup_error ? " cannot run: " + s->setup_error->message() : " is disabled"));
    }
    s->sup->restart();
    return ok();
}

status host::start() {
    start_us_ = now_us();
    if (!o_.registry)
        return fail(errc::internal, "host started without a registry");

    // State directory first: a source must not run if its position cannot be saved.
    const std::string state_dir =
        o_.runtime.state.path.empty() ? "local_state" : o_.runtime.state.path;
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec)
        return fail(errc::io_error,
                    "creating the state directory " + state_dir + ": " + ec.message());
    state_ = std::make_unique<file_state_store>(state_dir);

    if (o_.iggy != nullptr) {
        iggy_ = o_.iggy;
        iggy_address_ = "memory";
    } else {
        iggy::client_options co;
        if (o_.client) {
            co = *o_.client;
        } else {
            const auto& ic = o_.runtime.iggy;
            TRIB_ASSIGN_OR_RETURN(co.conn,
                                  iggy::connection_options_from(o_.runtime.iggy_address()));
            co.conn.username = ic.username;
            co.conn.password = ic.password;
            co.conn.token = ic.token;
            co.conn.tls.enabled = co.conn.tls.enabled || ic.tls.enabled;
            co.conn.tls.ca_file = ic.tls.ca_file;
            co.conn.tls.domain = ic.tls.domain;
        }
        iggy_address_ = co.conn.address.to_string();
        const auto deadline = clock::now() + o_.connect_timeout;
        backoff b({std::chrono::milliseconds(200), std::chrono::milliseconds(5000), 2.0, 0.2});
        for (;;) {
            auto c = iggy_client_port::connect(co);
            if (c) {
                owned_iggy_ = std::move(*c);
                break;
            }
            if (!c.error().retryable() || clock::now() >= deadline) {
                return c.error().wrap("connecting to Iggy at " + iggy_address_);
            }
            const auto d = b.next();
            spdlog::warn("cannot reach Iggy at {} yet ({}); retrying in {} ms", iggy_address_,
                         c.error().to_string(), d.count());
            std::this_thread::sleep_for(d);
        }
        iggy_ = owned_iggy_.get();
        spdlog::info("connected to Iggy at {}", iggy_address_);
    }

    for (auto& cfg : o_.connectors) {
        auto slot = std::make_unique<connector_slot>();
        slot->kind = cfg.type == config::connector_type::sink ? connector_kind::sink
                                                              : connector_kind::source;
        slot->cfg = std::move(cfg);
        slot->entry = slot->kind == connector_kind::sink
                          ? o_.registry->find_sink(slot->cfg.plugin)
                          : o_.registry->find_source(slot->cfg.plugin);
        if (slot->entry == nullptr) {
            slot->setup_error =
                error(errc::not_found, "no built-in " + std::string(to_string(slot->kind)) +
                                           " named " + slot->cfg.plugin);
        }
        slots_.push_back(std::move(slot));
    }
    o_.connectors.clear();

    std::size_t started = 0;
    for (auto& slot : slots_) {
        const auto kind = std::string(to_string(slot->kind));
        if (!slot->cfg.enabled) {
            spdlog::info("{} {} ({}) is disabled", kind, slot->cfg.key, slot->cfg.name);
            continue;
        }
        if (slot->setup_error) {
            spdlog::error("{} {}: {}", kind, slot->cfg.key, slot->setup_error->message());
            continue;
        }
        supervisor::settings ss;
        ss.key = slot->cfg.key;
        ss.kind = kind;
        ss.drain_timeout = slot->cfg.delivery.shutdown_timeout;
        auto* raw = slot.get();
        slot->sup = std::make_unique<supervisor>(
            ss, [this, raw] { return make_pipeline(*raw); }, slot->stats);
        spdlog::info("starting {} {} ({}, {})", kind, slot->cfg.key, slot->cfg.name,
                     slot->entry->spec.name);
        slot->sup->start();
        ++started;
    }
    spdlog::info("{} connector(s) configured, {} started", slots_.size(), started);
    return ok();
}

std::unique_ptr<pipeline> host::make_pipeline(connector_slot& slot) {
    const auto& c = slot.cfg;
    pipeline_limits limits;
    limits.max_in_flight_batches = std::max<std::uint32_t>(c.delivery.max_in_flight_batches, 1);
    limits.max_in_flight_bytes = c.delivery.max_in_flight_bytes;
    if (slot.kind == connector_kind::sink) {
        sink_settings s;
        s.key = c.key;
        s.name = c.name;
        s.policy = policy_of(c);
        s.limits = limits;
        s.metrics = &metrics_;
        for (const auto& st : c.sink_streams) {
            sink_stream_settings x;
            x.stream = st.stream;
            x.topics = st.topics;
            // What the sink is handed: json/raw/text as they are, any other schema decoded to
            // JSON (see sink_codecs).
            x.schema = transforms::sink_reads_directly(st.schema) ? st.schema : "json";
            x.batch_length = st.batch_length;
            x.poll_interval = st.poll_interval;
            x.consumer_group = st.consumer_group;
            s.streams.push_back(std::move(x));
        }
        processor_factory procs = [&slot](std::size_t i, const stream_ref& where,
                                          std::string_view) {
            const auto& st = slot.cfg.sink_streams[i];
            const auto sc = sink_codecs(st);
            return make_chain_processor(sc.decode, sc.encode, sc.mode,
                                        stream_transforms(st.json_schema, slot.cfg.transforms),
                                        where.stream, where.topic);
        };
        return std::make_unique<sink_pipeline>(
            std::move(s), [&slot] { return slot.entry->make_sink(slot.cfg.plugin_config); },
            std::move(procs), *iggy_, slot.stats);
    }
    source_settings s;
    s.key = c.key;
    s.name = c.name;
    s.policy = policy_of(c);
    s.limits = limits;
    s.metrics = &metrics_;
    for (const auto& st : c.source_streams) {
        source_stream_settings x;
        x.stream = st.stream;
        x.topic = st.topic;
        x.schema = st.schema;
        x.batch_length = st.batch_length;
        x.linger_time = st.linger_time;
        s.streams.push_back(std::move(x));
    }
    processor_factory procs = [&slot](std::size_t i, const stream_ref& where,
                                      std::string_view declared) {
        const auto& st = slot.cfg.source_streams[i];
        const auto sc = source_codecs(st, declared);
        return make_chain_processor(sc.decode, sc.encode, sc.mode,
                                    stream_transforms(st.json_schema, slot.cfg.transforms),
                                    where.stream, where.topic);
    };
    return std::make_unique<source_pipeline>(
        std::move(s), [&slot] { return slot.entry->make_source(slot.cfg.plugin_config); },
        std::move(procs), *iggy_, *state_, slot.stats);
}

void host::stop() {
    {
        std::lock_guard lk(stop_mu_);
        if (stopped_)
            return;
        stopped_ = true;
    }
    // Every connector drains at the same time; each has its own deadline.
    for (auto& s : slots_) {
        if (s->sup)
            s->sup->request_stop();
    }
    for (auto& s : slots_) {
        if (s->sup)
            s->sup->stop();
    }
    owned_iggy_.reset();
}

}  // namespace trib::runtime
