// The schema_registry codec. The inner formats are one table (formats() below): each entry
// builds the inner codec for a writer schema. Avro joins the table through
// make_avro_codec_for_schema (src/codecs/avro.h).

#include "codecs/registry/registry_codec.h"

#include <rapidjson/document.h>

#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include "codecs/registry/client.h"
#include "codecs/registry/framing.h"
#include "core/redact.h"

#include "codecs/avro.h"
#include "codecs/json_schema.h"

namespace trib::codecs {

namespace {

namespace reg = registry;

/// The member `name` of object `o`, or nullptr. (RapidJSON 1.1's member iterators compare
/// ambiguously under C++20's rewritten operators, so the comparison stays in here.)
const rapidjson::Value* member(const rapidjson::Value& o, const char* name) {
    auto it = o.FindMember(name);
    return it.operator!=(o.MemberEnd()) ? &it->value : nullptr;
}

struct registry_options {
    reg::client_options client;
    std::optional<std::string> format;  // protobuf, json, avro (encode)
    std::optional<std::string> schema_path;
    std::optional<std::string> message_type;
    reg::subject_strategy strategy = reg::subject_strategy::topic;
    std::string topic;
    std::optional<std::string> subject;
    bool is_key = false;
    bool auto_register = true;
    bool use_latest_version = false;
    bool normalize = false;
    bool check_compatibility = false;
    proto_text_options proto;
};

/// An inner codec for one writer schema (and, for Protobuf, one message of it).
struct inner_codec {
    std::shared_ptr<const codec> c;
    std::vector<std::int32_t> indexes;  // Protobuf message indexes of the message
    std::string record_name;            // full name, for the record subject strategies
};

/// What a format entry gets to build an inner codec.
struct inner_request {
    const reg::schema& s;
    const std::vector<std::pair<std::string, std::string>>& references;  // name -> text
    std::string_view message_type;          // Protobuf: chosen by name (encode) ...
    std::span<const std::int32_t> indexes;  // ... or by the payload's message indexes
    const registry_options& o;
};

struct format_entry {
    std::string_view format;       // the `format` option's value
    std::string_view schema_type;  // the registry's schemaType
    bool message_indexes;          // Protobuf framing: message indexes after the schema id
    result<inner_codec> (*make)(const inner_request&);
};

result<inner_codec> make_protobuf_inner(const inner_request& r) {
    proto_text_source src;
    src.main_text = r.s.text;
    src.imports = r.references;
    TRIB_ASSIGN_OR_RETURN(auto made,
                          make_proto_codec_from_text(src, r.message_type, r.indexes, r.o.proto));
    inner_codec ic;
    ic.c = std::shared_ptr<const codec>(std::move(made.inner));
    ic.indexes = std::move(made.indexes);
    ic.record_name = std::move(made.message_type);
    return ic;
}

/// The json codec behind a compiled JSON Schema: a body (decode) or record (encode) the schema
/// refuses is a bad payload naming the JSON pointer and keyword.
class json_schema_body_codec final : public codec {
  public:
    json_schema_body_codec(std::unique_ptr<codec> json, json_schema_validator v)
        : json_(std::move(json)), v_(std::move(v)) {}
    std::string_view name() const override { return json_->name(); }
    record_kind kind() const override { return json_->kind(); }
    status decode(std::string_view payload, arena& a, record& out) const override {
        TRIB_TRY(json_->decode(payload, a, out));
        return v_.validate(out);
    }
    status encode(const record& in, arena& a, std::string& out) const override {
        TRIB_TRY(v_.validate(in));
        return json_->encode(in, a, out);
    }

