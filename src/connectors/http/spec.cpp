// The specs of the HTTP sink and of the polling and webhook sources. The sink keeps the option
// names of Iggy's http_sink (core/connectors/sinks/http_sink) and adds keys for what it does
// beyond it (concurrency, auth, TLS files, chunking by size).

#include <fmt/format.h>

#include <set>

#include "config/spec.h"
#include "connectors/http/http.h"
#include "connectors/http/json.h"
#include "connectors/http/util.h"

namespace trib::connectors {
namespace {

using config::opt_type;

config::option choice(std::string name, std::vector<std::string> choices, std::string doc,
                      std::string def) {
    auto o = config::opt(std::move(name), opt_type::enumeration, std::move(doc), "\"" + def + "\"");
    o.choices = std::move(choices);
    return o;
}

config::option ranged(config::option o, std::optional<double> min, std::optional<double> max) {
    o.min = min;
    o.max = max;
    return o;
}

/// Options every HTTP client of these connectors shares (auth and TLS beyond Iggy's names).
void client_options(std::vector<config::option>& out) {
    out.push_back(
        config::optional_opt("bearer_token", opt_type::secret,
                             "Sends `Authorization: Bearer <token>` with every request."));
    out.push_back(
        config::optional_opt("basic_auth_username", opt_type::string,
                             "HTTP basic authentication user (with `basic_auth_password`)."));
    out.push_back(config::optional_opt("basic_auth_password", opt_type::secret,
                                       "HTTP basic authentication password."));
    out.push_back(config::opt("connect_timeout", opt_type::duration,
                              "Time allowed to open a connection (TCP and TLS handshake).",
                              "\"10s\"", true));
    out.push_back(config::optional_opt("tls_ca_file", opt_type::string,
                                       "PEM file of the CAs to trust instead of the system's.",
                                       true));
    out.push_back(config::optional_opt("tls_client_cert", opt_type::string,
                                       "PEM client certificate for mutual TLS.", true));
    out.push_back(config::optional_opt("tls_client_key", opt_type::string,
                                       "PEM private key of `tls_client_cert`.", true));
    out.push_back(config::opt("tls_danger_accept_invalid_certs", opt_type::boolean,
                              "Skip TLS certificate and host name checks. Development only.",
                              "false"));
}

void check_basic_pair(const config::values& v, const config::check_report& report) {
    if (v.has("basic_auth_username") != v.has("basic_auth_password")) {
        report("basic_auth_username", "basic_auth_username and basic_auth_password go together");
    }
    if (v.has("bearer_token") && v.has("basic_auth_username")) {
        report("bearer_token", "choose bearer_token or basic auth, not both");
    }
}

}  // namespace

// ---- sink ------------------------------------------------------------------------------------

config::spec http_sink_spec() {
    config::spec s;
    s.name = "http";
    s.kind = config::spec_kind::sink;
    s.guarantee =
        "at-least-once (an unknown outcome, a timeout or crash after the endpoint processed a "
        "request, is sent again; receivers can de-duplicate by message id)";
    s.summary =
        "Sends messages to any HTTP endpoint: one request per message, NDJSON or a JSON "
        "array per batch, or raw bytes";
    s.plugin_aliases = {"iggy_connector_http_sink"};
    s.description =
        "Reads Iggy's `http_sink` options unchanged and adds a few. A batch is written when the "
        "endpoint answered one of `success_status_codes` for every message of it; only then "
        "does the runtime commit the offsets, so a crash or an outage loses nothing.\n\n"
        "**Batch modes.** `individual`: one request per message (up to `concurrency` at once). "
        "`ndjson`: one request per batch, one JSON line per message. `json_array`: one request "
        "per batch holding a JSON array. `raw`: one request per message with the payload bytes "
        "as they are (no envelope). A batch whose body would exceed `max_payload_size_bytes` is "
        "split into several requests; a single message larger than it is rejected to the "
        "error policy.\n\n"
        "**Envelope.** With `include_metadata` (the default) each message is sent as "
        "`{\"metadata\": {\"iggy_id\", \"iggy_offset\", \"iggy_timestamp\", \"iggy_stream\", "
        "\"iggy_topic\", \"iggy_partition_id\"}, \"payload\": ...}` as Iggy's sink does. A "
        "`json` payload is embedded as JSON (an invalid one is rejected), `text` as a string, "
        "anything else as `{\"data\": <base64>, \"iggy_payload_encoding\": \"base64\"}`.\n\n"
        "**Errors and retries.** 2xx codes outside the list, 3xx and 4xx other than 408 and "
        "429 reject the message(s) of that request (poison: they go to the error policy, in "
        "batch modes after the runtime has isolated the culprit by bisection). 408, 429, 5xx "
        "and transport failures (refused, reset, timeout) are retried here first, at most "
        "`max_retries` times with exponential backoff from `retry_delay` to `max_retry_delay`, "
        "waiting what a `Retry-After` header asks (when it asks for more than "
        "`max_retry_delay` the sink stops retrying at once); then the write fails with a "
        "retryable error (429/503: throttled, with the server's Retry-After) and the runtime's "
        "error policy takes over. `max_retries = 0` hands every failure to the runtime.\n\n"
        "**Duplicates.** Delivery is at-least-once. Within one sink instance, messages a failed "
        "write did deliver are remembered (by offset and message id) and not sent again when "
        "the runtime retries the batch. Duplicates remain possible only for the requests in "
        "flight when the process crashed, or that timed out although the endpoint processed "
        "them: at most one batch (the in-flight requests) per such event. Receivers that need "
        "exactly-once effects can deduplicate on `iggy_id` or on stream/topic/partition/offset.";
    s.example = R"(type = "sink"
key = "http"
enabled = true
version = 0
name = "HTTP sink"
path = "target/release/libiggy_connector_http_sink"

[[streams]]
stream = "events"
topics = ["notifications"]
schema = "json"
batch_length = 100
poll_interval = "100ms"

[plugin_config]
url = "https://api.example.com/ingest/{topic}"
batch_mode = "ndjson"
timeout = "10s"
max_retries = 3
success_status_codes = [200, 202]

[plugin_config.headers]
Authorization = "Bearer ${env:API_TOKEN}")";

