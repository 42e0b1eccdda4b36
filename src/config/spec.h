#pragma once
// One self-describing spec per connector, codec and transform (STYLE.md). From a spec come
// validation (all errors at once, with file, key path and "did you mean"), `tributary connectors
// describe`, the generated docs/connectors/NAME.md, the API's schema endpoint and the redaction of
// secrets. Connectors declare a spec and read their validated options through `values`.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trib::config {

enum class opt_type {
    string,
    integer,
    boolean,
    number,       // double
    duration,     // "5s", "250ms", "1m30s", "2h"; a bare integer means milliseconds
    size,         // "4MiB", "512KB", "1GB"; a bare integer means bytes
    enumeration,  // one of `choices`
    list,         // array of `element` (string unless set)
    map,          // table of string -> string
    table,        // nested table with its own `children`
    table_list,   // array of tables ([[x]]), each with `children`
    secret,       // a string that is never printed; accepts ${env:NAME} and ${file:/path}
    any,          // any TOML value kept as is (free-form JSON-like options, `value.static`)
};

/// The option type's name as used in docs and messages ("string", "duration", ...).
std::string_view to_string(opt_type t);

/// One option of a spec. No default and not `optional` means required.
struct option {
    std::string name;
    opt_type type = opt_type::string;
    std::string doc;
    std::optional<std::string> default_value;  // as TOML-ish text: "1000", "5s", "true", "\"x\""
    bool optional = false;                     // may be absent with no default
    std::vector<std::string> choices;          // enumeration
    std::optional<double> min;                 // integer/number/duration(ms)/size(bytes)
    std::optional<double> max;
    opt_type element = opt_type::string;  // list element type
    std::vector<option> children;         // table / table_list
    std::vector<std::string> aliases;     // deprecated names still accepted (with a warning)
    bool advanced = false;                // hidden from short docs
    std::string requires_feature;         // e.g. "libmongoc": refused if the build lacks it
};

/// The one way specs build an option: `def` is the default as TOML-ish text. Without a default
/// the option is required.
inline option opt(std::string name, opt_type t, std::string doc,
                  std::optional<std::string> def = std::nullopt, bool advanced = false) {
    option o;
    o.name = std::move(name);
    o.type = t;
    o.doc = std::move(doc);
    o.default_value = std::move(def);
    o.advanced = advanced;
    return o;
}
/// An option that may be absent and has no default.
inline option optional_opt(std::string name, opt_type t, std::string doc, bool advanced = false) {
    option o = opt(std::move(name), t, std::move(doc), std::nullopt, advanced);
    o.optional = true;
    return o;
}
/// opt(), but absent rather than required when there is no default.
inline option opt_or_absent(std::string name, opt_type t, std::string doc,
                            std::optional<std::string> def = std::nullopt) {
    option o = opt(std::move(name), t, std::move(doc), std::move(def));
    o.optional = !o.default_value;
    return o;
}

enum class spec_kind { source, sink, codec, transform, runtime };

/// A socket a connector will listen on, as its options say (for the start-up check that names
/// the file and key of an address in use). `key` is relative to the connector's options.
struct listen_endpoint {
    std::string key;        // "port"
    std::string host;       // "127.0.0.1", "0.0.0.0"
    std::int64_t port = 0;  // 0: any free port (nothing to check)
};

std::string_view to_string(spec_kind k);

class values;

/// Reports one problem found by a spec's cross-option check; `path` is relative to the spec's root
/// ("fields[0].value"), empty for the whole table.
using check_report = std::function<void(std::string path, std::string message)>;

struct spec {
    std::string name;  // "postgres", "stdout", "json", "add_fields", ...
    spec_kind kind = spec_kind::sink;
    std::string summary;      // one line
    std::string description;  // markdown paragraphs for the docs
    std::vector<option> options;
    bool idempotent = false;  // sinks: exactly-once effects when keyed by Iggy message id
    /// Connectors: the delivery guarantee in one line (at-most-once / at-least-once /
    /// exactly-once effect, and under which settings); printed by `connectors describe` and the
    /// generated docs.
    std::string guarantee;
    std::vector<std::string> plugin_aliases;  // Iggy runtime plugin names mapped to this one
    std::string example;                      // a TOML snippet for the docs
    /// Rules one option cannot express (exactly one of two keys, min below max...). Runs after
    /// the options themselves validated; may be empty.
    std::function<void(const values&, const check_report&)> check;
    /// The sockets an instance listens on (listening sources); may be empty.
    std::function<std::vector<listen_endpoint>(const values&)> listeners;
};

/// The option named `name` (not an alias) among `options`, or nullptr.
const option* find_option(const std::vector<option>& options, std::string_view name);

class node;  // the parsed, validated value tree (implementation detail of config/)

/// Validated option values of one spec instance; read-only, cheap to copy (shared tree).
/// Every accessor is for an option the spec declares: asking for an undeclared name is a bug
/// (it aborts in debug builds). Absent optional values return std::nullopt / empty.
class values {
  public:
    values();
    bool has(std::string_view name) const;
    std::string str(std::string_view name) const;  // string, enumeration, secret (resolved)
    std::optional<std::string> opt_str(std::string_view name) const;
    std::int64_t integer(std::string_view name) const;
    std::optional<std::int64_t> opt_integer(std::string_view name) const;
    bool boolean(std::string_view name) const;
    double number(std::string_view name) const;
    std::chrono::milliseconds duration(std::string_view name) const;
    std::uint64_t size(std::string_view name) const;
    std::vector<std::string> list(std::string_view name) const;
    std::map<std::string, std::string> map(std::string_view name) const;
    values table(std::string_view name) const;
    std::vector<values> tables(std::string_view name) const;
    /// The values as JSON with secrets replaced by "<redacted>" (logs, management API).
    std::string to_redacted_json() const;

    // Extensions beyond the first declaration (kept compatible with it).
    /// The validated node of an option (any type; for `any` options and generic code); nullptr
    /// when absent.
    const node* raw(std::string_view name) const;
    /// A list of integers (list options with element = integer).
    std::vector<std::int64_t> integers(std::string_view name) const;
    /// A duration with sub-millisecond precision ("250us").
    std::chrono::nanoseconds duration_ns(std::string_view name) const;
    /// The option's value as JSON, secrets included (for handing an option to a library).
    std::string json(std::string_view name) const;
    /// The names of the options that have a value, in spec order.
    std::vector<std::string> names() const;
    /// The whole tree (a table), or nullptr for default-constructed values.
    const node* root() const { return root_.get(); }

    explicit values(std::shared_ptr<const node> root);

  private:
    std::shared_ptr<const node> root_;
};

}  // namespace trib::config