  private:
    std::unique_ptr<codec> json_;
    json_schema_validator v_;
};

// JSON: the body is JSON text, decoded by the json codec and validated against the writer's JSON
// Schema (r.s.text; its "$schema" picks the draft, 2020-12 without one). A schema the validator
// cannot compile (not JSON, an unsupported keyword, a remote $ref) makes the payloads naming it
// bad payloads with that reason: they are never passed unvalidated.
result<inner_codec> make_json_inner(const inner_request& r) {
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(r.s.text.data(), r.s.text.size());
    if (d.HasParseError())
        return fail(errc::invalid_argument, "the JSON Schema is not JSON");
    inner_codec ic;
    if (d.IsObject()) {
        const rapidjson::Value* t = member(d, "title");  // Confluent's record name
        if (t != nullptr && t->IsString())
            ic.record_name.assign(t->GetString(), t->GetStringLength());
    }
    auto v = json_schema_validator::compile(r.s.text);
    if (!v)
        return fail(errc::invalid_argument,
                    "the registry's JSON Schema cannot be used: " + v.error().message());
    TRIB_ASSIGN_OR_RETURN(auto c, make_json_codec(config::values()));
    ic.c = std::make_shared<json_schema_body_codec>(std::move(c), std::move(*v));
    return ic;
}

result<inner_codec> make_avro_inner(const inner_request& r) {
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag>(r.s.text.data(), r.s.text.size());
    inner_codec ic;
    if (!d.HasParseError() && d.IsObject()) {
        const rapidjson::Value* n = member(d, "name");
        const rapidjson::Value* ns = member(d, "namespace");
        if (n != nullptr && n->IsString()) {
            std::string name(n->GetString(), n->GetStringLength());
            if (name.find('.') == std::string::npos && ns != nullptr && ns->IsString() &&
                ns->GetStringLength() > 0)
                name = std::string(ns->GetString(), ns->GetStringLength()) + "." + name;
            ic.record_name = std::move(name);
        }
    }
    // The writer's schema is also the reader's: records come out as the producer wrote them.
    TRIB_ASSIGN_OR_RETURN(auto c, make_avro_codec_for_schema(r.s.text, r.s.text));
    ic.c = std::shared_ptr<const codec>(std::move(c));
    return ic;
}

const std::vector<format_entry>& formats() {
    static const std::vector<format_entry> table = {
        {"protobuf", reg::protobuf_type, true, make_protobuf_inner},
        {"json", reg::json_type, false, make_json_inner},
        {"avro", reg::avro_type, false, make_avro_inner},
    };
    return table;
}

const format_entry* by_type(std::string_view type) {
    for (const auto& f : formats())
        if (f.schema_type == type)
            return &f;
    return nullptr;
}

const format_entry* by_format(std::string_view format) {
    for (const auto& f : formats())
        if (f.format == format)
            return &f;
    return nullptr;
}

bool read_text_file(const std::string& path, std::size_t max, std::string& out, std::string& why) {
    std::ifstream f(path, std::ios::binary | std::ios::ate);
    if (!f) {
        why = "cannot open " + path;
        return false;
    }
    const auto size = static_cast<std::size_t>(f.tellg());
    if (size > max) {
        why = path + " has " + std::to_string(size) + " bytes, more than max_schema_bytes";
        return false;
    }
    f.seekg(0);
    out.resize(size);
    f.read(out.data(), static_cast<std::streamsize>(size));
    if (!f) {
        why = "cannot read " + path;
        return false;
    }
    return true;
}

/// A non-transient registry error while decoding becomes a bad payload (the message names an id
/// the registry does not have, or a schema we cannot use): the message goes to the error policy.
/// Transport failures, 5xx and 429 stay as they are (retryable), so the runtime retries instead
/// of dead-lettering; so do credentials refused (the configuration is wrong, not the message).
error decode_error(const error& e, std::uint32_t id) {
    if (e.retryable() || e.code() == errc::unauthenticated || e.code() == errc::permission_denied)
        return e;
    return bad_payload("schema registry: writer schema id " + std::to_string(id) + ": " +
                       e.message());
}

class registry_codec final : public codec {
  public:
    registry_codec(registry_options o, std::unique_ptr<reg::client> c, std::string local_schema)
        : o_(std::move(o)), client_(std::move(c)), local_schema_(std::move(local_schema)) {}