    auto& o = s.options;
    o.push_back(
        config::opt("url", opt_type::string,
                    "Target URL. May contain placeholders (percent-encoded): `{stream}`, "
                    "`{topic}`, `{partition}`, `{first_offset}`, `{last_offset}`, and in the "
                    "per-message modes (individual, raw) `{offset}` and `{id}`."));
    o.push_back(choice("method", {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}, "HTTP method.",
                       "POST"));
    o.push_back(
        config::optional_opt("headers", opt_type::map,
                             "Headers sent with every request (values may use `${env:NAME}`). A "
                             "Content-Type here is ignored: see `content_type`."));
    o.push_back(
        config::opt("timeout", opt_type::duration, "Time allowed for one request.", "\"30s\""));
    o.push_back(ranged(config::opt("max_payload_size_bytes", opt_type::size,
                                   "Largest request body; larger batches are split, larger single "
                                   "messages rejected. 0: no limit.",
                                   "10485760"),
                       0, std::nullopt));
    o.push_back(choice("batch_mode", {"individual", "ndjson", "json_array", "raw"},
                       "How messages map to requests (see above).", "individual"));
    o.push_back(config::opt("include_metadata", opt_type::boolean,
                            "Wrap each payload in the metadata envelope (ignored in raw mode).",
                            "true"));
    o.push_back(
        config::opt("include_checksum", opt_type::boolean,
                    "Accepted for compatibility with Iggy's sink; Tributary does not carry the "
                    "message checksum, so `iggy_checksum` is not sent (a warning says so).",
                    "false"));
    o.push_back(config::opt("include_origin_timestamp", opt_type::boolean,
                            "Add `iggy_origin_timestamp` (µs) to the metadata.", "false"));
    o.push_back(
        config::opt("include_headers", opt_type::boolean,
                    "Add the message's Iggy user headers to the metadata as `iggy_headers`: "
                    "strings, booleans and numbers as JSON values (NaN and infinities as "
                    "null), 128-bit integers as hex strings, raw bytes as base64 strings "
                    "(the renderer the file and PostgreSQL sinks use too).",
                    "false"));
    o.push_back(
        config::opt("health_check_enabled", opt_type::boolean,
                    "Send a request with `health_check_method` to `url` when the sink opens and "
                    "refuse to start unless it succeeds.",
                    "false"));
    o.push_back(choice("health_check_method", {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"},
                       "Method of the health check.", "HEAD"));
    o.push_back(
        ranged(config::opt("max_retries", opt_type::integer,
                           "Retries of a failed request inside the sink before the write fails "
                           "to the runtime's error policy.",
                           "3"),
               0, 100));
    o.push_back(
        config::opt("retry_delay", opt_type::duration, "First delay between retries.", "\"1s\""));
    o.push_back(ranged(config::opt("retry_backoff_multiplier", opt_type::number,
                                   "Each retry waits this much longer than the one before.", "2.0"),
                       1.0, 100.0));
    o.push_back(
        config::opt("max_retry_delay", opt_type::duration,
                    "Cap of the delay between retries, and the longest Retry-After the sink "
                    "waits for itself.",
                    "\"30s\""));
    auto codes = config::opt("success_status_codes", opt_type::list,
                             "Status codes that mean the endpoint accepted the request.",
                             "[200, 201, 202, 204]");
    codes.element = opt_type::integer;
    o.push_back(codes);
    o.push_back(ranged(config::opt("max_connections", opt_type::integer,
                                   "Most connections kept open to the endpoint (one per concurrent "
                                   "request; `concurrency` is capped by it).",
                                   "10"),
                       1, 1024));
    o.push_back(
        ranged(config::opt("concurrency", opt_type::integer,
                           "Requests in flight at once (individual and raw modes, and the parts "
                           "of a split batch). 1 keeps the messages' order.",
                           "1"),
               1, 256));
    o.push_back(
        config::optional_opt("content_type", opt_type::string,
                             "Content-Type of the requests; default by mode: application/json, "
                             "application/x-ndjson (ndjson), application/octet-stream (raw)."));
    o.push_back(config::opt("verbose_logging", opt_type::boolean,
                            "Log every request and response at debug level.", "false"));
    client_options(o);

    s.check = [](const config::values& v, const config::check_report& report) {
        const auto mode = v.str("batch_mode");
        const bool per_message = mode == "individual" || mode == "raw";
        auto t = http_detail::text_template::parse(v.str("url"), [&](std::string_view n) {
            return n == "stream" || n == "topic" || n == "partition" || n == "first_offset" ||
                   n == "last_offset" || n == "offset" || n == "id";
        });
        if (!t) {
            report("url", t.error().message());
        } else if (!per_message && (t->uses("offset") || t->uses("id"))) {
            report("url",
                   "{offset} and {id} need batch_mode individual or raw (one message per "
                   "request); use {first_offset}/{last_offset}");
        }
        const auto& url = v.str("url");
        if (!url.starts_with("http://") && !url.starts_with("https://")) {
            report("url", "must start with http:// or https://");
        }
        const auto listed = v.integers("success_status_codes");
        if (listed.empty())
            report("success_status_codes", "must not be empty");
        for (auto c : listed) {
            if (c < 200 || c > 599)
                report("success_status_codes", fmt::format("{} is not between 200 and 599", c));
        }
        if (v.duration("retry_delay") > v.duration("max_retry_delay"))
            report("retry_delay", "is longer than max_retry_delay");
        check_basic_pair(v, report);
    };
    return s;
}

// ---- polling source --------------------------------------------------------------------------

config::spec http_poll_source_spec() {
    config::spec s;
    s.name = "http_poll";
    s.kind = config::spec_kind::source;
    s.guarantee =
        "at-least-once; with `id_path` items keep their ids across re-fetches, so a de-duplicating "
        "Iggy server stores each item once (exactly-once effect with an idempotent sink)";
    s.summary =
        "Calls an HTTP API on an interval and turns the items of each response into "
        "messages, following pagination";
    s.description =
        "Every `interval` the source sends one request (`method`, `url`, `headers`, `body`) and "
        "takes the items of the response: with `response_format = \"json\"` the values that "
        "`items_path` selects (one selected array: each element is a message; several selected "
        "values: each is one); `ndjson`: each line (with `items_path` applied to it); `raw`: "
        "the whole body as one message. Items are sent as compact JSON.\n\n"
        "**Pagination.** `link_header`: follow the `rel=\"next\"` link of the Link header "
        "(RFC 8288, GitHub style). `next_url`: follow the URL at `next_url_path` in the body "
        "(absolute or relative). `cursor`: read the cursor at `cursor_path` and send it back as "
        "`{cursor}` in `url`/`body` or as the query parameter `cursor_param`. Pages are fetched "
        "back to back while they hold items, up to `max_pages` per cycle.\n\n"
        "**Position.** The cursor (or the next page's URL) is the source's state: the runtime "
        "persists it atomically only after Iggy acknowledged every message before it, and a "
        "restart resumes there. A cursor survives from cycle to cycle (an incremental feed: "
        "`?after={cursor}`); a next link survives while it exists, so a feed that always "
        "answers a next link (empty when nothing is new) is read incrementally, and a list "
        "whose last page has no next link is read again from `url` at the next cycle "
        "(at-least-once; downstream deduplication may be needed). A batch Iggy did not accept "
        "makes the source fetch again from the last acknowledged position.\n\n"
        "HTTP errors are returned to the runtime, which retries them with its backoff (429 and "
        "503 as throttled, honouring Retry-After); 4xx other than 408 and 429 stop the "
        "connector (restarted by the supervisor).";
    s.example = R"(type = "source"
key = "events_api"
enabled = true
version = 0
name = "Events API"
plugin = "http_poll"

[[streams]]
stream = "events"
topic = "api"
schema = "json"

[plugin_config]
url = "https://api.example.com/v1/events?limit=100"
interval = "30s"
items_path = "data"
key_path = "customer_id"
pagination = "cursor"
cursor_path = "next_cursor"
cursor_param = "after"
bearer_token = "${env:API_TOKEN}")";
    auto& o = s.options;
    o.push_back(config::opt("url", opt_type::string,
                            "URL of the first page; `{cursor}` is replaced by the current cursor "
                            "(percent-encoded)."));
    o.push_back(choice("method", {"GET", "POST", "PUT", "PATCH", "DELETE"}, "HTTP method.", "GET"));
    o.push_back(config::optional_opt("headers", opt_type::map,
                                     "Headers of every request (values may use `${env:NAME}`)."));
    o.push_back(config::optional_opt(
        "body", opt_type::string, "Request body; `{cursor}` is replaced by the cursor as it is."));
    o.push_back(config::opt("content_type", opt_type::string, "Content-Type of `body`.",
                            "\"application/json\""));
    o.push_back(
        ranged(config::opt("interval", opt_type::duration,
                           "Time between the end of one polling cycle and the next.", "\"10s\""),
               1, std::nullopt));
    o.push_back(
        config::opt("timeout", opt_type::duration, "Time allowed for one request.", "\"30s\""));
    o.push_back(choice("response_format", {"json", "ndjson", "raw"},
                       "How the response body splits into items (see above).", "json"));
    o.push_back(config::opt("items_path", opt_type::string,
                            "JSON path of the items in the response (`data.items`, `$.results[*]`, "
                            "`['odd.key']`); empty: the whole response.",
                            "\"\""));
    o.push_back(
        config::optional_opt("key_path", opt_type::string,
                             "JSON path inside each item of the message key (the Iggy partitioning "
                             "key), e.g. `customer.id`."));
    o.push_back(config::optional_opt(
        "id_path", opt_type::string,
        "JSON path inside each item of its identity (`id`, `event.uuid`): the message id is a "
        "hash of it, so an item fetched again (an overlapping page, a restart before the "
        "position was saved) gets the same id. None: random ids."));
    o.push_back(choice("pagination", {"none", "link_header", "next_url", "cursor"},
                       "How to find the next page (see above).", "none"));
    o.push_back(config::optional_opt("next_url_path", opt_type::string,
                                     "pagination = next_url: JSON path of the next page's URL."));
    o.push_back(config::optional_opt("cursor_path", opt_type::string,
                                     "pagination = cursor: JSON path of the next cursor."));
    o.push_back(config::optional_opt(
        "cursor_param", opt_type::string,
        "pagination = cursor: query parameter that carries the cursor (instead "
        "of a `{cursor}` placeholder)."));
    o.push_back(config::optional_opt("initial_cursor", opt_type::string,
                                     "The cursor of the very first request (no saved state)."));
    o.push_back(ranged(
        config::opt("max_pages", opt_type::integer,
                    "Pages fetched back to back in one cycle before waiting `interval`.", "100"),
        1, 1000000));
    o.push_back(ranged(config::opt("max_response_size", opt_type::size,
                                   "Larger responses fail (protects memory).", "\"64MiB\"", true),
                       1024, std::nullopt));
    client_options(o);
    s.check = [](const config::values& v, const config::check_report& report) {
        auto known = [](std::string_view n) { return n == "cursor"; };
        auto url = http_detail::text_template::parse(v.str("url"), known);
        if (!url)
            report("url", url.error().message());
        if (auto b = v.opt_str("body")) {
            if (auto t = http_detail::text_template::parse(*b, known); !t)
                report("body", t.error().message());
        }
        const auto& u = v.str("url");
        if (!u.starts_with("http://") && !u.starts_with("https://"))
            report("url", "must start with http:// or https://");
        for (const char* k :
             {"items_path", "key_path", "id_path", "next_url_path", "cursor_path"}) {
            if (auto p = v.opt_str(k)) {
                if (auto jp = http_detail::json_path::parse(*p); !jp)
                    report(k, jp.error().message());
            }
        }
        const auto paging = v.str("pagination");
        if (paging == "next_url" && !v.has("next_url_path"))
            report("next_url_path", "pagination = \"next_url\" needs next_url_path");
        if (paging == "cursor") {
            if (!v.has("cursor_path"))
                report("cursor_path", "pagination = \"cursor\" needs cursor_path");
            const bool placed =
                (url && url->uses("cursor")) ||
                v.opt_str("body").value_or("").find("{cursor}") != std::string::npos ||
                v.has("cursor_param");
            if (!placed)
                report("cursor_param",
                       "pagination = \"cursor\" needs {cursor} in url or body, or cursor_param");
        }
        check_basic_pair(v, report);
    };
    return s;
}

