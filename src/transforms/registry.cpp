// The codec/transform registry, THE list of built-ins, and the batch chain.

#include "transforms/registry.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "codecs/avro.h"
#include "codecs/bson.h"
#include "codecs/registry/registry_codec.h"
#include "codecs/value.h"
#include "config/node.h"
#include "config/validate.h"
#include "transforms/chain.h"
#include "transforms/json_schema.h"

namespace trib::transforms {

// --- the list --------------------------------------------------------------------------------

status register_builtins(registry& r) {
    // Codecs: the `schema` values of Iggy's runtime that Tributary implements.
    TRIB_TRY(r.add_codec(codecs::json_codec_spec(), codecs::make_json_codec));
    TRIB_TRY(r.add_codec(codecs::raw_codec_spec(), codecs::make_raw_codec));
    TRIB_TRY(r.add_codec(codecs::text_codec_spec(), codecs::make_text_codec));
    TRIB_TRY(r.add_codec(codecs::msgpack_codec_spec(), codecs::make_msgpack_codec));
    TRIB_TRY(r.add_codec(codecs::csv_codec_spec(), codecs::make_csv_codec));
    TRIB_TRY(r.add_codec(codecs::proto_codec_spec(), codecs::make_proto_codec));
    TRIB_TRY(r.add_codec(codecs::schema_registry_codec_spec(), codecs::make_schema_registry_codec));
    TRIB_TRY(r.add_codec(codecs::avro_codec_spec(),
                         [](const config::values& v) { return codecs::make_avro_codec(v); }));
    TRIB_TRY(r.add_codec(codecs::flat_buffer_codec_spec(), codecs::make_flat_buffer_codec));
    TRIB_TRY(r.add_codec(codecs::bson_codec_spec(), codecs::make_bson_codec));
    // Transforms: Iggy's names and shapes, then Tributary's.
    TRIB_TRY(r.add_transform(add_fields_spec(), make_add_fields));
    TRIB_TRY(r.add_transform(delete_fields_spec(), make_delete_fields));
    TRIB_TRY(r.add_transform(filter_fields_spec(), make_filter_fields));
    TRIB_TRY(r.add_transform(update_fields_spec(), make_update_fields));
    TRIB_TRY(r.add_transform(unwrap_envelope_spec(), make_unwrap_envelope));
    TRIB_TRY(r.add_transform(proto_convert_spec(), make_proto_convert));
    TRIB_TRY(r.add_transform(avro_convert_spec(), make_avro_convert));
    TRIB_TRY(r.add_transform(flat_buffer_convert_spec(), make_flat_buffer_convert));
    TRIB_TRY(r.add_transform(filter_spec(), make_filter));
    TRIB_TRY(r.add_transform(json_schema_spec(), make_json_schema));
    return ok();
}

// --- registry --------------------------------------------------------------------------------

status registry::add_codec(config::spec s, codec_factory f) {
    if (codec_spec(s.name) != nullptr) {
        return fail(errc::already_exists, "codec " + s.name + " is registered twice");
    }
    s.kind = config::spec_kind::codec;
    codecs_.push_back({std::move(s), std::move(f)});
    return ok();
}

status registry::add_transform(config::spec s, transform_factory f) {
    if (transform_spec(s.name) != nullptr) {
        return fail(errc::already_exists, "transform " + s.name + " is registered twice");
    }
    s.kind = config::spec_kind::transform;
    transforms_.push_back({std::move(s), std::move(f)});
    return ok();
}

const config::spec* registry::codec_spec(std::string_view name) const {
    for (const auto& e : codecs_) {
        if (e.spec.name == name)
            return &e.spec;
    }
    return nullptr;
}

const config::spec* registry::transform_spec(std::string_view name) const {
    for (const auto& e : transforms_) {
        if (e.spec.name == name)
            return &e.spec;
    }
    return nullptr;
}

std::vector<std::string> registry::codec_names() const {
    std::vector<std::string> out;
    for (const auto& e : codecs_)
        out.push_back(e.spec.name);
    return out;
}

std::vector<std::string> registry::transform_names() const {
    std::vector<std::string> out;
    for (const auto& e : transforms_)
        out.push_back(e.spec.name);
    return out;
}

result<std::unique_ptr<codecs::codec>> registry::make_codec(std::string_view name,
                                                            const config::values& v) const {
    for (const auto& e : codecs_) {
        if (e.spec.name != name)
            continue;
        if (v.root() != nullptr)
            return e.make(v);
        // No options given: the spec's defaults.
        config::problems p;
        config::environment env;
        config::validation_context ctx;
        ctx.file = "codec " + e.spec.name;
        ctx.env = &env;
        config::values defaults = config::validate(e.spec, config::node::make_table(), ctx, p);
        if (p.has_errors())
            return fail(errc::invalid_argument, p.errors_to_string());
        return e.make(defaults);
    }
    return fail(errc::not_found, "unknown codec " + std::string(name));
}

result<std::unique_ptr<codecs::codec>> registry::make_codec_from(
    std::string_view name, const config::node& options) const {
    for (const auto& e : codecs_) {
        if (e.spec.name != name)
            continue;
        config::problems p;
        config::environment env;
        config::validation_context ctx;
        ctx.file = "codec " + e.spec.name;
        ctx.env = &env;
        config::values v = config::validate(e.spec, options, ctx, p);
        if (p.has_errors())
            return fail(errc::invalid_argument, p.errors_to_string());
        return e.make(v);
    }
    return fail(errc::not_found, "unknown codec " + std::string(name));
}

result<std::unique_ptr<transform>> registry::make_transform(std::string_view name,
                                                            const config::values& v) const {
    for (const auto& e : transforms_) {
        if (e.spec.name == name)
            return e.make(v);
    }
    return fail(errc::not_found, "unknown transform " + std::string(name));
}

void registry::fill(config::catalog& c) const {
    c.find_transform = [this](std::string_view n) { return transform_spec(n); };
    c.transform_names = [this] { return transform_names(); };
    c.codec_names = [this] { return codec_names(); };
    c.find_codec = [this](std::string_view n) { return codec_spec(n); };
    c.check_codec = [this](std::string_view n, const config::values& v) -> status {
        auto made = make_codec(n, v);
        if (!made)
            return made.error();
        return ok();
    };
    c.check_transform = [this](std::string_view n, const config::values& v) -> status {
        auto made = make_transform(n, v);
        if (!made)
            return made.error();
        return ok();
    };
}

const registry& builtins() {
    static const registry r = [] {
        registry reg;
        status s = register_builtins(reg);
        if (!s) {
            // Two built-ins with one name: a bug in register_builtins, caught by any test.
            std::fprintf(stderr, "tributary: %s\n", s.error().message().c_str());
            std::abort();
        }
        return reg;
    }();
    return r;
}

result<std::unique_ptr<transform>> make_transform(std::string_view name, const config::values& v) {
    return builtins().make_transform(name, v);
}

// --- chain -----------------------------------------------------------------------------------

std::string_view to_string(stage s) {
    switch (s) {
        case stage::decode:
            return "decode";
        case stage::transform:
            return "transform";
        case stage::encode:
            return "encode";
    }
    return "decode";
}

namespace {
enum : std::uint8_t { alive = 0, dropped = 1, failed = 2 };
constexpr std::size_t unchanged = static_cast<std::size_t>(-1);
}  // namespace

chain::chain(std::unique_ptr<codecs::codec> codec,
             std::vector<std::unique_ptr<transform>> transforms)
    : codec_(std::move(codec)), transforms_(std::move(transforms)) {}
chain::chain(std::unique_ptr<codecs::codec> decoder, std::unique_ptr<codecs::codec> encoder,
             codec_mode mode, std::vector<std::unique_ptr<transform>> transforms)
    : codec_(std::move(decoder)),
      encoder_(std::move(encoder)),
      mode_(mode),
      transforms_(std::move(transforms)) {}
chain::chain(chain&&) noexcept = default;
chain& chain::operator=(chain&&) noexcept = default;
chain::~chain() = default;

void chain::process(message_batch& batch, std::string_view stream, std::string_view topic,
                    chain_report& report) {
    if (passthrough() || batch.messages.empty())
        return;
    const std::size_t n = batch.messages.size();
    arena_.reset();
    records_.assign(n, codecs::record{});
    state_.assign(n, alive);
    std::vector<std::pair<std::size_t, failed_message>> failures;
    auto fail_at = [&](std::size_t i, stage where, error err) {
        state_[i] = failed;
        failures.emplace_back(i, failed_message{message{}, where, std::move(err)});
    };

    for (std::size_t i = 0; i < n; ++i) {
        status s = codec_->decode(batch.messages[i].payload, arena_, records_[i]);
        if (!s)
            fail_at(i, stage::decode, s.error());
    }
    if (!transforms_.empty()) {
        // Transforms work on JSON: typed records (msgpack, csv, proto) are converted once here.
        for (std::size_t i = 0; i < n; ++i) {
            if (state_[i] != alive || records_[i].kind != codecs::record_kind::typed)
                continue;
            status s = codecs::typed_to_json_record(records_[i], arena_);
            if (!s)
                fail_at(i, stage::decode, s.error());
        }
    }
    for (const auto& t : transforms_) {
        transform_context ctx{stream, topic, nullptr};
        for (std::size_t i = 0; i < n; ++i) {
            if (state_[i] != alive)
                continue;
            ctx.msg = &batch.messages[i];
            auto v = t->apply(records_[i], arena_, ctx);
            if (!v) {
                fail_at(i, stage::transform, v.error().wrap(t->name()));
            } else if (*v == verdict::drop) {
                state_[i] = dropped;
                ++report.filtered;
            }
        }
    }

    // Changed records are encoded back-to-back into one buffer the batch then owns: one
    // allocation per batch instead of one per message.
    std::string buffer;
    slices_.assign(2 * n, unchanged);
    bool any = false;
    const bool encode_all = mode_ == codec_mode::convert;
    const codecs::codec& enc = encoder();
    for (std::size_t i = 0; i < n; ++i) {
        if (state_[i] != alive || !(encode_all || records_[i].modified))
            continue;
        if (!any) {
            buffer.reserve(batch.payload_bytes() + 64 * n);
            any = true;
        }
        std::size_t start = buffer.size();
        status s = enc.encode(records_[i], arena_, buffer);
        if (!s) {
            buffer.resize(start);
            fail_at(i, stage::encode, s.error());
            continue;
        }
        slices_[2 * i] = start;
        slices_[2 * i + 1] = buffer.size() - start;
    }
    if (any) {
        std::string_view base = batch.own(std::move(buffer));
        for (std::size_t i = 0; i < n; ++i) {
            if (state_[i] == alive && slices_[2 * i] != unchanged) {
                batch.messages[i].payload = base.substr(slices_[2 * i], slices_[2 * i + 1]);
            }
        }
    }

    // Compact in place: survivors keep their order; failures leave with their original bytes.
    std::sort(failures.begin(), failures.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    std::size_t w = 0, f = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (state_[i] == alive) {
            if (w != i)
                batch.messages[w] = std::move(batch.messages[i]);
            ++w;
        } else if (state_[i] == failed) {
            while (f < failures.size() && failures[f].first != i)
                ++f;
            if (f < failures.size()) {
                failures[f].second.original = std::move(batch.messages[i]);
                report.failed.push_back(std::move(failures[f].second));
                ++f;
            }
        }
    }
    batch.messages.resize(w);
}

result<chain> make_chain(std::string_view schema,
                         const std::vector<config::transform_config>& transforms,
                         const registry& reg, const config::node* codec_options) {
    TRIB_ASSIGN_OR_RETURN(auto codec, codec_options ? reg.make_codec_from(schema, *codec_options)
                                                    : reg.make_codec(schema));
    std::vector<std::unique_ptr<transform>> ts;
    for (const auto& t : transforms) {
        if (!t.enabled)
            continue;
        auto made = reg.make_transform(t.name, t.options);
        if (!made)
            return unexpected(made.error().wrap("transforms." + t.name));
        ts.push_back(std::move(made).value());
    }
    return chain(std::move(codec), std::move(ts));
}

result<chain> make_chain(const codec_choice& decode, const codec_choice& encode, codec_mode mode,
                         const std::vector<config::transform_config>& transforms,
                         const registry& reg) {
    auto dec = reg.make_codec(decode.name, decode.options);
    if (!dec)
        return unexpected(dec.error().wrap("schema " + decode.name));
    std::unique_ptr<codecs::codec> enc;
    if (mode == codec_mode::convert) {
        auto e = reg.make_codec(encode.name, encode.options);
        if (!e)
            return unexpected(e.error().wrap("schema " + encode.name));
        enc = std::move(e).value();
    }
    std::vector<std::unique_ptr<transform>> ts;
    for (const auto& t : transforms) {
        if (!t.enabled)
            continue;
        auto made = reg.make_transform(t.name, t.options);
        if (!made)
            return unexpected(made.error().wrap("transforms." + t.name));
        ts.push_back(std::move(made).value());
    }
    return chain(std::move(dec).value(), std::move(enc), mode, std::move(ts));
}

bool sink_reads_directly(std::string_view schema) {
    return schema == "json" || schema == "raw" || schema == "text";
}

}  // namespace trib::transforms