    std::string_view name() const override { return "schema_registry"; }
    record_kind kind() const override {
        return o_.format && *o_.format == "json" ? record_kind::json : record_kind::typed;
    }

    status decode(std::string_view payload, arena& a, record& out) const override {
        TRIB_ASSIGN_OR_RETURN(auto f, reg::read_frame(payload));
        auto s = client_->schema_by_id(f.schema_id);
        if (!s)
            return unexpected(decode_error(s.error(), f.schema_id));
        const format_entry* fe = by_type((*s)->type);
        if (fe == nullptr)
            return bad_payload("schema registry: writer schema id " + std::to_string(f.schema_id) +
                               " is of type " + (*s)->type + ", which this build does not decode");
        std::vector<std::int32_t> indexes;
        std::string_view body = f.body;
        if (fe->message_indexes) {
            TRIB_ASSIGN_OR_RETURN(indexes, reg::read_message_indexes(body));
        }
        TRIB_ASSIGN_OR_RETURN(auto c, decoder_for(f.schema_id, **s, *fe, indexes));
        return c->decode(body, a, out);
    }

    status encode(const record& in, arena& a, std::string& out) const override {
        TRIB_ASSIGN_OR_RETURN(auto w, writer());
        reg::write_frame_header(static_cast<std::uint32_t>(w->id), out);
        if (w->indexes_in_frame)
            reg::write_message_indexes(w->inner.indexes, out);
        return w->inner.c->encode(in, a, out);
    }

  private:
    struct writer_state {
        std::int32_t id = 0;
        inner_codec inner;
        bool indexes_in_frame = false;
    };

    result<std::shared_ptr<const codec>> decoder_for(
        std::uint32_t id, const reg::schema& s, const format_entry& fe,
        const std::vector<std::int32_t>& indexes) const {
        std::string key = std::to_string(id);
        for (auto i : indexes)
            key += "." + std::to_string(i);
        {
            std::lock_guard lk(mu_);
            auto it = decoders_.find(key);
            if (it != decoders_.end())
                return it->second;
        }
        std::vector<std::pair<std::string, std::string>> refs;
        if (!s.references.empty()) {
            auto r = client_->resolve_references(s);
            if (!r)
                return unexpected(decode_error(r.error(), id));
            refs = std::move(r).value();
        }
        inner_request req{s, refs, {}, indexes, o_};
        auto made = fe.make(req);
        if (!made)
            return bad_payload("schema registry: writer schema id " + std::to_string(id) + " (" +
                               std::string(fe.schema_type) + "): " + made.error().message());
        std::lock_guard lk(mu_);
        // Bounded: a stream naming ever new ids (or message indexes) cannot grow memory for
        // ever; the registry client's own cache keeps the schema texts.
        if (decoders_.size() >= o_.client.cache_capacity)
            decoders_.clear();
        decoders_.emplace(key, made->c);
        return made->c;
    }

    result<std::shared_ptr<const writer_state>> writer() const {
        std::lock_guard lk(writer_mu_);
        if (writer_)
            return writer_;
        TRIB_ASSIGN_OR_RETURN(auto w, make_writer());
        writer_ = std::make_shared<const writer_state>(std::move(w));
        return writer_;
    }

    std::string subject_for(std::string_view record_name) const {
        if (o_.subject)
            return *o_.subject;
        auto s = reg::subject_name(o_.strategy, o_.topic, record_name, o_.is_key);
        return s ? *s : std::string();
    }

