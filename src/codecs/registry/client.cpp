// The registry client. Caches are bounded FIFO maps (the oldest entry goes when one is full):
// ids and registrations are immutable in a registry, so an entry never goes stale; the bound
// only protects memory from a stream that names many ids.

#include "codecs/registry/client.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "core/redact.h"

namespace trib::codecs::registry {

namespace {

template <class K, class V>
class bounded_cache {
  public:
    explicit bounded_cache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
    const V* find(const K& k) const {
        auto it = map_.find(k);
        return it == map_.end() ? nullptr : &it->second;
    }
    void put(const K& k, V v) {
        if (auto it = map_.find(k); it != map_.end()) {
            it->second = std::move(v);
            return;
        }
        while (map_.size() >= capacity_) {
            map_.erase(order_.front());
            order_.pop_front();
        }
        map_.emplace(k, std::move(v));
        order_.push_back(k);
    }
    std::size_t size() const { return map_.size(); }

  private:
    std::size_t capacity_;
    std::map<K, V> map_;
    std::deque<K> order_;
};

constexpr int max_reference_depth = 32;
constexpr std::size_t max_references = 256;

std::string schema_key(std::string_view subject, const schema& s, bool normalize) {
    std::string k(subject);
    k += '\0';
    k += s.type;
    k += '\0';
    k += normalize ? '1' : '0';
    for (const auto& r : s.references) {
        k += '\0';
        k += r.name + '\x01' + r.subject + '\x01' + std::to_string(r.version);
    }
    k += '\0';
    k += s.text;
    return k;
}

std::string request_body(const schema& s) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    w.StartObject();
    w.Key("schema");
    w.String(s.text.data(), static_cast<rapidjson::SizeType>(s.text.size()));
    if (!s.type.empty() && s.type != avro_type) {
        w.Key("schemaType");
        w.String(s.type.data(), static_cast<rapidjson::SizeType>(s.type.size()));
    }
    if (!s.references.empty()) {
        w.Key("references");
        w.StartArray();
        for (const auto& r : s.references) {
            w.StartObject();
            w.Key("name");
            w.String(r.name.data(), static_cast<rapidjson::SizeType>(r.name.size()));
            w.Key("subject");
            w.String(r.subject.data(), static_cast<rapidjson::SizeType>(r.subject.size()));
            w.Key("version");
            w.Int(r.version);
            w.EndObject();
        }
        w.EndArray();
    }
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

/// The member `name` of object `o`, or nullptr. (RapidJSON 1.1's member iterators compare
/// ambiguously under C++20's rewritten operators, so the comparison stays in here.)
const rapidjson::Value* member(const rapidjson::Value& o, const char* name) {
    auto it = o.FindMember(name);
    return it.operator!=(o.MemberEnd()) ? &it->value : nullptr;
}

std::string str_member(const rapidjson::Value& o, const char* name) {
    const rapidjson::Value* v = member(o, name);
    if (v == nullptr || !v->IsString())
        return {};
    return std::string(v->GetString(), v->GetStringLength());
}

std::optional<std::int64_t> int_member(const rapidjson::Value& o, const char* name) {
    const rapidjson::Value* v = member(o, name);
    if (v == nullptr || !v->IsInt64())
        return std::nullopt;
    return v->GetInt64();
}

}  // namespace

struct client::impl {
    client_options o;
    net::http_client http;
    std::mutex mu;
    bounded_cache<std::uint32_t, std::shared_ptr<const schema>> by_id;
    struct missing {
        std::chrono::steady_clock::time_point until;
        error err;
    };
    bounded_cache<std::uint32_t, missing> missing_ids;
    bounded_cache<std::string, std::int32_t> registered;
    bounded_cache<std::string, subject_version> looked_up;
    bounded_cache<std::string, subject_version> versions;
    std::uint64_t requests = 0;