// ---- webhook source --------------------------------------------------------------------------

namespace {

std::vector<config::option> auth_children() {
    std::vector<config::option> c;
    c.push_back(choice("type", {"none", "bearer", "basic", "hmac"},
                       "How callers authenticate: nothing, `Authorization: Bearer <token>`, HTTP "
                       "basic, or an HMAC-SHA256 signature of the request.",
                       "none"));
    c.push_back(config::optional_opt("token", opt_type::secret, "type = bearer: the token."));
    c.push_back(config::optional_opt("username", opt_type::string, "type = basic: the user name."));
    c.push_back(config::optional_opt("password", opt_type::secret, "type = basic: the password."));
    c.push_back(config::optional_opt("secret", opt_type::secret,
                                     "type = hmac: the shared signing secret."));
    c.push_back(
        config::optional_opt("previous_secret", opt_type::secret,
                             "type = hmac: a second secret also accepted (while rotating)."));
    c.push_back(choice("preset", {"github", "stripe", "shopify", "slack", "custom"},
                       "type = hmac: the sender's scheme, which sets the defaults of the "
                       "signature_* options. github: `X-Hub-Signature-256: sha256=<hex>` of the "
                       "body. stripe: `Stripe-Signature: t=<unix>,v1=<hex>` of "
                       "`{timestamp}.{body}`. shopify: `X-Shopify-Hmac-Sha256: <base64>` of the "
                       "body. slack: `X-Slack-Signature: v0=<hex>` of `v0:{timestamp}:{body}` "
                       "with `X-Slack-Request-Timestamp`. custom: like github until overridden.",
                       "github"));
    c.push_back(config::optional_opt("signature_header", opt_type::string,
                                     "Header carrying the signature (overrides the preset)."));
    c.push_back(config::optional_opt("signature_prefix", opt_type::string,
                                     "Text before the signature in the header, e.g. `sha256=`."));
    auto enc = config::optional_opt("signature_encoding", opt_type::enumeration,
                                    "How the signature is written: hex or base64.");
    enc.choices = {"hex", "base64"};
    c.push_back(enc);
    auto fmt_opt =
        config::optional_opt("signature_format", opt_type::enumeration,
                             "plain: the header is prefix + signature. keyed: a list "
                             "`t=..,v1=..` (Stripe) with `timestamp_key` and `signature_key`.");
    fmt_opt.choices = {"plain", "keyed"};
    c.push_back(fmt_opt);
    c.push_back(
        config::optional_opt("timestamp_header", opt_type::string,
                             "plain format: header carrying the request's Unix timestamp."));
    c.push_back(config::optional_opt("timestamp_key", opt_type::string,
                                     "keyed format: the timestamp's key (t)."));
    c.push_back(config::optional_opt("signature_key", opt_type::string,
                                     "keyed format: the signatures' key (v1)."));
    c.push_back(config::optional_opt("signed_payload", opt_type::string,
                                     "What is signed, with `{body}` and `{timestamp}` replaced."));
    c.push_back(
        config::opt("timestamp_tolerance", opt_type::duration,
                    "Signed requests whose timestamp is further from now than this are refused "
                    "(replay protection); 0s: not checked.",
                    "\"5m\""));
    return c;
}

void check_auth(const config::values& a, const std::string& at,
                const config::check_report& report) {
    const auto type = a.str("type");
    if (type == "bearer" && !a.has("token"))
        report(at + ".token", "auth type bearer needs a token");
    if (type == "basic" && (!a.has("username") || !a.has("password")))
        report(at + ".username", "auth type basic needs username and password");
    if (type == "hmac" && !a.has("secret"))
        report(at + ".secret", "auth type hmac needs a secret");
    if (type == "hmac" && a.str("preset") == "custom" && !a.has("signature_header"))
        report(at + ".signature_header", "preset custom needs signature_header");
}

}  // namespace

