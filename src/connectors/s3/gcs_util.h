#pragma once
// The pure parts of the Google Cloud Storage store: the service-account key file, the signed
// JWT (RS256) exchanged for an access token, and the JSON API's answers (object lists, errors,
// object metadata). Internal to connectors/s3; public to its tests.

#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/s3/object_store.h"
#include "core/error.h"

namespace trib::connectors::s3_detail {

struct gcs_service_account {
    std::string client_email;
    std::string private_key;  // PEM (secret)
    std::string private_key_id;
    std::string token_uri = "https://oauth2.googleapis.com/token";
};

/// Reads a service-account key file's JSON ("type": "service_account"). The error names the
/// field that is missing, never the key.
result<gcs_service_account> parse_gcs_service_account(std::string_view json);

/// The signed assertion of the OAuth 2.0 JWT bearer grant (RFC 7523): header {alg RS256, kid},
/// claims {iss, scope, aud = token_uri, iat = now, exp = now + 3600}, RSA-SHA256 with OpenSSL.
result<std::string> gcs_jwt(const gcs_service_account& sa, std::string_view scope,
                            std::int64_t now_unix);

/// The form body that trades the assertion for a token at token_uri.
std::string gcs_token_request_body(std::string_view jwt);

struct gcs_token {
    std::string access_token;  // secret
    std::int64_t expires_in = 3600;
};
result<gcs_token> parse_gcs_token(std::string_view json);

/// An objects.list answer: items (name, generation as the etag, size) and nextPageToken.
result<list_page> parse_gcs_list(std::string_view json);

/// An object resource's generation and its `metadata.tributary-tag` ("" when absent).
struct gcs_object_meta {
    std::string generation;
    std::string tag;
};
result<gcs_object_meta> parse_gcs_object(std::string_view json);

/// An objects.rewrite answer: done, or the rewriteToken to call again with.
struct gcs_rewrite {
    bool done = false;
    std::string token;
};
result<gcs_rewrite> parse_gcs_rewrite(std::string_view json);

/// {"error": {"code", "message", "errors": [{"reason"}]}}: the reason and message (either may
/// be empty; both empty when the body is not such a document).
struct gcs_error_body {
    std::string reason;
    std::string message;
};
gcs_error_body parse_gcs_error(std::string_view json);

/// base64url without padding (JWT).
std::string base64url(std::string_view bytes);

}  // namespace trib::connectors::s3_detail