    static net::client_options http_options(const client_options& o) {
        net::client_options h;
        h.connect_timeout = o.connect_timeout;
        h.timeout = o.timeout;
        h.tls = o.tls;
        // An answer holds one schema (JSON-escaped, so up to 6 bytes per byte) and a little
        // more.
        h.max_response_bytes = o.max_schema_bytes * 6 + (64u << 10);
        h.default_headers["Accept"] = "application/vnd.schemaregistry.v1+json, application/json";
        if (!o.basic_user_info.empty()) {
            const auto colon = o.basic_user_info.find(':');
            net::basic_auth b;
            b.user = o.basic_user_info.substr(0, colon);
            if (colon != std::string::npos)
                b.password = o.basic_user_info.substr(colon + 1);
            h.basic = b;
        }
        h.bearer_token = o.bearer_token;
        return h;
    }

    explicit impl(client_options opts)
        : o(std::move(opts)),
          http(http_options(o)),
          by_id(o.cache_capacity),
          missing_ids(o.cache_capacity),
          registered(o.cache_capacity),
          looked_up(o.cache_capacity),
          versions(o.cache_capacity) {}

    std::chrono::steady_clock::time_point now() const {
        return o.now ? o.now() : std::chrono::steady_clock::now();
    }

    void wait(std::chrono::milliseconds d) {
        if (o.sleep)
            o.sleep(d);
        else
            std::this_thread::sleep_for(d);
    }

    /// The registry's error answer as an error.
    error registry_error(const net::http_response& resp, const std::string& what) {
        std::int64_t code = resp.status;
        std::string message;
        rapidjson::Document d;
        d.Parse<rapidjson::kParseIterativeFlag>(resp.body.data(), resp.body.size());
        if (!d.HasParseError() && d.IsObject()) {
            if (auto c = int_member(d, "error_code"))
                code = *c;
            message = str_member(d, "message");
        }
        if (message.empty())
            message = resp.body.substr(0, 200);
        std::string text = "schema registry: " + what + ": HTTP " + std::to_string(resp.status) +
                           " (error code " + std::to_string(code) + "): " + message;
        text = redact(text);
        errc c;
        if (resp.status == 404)
            c = errc::not_found;
        else if (resp.status == 401)
            c = errc::unauthenticated;
        else if (resp.status == 403)
            c = errc::permission_denied;
        else if (resp.status == 409)
            c = errc::failed_precondition;
        else if (resp.status == 422 || resp.status == 400)
            c = errc::invalid_argument;
        else {
            // 5xx, 408, 429 and the rest: the project's one mapping decides the retry class.
            status s = net::classify_status(resp, "schema registry " + what);
            error e = s ? error(errc::protocol_error, text) : s.error();
            return error(e.code(), e.retry(), text, code).with_retry_after(e.retry_after());
        }
        return error(c, retry_class::fatal, text, code);
    }

    /// One request with retries (backoff) and fail-over between the URLs. Returns the parsed
    /// JSON answer of a 2xx.
    result<rapidjson::Document> call(const std::string& method, const std::string& path,
                                     const std::string& body, const std::string& what) {
        std::chrono::milliseconds backoff = o.retry_backoff;
        error last;
        for (int attempt = 0; attempt <= o.max_retries; ++attempt) {
            if (attempt > 0) {
                wait(std::max(backoff, last.retry_after()));
                backoff = std::min(backoff * 2, o.max_retry_backoff);
            }
            for (const auto& base : o.urls) {
                net::http_request req;
                req.method = method;
                std::string url = base;
                while (!url.empty() && url.back() == '/')
                    url.pop_back();
                req.url = url + path;
                if (method == "POST") {
                    req.body = body;
                    req.headers["Content-Type"] = "application/vnd.schemaregistry.v1+json";
                }
                {
                    std::lock_guard lk(mu);
                    ++requests;
                }
                auto r = http.perform(req);
                if (!r) {
                    last = error(r.error().code(), r.error().retry(),
                                 redact("schema registry " + url + ": " + what + ": " +
                                        r.error().message()),
                                 r.error().vendor_code())
                               .with_retry_after(r.error().retry_after());
                    if (!last.retryable())
                        return last;
                    continue;  // the next URL
                }
                if (!r->ok()) {
                    last = registry_error(*r, what + " at " + url);
                    if (!last.retryable())
                        return last;
                    break;  // the registry answered: wait, then try again
                }
                rapidjson::Document d;
                d.Parse<rapidjson::kParseIterativeFlag>(r->body.data(), r->body.size());
                if (d.HasParseError() || !d.IsObject())
                    return error(errc::protocol_error, retry_class::fatal,
                                 redact("schema registry " + url + ": " + what +
                                        ": the answer is not a JSON object"));
                return d;
            }
        }
        return last;
    }

