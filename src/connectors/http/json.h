#pragma once
// JSON helpers of connectors/http on RapidJSON: a small path language to pick values out of a
// response, compact re-serialization, and zero-copy splitting of a top-level array or of NDJSON.
// Internal to connectors/http (RapidJSON stays out of shared headers).

#include <rapidjson/document.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/json_text.h"  // append_json_string

namespace trib::connectors::http_detail {

/// A path into a JSON document: `$`, `data.items`, `$.data.items[0].id`, `items[*].id`,
/// `['key.with.dots']`, `["a b"][2]`. The leading `$` and `.` are optional; an empty path is the
/// root. `[*]` (or `.*`) takes every element of an array (or every member value of an object).
class json_path {
  public:
    static result<json_path> parse(std::string_view text);
    /// Appends the values the path selects in `root` (none when a step is missing or of the
    /// wrong kind) to `out`.
    void select(const rapidjson::Value& root, std::vector<const rapidjson::Value*>& out) const;
    /// The first selected value, or nullptr.
    const rapidjson::Value* first(const rapidjson::Value& root) const;
    bool is_root() const { return steps_.empty(); }
    const std::string& text() const { return text_; }

  private:
    struct step {
        enum class kind { key, index, wildcard } what = kind::key;
        std::string key;
        std::size_t index = 0;
    };
    void walk(const rapidjson::Value& v, std::size_t i,
              std::vector<const rapidjson::Value*>& out) const;
    std::vector<step> steps_;
    std::string text_;
};

/// Parses `text` into `d` keeping every number exactly as written (RapidJSON would convert them
/// to double): numbers are stored as marked strings that append_json() and scalar_text() write
/// back verbatim. False with `err` set when `text` is not valid JSON.
bool parse_exact(std::string_view text, rapidjson::Document& d, std::string& err);

/// Appends `v` as compact JSON (numbers of a parse_exact() document as written).
void append_json(const rapidjson::Value& v, std::string& out);
/// A scalar as text (strings unquoted, numbers and booleans as written, null as ""); arrays and
/// objects as compact JSON.
std::string scalar_text(const rapidjson::Value& v);

/// Checks that `in` is one JSON value and appends it to `out` without insignificant whitespace
/// (so it fits on one NDJSON line). False (and `out` unchanged) when `in` is not valid JSON.
bool append_minified(std::string_view in, std::string& out);
/// True when `in` is exactly one valid JSON value (whitespace around it allowed).
bool is_valid_json(std::string_view in);

/// How a request body splits into messages.
struct split_error {
    std::size_t item = 0;  // 0-based item (array element or line) where it failed
    std::string message;
};

/// Validates `body` as one JSON value. If it is an array, appends a view of each element's text
/// (exactly as in `body`, no copy) to `out`; otherwise appends the whole value (trimmed). An
/// empty array adds nothing. Returns false with `err` set when `body` is not valid JSON.
bool split_json(std::string_view body, std::vector<std::string_view>& out, split_error& err);
/// Splits NDJSON: one JSON value per line ('\n' or "\r\n"; blank lines are skipped). Every line
/// is validated; false with `err` (the 0-based line) on the first invalid one.
bool split_ndjson(std::string_view body, std::vector<std::string_view>& out, split_error& err);

}  // namespace trib::connectors::http_detail
