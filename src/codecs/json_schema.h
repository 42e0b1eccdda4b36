#pragma once
// JSON Schema validation (drafts 2020-12 and 7) on valijson, with RE2 for `pattern` and
// `patternProperties` (linear time on hostile strings; valijson's own std::regex is never run).
// Light header: valijson, RapidJSON and RE2 stay in json_schema.cpp.

#include <cstdint>
#include <memory>
#include <string_view>

#include "codecs/codec.h"
#include "core/error.h"

namespace trib::codecs {

enum class json_schema_draft : std::uint8_t {
    automatic,  // the schema's "$schema" decides; without one, 2020-12
    draft7,
    draft2020_12,
};
/// "auto", "7" / "draft7" / "draft-07", "2020-12" / "draft2020-12".
result<json_schema_draft> parse_json_schema_draft(std::string_view text);

struct json_schema_limits {
    std::uint32_t max_schema_depth = 64;             // nesting of subschemas
    std::size_t max_schema_bytes = 4 * 1024 * 1024;  // schema text
};

/// A compiled schema. Immutable after compile(); validate() may run on several threads at once.
/// Cheap to move; copies share the compiled schema.
class json_schema_validator {
  public:
    /// Parses and compiles `schema_text` now: invalid JSON, a keyword Tributary does not support
    /// (README "JSON Schema"), a remote `$ref`, a `pattern` RE2 cannot compile or a schema
    /// nested deeper than the limit is an error here, at start-up, never a silent pass later.
    [[nodiscard]] static result<json_schema_validator> compile(
        std::string_view schema_text, json_schema_draft draft = json_schema_draft::automatic,
        const json_schema_limits& lim = {});

    /// ok() if the record's JSON form is valid; otherwise bad_payload() naming the JSON pointer
    /// of the failing instance and the keyword ("json_schema: /tags/1: type: ..."). JSON records
    /// are validated in place; text and raw records are parsed as JSON, typed records converted
    /// (in a scratch arena of the calling thread).
    [[nodiscard]] status validate(const record& r) const;
    /// The same for JSON text.
    [[nodiscard]] status validate_text(std::string_view json) const;

    json_schema_draft draft() const;

    struct impl;

  private:
    explicit json_schema_validator(std::shared_ptr<const impl> p) : impl_(std::move(p)) {}
    std::shared_ptr<const impl> impl_;
};

}  // namespace trib::codecs