    result<writer_state> make_writer() const {
        writer_state w;
        if (!o_.schema_path) {
            // use_latest_version without a local schema: the registry's latest is the schema.
            const std::string subject = subject_for(o_.message_type.value_or(""));
            if (subject.empty())
                return fail(errc::invalid_argument,
                            "schema_registry: set subject (or topic) to encode with the latest "
                            "version");
            TRIB_ASSIGN_OR_RETURN(auto sv, client_->latest(subject));
            const format_entry* fe = by_type(sv.s.type);
            if (fe == nullptr)
                return error(errc::unimplemented, retry_class::fatal,
                             "schema_registry: subject " + subject + " holds a " + sv.s.type +
                                 " schema, which this build does not encode");
            TRIB_ASSIGN_OR_RETURN(auto refs, client_->resolve_references(sv.s));
            const std::vector<std::int32_t> first{0};
            inner_request req{
                sv.s, refs,
                o_.message_type ? std::string_view(*o_.message_type) : std::string_view(),
                o_.message_type ? std::span<const std::int32_t>()
                                : std::span<const std::int32_t>(first),
                o_};
            TRIB_ASSIGN_OR_RETURN(w.inner, fe->make(req));
            w.id = sv.id;
            w.indexes_in_frame = fe->message_indexes;
            return w;
        }
        const format_entry* fe = by_format(*o_.format);
        if (fe == nullptr)
            return fail(errc::unimplemented,
                        "schema_registry: format " + *o_.format + " is not in this build");
        reg::schema local;
        local.type = std::string(fe->schema_type);
        local.text = local_schema_;
        const std::vector<std::pair<std::string, std::string>> no_refs;
        const std::vector<std::int32_t> first{0};
        inner_request req{local, no_refs,
                          o_.message_type ? std::string_view(*o_.message_type) : std::string_view(),
                          o_.message_type ? std::span<const std::int32_t>()
                                          : std::span<const std::int32_t>(first),
                          o_};
        auto inner = fe->make(req);
        if (!inner)
            return error(
                errc::invalid_argument, retry_class::fatal,
                "schema_registry: schema_path " + *o_.schema_path + ": " + inner.error().message());
        w.inner = std::move(inner).value();
        w.indexes_in_frame = fe->message_indexes;
        const std::string subject = subject_for(w.inner.record_name);
        if (subject.empty())
            return fail(errc::invalid_argument,
                        "schema_registry: no subject: set subject, or topic with the topic "
                        "strategies (the record strategies need a named record: Protobuf "
                        "message, Avro record, JSON Schema title)");
        if (o_.use_latest_version) {
            TRIB_ASSIGN_OR_RETURN(auto sv, client_->latest(subject));
            w.id = sv.id;
            return w;
        }
        if (o_.check_compatibility) {
            TRIB_ASSIGN_OR_RETURN(bool ok, client_->compatible(subject, local));
            if (!ok)
                return error(errc::failed_precondition, retry_class::fatal,
                             "schema_registry: schema_path " + *o_.schema_path +
                                 " is not compatible with the latest version of subject " +
                                 subject);
        }
        if (o_.auto_register) {
            TRIB_ASSIGN_OR_RETURN(w.id, client_->register_schema(subject, local, o_.normalize));
        } else {
            TRIB_ASSIGN_OR_RETURN(auto sv, client_->lookup(subject, local, o_.normalize));
            w.id = sv.id;
        }
        return w;
    }

    registry_options o_;
    std::unique_ptr<reg::client> client_;
    std::string local_schema_;
    mutable std::mutex mu_;
    mutable std::map<std::string, std::shared_ptr<const codec>> decoders_;
    mutable std::mutex writer_mu_;
    mutable std::shared_ptr<const writer_state> writer_;
};

std::vector<std::string> split_urls(const std::string& s) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= s.size()) {
        auto comma = s.find(',', start);
        if (comma == std::string::npos)
            comma = s.size();
        std::string u = s.substr(start, comma - start);
        while (!u.empty() && u.front() == ' ')
            u.erase(u.begin());
        while (!u.empty() && u.back() == ' ')
            u.pop_back();
        if (!u.empty())
            out.push_back(u);
        start = comma + 1;
    }
    return out;
}

}  // namespace

