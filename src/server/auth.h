#pragma once
// Credentials of the embedded server: password hashes (PBKDF2-HMAC-SHA256 with a random salt;
// Iggy uses argon2, which OpenSSL 3.0 does not offer) and personal access tokens (random, stored
// only as a SHA-256 digest, as Iggy stores them).

#include <string>
#include <string_view>

namespace trib::server::auth {

/// "pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>".
std::string hash_password(std::string_view password);
/// Constant-time check of a password against `hash_password`'s output.
bool verify_password(std::string_view password, std::string_view encoded);
/// A new token: 50 random bytes in base64 (68 characters), like Iggy's raw tokens.
std::string generate_token();
/// Hex SHA-256 of a token: what the server keeps.
std::string token_digest(std::string_view token);
/// A random password of `n` characters from [A-Za-z0-9].
std::string random_password(std::size_t n = 24);

}  // namespace trib::server::auth
