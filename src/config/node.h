#pragma once
// The configuration value tree: what TOML parses into, what environment overrides edit and what
// validation produces. Our own small tree rather than toml++'s, so that toml++ (heavy to compile)
// stays inside one translation unit and the rest of Tributary never sees it.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "core/json_text.h"  // append_json_string

namespace trib::config {

enum class node_kind : std::uint8_t {
    null,  // absent optional value
    boolean,
    integer,
    number,  // double
    string,
    array,
    table,
    duration,  // i = nanoseconds, s = the text it came from
    size,      // i = bytes, s = the text it came from
};

/// One value. Tables keep their keys in file order (toml++ sorts them; we restore the order from
/// source positions) so that transforms run in the order they were written and docs are stable.
class node {
  public:
    node_kind kind = node_kind::null;
    bool secret = false;     // printed as "<redacted>"
    std::uint32_t line = 0;  // 1-based position in the source file (0: unknown)
    std::uint32_t column = 0;
    bool b = false;
    std::int64_t i = 0;
    double d = 0;
    std::string s;
    std::vector<node> items;                           // array
    std::vector<std::pair<std::string, node>> fields;  // table, in order
    /// Where the value came from when not the file itself, e.g. "environment variable
    /// IGGY_CONNECTORS_IGGY_USERNAME"; problems about it name this instead of the file.
    std::string origin;

    static node make_null() { return node{}; }
    static node make_bool(bool v);
    static node make_int(std::int64_t v);
    static node make_number(double v);
    static node make_string(std::string v);
    static node make_array(std::vector<node> items = {});
    static node make_table();

    bool is_null() const { return kind == node_kind::null; }
    bool is_table() const { return kind == node_kind::table; }
    bool is_array() const { return kind == node_kind::array; }
    bool is_string() const { return kind == node_kind::string; }

    /// Table lookup (exact key); nullptr if absent or not a table.
    const node* find(std::string_view key) const;
    node* find(std::string_view key);
    /// Inserts or replaces `key` (tables only); returns the stored node.
    node& set(std::string key, node value);
    /// Removes `key`; false if it was not there.
    bool erase(std::string_view key);

    /// JSON text. Secrets become "<redacted>" unless `reveal_secrets`; durations and sizes are
    /// written as the text they were given in.
    std::string to_json(bool reveal_secrets = false) const;
    /// A short description for error messages: `"abc"`, `42`, `true`, `a table`, `an array`.
    /// Secrets are never shown.
    std::string describe() const;
    /// Scalar as plain text (strings unquoted); empty for tables/arrays/null.
    std::string scalar_text() const;
};

/// Parses TOML text into a table node. On a syntax error returns errc::invalid_argument with
/// "line L, column C: what". Never throws.
[[nodiscard]] result<node> parse_toml(std::string_view text, std::string_view source_name);

/// Reads and parses a TOML file (errc::not_found / io_error when it cannot be read).
[[nodiscard]] result<node> parse_toml_file(const std::string& path);

/// Parses one TOML value written as text ("1000", "\"x\"", "[1, 2]", "{ a = 1 }"). Text that is
/// not a TOML value is taken as a bare string ("5s" -> the string 5s). Used for spec defaults
/// and environment overrides.
node parse_toml_value(std::string_view text);

}  // namespace trib::config
