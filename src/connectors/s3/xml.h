#pragma once
// Reading the S3 API's XML answers (ListObjectsV2, CreateMultipartUpload, CompleteMultipartUpload,
// errors) through expat. Pure; bounded (answers larger than the HTTP client's limit never get
// here; entity expansion is expat's, with its amplification guard). Internal to connectors/s3;
// public to its tests and fuzz target.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/s3/object_store.h"
#include "core/error.h"

namespace trib::connectors::s3_detail {

/// Parses a ListBucketResult (ListObjectsV2). With `url_encoded` (encoding-type=url was asked
/// for) keys and tokens are percent-decoded once.
result<list_page> parse_list_result(std::string_view xml, bool url_encoded);

/// Parses an Azure Blob List Blobs answer (EnumerationResults): Name, Properties/Etag and
/// Content-Length of each blob; NextMarker as the token.
result<list_page> parse_azure_list(std::string_view xml);

/// The UploadId of an InitiateMultipartUploadResult.
result<std::string> parse_upload_id(std::string_view xml);

/// An S3 <Error>: its Code and Message (either may be empty). nullopt when the document is not
/// an error (or not XML).
struct s3_error_body {
    std::string code;
    std::string message;
};
std::optional<s3_error_body> parse_error(std::string_view xml);

/// The XML body of CompleteMultipartUpload for parts 1..n with these ETags.
std::string complete_multipart_body(const std::vector<std::string>& etags);

}  // namespace trib::connectors::s3_detail