config::spec schema_registry_codec_spec() {
    using config::opt_or_absent;
    using config::opt_type;
    config::spec s;
    s.name = "schema_registry";
    s.kind = config::spec_kind::codec;
    s.summary =
        "Confluent-framed payloads (magic byte, schema id, Protobuf message indexes) with their "
        "schemas in a schema registry (Confluent, Apicurio's ccompat API, Redpanda, Karapace). "
        "Contract-tested: against a stand-in of the Confluent REST API and confluent-kafka's "
        "serializers (no registry server runs on the test machines).";
    s.description =
        "Decode reads the 5-byte header, fetches the writer schema by id (cached) and decodes "
        "the body with a codec built for that schema (cached per id): AVRO, PROTOBUF (message "
        "chosen by the message indexes; imports through the schema's references) and JSON (the "
        "body is JSON text). Encode takes the schema in schema_path (format says which kind), "
        "registers "
        "it (auto_register_schemas) or looks it up under the subject that "
        "subject_name_strategy names, and writes the framing. An id the registry does not have, "
        "a schema of a type this build does not read, or a body the schema refuses is a bad "
        "payload (the error policy takes it); a registry that cannot be reached is a retryable "
        "error (the runtime retries the batch). Option names follow Confluent's clients "
        "(schema.registry.url -> schema_registry_url, ...).";
    s.options.push_back(config::opt("schema_registry_url", opt_type::string,
                                    "Base URL of the registry; several separated by commas are "
                                    "tried in order. Apicurio: http://host:8080/apis/ccompat/v7."));
    s.options.push_back(opt_or_absent("format", opt_type::enumeration,
                                      "Kind of the schema in schema_path (encode): protobuf or "
                                      "json (avro when the build has the Avro codec)."));
    s.options.back().choices = {"protobuf", "json", "avro"};
    s.options.push_back(opt_or_absent("schema_path", opt_type::string,
                                      "The writer schema to register or look up when encoding "
                                      "(.proto, JSON Schema or .avsc file)."));
    s.options.push_back(opt_or_absent("message_type", opt_type::string,
                                      "Protobuf: full name of the message to encode (default: "
                                      "the file's first message)."));
    s.options.push_back(opt_or_absent(
        "subject_name_strategy", opt_type::string,
        "topic (<topic>-value / <topic>-key), record (the record's full name) or topic_record "
        "(<topic>-<record>); Confluent's class names (TopicNameStrategy, ...) are accepted too.",
        "\"topic\""));
    s.options.push_back(opt_or_absent("topic", opt_type::string,
                                      "The topic the topic strategies put in the subject name."));
    s.options.push_back(opt_or_absent("subject", opt_type::string,
                                      "A fixed subject name instead of the strategy's."));
    s.options.push_back(opt_or_absent("is_key", opt_type::boolean,
                                      "The payload is a message key (subject <topic>-key).",
                                      "false"));
    s.options.push_back(opt_or_absent("auto_register_schemas", opt_type::boolean,
                                      "Register schema_path under the subject when encoding; "
                                      "false: look it up and fail if it is not registered.",
                                      "true"));
    s.options.push_back(opt_or_absent(
        "use_latest_version", opt_type::boolean,
        "Encode with the subject's latest registered version instead of registering (its id "
        "goes in the header; without schema_path it is also the schema used).",
        "false"));
    s.options.push_back(opt_or_absent("normalize_schemas", opt_type::boolean,
                                      "Ask the registry to normalize schemas when registering "
                                      "and looking up (?normalize=true).",
                                      "false"));
    s.options.push_back(opt_or_absent(
        "check_compatibility", opt_type::boolean,
        "Before registering, check schema_path against the subject's latest version and refuse "
        "to encode if the registry says it is incompatible.",
        "false"));
    s.options.push_back(opt_or_absent("schema_registry_basic_auth_user_info", opt_type::secret,
                                      "user:password for HTTP basic auth."));
    s.options.push_back(opt_or_absent("schema_registry_bearer_auth_token", opt_type::secret,
                                      "A bearer token (Authorization: Bearer)."));
    s.options.push_back(opt_or_absent("schema_registry_ssl_ca_location", opt_type::string,
                                      "PEM file of CAs to trust (default: the system's)."));
    s.options.push_back(opt_or_absent("schema_registry_ssl_certificate_location", opt_type::string,
                                      "PEM client certificate (mutual TLS)."));
    s.options.push_back(opt_or_absent("schema_registry_ssl_key_location", opt_type::string,
                                      "PEM private key of the client certificate."));
    s.options.push_back(opt_or_absent("schema_registry_ssl_key_password", opt_type::secret,
                                      "Password of the private key."));
    s.options.push_back(opt_or_absent("schema_registry_ssl_verify", opt_type::boolean,
                                      "Verify the registry's certificate and host name.", "true"));
    auto timeout = opt_or_absent("schema_registry_request_timeout", opt_type::duration,
                                 "Timeout of one request.", "\"10s\"");
    timeout.min = 1;
    s.options.push_back(timeout);
    auto retries = opt_or_absent("schema_registry_max_retries", opt_type::integer,
                                 "Extra attempts after a transient failure before the error goes "
                                 "to the runtime (which retries the batch).",
                                 "2");
    retries.min = 0;
    retries.max = 10;
    s.options.push_back(retries);
    s.options.push_back(opt_or_absent("schema_registry_retry_backoff", opt_type::duration,
                                      "Wait before the first retry, doubled each time.",
                                      "\"100ms\""));
    s.options.push_back(opt_or_absent("schema_registry_max_retry_backoff", opt_type::duration,
                                      "Longest wait between retries.", "\"2s\""));
    s.options.push_back(opt_or_absent(
        "schema_registry_missing_id_cache_ttl", opt_type::duration,
        "How long an id the registry does not know is answered from memory (payloads naming "
        "it are bad payloads without a request each; Confluent's missing.id.cache.ttl.sec); 0: "
        "ask every time.",
        "\"5s\""));
    auto cache = opt_or_absent("schema_registry_cache_capacity", opt_type::integer,
                               "Schemas (and built codecs) kept per cache.", "1000");
    cache.min = 1;
    cache.max = 1000000;
    s.options.push_back(cache);
    auto max_schema = opt_or_absent("max_schema_bytes", opt_type::size,
                                    "Largest schema text accepted from the registry or "
                                    "schema_path.",
                                    "\"1MiB\"");
    max_schema.min = 64;
    s.options.push_back(max_schema);
    s.options.push_back(opt_or_absent("json_field_names", opt_type::boolean,
                                      "Protobuf: name fields by their lowerCamelCase JSON names.",
                                      "false"));
    auto depth = opt_or_absent("max_depth", opt_type::integer,
                               "Protobuf: deepest message nesting accepted.", "100");
    depth.min = 1;
    depth.max = 1000;
    s.options.push_back(depth);
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.has("schema_path") && !v.has("format"))
            report("format", "is required with schema_path");
        if (v.has("subject_name_strategy") &&
            !reg::parse_subject_strategy(v.str("subject_name_strategy")))
            report("subject_name_strategy", "must be topic, record or topic_record");
        if (v.has("format") && by_format(v.str("format")) == nullptr)
            report("format",
                   "this build has no " + v.str("format") + " codec for the schema registry");
    };
    s.example =
        "schema = \"schema_registry\"\n# codec options:\nschema_registry_url = "
        "\"http://localhost:8081\"\nformat = \"protobuf\"\nschema_path = "
        "\"schemas/reading.proto\"\nmessage_type = \"acme.Reading\"\ntopic = \"readings\"";
    return s;
}