    result<schema> read_schema(const rapidjson::Value& d, const std::string& what) {
        schema s;
        const rapidjson::Value* text = member(d, "schema");
        if (text == nullptr || !text->IsString())
            return error(errc::protocol_error, retry_class::fatal,
                         "schema registry: " + what + ": the answer has no schema");
        if (text->GetStringLength() > o.max_schema_bytes)
            return error(errc::resource_exhausted, retry_class::fatal,
                         "schema registry: " + what + ": the schema has " +
                             std::to_string(text->GetStringLength()) +
                             " bytes, more than max_schema_bytes (" +
                             std::to_string(o.max_schema_bytes) + ")");
        s.text.assign(text->GetString(), text->GetStringLength());
        std::string type = str_member(d, "schemaType");
        s.type = type.empty() ? std::string(avro_type) : type;
        const rapidjson::Value* refs = member(d, "references");
        if (refs != nullptr && refs->IsArray()) {
            if (refs->Size() > max_references)
                return error(errc::resource_exhausted, retry_class::fatal,
                             "schema registry: " + what + ": more than " +
                                 std::to_string(max_references) + " references");
            for (const auto& r : refs->GetArray()) {
                if (!r.IsObject())
                    continue;
                schema_reference ref;
                ref.name = str_member(r, "name");
                ref.subject = str_member(r, "subject");
                ref.version = static_cast<std::int32_t>(int_member(r, "version").value_or(0));
                s.references.push_back(std::move(ref));
            }
        }
        return s;
    }

