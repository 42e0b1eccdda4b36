#pragma once
// A client for the Confluent Schema Registry REST API (also served by Apicurio Registry under
// /apis/ccompat/v7, Redpanda and Karapace): schemas by id, subjects and versions, register,
// look up, compatibility checks, with bounded caches, basic/bearer auth, TLS, timeouts and
// retries with backoff. Blocking calls (libcurl through core/net/http_client.h).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/net/http_client.h"

namespace trib::codecs::registry {

/// A schema's type as the registry names it ("schemaType"; absent means AVRO).
inline constexpr std::string_view avro_type = "AVRO";
inline constexpr std::string_view protobuf_type = "PROTOBUF";
inline constexpr std::string_view json_type = "JSON";

/// Another subject's schema that this one imports (Protobuf import, Avro named type, JSON $ref).
struct schema_reference {
    std::string name;  // the import name ("other.proto"), type name or $ref URL
    std::string subject;
    std::int32_t version = 0;
};

struct schema {
    std::string type = std::string(avro_type);  // AVRO, PROTOBUF, JSON
    std::string text;
    std::vector<schema_reference> references;
};

/// A schema as registered under a subject.
struct subject_version {
    std::string subject;
    std::int32_t version = 0;
    std::int32_t id = 0;
    schema s;
};

struct client_options {
    /// Base URLs, tried in order on transport errors ("http://host:8081",
    /// "http://host:8080/apis/ccompat/v7"). At least one.
    std::vector<std::string> urls;
    /// "user:password" (Confluent's basic.auth.user.info); secret.
    std::string basic_user_info;
    std::string bearer_token;  // secret
    net::tls_options tls;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds timeout{10000};
    /// Extra attempts after a retryable or throttled failure; the error after the last attempt
    /// keeps its retry class, so the runtime retries the batch later.
    int max_retries = 2;
    std::chrono::milliseconds retry_backoff{100};  // doubled each attempt
    std::chrono::milliseconds max_retry_backoff{2000};
    /// Entries each cache keeps (id -> schema, subject+schema -> id, ...); the oldest go first.
    std::size_t cache_capacity = 1000;
    /// A schema text above this is refused (resource_exhausted, fatal).
    std::size_t max_schema_bytes = 1u << 20;
    /// An id the registry answered "not found" for is answered from memory for this long
    /// (Confluent's missing.id.cache.ttl.sec), so that a stream of payloads naming unknown ids
    /// does not send one request each. Zero: not remembered.
    std::chrono::milliseconds missing_id_ttl{5000};
    /// Waits between attempts (tests inject one that records instead of sleeping).
    std::function<void(std::chrono::milliseconds)> sleep;
    /// The clock of missing_id_ttl (tests inject one they advance).
    std::function<std::chrono::steady_clock::time_point()> now;
};

/// Thread-safe (one mutex for the caches; the HTTP client serializes requests).
/// Errors: a registry answer with an error code keeps it as the vendor code (40401 subject not
/// found, 40402 version not found, 40403 schema not found, 409 incompatible, 42201 invalid
/// schema, ...): not found -> errc::not_found, bad schema -> invalid_argument, 401/403 ->
/// unauthenticated/permission_denied, all fatal; transport failures and 5xx -> retryable, 429 ->
/// throttled. Messages name the registry URL without credentials.
class client {
  public:
    static result<std::unique_ptr<client>> make(client_options o);
    ~client();

    /// GET /schemas/ids/{id} (cached).
    [[nodiscard]] result<std::shared_ptr<const schema>> schema_by_id(std::uint32_t id);
    /// POST /subjects/{subject}/versions: the schema's id (registered now or already).
    /// Cached per subject and schema.
    [[nodiscard]] result<std::int32_t> register_schema(std::string_view subject, const schema& s,
                                                       bool normalize = false);
    /// POST /subjects/{subject}: the version under which the schema is registered (cached).
    [[nodiscard]] result<subject_version> lookup(std::string_view subject, const schema& s,
                                                 bool normalize = false);
    /// GET /subjects/{subject}/versions/latest (not cached: it changes).
    [[nodiscard]] result<subject_version> latest(std::string_view subject);
    /// GET /subjects/{subject}/versions/{version} (cached).
    [[nodiscard]] result<subject_version> version(std::string_view subject, std::int32_t v);
    /// POST /compatibility/subjects/{subject}/versions/latest: whether `s` may be registered.
    [[nodiscard]] result<bool> compatible(std::string_view subject, const schema& s);
    /// The texts of every schema `s` references, transitively, by reference name (Protobuf
    /// imports); at most 32 levels and 256 schemas.
    [[nodiscard]] result<std::vector<std::pair<std::string, std::string>>> resolve_references(
        const schema& s);

    /// Requests sent so far (tests check the caches with it).
    std::uint64_t requests() const;

  private:
    explicit client(client_options o);
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Subject naming strategies (Confluent's TopicNameStrategy, RecordNameStrategy,
/// TopicRecordNameStrategy).
enum class subject_strategy : std::uint8_t { topic, record, topic_record };
/// "topic" / "record" / "topic_record", or Confluent's class names (with or without the
/// io.confluent.kafka.serializers.subject. package); nullopt otherwise.
std::optional<subject_strategy> parse_subject_strategy(std::string_view s);
/// topic: "<topic>-key" / "<topic>-value"; record: the record's full name; topic_record:
/// "<topic>-<record full name>". An empty topic or record name where the strategy needs one:
/// invalid_argument.
[[nodiscard]] result<std::string> subject_name(subject_strategy st, std::string_view topic,
                                               std::string_view record_name, bool is_key);

/// "%XX"-escapes everything but unreserved characters (RFC 3986), for a subject in a URL path.
std::string escape_path_segment(std::string_view s);

}  // namespace trib::codecs::registry