result<std::unique_ptr<codec>> make_schema_registry_codec(const config::values& v) {
    registry_options o;
    o.client.urls = split_urls(v.str("schema_registry_url"));
    if (v.has("format"))
        o.format = v.str("format");
    o.schema_path = v.opt_str("schema_path");
    o.message_type = v.opt_str("message_type");
    auto st = reg::parse_subject_strategy(v.str("subject_name_strategy"));
    if (!st)
        return fail(errc::invalid_argument,
                    "schema_registry: subject_name_strategy must be topic, record or "
                    "topic_record");
    o.strategy = *st;
    o.topic = v.opt_str("topic").value_or("");
    o.subject = v.opt_str("subject");
    o.is_key = v.boolean("is_key");
    o.auto_register = v.boolean("auto_register_schemas");
    o.use_latest_version = v.boolean("use_latest_version");
    o.normalize = v.boolean("normalize_schemas");
    o.check_compatibility = v.boolean("check_compatibility");
    o.client.basic_user_info = v.opt_str("schema_registry_basic_auth_user_info").value_or("");
    o.client.bearer_token = v.opt_str("schema_registry_bearer_auth_token").value_or("");
    o.client.tls.ca_file = v.opt_str("schema_registry_ssl_ca_location").value_or("");
    o.client.tls.client_cert = v.opt_str("schema_registry_ssl_certificate_location").value_or("");
    o.client.tls.client_key = v.opt_str("schema_registry_ssl_key_location").value_or("");
    o.client.tls.client_key_password = v.opt_str("schema_registry_ssl_key_password").value_or("");
    o.client.tls.verify_peer = o.client.tls.verify_host = v.boolean("schema_registry_ssl_verify");
    o.client.timeout = v.duration("schema_registry_request_timeout");
    o.client.connect_timeout = std::min(o.client.timeout, std::chrono::milliseconds(5000));
    o.client.max_retries = static_cast<int>(v.integer("schema_registry_max_retries"));
    o.client.retry_backoff = v.duration("schema_registry_retry_backoff");
    o.client.max_retry_backoff = v.duration("schema_registry_max_retry_backoff");
    o.client.cache_capacity = static_cast<std::size_t>(v.integer("schema_registry_cache_capacity"));
    o.client.missing_id_ttl = v.duration("schema_registry_missing_id_cache_ttl");
    o.client.max_schema_bytes = static_cast<std::size_t>(v.size("max_schema_bytes"));
    o.proto.json_field_names = v.boolean("json_field_names");
    o.proto.max_depth = static_cast<int>(v.integer("max_depth"));
    if (o.schema_path && !o.format)
        return fail(errc::invalid_argument, "schema_registry: format is required with schema_path");
    if (o.format && by_format(*o.format) == nullptr)
        return fail(errc::unimplemented,
                    "schema_registry: this build has no " + *o.format + " codec for the registry");
    std::string local;
    if (o.schema_path) {
        std::string why;
        if (!read_text_file(*o.schema_path, o.client.max_schema_bytes, local, why))
            return fail(errc::invalid_argument, "schema_registry: schema_path: " + why);
        // A bad local schema fails at start-up, not on the first message.
        const format_entry* fe = by_format(*o.format);
        reg::schema s;
        s.type = std::string(fe->schema_type);
        s.text = local;
        const std::vector<std::pair<std::string, std::string>> no_refs;
        const std::vector<std::int32_t> first{0};
        inner_request req{
            s, no_refs, o.message_type ? std::string_view(*o.message_type) : std::string_view(),
            o.message_type ? std::span<const std::int32_t>() : std::span<const std::int32_t>(first),
            o};
        auto check = fe->make(req);
        if (!check)
            return fail(errc::invalid_argument, "schema_registry: schema_path " + *o.schema_path +
                                                    ": " + check.error().message());
    }
    TRIB_ASSIGN_OR_RETURN(auto client, reg::client::make(o.client));
    return std::unique_ptr<codec>(
        std::make_unique<registry_codec>(std::move(o), std::move(client), std::move(local)));
}

}  // namespace trib::codecs
