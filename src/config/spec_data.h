#pragma once
// Specs declared as data. A connector folder keeps its prose and its option declarations in
// `spec.toml` (summary, description, example, options with their types, defaults and docs),
// embedded into the binary at build time (cmake/TributaryHelpers.cmake `trib_embed`), so that
// its spec.cpp holds only what is code: cross-option checks and listeners. The file's layout is
// described in docs/adding-a-connector.md.

#include <optional>
#include <string>
#include <string_view>

#include "config/spec.h"
#include "core/error.h"

namespace trib::config {

/// The spec table `id` of a spec data file's text (`[sink]`, `[source]`, `[poll]` ...). Every
/// key is checked: an unknown key, a wrong type, an unknown option type or group, or a spec that
/// fails check_spec() is an error naming `file` and the key path. Never throws.
[[nodiscard]] result<spec> parse_spec_data(std::string_view toml, std::string_view file,
                                           std::string_view id);

/// parse_spec_data() for a file that is part of the build (an embedded spec.toml): a defect in
/// it is a bug of the source tree, so this aborts with the file, key and reason. Every built-in
/// spec is loaded by the registry tests, so such a bug cannot reach a release unnoticed.
spec builtin_spec(std::string_view toml, std::string_view file, std::string_view id);

/// The text of a default as spec.h keeps it ("\"5s\"", "1000", "true", "[1, 2]") from the
/// value written in a data file; nullopt for a value that has no such text (a table).
std::optional<std::string> default_text(const node& value);

}  // namespace trib::config
