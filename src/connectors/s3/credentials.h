#pragma once
// Where the S3 connectors find AWS credentials and the region, in the AWS tools' order: the
// connector's options, the standard environment variables, the shared credentials file
// (~/.aws/credentials or AWS_SHARED_CREDENTIALS_FILE, profile from the options, AWS_PROFILE or
// "default"). Internal to connectors/s3; public to its tests.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.h"

namespace trib::connectors::s3_detail {

struct aws_credentials {
    std::string access_key_id;
    std::string secret_access_key;  // secret
    std::string session_token;      // secret; may be empty
    std::string origin;             // "options", "environment", "file <path> [profile]"
};

/// The profile's keys in an AWS shared credentials file (INI: `[profile]`, `key = value`,
/// `#`/`;` comments). nullopt when the profile or its two keys are missing.
std::optional<aws_credentials> parse_credentials_file(std::string_view text,
                                                      std::string_view profile);

struct credential_inputs {
    std::optional<std::string> access_key_id;
    std::optional<std::string> secret_access_key;
    std::optional<std::string> session_token;
    std::optional<std::string> profile;
    /// Reads an environment variable (injectable for tests); nullopt when unset.
    std::function<std::optional<std::string>(const char*)> getenv;
    /// Reads a file (injectable for tests); nullopt when it cannot be read.
    std::function<std::optional<std::string>(const std::string&)> read_file;
};

/// Resolves credentials; the error (unauthenticated, fatal) says where it looked, never a secret.
result<aws_credentials> resolve_credentials(const credential_inputs& in);

/// The process environment and the file system, for credential_inputs.
std::optional<std::string> real_getenv(const char* name);
std::optional<std::string> real_read_file(const std::string& path);

}  // namespace trib::connectors::s3_detail
