#pragma once
// Documentation generated from a spec: docs/connectors/NAME.md, `tributary connectors describe`
// and the management API's schema endpoint. Output is deterministic (spec order, no timestamps)
// so a test can fail when checked-in docs are stale.

#include <string>

#include "config/spec.h"

namespace trib::config {

/// Markdown for docs/connectors/NAME.md: title, summary, description, an options table (nested
/// options as `parent.child`, table lists as `parent[].child`) and the example.
std::string render_markdown(const spec& s);

/// Plain text for `tributary connectors describe NAME` (80-column friendly). Advanced options
/// are listed only when `include_advanced`.
std::string render_text(const spec& s, bool include_advanced = true);

/// The spec as a JSON object (name, kind, summary, description, idempotent, plugin_aliases,
/// example, options with their type, default, required, choices, range, children...).
std::string to_json(const spec& s);

}  // namespace trib::config
