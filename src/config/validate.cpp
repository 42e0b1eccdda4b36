// Validation of node trees against specs, reference resolution (${env:..}, ${file:..}) and
// environment overrides.

#include "config/validate.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>

#include "config/units.h"
#include "core/parse_number.h"
#include "core/redact.h"

namespace trib::config {
namespace {

struct walker {
    const validation_context& ctx;
    const environment& env;
    problems& out;
    std::size_t errors = 0;  // errors this walker added (for running spec checks)

    void report(const node* at, const std::string& path, std::string message) {
        std::string file = (at != nullptr && !at->origin.empty()) ? at->origin : ctx.file;
        if (ctx.warnings_only) {
            out.warning(std::move(file), path, std::move(message));
        } else {
            out.error(std::move(file), path, std::move(message));
            ++errors;
        }
    }
    void warn(const node* at, const std::string& path, std::string message) {
        std::string file = (at != nullptr && !at->origin.empty()) ? at->origin : ctx.file;
        out.warning(std::move(file), path, std::move(message));
    }

    node value(const option& opt, const node& in, const std::string& path);
    node options(const std::vector<option>& opts, const node& in, const std::string& path);
    node any(const node& in, const std::string& path);
    std::string resolve(const node& in, const std::string& path, bool& resolved);
};

std::string join(const std::string& prefix, std::string_view name) {
    if (prefix.empty())
        return std::string(name);
    std::string out = prefix;
    out.push_back('.');
    out.append(name);
    return out;
}

std::string indexed(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

std::string quote(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

std::string expected_text(const option& opt) {
    switch (opt.type) {
        case opt_type::string:
            return "a string";
        case opt_type::secret:
            return "a string";
        case opt_type::integer:
            return "an integer";
        case opt_type::boolean:
            return "a boolean (true or false)";
        case opt_type::number:
            return "a number";
        case opt_type::duration:
            return "a duration such as \"5s\" or \"250ms\"";
        case opt_type::size:
            return "a size such as \"4MiB\" or \"512KB\"";
        case opt_type::enumeration: {
            std::string s = "one of ";
            for (std::size_t i = 0; i < opt.choices.size(); ++i) {
                if (i)
                    s += ", ";
                s += quote(opt.choices[i]);
            }
            return s;
        }
        case opt_type::list:
            return "an array";
        case opt_type::map:
            return "a table of strings";
        case opt_type::table:
            return "a table";
        case opt_type::table_list:
            return "an array of tables ([[...]])";
        case opt_type::any:
            return "a value";
    }
    return "a value";
}

std::string kind_text(const node& n) {
    switch (n.kind) {
        case node_kind::null:
            return "nothing";
        case node_kind::boolean:
            return "a boolean";
        case node_kind::integer:
            return "an integer";
        case node_kind::number:
            return "a number";
        case node_kind::string:
            return "a string";
        case node_kind::array:
            return "an array";
        case node_kind::table:
            return "a table";
        case node_kind::duration:
            return "a duration";
        case node_kind::size:
            return "a size";
    }
    return "a value";
}

std::string fmt_bound(double v) {
    if (std::floor(v) == v && std::fabs(v) < 9e15)
        return std::to_string(static_cast<long long>(v));
    std::ostringstream ss;
    ss << v;
    return ss.str();
}

std::mutex& feature_mutex() {
    static std::mutex m;
    return m;
}
std::set<std::string, std::less<>>& feature_set() {
    static std::set<std::string, std::less<>> s;
    return s;
}

std::string read_secret_file(const std::string& path, bool& ok) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        ok = false;
        return {};
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    // Secret files (Docker/Kubernetes secrets, `echo x > file`) usually end with one newline
    // that is not part of the secret.
    if (!s.empty() && s.back() == '\n')
        s.pop_back();
    if (!s.empty() && s.back() == '\r')
        s.pop_back();
    ok = true;
    return s;
}

}  // namespace

std::string resolve_references(std::string_view text, const validation_context& ctx,
                               std::string_view path, bool& resolved, problems& out) {
    resolved = false;
    if (text.find("${") == std::string_view::npos)
        return std::string(text);
    const environment process_env = ctx.env ? environment() : environment::from_process();
    const environment& env = ctx.env ? *ctx.env : process_env;
    auto report = [&](std::string msg) {
        if (ctx.warnings_only) {
            out.warning(ctx.file, std::string(path), std::move(msg));
        } else {
            out.error(ctx.file, std::string(path), std::move(msg));
        }
    };
    std::string result;
    result.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        if (text.compare(i, 3, "$${") == 0) {
            result += "${";
            i += 3;
            continue;
        }
        bool is_env = text.compare(i, 6, "${env:") == 0;
        bool is_file = !is_env && text.compare(i, 7, "${file:") == 0;
        if (!is_env && !is_file) {
            result.push_back(text[i++]);
            continue;
        }
        std::size_t start = i + (is_env ? 6 : 7);
        std::size_t close = text.find('}', start);
        if (close == std::string_view::npos) {
            report(std::string("unterminated ") + (is_env ? "${env:" : "${file:") +
                   " reference (missing '}')");
            return std::string(text);
        }
        std::string name(text.substr(start, close - start));
        if (name.empty()) {
            report(std::string("empty ") + (is_env ? "${env:}" : "${file:}") + " reference");
        } else if (is_env) {
            if (auto v = env.get(name)) {
                result += *v;
                resolved = true;
            } else {
                report("environment variable " + name + " (from ${env:" + name + "}) is not set");
            }
        } else {
            bool ok = false;
            std::string v = read_secret_file(name, ok);
            if (ok) {
                result += v;
                resolved = true;
            } else {
                report("cannot read " + name + " (from ${file:" + name + "})");
            }
        }
        i = close + 1;
    }
    return result;
}

std::string walker::resolve(const node& in, const std::string& path, bool& resolved) {
    problems local;
    std::string s = resolve_references(in.s, ctx, path, resolved, local);
    for (auto p : local.items()) {
        if (!in.origin.empty())
            p.file = in.origin;
        if (p.level == severity::error)
            ++errors;
        out.add(std::move(p));
    }
    return s;
}

node walker::any(const node& in, const std::string& path) {
    node outn = in;
    outn.origin.clear();
    switch (in.kind) {
        case node_kind::string: {
            bool resolved = false;
            outn.s = resolve(in, path, resolved);
            if (resolved)
                outn.secret = true;
            break;
        }
        case node_kind::array:
            for (std::size_t i = 0; i < in.items.size(); ++i) {
                outn.items[i] = any(in.items[i], indexed(path, i));
            }
            break;
        case node_kind::table:
            for (std::size_t i = 0; i < in.fields.size(); ++i) {
                outn.fields[i].second = any(in.fields[i].second, join(path, in.fields[i].first));
            }
            break;
        default:
            break;
    }
    return outn;
}

node walker::value(const option& opt, const node& in, const std::string& path) {
    auto type_error = [&]() {
        std::string got =
            (opt.type == opt_type::secret || in.secret) ? kind_text(in) : in.describe();
        report(&in, path, "expected " + expected_text(opt) + ", got " + got);
        return node::make_null();
    };
    auto range_check = [&](double v, const char* unit) {
        if (opt.min && v < *opt.min) {
            report(&in, path,
                   "must be at least " + fmt_bound(*opt.min) + unit + ", got " + in.describe());
        }
        if (opt.max && v > *opt.max) {
            report(&in, path,
                   "must be at most " + fmt_bound(*opt.max) + unit + ", got " + in.describe());
        }
    };
    node r;
    r.line = in.line;
    r.column = in.column;
    switch (opt.type) {
        case opt_type::string:
        case opt_type::secret: {
            if (in.kind != node_kind::string)
                return type_error();
            bool resolved = false;
            r.kind = node_kind::string;
            r.s = resolve(in, path, resolved);
            r.secret = opt.type == opt_type::secret || resolved || in.secret;
            // The value of an option marked secret is hidden wherever it appears later (a
            // library's error text, a URL in a log line): core/redact.h. Defaults are no secret.
            if (opt.type == opt_type::secret &&
                !(opt.default_value && *opt.default_value == "\"" + r.s + "\"")) {
                register_secret(r.s);
            }
            if (!opt.choices.empty() &&
                std::find(opt.choices.begin(), opt.choices.end(), r.s) == opt.choices.end()) {
                report(&in, path,
                       "expected " +
                           expected_text(
                               option{.type = opt_type::enumeration, .choices = opt.choices}) +
                           ", got " + (r.secret ? "a secret value" : quote(r.s)));
            }
            return r;
        }
        case opt_type::integer: {
            if (in.kind != node_kind::integer)
                return type_error();
            range_check(static_cast<double>(in.i), "");
            r.kind = node_kind::integer;
            r.i = in.i;
            return r;
        }
        case opt_type::boolean: {
            if (in.kind != node_kind::boolean)
                return type_error();
            r.kind = node_kind::boolean;
            r.b = in.b;
            return r;
        }
        case opt_type::number: {
            double v;
            if (in.kind == node_kind::number) {
                v = in.d;
            } else if (in.kind == node_kind::integer) {
                v = static_cast<double>(in.i);
            } else {
                return type_error();
            }
            range_check(v, "");
            r.kind = node_kind::number;
            r.d = v;
            return r;
        }
        case opt_type::duration: {
            std::int64_t ns;
            if (in.kind == node_kind::string) {
                auto d = parse_duration(in.s);
                if (!d)
                    return type_error();
                ns = d->count();
                r.s = in.s;
            } else if (in.kind == node_kind::integer) {
                if (in.i < 0 || in.i > std::numeric_limits<std::int64_t>::max() / 1'000'000) {
                    return type_error();
                }
                ns = in.i * 1'000'000;
                r.s = std::to_string(in.i) + "ms";
            } else if (in.kind == node_kind::duration) {
                ns = in.i;
                r.s = in.s;
            } else {
                return type_error();
            }
            range_check(static_cast<double>(ns) / 1e6, "ms");
            r.kind = node_kind::duration;
            r.i = ns;
            return r;
        }
        case opt_type::size: {
            std::uint64_t bytes;
            if (in.kind == node_kind::string) {
                auto b = parse_size(in.s);
                if (!b)
                    return type_error();
                bytes = *b;
                r.s = in.s;
            } else if (in.kind == node_kind::integer || in.kind == node_kind::size) {
                if (in.i < 0)
                    return type_error();
                bytes = static_cast<std::uint64_t>(in.i);
                r.s = in.kind == node_kind::size ? in.s : std::to_string(in.i);
            } else {
                return type_error();
            }
            range_check(static_cast<double>(bytes), " bytes");
            r.kind = node_kind::size;
            r.i = static_cast<std::int64_t>(bytes);
            return r;
        }
        case opt_type::enumeration: {
            if (in.kind != node_kind::string)
                return type_error();
            for (const auto& c : opt.choices) {
                if (c == in.s)
                    return node::make_string(c);
            }
            for (const auto& c : opt.choices) {
                if (edit_distance(c, in.s) == 0)
                    return node::make_string(c);  // case only
            }
            std::string msg = "expected " + expected_text(opt) + ", got " + in.describe();
            if (auto m = closest_match(in.s, opt.choices))
                msg += "; did you mean " + quote(*m) + "?";
            report(&in, path, std::move(msg));
            return node::make_null();
        }
        case opt_type::list: {
            if (in.kind != node_kind::array)
                return type_error();
            option elem;
            elem.name = opt.name;
            elem.type = opt.element;
            elem.choices = opt.choices;
            elem.min = opt.min;
            elem.max = opt.max;
            r.kind = node_kind::array;
            r.items.reserve(in.items.size());
            for (std::size_t i = 0; i < in.items.size(); ++i) {
                r.items.push_back(value(elem, in.items[i], indexed(path, i)));
            }
            return r;
        }
        case opt_type::map: {
            if (in.kind != node_kind::table)
                return type_error();
            r.kind = node_kind::table;
            for (const auto& [k, v] : in.fields) {
                std::string p = join(path, k);
                if (v.kind == node_kind::string) {
                    bool resolved = false;
                    node s = node::make_string(resolve(v, p, resolved));
                    s.secret = resolved || v.secret;
                    if (resolved)
                        register_secret(s.s);  // ${env:...} in a header map: a token, usually
                    r.fields.emplace_back(k, std::move(s));
                } else if (v.kind == node_kind::integer || v.kind == node_kind::number ||
                           v.kind == node_kind::boolean) {
                    r.fields.emplace_back(k, node::make_string(v.scalar_text()));
                } else {
                    report(&v, p, "expected a string, got " + v.describe());
                }
            }
            return r;
        }
        case opt_type::table: {
            if (in.kind != node_kind::table)
                return type_error();
            return options(opt.children, in, path);
        }
        case opt_type::table_list: {
            if (in.kind != node_kind::array)
                return type_error();
            r.kind = node_kind::array;
            for (std::size_t i = 0; i < in.items.size(); ++i) {
                const node& item = in.items[i];
                if (item.kind != node_kind::table) {
                    report(&item, indexed(path, i), "expected a table, got " + item.describe());
                    continue;
                }
                r.items.push_back(options(opt.children, item, indexed(path, i)));
            }
            return r;
        }
        case opt_type::any:
            return any(in, path);
    }
    return r;
}

node walker::options(const std::vector<option>& opts, const node& in, const std::string& path) {
    node r = node::make_table();
    r.line = in.line;
    r.column = in.column;
    // Unknown keys first, in file order, each with its nearest known name.
    std::vector<std::string> names;
    names.reserve(opts.size());
    for (const auto& o : opts)
        names.push_back(o.name);
    for (const auto& [k, v] : in.fields) {
        bool known = false;
        for (const auto& o : opts) {
            if (o.name == k ||
                std::find(o.aliases.begin(), o.aliases.end(), k) != o.aliases.end()) {
                known = true;
                break;
            }
        }
        if (known)
            continue;
        std::string msg = "unknown option";
        if (auto m = closest_match(k, names))
            msg += "; did you mean " + quote(*m) + "?";
        report(&v, join(path, k), std::move(msg));
    }
    for (const auto& o : opts) {
        std::string p = join(path, o.name);
        const node* v = in.find(o.name);
        for (const auto& alias : o.aliases) {
            const node* a = in.find(alias);
            if (a == nullptr)
                continue;
            if (v != nullptr) {
                report(a, join(path, alias),
                       "both " + quote(o.name) + " and its deprecated alias " + quote(alias) +
                           " are set; remove " + quote(alias));
            } else {
                warn(a, join(path, alias),
                     quote(alias) + " is deprecated; use " + quote(o.name) + " instead");
                v = a;
            }
        }
        if (v != nullptr) {
            if (!o.requires_feature.empty() && !feature_available(o.requires_feature)) {
                report(v, p, "needs " + o.requires_feature + ", which this build does not include");
            }
            r.fields.emplace_back(o.name, value(o, *v, p));
        } else if (o.default_value) {
            node d = parse_toml_value(*o.default_value);
            // A default that does not validate is a bug in the spec (check_spec finds it in
            // tests); report it against the option so it is not silently used.
            problems local;
            walker w{ctx, env, local};
            node dv = w.value(o, d, p);
            for (auto pr : local.items()) {
                pr.message = "bad default in the spec (a bug): " + pr.message;
                if (pr.level == severity::error)
                    ++errors;
                out.add(std::move(pr));
            }
            r.fields.emplace_back(o.name, std::move(dv));
        } else if (o.optional) {
            r.fields.emplace_back(o.name, node::make_null());
        } else if (o.type == opt_type::table) {
            r.fields.emplace_back(o.name, options(o.children, node::make_table(), p));
        } else {
            report(nullptr, p, "required option is missing");
            r.fields.emplace_back(o.name, node::make_null());
        }
    }
    return r;
}

values validate(const spec& s, const node& input, const validation_context& ctx, problems& out) {
    const environment process_env = ctx.env ? environment() : environment::from_process();
    walker w{ctx, ctx.env ? *ctx.env : process_env, out};
    node result;
    if (input.kind == node_kind::table) {
        result = w.options(s.options, input, ctx.prefix);
    } else if (input.kind == node_kind::null) {
        result = w.options(s.options, node::make_table(), ctx.prefix);
    } else {
        w.report(&input, ctx.prefix, "expected a table, got " + input.describe());
        result = w.options(s.options, node::make_table(), ctx.prefix);
    }
    values v(std::make_shared<const node>(std::move(result)));
    if (s.check && w.errors == 0) {
        s.check(v, [&](std::string path, std::string message) {
            std::string full = path.empty() ? ctx.prefix : join(ctx.prefix, path);
            w.report(nullptr, full, std::move(message));
        });
    }
    return v;
}

values validate(const spec& s, const node& input, std::string_view file, std::string_view prefix,
                problems& out) {
    validation_context ctx;
    ctx.file = std::string(file);
    ctx.prefix = std::string(prefix);
    return validate(s, input, ctx, out);
}

node validate_options(const std::vector<option>& options, const node& input,
                      const validation_context& ctx, problems& out) {
    const environment process_env = ctx.env ? environment() : environment::from_process();
    walker w{ctx, ctx.env ? *ctx.env : process_env, out};
    return w.options(options, input.kind == node_kind::table ? input : node::make_table(),
                     ctx.prefix);
}

namespace {

void check_options(const std::vector<option>& opts, const std::string& path,
                   std::vector<std::string>& defects) {
    std::set<std::string> seen;
    for (const auto& o : opts) {
        std::string p = join(path, o.name);
        if (o.name.empty())
            defects.push_back(path + ": an option has no name");
        if (!seen.insert(o.name).second)
            defects.push_back(p + ": declared twice");
        for (const auto& a : o.aliases) {
            if (!seen.insert(a).second)
                defects.push_back(p + ": alias " + a + " clashes");
        }
        if (o.type == opt_type::enumeration && o.choices.empty()) {
            defects.push_back(p + ": enumeration without choices");
        }
        if (o.type == opt_type::list && o.element == opt_type::enumeration && o.choices.empty()) {
            defects.push_back(p + ": list of enumerations without choices");
        }
        if ((o.type == opt_type::table || o.type == opt_type::table_list) && o.children.empty()) {
            defects.push_back(p + ": table without children (use map or any)");
        }
        if (o.min && o.max && *o.min > *o.max)
            defects.push_back(p + ": min is above max");
        if (o.default_value && o.optional) {
            defects.push_back(p + ": has a default and is optional (pick one)");
        }
        if (o.default_value) {
            validation_context ctx;
            ctx.file = "spec";
            environment empty;
            ctx.env = &empty;
            problems local;
            walker w{ctx, empty, local};
            w.value(o, parse_toml_value(*o.default_value), p);
            for (const auto& pr : local.items()) {
                defects.push_back(p + ": default " + *o.default_value + ": " + pr.message);
            }
        }
        if (o.type == opt_type::table || o.type == opt_type::table_list) {
            check_options(o.children, o.type == opt_type::table ? p : p + "[]", defects);
        }
    }
}

}  // namespace

std::vector<std::string> check_spec(const spec& s) {
    std::vector<std::string> defects;
    if (s.name.empty())
        defects.push_back("spec without a name");
    check_options(s.options, "", defects);
    for (auto& d : defects)
        d = s.name + ": " + d;
    return defects;
}

void provide_feature(std::string_view name) {
    std::lock_guard lock(feature_mutex());
    feature_set().emplace(name);
}

bool feature_available(std::string_view name) {
    std::lock_guard lock(feature_mutex());
    return feature_set().count(name) > 0;
}

// --- environment overrides -----------------------------------------------------------------

std::string env_name(std::string_view prefix, std::string_view dotted_path) {
    std::string out(prefix);
    for (char c : dotted_path) {
        if (c == '.' || c == '-' || c == '[' || c == ']') {
            if (!out.empty() && out.back() != '_')
                out.push_back('_');
        } else {
            out.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
        }
    }
    while (!out.empty() && out.back() == '_' && out.size() > prefix.size())
        out.pop_back();
    return out;
}

namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = (c == '.' || c == '-') ? '_'
                                   : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string_view trim_ws(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

std::string_view strip_quotes(std::string_view s) {
    s = trim_ws(s);
    if (s.size() >= 2 &&
        ((s.front() == '"' && s.back() == '"') || (s.front() == '\'' && s.back() == '\''))) {
        s = s.substr(1, s.size() - 2);
    }
    return s;
}

node scalar_from_env(opt_type t, std::string_view text) {
    switch (t) {
        case opt_type::integer: {
            std::string_view s = trim_ws(text);
            if (s.starts_with('+'))
                s.remove_prefix(1);  // TOML allows +1
            if (auto v = parse_i64(s))
                return node::make_int(*v);
            break;
        }
        case opt_type::number: {
            std::string_view s = trim_ws(text);
            if (s.starts_with('+'))
                s.remove_prefix(1);
            if (auto v = parse_double(s))
                return node::make_number(*v);
            break;
        }
        case opt_type::boolean: {
            std::string s(trim_ws(text));
            for (auto& c : s)
                c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (s == "true" || s == "1" || s == "yes" || s == "on")
                return node::make_bool(true);
            if (s == "false" || s == "0" || s == "no" || s == "off")
                return node::make_bool(false);
            break;
        }
        case opt_type::any:
            return parse_toml_value(text);
        default:
            break;
    }
    // Strings, secrets, enums, durations and sizes are text; a malformed number stays text and
    // validation reports it ("expected an integer, got "abc"").
    return node::make_string(std::string(text));
}

node list_from_env(opt_type element, std::string_view text) {
    std::string_view s = trim_ws(text);
    if (s.size() >= 2 && s.front() == '[' && s.back() == ']')
        s = s.substr(1, s.size() - 2);
    node arr = node::make_array();
    if (trim_ws(s).empty())
        return arr;
    std::size_t start = 0;
    bool in_quotes = false;
    char quote_char = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i < s.size() && (s[i] == '"' || s[i] == '\'')) {
            if (!in_quotes) {
                in_quotes = true;
                quote_char = s[i];
            } else if (s[i] == quote_char) {
                in_quotes = false;
            }
        }
        if (i == s.size() || (s[i] == ',' && !in_quotes)) {
            arr.items.push_back(scalar_from_env(element, strip_quotes(s.substr(start, i - start))));
            start = i + 1;
        }
    }
    return arr;
}