config::spec webhook_source_spec() {
    config::spec s;
    s.name = "webhook";
    s.kind = config::spec_kind::source;
    s.guarantee =
        "at-least-once (a 2xx only after Iggy stored the messages; a caller retries otherwise); "
        "with `delivery_id_header`/`delivery_id_path` and a de-duplicating Iggy server each "
        "delivery is stored once";
    s.summary =
        "Receives HTTP requests (webhooks) and writes their bodies to Iggy, answering "
        "only after Iggy stored them";
    s.description =
        "An HTTP/1.1 server (Boost.Beast, with TLS when `tls_cert_file` is set). Each route maps "
        "a method and path to a stream/topic (default: the first `[[streams]]` entry). A body "
        "becomes messages by `format`: `json` (an object or scalar: one message; an array: one "
        "per element), `ndjson` (one per line), `raw` (the body as it is), or `auto` (by "
        "Content-Type: `*ndjson*`/`*jsonl*` -> ndjson, `*json*` -> json, else raw). Invalid JSON "
        "is answered 400 and nothing of the request is stored. Chosen request headers "
        "(`headers`) become Iggy user headers; `key_header`/`key_path` set the partitioning "
        "key.\n\n"
        "**Delivery.** A request is answered `success_status` (200, body `{\"accepted\": n}`) "
        "only after Iggy acknowledged the batch holding all its messages. When they could not be "
        "stored it is answered 503 with Retry-After, and when they were not stored within "
        "`ack_timeout` the server answers 503 itself: the caller's retry is the safety net. A "
        "request that was answered 503 may still have been stored (Iggy acknowledged it just "
        "after the deadline, or the process stopped between storing and answering): such a "
        "retry is the only source of duplicates, at most one request per event; senders' "
        "delivery ids (`X-GitHub-Delivery`, Stripe event ids) copied into headers let consumers "
        "drop them.\n\n"
        "**Saturation.** Requests received and not yet answered are bounded by "
        "`max_pending_requests` and `max_pending_bytes`; beyond them requests are answered "
        "`overload_status` (503 or 429) with Retry-After at once, without reading into memory "
        "anything more.\n\n"
        "**Authentication.** `[auth]` (or a route's own `[routes.auth]`): bearer token, basic, "
        "or HMAC-SHA256 signatures as GitHub, Stripe, Shopify and Slack send them (presets) or "
        "any header/prefix/encoding/signed-payload combination, with a timestamp tolerance. "
        "Secrets are compared in constant time. Failures are answered 401. A server that "
        "listens beyond loopback refuses to start with an unauthenticated route unless "
        "`allow_unauthenticated = true`.\n\n"
        "**Limits.** Bodies over `max_body_size` are answered 413 before they are read; slow "
        "requests 408 after `request_timeout`. Every outcome is counted in "
        "`trib_webhook_requests_total{connector, route, outcome}`.";
    s.example = R"(type = "source"
key = "github"
enabled = true
version = 0
name = "GitHub webhooks"
plugin = "webhook"

[[streams]]
stream = "github"
topic = "events"
schema = "json"

[plugin_config]
address = "0.0.0.0"
port = 8090
max_body_size = "5MiB"

[[plugin_config.routes]]
path = "/github"
headers = ["X-GitHub-Event", "X-GitHub-Delivery"]

[plugin_config.routes.auth]
type = "hmac"
preset = "github"
secret = "${env:GITHUB_WEBHOOK_SECRET}")";
    auto& o = s.options;
    o.push_back(config::opt("address", opt_type::string, "Address to listen on.", "\"127.0.0.1\""));
    o.push_back(ranged(
        config::opt("port", opt_type::integer, "Port to listen on (0: any free port)."), 0, 65535));
    o.push_back(config::optional_opt("tls_cert_file", opt_type::string,
                                     "PEM certificate chain: serve HTTPS (with tls_key_file)."));
    o.push_back(config::optional_opt("tls_key_file", opt_type::string,
                                     "PEM private key of tls_cert_file."));
    o.push_back(
        ranged(config::opt("max_body_size", opt_type::size,
                           "Largest request body; larger ones are answered 413.", "\"1MiB\""),
               1, std::nullopt));
    o.push_back(config::opt(
        "request_timeout", opt_type::duration,
        "Time allowed to receive a request's header, and then its body (408 after).", "\"30s\""));
    o.push_back(config::opt("idle_timeout", opt_type::duration,
                            "A kept-alive connection with no request is closed after this.",
                            "\"60s\"", true));
    o.push_back(
        config::opt("ack_timeout", opt_type::duration,
                    "How long a request waits for Iggy's acknowledgement before it is answered "
                    "503 with Retry-After.",
                    "\"30s\""));
    o.push_back(ranged(config::opt("max_connections", opt_type::integer,
                                   "Open connections at most.", "1024", true),
                       1, 1000000));
    o.push_back(ranged(
        config::opt("threads", opt_type::integer, "I/O threads of the server.", "2", true), 1, 64));
    o.push_back(ranged(config::opt("max_pending_requests", opt_type::integer,
                                   "Requests received and not yet answered, at most.", "1000"),
                       1, 10000000));
    o.push_back(ranged(
        config::opt("max_pending_bytes", opt_type::size,
                    "Bytes of the bodies of requests not yet answered, at most.", "\"64MiB\""),
        1024, std::nullopt));
    auto ov =
        config::opt("overload_status", opt_type::integer,
                    "Status of the answer when the pending budget is full: 503 or 429.", "503");
    o.push_back(ranged(ov, 429, 503));
    o.push_back(
        config::opt("retry_after", opt_type::duration,
                    "Retry-After of overload, nack and timeout answers (whole seconds, at least "
                    "1).",
                    "\"1s\""));
    o.push_back(ranged(config::opt("success_status", opt_type::integer,
                                   "Status of the answer once Iggy stored the messages.", "200"),
                       200, 299));
    o.push_back(
        ranged(config::opt("max_batch_messages", opt_type::integer,
                           "Messages handed to the runtime at once (whole requests; a larger "
                           "request goes alone).",
                           "1000", true),
               1, 10000000));
    o.push_back(config::optional_opt("health_path", opt_type::string,
                                     "A path answering GET with 200 without authentication (load "
                                     "balancers); none by default."));
    o.push_back(config::opt("allow_unauthenticated", opt_type::boolean,
                            "Allow routes without authentication on a non-loopback address.",
                            "false"));
    o.push_back(config::optional_opt(
        "delivery_id_header", opt_type::string,
        "Request header naming the delivery (`X-GitHub-Delivery`, `X-Request-Id`): the message "
        "ids come from it, so a caller's retry gets the same ids and a de-duplicating server "
        "stores it once. Routes may set their own."));
    o.push_back(config::optional_opt(
        "delivery_id_path", opt_type::string,
        "JSON path inside each message of its delivery id (Stripe's event `id`), used when "
        "`delivery_id_header` is not set or absent from the request. Routes may set their own."));
    config::option auth;
    auth.name = "auth";
    auth.type = opt_type::table;
    auth.doc = "Authentication of every route without its own `auth`.";
    auth.children = auth_children();
    o.push_back(auth);

    config::option routes;
    routes.name = "routes";
    routes.type = opt_type::table_list;
    routes.optional = true;
    routes.doc = "The routes; none: `POST /` into the first stream.";
    routes.children.push_back(config::opt("path", opt_type::string,
                                          "Path, e.g. `/github`; `{name}` matches one segment."));
    routes.children.push_back(
        choice("method", {"POST", "PUT", "PATCH", "DELETE", "GET"}, "HTTP method.", "POST"));
    routes.children.push_back(config::optional_opt(
        "stream", opt_type::string, "Iggy stream (default: the first `[[streams]]` entry's)."));
    routes.children.push_back(
        config::optional_opt("topic", opt_type::string, "Iggy topic (with stream)."));
    routes.children.push_back(choice("format", {"auto", "json", "ndjson", "raw"},
                                     "How the body splits into messages (see above).", "auto"));
    auto hdrs =
        config::optional_opt("headers", opt_type::list,
                             "Request headers copied into every message as Iggy user headers "
                             "(string values, keyed by the name as written here).");
    routes.children.push_back(hdrs);
    routes.children.push_back(config::optional_opt(
        "key_header", opt_type::string, "Request header whose value is the messages' key."));
    routes.children.push_back(config::optional_opt(
        "key_path", opt_type::string, "JSON path inside each message of its key (JSON bodies)."));
    routes.children.push_back(
        config::optional_opt("delivery_id_header", opt_type::string,
                             "This route's `delivery_id_header` (instead of the top-level one)."));
    routes.children.push_back(
        config::optional_opt("delivery_id_path", opt_type::string,
                             "This route's `delivery_id_path` (instead of the top-level one)."));
    config::option rauth;
    rauth.name = "auth";
    rauth.type = opt_type::table;
    rauth.optional = true;
    rauth.doc = "This route's authentication (instead of the top-level `auth`).";
    rauth.children = auth_children();
    routes.children.push_back(rauth);
    o.push_back(routes);

    s.listeners = [](const config::values& v) {
        return std::vector<config::listen_endpoint>{{"port", v.str("address"), v.integer("port")}};
    };
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.has("tls_cert_file") != v.has("tls_key_file"))
            report("tls_cert_file", "tls_cert_file and tls_key_file go together");
        const auto status = v.integer("overload_status");
        if (status != 429 && status != 503)
            report("overload_status", "must be 429 or 503");
        check_auth(v.table("auth"), "auth", report);
        if (auto p = v.opt_str("delivery_id_path")) {
            if (auto jp = http_detail::json_path::parse(*p); !jp)
                report("delivery_id_path", jp.error().message());
        }
        std::set<std::string> seen;
        const auto rs = v.tables("routes");
        for (std::size_t i = 0; i < rs.size(); ++i) {
            const std::string at = fmt::format("routes[{}]", i);
            const auto& r = rs[i];
            if (!r.str("path").starts_with("/"))
                report(at + ".path", "must start with /");
            if (!seen.insert(r.str("method") + " " + r.str("path")).second)
                report(at + ".path", "another route has the same method and path");
            if (r.has("stream") != r.has("topic"))
                report(at + ".stream", "stream and topic go together");
            for (const char* k : {"key_path", "delivery_id_path"}) {
                if (auto p = r.opt_str(k)) {
                    if (auto jp = http_detail::json_path::parse(*p); !jp)
                        report(at + "." + k, jp.error().message());
                }
            }
            if (r.has("auth"))
                check_auth(r.table("auth"), at + ".auth", report);
        }
    };
    return s;
}

}  // namespace trib::connectors
