#pragma once
// Redaction of credentials in text that leaves the process (log lines, management API answers,
// `tributary validate` output). One helper for every place, so that a new log line or API field
// cannot forget a case:
// - URLs with a password: `scheme://user:pass@host` -> `scheme://user:***@host`;
// - key=value credentials as libpq conninfo strings and error texts carry them:
//   `password=...`, `password='...'` (also sslpassword, passwd, pwd, secret, token, api_key);
// - every value registered with register_secret() (the config registers the value of each spec
//   option marked secret, and ${env:...}/${file:...} values), wherever it appears.

#include <string>
#include <string_view>

namespace trib {

/// The text shown instead of a secret.
inline constexpr std::string_view redacted_mark = "***";

/// `text` with every credential described above replaced by `***`. Thread-safe.
std::string redact(std::string_view text);

/// True if redact(text) would change `text` (cheaper than comparing).
bool needs_redaction(std::string_view text);

/// Registers a secret value so that redact() hides it wherever it appears. Values shorter than
/// 4 bytes are ignored (they would mangle ordinary words); at most 4096 values are kept (later
/// ones are ignored with no error: URL and key=value redaction still apply). Thread-safe.
void register_secret(std::string_view value);

/// Forgets every registered value (tests).
void clear_registered_secrets();

}  // namespace trib