    result<subject_version> read_version(const rapidjson::Document& d, std::string_view subject,
                                         const std::string& what) {
        subject_version v;
        v.subject = str_member(d, "subject");
        if (v.subject.empty())
            v.subject = std::string(subject);
        auto id = int_member(d, "id");
        auto ver = int_member(d, "version");
        if (!id || !ver)
            return error(errc::protocol_error, retry_class::fatal,
                         "schema registry: " + what + ": the answer has no id or version");
        v.id = static_cast<std::int32_t>(*id);
        v.version = static_cast<std::int32_t>(*ver);
        if (d.HasMember("schema")) {
            TRIB_ASSIGN_OR_RETURN(v.s, read_schema(d, what));
        }
        return v;
    }
};

client::client(client_options o) : impl_(std::make_unique<impl>(std::move(o))) {}
client::~client() = default;

result<std::unique_ptr<client>> client::make(client_options o) {
    if (o.urls.empty())
        return fail(errc::invalid_argument, "schema registry: no URL");
    for (const auto& u : o.urls)
        if (u.rfind("http://", 0) != 0 && u.rfind("https://", 0) != 0)
            return fail(errc::invalid_argument,
                        "schema registry: " + redact(u) + " is not an http:// or https:// URL");
    if (!o.basic_user_info.empty()) {
        const auto colon = o.basic_user_info.find(':');
        if (colon == std::string::npos)
            return fail(errc::invalid_argument,
                        "schema registry: basic auth user info must be user:password");
        register_secret(std::string_view(o.basic_user_info).substr(colon + 1));
        register_secret(o.basic_user_info);
    }
    register_secret(o.bearer_token);
    register_secret(o.tls.client_key_password);
    return std::unique_ptr<client>(new client(std::move(o)));
}

std::uint64_t client::requests() const {
    std::lock_guard lk(impl_->mu);
    return impl_->requests;
}

result<std::shared_ptr<const schema>> client::schema_by_id(std::uint32_t id) {
    {
        std::lock_guard lk(impl_->mu);
        if (auto* s = impl_->by_id.find(id))
            return *s;
        if (auto* m = impl_->missing_ids.find(id); m != nullptr && impl_->now() < m->until)
            return m->err;
    }
    const std::string what = "schema id " + std::to_string(id);
    auto answer = impl_->call("GET", "/schemas/ids/" + std::to_string(id), {}, what);
    if (!answer) {
        if (answer.error().code() == errc::not_found && impl_->o.missing_id_ttl.count() > 0) {
            std::lock_guard lk(impl_->mu);
            impl_->missing_ids.put(id, {impl_->now() + impl_->o.missing_id_ttl, answer.error()});
        }
        return unexpected(std::move(answer).error());
    }
    TRIB_ASSIGN_OR_RETURN(auto s, impl_->read_schema(*answer, what));
    auto p = std::make_shared<const schema>(std::move(s));
    std::lock_guard lk(impl_->mu);
    impl_->by_id.put(id, p);
    return p;
}

result<std::int32_t> client::register_schema(std::string_view subject, const schema& s,
                                             bool normalize) {
    const std::string key = schema_key(subject, s, normalize);
    {
        std::lock_guard lk(impl_->mu);
        if (auto* id = impl_->registered.find(key))
            return *id;
    }
    const std::string what = "register under subject " + std::string(subject);
    TRIB_ASSIGN_OR_RETURN(auto d,
                          impl_->call("POST",
                                      "/subjects/" + escape_path_segment(subject) + "/versions" +
                                          (normalize ? "?normalize=true" : ""),
                                      request_body(s), what));
    auto id = int_member(d, "id");
    if (!id)
        return error(errc::protocol_error, retry_class::fatal,
                     "schema registry: " + what + ": the answer has no id");
    std::lock_guard lk(impl_->mu);
    impl_->registered.put(key, static_cast<std::int32_t>(*id));
    return static_cast<std::int32_t>(*id);
}

result<subject_version> client::lookup(std::string_view subject, const schema& s, bool normalize) {
    const std::string key = schema_key(subject, s, normalize);
    {
        std::lock_guard lk(impl_->mu);
        if (auto* v = impl_->looked_up.find(key))
            return *v;
    }
    const std::string what = "look up under subject " + std::string(subject);
    TRIB_ASSIGN_OR_RETURN(auto d, impl_->call("POST",
                                              "/subjects/" + escape_path_segment(subject) +
                                                  (normalize ? "?normalize=true" : ""),
                                              request_body(s), what));
    TRIB_ASSIGN_OR_RETURN(auto v, impl_->read_version(d, subject, what));
    std::lock_guard lk(impl_->mu);
    impl_->looked_up.put(key, v);
    return v;
}

result<subject_version> client::latest(std::string_view subject) {
    const std::string what = "latest version of subject " + std::string(subject);
    TRIB_ASSIGN_OR_RETURN(
        auto d, impl_->call("GET", "/subjects/" + escape_path_segment(subject) + "/versions/latest",
                            {}, what));
    return impl_->read_version(d, subject, what);
}

result<subject_version> client::version(std::string_view subject, std::int32_t v) {
    std::string key(subject);
    key += '\0' + std::to_string(v);
    {
        std::lock_guard lk(impl_->mu);
        if (auto* sv = impl_->versions.find(key))
            return *sv;
    }
    const std::string what = "version " + std::to_string(v) + " of subject " + std::string(subject);
    TRIB_ASSIGN_OR_RETURN(auto d, impl_->call("GET",
                                              "/subjects/" + escape_path_segment(subject) +
                                                  "/versions/" + std::to_string(v),
                                              {}, what));
    TRIB_ASSIGN_OR_RETURN(auto sv, impl_->read_version(d, subject, what));
    std::lock_guard lk(impl_->mu);
    impl_->versions.put(key, sv);
    return sv;
}

result<bool> client::compatible(std::string_view subject, const schema& s) {
    const std::string what = "compatibility check against subject " + std::string(subject);
    auto d = impl_->call(
        "POST", "/compatibility/subjects/" + escape_path_segment(subject) + "/versions/latest",
        request_body(s), what);
    if (!d) {
        // A subject with no versions yet: anything is compatible with nothing.
        if (d.error().vendor_code() == 40401 || d.error().vendor_code() == 40402)
            return true;
        return unexpected(std::move(d).error());
    }
    const rapidjson::Value* is = member(*d, "is_compatible");
    if (is == nullptr || !is->IsBool())
        return error(errc::protocol_error, retry_class::fatal,
                     "schema registry: " + what + ": the answer has no is_compatible");
    return is->GetBool();
}

result<std::vector<std::pair<std::string, std::string>>> client::resolve_references(
    const schema& s) {
    std::vector<std::pair<std::string, std::string>> out;
    struct pending {
        schema_reference ref;
        int depth;
    };
    std::vector<pending> todo;
    for (const auto& r : s.references)
        todo.push_back({r, 1});
    while (!todo.empty()) {
        pending p = std::move(todo.back());
        todo.pop_back();
        bool seen = false;
        for (const auto& [name, text] : out)
            seen = seen || name == p.ref.name;
        if (seen)
            continue;
        if (p.depth > max_reference_depth || out.size() >= max_references)
            return error(errc::resource_exhausted, retry_class::fatal,
                         "schema registry: references nested deeper than " +
                             std::to_string(max_reference_depth) + " or more than " +
                             std::to_string(max_references));
        TRIB_ASSIGN_OR_RETURN(auto sv, version(p.ref.subject, p.ref.version));
        for (const auto& r : sv.s.references)
            todo.push_back({r, p.depth + 1});
        out.emplace_back(p.ref.name, std::move(sv.s.text));
    }
    return out;
}

std::optional<subject_strategy> parse_subject_strategy(std::string_view s) {
    constexpr std::string_view pkg = "io.confluent.kafka.serializers.subject.";
    if (s.rfind(pkg, 0) == 0)
        s.remove_prefix(pkg.size());
    if (s == "topic" || s == "TopicNameStrategy")
        return subject_strategy::topic;
    if (s == "record" || s == "RecordNameStrategy")
        return subject_strategy::record;
    if (s == "topic_record" || s == "TopicRecordNameStrategy")
        return subject_strategy::topic_record;
    return std::nullopt;
}

result<std::string> subject_name(subject_strategy st, std::string_view topic,
                                 std::string_view record_name, bool is_key) {
    const bool needs_topic = st != subject_strategy::record;
    const bool needs_record = st != subject_strategy::topic;
    if (needs_topic && topic.empty())
        return fail(errc::invalid_argument,
                    "schema registry: the subject name strategy needs a topic");
    if (needs_record && record_name.empty())
        return fail(errc::invalid_argument,
                    "schema registry: the subject name strategy needs a record name");
    switch (st) {
        case subject_strategy::topic:
            return std::string(topic) + (is_key ? "-key" : "-value");
        case subject_strategy::record:
            return std::string(record_name);
        case subject_strategy::topic_record:
            return std::string(topic) + "-" + std::string(record_name);
    }
    return fail(errc::internal, "unknown subject strategy");
}

std::string escape_path_segment(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

}  // namespace trib::codecs::registry
