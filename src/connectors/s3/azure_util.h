#pragma once
// The pure parts of the Azure Blob store: connection strings, the SharedKey signature (Azure's
// documented canonicalization for the Blob service, version 2009-09-19 and later) and RFC 1123
// dates. Internal to connectors/s3; public to its tests.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "core/error.h"

namespace trib::connectors::s3_detail {

/// What an Azure Storage connection string holds (`Key=Value;...`).
struct azure_connection {
    std::string account;
    std::string key;            // AccountKey (secret)
    std::string sas;            // SharedAccessSignature, without a leading '?' (secret)
    std::string blob_endpoint;  // BlobEndpoint, or built from protocol, account and suffix
};

/// Parses a connection string. `UseDevelopmentStorage=true` gives Azurite's well-known account
/// on http://127.0.0.1:10000/devstoreaccount1. The error names the key at fault, never a value.
result<azure_connection> parse_azure_connection_string(std::string_view s);

/// The request as SharedKey signs it.
struct azure_request_view {
    std::string_view method;
    std::string_view path;  // the URL path as sent (percent-encoded), "/container/blob"
    /// Query parameters, decoded (name -> value).
    std::map<std::string, std::string> query;
    /// The headers sent (any case); Content-Length is the body's length.
    std::map<std::string, std::string> headers;
    std::uint64_t content_length = 0;
};

/// The string to sign for Blob-service SharedKey (VERB, the standard headers, the x-ms-
/// headers lower-cased and sorted, then "/<account><path>" and the sorted query parameters).
std::string azure_string_to_sign(const azure_request_view& r, std::string_view account);

/// "SharedKey <account>:<base64 HMAC-SHA256 of `to_sign` under the decoded key>";
/// invalid_argument when the key is not base64.
result<std::string> azure_shared_key_header(std::string_view account, std::string_view key_b64,
                                            std::string_view to_sign);

/// An HTTP date (RFC 1123, GMT) for x-ms-date: "Sun, 06 Nov 1994 08:49:37 GMT".
std::string http_date(std::int64_t unix_seconds);

/// Azure's block id for block `n`: base64 of a fixed-width decimal (all ids of a blob have the
/// same length, as Azure requires).
std::string azure_block_id(std::uint64_t n);

}  // namespace trib::connectors::s3_detail
