#pragma once
// Validation of a node tree against a spec: types, ranges, choices, required options, defaults,
// deprecated aliases, features, unknown keys with "did you mean", secrets. Every problem is
// collected; nothing stops at the first.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/environment.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/spec.h"

namespace trib::config {

/// Where a validation runs: the file named in problems, the key path in front of every option
/// ("plugin_config"), and the environment that `${env:NAME}` reads.
struct validation_context {
    std::string file;
    std::string prefix;
    const environment* env = nullptr;  // nullptr: the process environment
    /// Problems are reported as warnings instead of errors (inactive config versions).
    bool warnings_only = false;
};

/// Validates the table `input` against `s` and appends every problem to `out`. The returned
/// values are complete (every declared option present, defaulted or null) only when no error was
/// added; callers check `out.has_errors()`.
values validate(const spec& s, const node& input, const validation_context& ctx, problems& out);

/// The brief's form: validate(spec, node, file name, key path prefix).
values validate(const spec& s, const node& input, std::string_view file, std::string_view prefix,
                problems& out);

/// Validates a list of options (the body of a spec or a table option) into a table node.
node validate_options(const std::vector<option>& options, const node& input,
                      const validation_context& ctx, problems& out);

/// Resolves `${env:NAME}` and `${file:/path}` references inside `text` (anywhere in the string;
/// `$${` is a literal `${`). `resolved` tells whether any reference was replaced. Problems name
/// `file` and `path`.
std::string resolve_references(std::string_view text, const validation_context& ctx,
                               std::string_view path, bool& resolved, problems& out);

/// Checks a spec itself: defaults that do not validate, enumerations without choices, duplicate
/// names. Returns one message per defect (empty when the spec is sound). For tests of every
/// registered spec.
std::vector<std::string> check_spec(const spec& s);

/// Build features (optional libraries) options can require with `requires_feature`.
void provide_feature(std::string_view name);
bool feature_available(std::string_view name);

// --- Environment overrides -----------------------------------------------------------------

/// Applies environment overrides to `table` (the file's tree) following `options`: for an option
/// at path a.b.c the variables PREFIX + "A_B_C" for each prefix in `prefixes` (the first prefix
/// that is set wins, so list the preferred one first). Table lists take indexed entries
/// (PREFIX + "STREAMS_0_STREAM"), maps take PREFIX + "HEADERS_<ENTRY>". Values are parsed as the
/// option's type ("100" for an integer, "[a, b]" or "a,b" for a list). Overridden values record
/// their variable in node::origin.
void apply_env_overrides(const std::vector<option>& options, node& table,
                         const std::vector<std::string>& prefixes, const environment& env);

/// Variables that start with one of `prefixes` but name no option of `options` (typos such as
/// TRIBUTARY_HTTP_ADRESS), each with the closest valid name when there is one. Names in
/// `ignore` (whole names or prefixes ending in '_') are skipped.
std::vector<std::pair<std::string, std::optional<std::string>>> unknown_env_overrides(
    const std::vector<option>& options, const std::vector<std::string>& prefixes,
    const environment& env, const std::vector<std::string>& ignore);

/// The environment variable names an option path maps to: "http.cors.enabled" with prefix
/// "IGGY_CONNECTORS_" -> "IGGY_CONNECTORS_HTTP_CORS_ENABLED".
std::string env_name(std::string_view prefix, std::string_view dotted_path);

}  // namespace trib::config