struct env_applier {
    const std::vector<std::string>& prefixes;
    const environment& env;

    // The first prefix whose variable is set: (name, value).
    std::optional<std::pair<std::string, std::string>> lookup(const std::string& suffix) const {
        for (const auto& p : prefixes) {
            std::string name = p + suffix;
            if (auto v = env.get(name))
                return std::make_pair(name, *v);
        }
        return std::nullopt;
    }

    bool any_with_prefix(const std::string& suffix) const {
        for (const auto& p : prefixes) {
            if (!env.with_prefix(p + suffix).empty())
                return true;
        }
        return false;
    }

    void apply(const std::vector<option>& opts, node& table, const std::string& env_path) {
        for (const auto& o : opts) {
            std::string here = env_path.empty() ? upper(o.name) : env_path + "_" + upper(o.name);
            switch (o.type) {
                case opt_type::table: {
                    if (!any_with_prefix(here + "_"))
                        break;
                    node* child = table.find(o.name);
                    if (child == nullptr || child->kind != node_kind::table) {
                        child = &table.set(o.name, node::make_table());
                    }
                    apply(o.children, *child, here);
                    break;
                }
                case opt_type::table_list: {
                    std::set<std::size_t> indexes;
                    for (const auto& p : prefixes) {
                        std::string head = p + here + "_";
                        for (const auto& [name, value] : env.with_prefix(head)) {
                            std::string_view rest = std::string_view(name).substr(head.size());
                            std::size_t n = 0;
                            while (n < rest.size() &&
                                   std::isdigit(static_cast<unsigned char>(rest[n])))
                                ++n;
                            if (n == 0 || n > 6 || n >= rest.size() || rest[n] != '_')
                                continue;
                            if (auto idx = parse_u32(rest.substr(0, n)))
                                indexes.insert(*idx);
                        }
                    }
                    if (indexes.empty())
                        break;
                    node* arr = table.find(o.name);
                    if (arr == nullptr || arr->kind != node_kind::array) {
                        arr = &table.set(o.name, node::make_array());
                    }
                    for (std::size_t idx : indexes) {
                        if (idx > 1024)
                            continue;  // a typo, not a thousand stream entries
                        while (arr->items.size() <= idx)
                            arr->items.push_back(node::make_table());
                        if (arr->items[idx].kind != node_kind::table)
                            arr->items[idx] = node::make_table();
                        apply(o.children, arr->items[idx], here + "_" + std::to_string(idx));
                    }
                    break;
                }
                case opt_type::map: {
                    if (auto whole = lookup(here)) {
                        // MAP="a=1,b=2" replaces the whole map.
                        node m = node::make_table();
                        std::string_view s = whole->second;
                        std::size_t start = 0;
                        for (std::size_t i = 0; i <= s.size(); ++i) {
                            if (i == s.size() || s[i] == ',') {
                                std::string_view kv = trim_ws(s.substr(start, i - start));
                                auto eq = kv.find('=');
                                if (eq != std::string_view::npos) {
                                    node v = node::make_string(
                                        std::string(strip_quotes(kv.substr(eq + 1))));
                                    v.origin = "environment variable " + whole->first;
                                    m.set(std::string(trim_ws(kv.substr(0, eq))), std::move(v));
                                }
                                start = i + 1;
                            }
                        }
                        m.origin = "environment variable " + whole->first;
                        table.set(o.name, std::move(m));
                    }
                    for (const auto& p : prefixes) {
                        std::string head = p + here + "_";
                        for (const auto& [name, value] : env.with_prefix(head)) {
                            std::string entry = name.substr(head.size());
                            if (entry.empty())
                                continue;
                            node* m = table.find(o.name);
                            if (m == nullptr || m->kind != node_kind::table) {
                                m = &table.set(o.name, node::make_table());
                            }
                            // Environment names are upper case; update an existing entry that
                            // matches case-insensitively, else add it in lower case.
                            std::string key;
                            for (const auto& [k, v] : m->fields) {
                                if (upper(k) == upper(entry))
                                    key = k;
                            }
                            if (key.empty()) {
                                key = entry;
                                for (auto& c : key) {
                                    c = static_cast<char>(
                                        std::tolower(static_cast<unsigned char>(c)));
                                }
                            }
                            node v = node::make_string(value);
                            v.origin = "environment variable " + name;
                            if (p == prefixes.front() || m->find(key) == nullptr ||
                                m->find(key)->origin.empty()) {
                                m->set(key, std::move(v));
                            }
                        }
                    }
                    break;
                }
                default: {
                    auto found = lookup(here);
                    if (!found)
                        break;
                    node v = o.type == opt_type::list ? list_from_env(o.element, found->second)
                                                      : scalar_from_env(o.type, found->second);
                    v.origin = "environment variable " + found->first;
                    for (auto& item : v.items)
                        item.origin = v.origin;
                    // The environment names the current option; a deprecated alias in the file
                    // would otherwise clash with it.
                    for (const auto& a : o.aliases)
                        table.erase(a);
                    table.set(o.name, std::move(v));
                    break;
                }
            }
        }
    }
};

}  // namespace

