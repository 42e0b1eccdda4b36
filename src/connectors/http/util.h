#pragma once
// Pieces shared by the HTTP sink, the polling source and the webhook source, kept apart so that
// the tests can reach them: templates ({stream}, {cursor}, ...), encodings, HMAC signature checks,
// Link headers and relative URLs. Internal to connectors/http (no RapidJSON here: see json.h).

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/spec.h"
#include "core/base64.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/message.h"
#include "core/net/http_client.h"

namespace trib::connectors::http_detail {

/// libcurl client options from the options every HTTP connector shares (bearer_token,
/// basic_auth_*, connect_timeout, tls_*). Defined in sink.cpp.
net::client_options client_options_from(const config::values& v);

/// A text with `{name}` placeholders ("https://api/x/{stream}/{topic}?after={cursor}"). `{{` and
/// `}}` are literal braces.
class text_template {
  public:
    /// Parses `text`; an unknown name (per `known`, when given) or an unclosed brace is an error
    /// naming it.
    static result<text_template> parse(std::string_view text,
                                       const std::function<bool(std::string_view)>& known = {});
    /// The text with every placeholder replaced by `value(name)`; `encode` percent-encodes the
    /// values (for URLs), never the literal parts.
    std::string expand(const std::function<std::string(std::string_view)>& value,
                       bool encode) const;
    /// True when the template has a placeholder `name`.
    bool uses(std::string_view name) const;
    /// True when the template has no placeholder at all.
    bool is_literal() const;
    /// The placeholders' names in order.
    std::vector<std::string> names() const;

  private:
    struct part {
        bool is_var = false;
        std::string text;  // literal text or the variable's name
    };
    std::vector<part> parts_;
};

/// RFC 3986 percent-encoding of everything but the unreserved characters.
std::string percent_encode(std::string_view s);

// Hex and base64: trib::hex_encode/hex_decode (core/hex.h), trib::base64_encode/base64_decode
// (core/base64.h).

/// HMAC-SHA256 of `data` under `key` (32 raw bytes).
std::string hmac_sha256(std::string_view key, std::string_view data);
/// SHA-256 of `data` (32 raw bytes).
std::string sha256(std::string_view data);
/// Equality whose time does not depend on where `a` and `b` differ (CRYPTO_memcmp); different
/// lengths compare unequal at once (lengths are not secret: digests have a fixed size).
bool constant_time_equal(std::string_view a, std::string_view b);

/// An Iggy message id as Iggy's HTTP sink writes it: the 128-bit value in hex, 8-4-4-4-12.
std::string format_uuid(const message_id& id);

/// The target of the `rel="next"` link of an RFC 8288 Link header, if there is one.
std::optional<std::string> link_next(std::string_view link_header);
/// Resolves `ref` (absolute, scheme-relative, absolute-path or relative) against `base`
/// (RFC 3986, via libcurl's URL parser). nullopt when either is malformed.
std::optional<std::string> resolve_url(std::string_view base, std::string_view ref);
/// `url` with `name=value` added to its query string (percent-encoded), replacing an existing
/// parameter of that name.
std::string set_query_param(std::string_view url, std::string_view name, std::string_view value);

/// The value of `name` (case-insensitive) in a header that is a comma-separated list of
/// `key=value` items (Stripe-Signature "t=1,v1=ab,v1=cd"): every value, in order.
std::vector<std::string_view> list_values(std::string_view header, std::string_view name);

// ---- Request signatures (webhook source) ---------------------------------------------------

/// How incoming requests are signed: HMAC-SHA256 of a "signed payload" under a shared secret,
/// carried in a header. Covers GitHub (X-Hub-Signature-256: sha256=<hex> of the body), Shopify
/// (X-Shopify-Hmac-Sha256: base64 of the body's HMAC), Slack (X-Slack-Signature: v0=<hex> of
/// "v0:{timestamp}:{body}", timestamp in X-Slack-Request-Timestamp) and Stripe
/// (Stripe-Signature: t=<ts>,v1=<hex>[,v1=...] of "{timestamp}.{body}").
struct signature_scheme {
    std::vector<std::string> secrets;  // several during a rotation: any one may match
    std::string header = "X-Hub-Signature-256";
    std::string prefix = "sha256=";  // stripped from the header value (plain format)
    enum class encoding { hex, base64 } encoding = encoding::hex;
    /// plain: the header holds prefix + signature. keyed: the header is a list "t=..,v1=.."
    /// (Stripe): the timestamp is `timestamp_key`'s value, signatures are `signature_key`'s.
    enum class format { plain, keyed } format = format::plain;
    std::string timestamp_key = "t";
    std::string signature_key = "v1";
    /// The header holding the timestamp (plain format); empty: none.
    std::string timestamp_header;
    /// What is signed: `{body}` and `{timestamp}` are replaced.
    std::string signed_payload = "{body}";
    /// Requests whose timestamp (Unix seconds) is further than this from now are refused; 0: the
    /// timestamp is not checked (but still signed when the payload names it).
    std::chrono::seconds tolerance{300};
};

enum class auth_result {
    ok,
    missing,          // no credentials / no signature header
    bad_credentials,  // wrong token or password
    bad_signature,    // a signature that does not match, or cannot be decoded
    stale_timestamp,  // signed, but outside the tolerance (replay protection)
};
std::string_view to_string(auth_result r);

/// Checks a request's signature. `header(name)` returns a request header ("" when absent).
auth_result verify_signature(const signature_scheme& s,
                             const std::function<std::string_view(std::string_view)>& header,
                             std::string_view body, std::chrono::system_clock::time_point now);

/// Signs `body` as a sender using `s` would (tests and the benchmark's load generator): the
/// header value to send.
std::string sign(const signature_scheme& s, std::string_view secret, std::string_view body,
                 std::int64_t timestamp);

/// The message id of part `part` (0-based: a JSON array or NDJSON body holds several) of the
/// webhook delivery named `delivery` (a delivery-id header's value): ("webhook", delivery, part).
message_id delivery_id(std::string_view delivery, std::size_t part);
/// The message id of the webhook message whose delivery_id_path value is `value`:
/// ("webhook", "path", value).
message_id delivery_path_id(std::string_view value);
/// The message id of an http_poll item whose id_path value is `value`: ("http_poll", value).
message_id item_id(std::string_view value);

}  // namespace trib::connectors::http_detail