namespace {

// Every variable suffix the options accept; table lists and maps accept any suffix after their
// name ("STREAMS_", "HEADERS_"), recorded as open prefixes.
void env_suffixes(const std::vector<option>& opts, const std::string& at,
                  std::vector<std::string>& exact, std::vector<std::string>& open) {
    for (const auto& o : opts) {
        std::string here = at.empty() ? upper(o.name) : at + "_" + upper(o.name);
        switch (o.type) {
            case opt_type::table:
                env_suffixes(o.children, here, exact, open);
                break;
            case opt_type::table_list:
            case opt_type::map:
                exact.push_back(here);
                open.push_back(here + "_");
                break;
            default:
                exact.push_back(here);
                break;
        }
    }
}

}  // namespace

std::vector<std::pair<std::string, std::optional<std::string>>> unknown_env_overrides(
    const std::vector<option>& options, const std::vector<std::string>& prefixes,
    const environment& env, const std::vector<std::string>& ignore) {
    std::vector<std::string> exact, open;
    env_suffixes(options, "", exact, open);
    std::vector<std::pair<std::string, std::optional<std::string>>> out;
    for (const auto& p : prefixes) {
        std::vector<std::string> names;
        for (const auto& e : exact)
            names.push_back(p + e);
        for (const auto& [name, value] : env.with_prefix(p)) {
            std::string suffix = name.substr(p.size());
            bool skip = false;
            for (const auto& ig : ignore) {
                if (suffix == ig || (!ig.empty() && ig.back() == '_' && suffix.rfind(ig, 0) == 0)) {
                    skip = true;
                }
            }
            if (skip)
                continue;
            if (std::find(exact.begin(), exact.end(), suffix) != exact.end())
                continue;
            bool opened = false;
            for (const auto& o : open) {
                if (suffix.rfind(o, 0) == 0)
                    opened = true;
            }
            if (opened)
                continue;
            out.emplace_back(name, closest_match(name, names));
        }
    }
    return out;
}

void apply_env_overrides(const std::vector<option>& options, node& table,
                         const std::vector<std::string>& prefixes, const environment& env) {
    if (table.kind != node_kind::table)
        table = node::make_table();
    env_applier a{prefixes, env};
    a.apply(options, table, "");
}

}  // namespace trib::config
