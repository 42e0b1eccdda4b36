// The config data model: nodes, values accessors, problems, the environment snapshot, units and
// "did you mean" distance.

#include <algorithm>
#include <cassert>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "config/environment.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/spec.h"
#include "config/units.h"
#include "core/parse_number.h"
#include "core/redact.h"

extern char** environ;

namespace trib::config {

// --- spec ------------------------------------------------------------------------------------

std::string_view to_string(opt_type t) {
    switch (t) {
        case opt_type::string:
            return "string";
        case opt_type::integer:
            return "integer";
        case opt_type::boolean:
            return "boolean";
        case opt_type::number:
            return "number";
        case opt_type::duration:
            return "duration";
        case opt_type::size:
            return "size";
        case opt_type::enumeration:
            return "enum";
        case opt_type::list:
            return "list";
        case opt_type::map:
            return "map";
        case opt_type::table:
            return "table";
        case opt_type::table_list:
            return "table list";
        case opt_type::secret:
            return "secret";
        case opt_type::any:
            return "any";
    }
    return "?";
}

std::string_view to_string(spec_kind k) {
    switch (k) {
        case spec_kind::source:
            return "source";
        case spec_kind::sink:
            return "sink";
        case spec_kind::codec:
            return "codec";
        case spec_kind::transform:
            return "transform";
        case spec_kind::runtime:
            return "runtime";
    }
    return "?";
}

const option* find_option(const std::vector<option>& options, std::string_view name) {
    for (const auto& o : options) {
        if (o.name == name)
            return &o;
    }
    return nullptr;
}

// --- node ------------------------------------------------------------------------------------

node node::make_bool(bool v) {
    node n;
    n.kind = node_kind::boolean;
    n.b = v;
    return n;
}
node node::make_int(std::int64_t v) {
    node n;
    n.kind = node_kind::integer;
    n.i = v;
    return n;
}
node node::make_number(double v) {
    node n;
    n.kind = node_kind::number;
    n.d = v;
    return n;
}
node node::make_string(std::string v) {
    node n;
    n.kind = node_kind::string;
    n.s = std::move(v);
    return n;
}
node node::make_array(std::vector<node> items) {
    node n;
    n.kind = node_kind::array;
    n.items = std::move(items);
    return n;
}
node node::make_table() {
    node n;
    n.kind = node_kind::table;
    return n;
}

const node* node::find(std::string_view key) const {
    if (kind != node_kind::table)
        return nullptr;
    for (const auto& [k, v] : fields) {
        if (k == key)
            return &v;
    }
    return nullptr;
}

node* node::find(std::string_view key) {
    return const_cast<node*>(static_cast<const node&>(*this).find(key));
}

node& node::set(std::string key, node value) {
    assert(kind == node_kind::table);
    for (auto& [k, v] : fields) {
        if (k == key) {
            v = std::move(value);
            return v;
        }
    }
    fields.emplace_back(std::move(key), std::move(value));
    return fields.back().second;
}

bool node::erase(std::string_view key) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
        if (it->first == key) {
            fields.erase(it);
            return true;
        }
    }
    return false;
}

namespace {

std::string number_text(double d) {
    if (std::isnan(d) || std::isinf(d))
        return "null";  // JSON has no NaN/inf
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    // Prefer the shortest form that reads back exactly.
    for (int prec = 1; prec <= 17; ++prec) {
        char tmp[32];
        std::snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        if (std::strtod(tmp, nullptr) == d) {
            std::strcpy(buf, tmp);
            break;
        }
    }
    std::string s = buf;
    if (s.find_first_of(".eE") == std::string::npos)
        s += ".0";
    return s;
}

void write_json(const node& n, std::string& out, bool reveal) {
    if (n.secret && !reveal && n.kind != node_kind::null) {
        if (n.kind == node_kind::string && n.s.empty()) {
            out += "\"\"";
        } else {
            out += "\"<redacted>\"";
        }
        return;
    }
    switch (n.kind) {
        case node_kind::null:
            out += "null";
            break;
        case node_kind::boolean:
            out += n.b ? "true" : "false";
            break;
        case node_kind::integer:
            out += std::to_string(n.i);
            break;
        case node_kind::number:
            out += number_text(n.d);
            break;
        case node_kind::string:
            // Not marked secret but holding one: a URL with a password, a conninfo string.
            append_json_string(out, reveal ? n.s : redact(n.s));
            break;
        case node_kind::duration:
        case node_kind::size:
            append_json_string(out, n.s);
            break;
        case node_kind::array: {
            out.push_back('[');
            bool first = true;
            for (const auto& item : n.items) {
                if (!first)
                    out.push_back(',');
                first = false;
                write_json(item, out, reveal);
            }
            out.push_back(']');
            break;
        }
        case node_kind::table: {
            out.push_back('{');
            bool first = true;
            for (const auto& [k, v] : n.fields) {
                if (!first)
                    out.push_back(',');
                first = false;
                append_json_string(out, k);
                out.push_back(':');
                write_json(v, out, reveal);
            }
            out.push_back('}');
            break;
        }
    }
}

}  // namespace

std::string node::to_json(bool reveal_secrets) const {
    std::string out;
    write_json(*this, out, reveal_secrets);
    return out;
}

std::string node::scalar_text() const {
    switch (kind) {
        case node_kind::boolean:
            return b ? "true" : "false";
        case node_kind::integer:
            return std::to_string(i);
        case node_kind::number:
            return number_text(d);
        case node_kind::string:
        case node_kind::duration:
        case node_kind::size:
            return s;
        default:
            return {};
    }
}

std::string node::describe() const {
    if (secret)
        return "a secret value";
    switch (kind) {
        case node_kind::null:
            return "nothing";
        case node_kind::table:
            return "a table";
        case node_kind::array:
            return "an array";
        case node_kind::string: {
            std::string out;
            std::string_view v = s;
            bool cut = v.size() > 60;
            if (cut)
                v = v.substr(0, 57);
            append_json_string(out, v);
            if (cut)
                out.insert(out.size() - 1, "...");
            return out;
        }
        default:
            return scalar_text();
    }
}

// --- values ----------------------------------------------------------------------------------

values::values() = default;
values::values(std::shared_ptr<const node> root) : root_(std::move(root)) {}

namespace {

const node* lookup(const std::shared_ptr<const node>& root, std::string_view name) {
    if (!root || root->kind != node_kind::table)
        return nullptr;
    const node* n = root->find(name);
    // Validation stores every declared option (null when absent), so a miss is a name the spec
    // never declared: a bug in the caller.
    assert(n != nullptr && "values: option not declared in the spec");
    return n;
}

}  // namespace

bool values::has(std::string_view name) const {
    if (!root_ || root_->kind != node_kind::table)
        return false;
    const node* n = root_->find(name);
    return n != nullptr && !n->is_null();
}

std::string values::str(std::string_view name) const {
    const node* n = lookup(root_, name);
    return n ? n->scalar_text() : std::string();
}

std::optional<std::string> values::opt_str(std::string_view name) const {
    const node* n = lookup(root_, name);
    if (!n || n->is_null())
        return std::nullopt;
    return n->scalar_text();
}

std::int64_t values::integer(std::string_view name) const {
    const node* n = lookup(root_, name);
    if (!n)
        return 0;
    switch (n->kind) {
        case node_kind::integer:
        case node_kind::size:
            return n->i;
        case node_kind::duration:
            return n->i / 1'000'000;
        case node_kind::number:
            return static_cast<std::int64_t>(n->d);
        case node_kind::boolean:
            return n->b ? 1 : 0;
        default:
            return 0;
    }
}

std::optional<std::int64_t> values::opt_integer(std::string_view name) const {
    const node* n = lookup(root_, name);
    if (!n || n->is_null())
        return std::nullopt;
    return integer(name);
}

bool values::boolean(std::string_view name) const {
    const node* n = lookup(root_, name);
    return n && n->kind == node_kind::boolean && n->b;
}

double values::number(std::string_view name) const {
    const node* n = lookup(root_, name);
    if (!n)
        return 0;
    if (n->kind == node_kind::number)
        return n->d;
    if (n->kind == node_kind::integer || n->kind == node_kind::size) {
        return static_cast<double>(n->i);
    }
    return 0;
}

std::chrono::milliseconds values::duration(std::string_view name) const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(duration_ns(name));
}

std::chrono::nanoseconds values::duration_ns(std::string_view name) const {
    const node* n = lookup(root_, name);
    if (!n)
        return {};
    if (n->kind == node_kind::duration)
        return std::chrono::nanoseconds(n->i);
    if (n->kind == node_kind::integer)
        return std::chrono::milliseconds(n->i);
    return {};
}

std::uint64_t values::size(std::string_view name) const {
    const node* n = lookup(root_, name);
    if (!n)
        return 0;
    if (n->kind == node_kind::size || n->kind == node_kind::integer) {
        return static_cast<std::uint64_t>(n->i);
    }
    return 0;
}

std::vector<std::string> values::list(std::string_view name) const {
    std::vector<std::string> out;
    const node* n = lookup(root_, name);
    if (!n || n->kind != node_kind::array)
        return out;
    out.reserve(n->items.size());
    for (const auto& item : n->items) {
        out.push_back(item.kind == node_kind::table || item.kind == node_kind::array
                          ? item.to_json(true)
                          : item.scalar_text());
    }
    return out;
}

std::vector<std::int64_t> values::integers(std::string_view name) const {
    std::vector<std::int64_t> out;
    const node* n = lookup(root_, name);
    if (!n || n->kind != node_kind::array)
        return out;
    for (const auto& item : n->items) {
        if (item.kind == node_kind::integer || item.kind == node_kind::size)
            out.push_back(item.i);
    }
    return out;
}

std::map<std::string, std::string> values::map(std::string_view name) const {
    std::map<std::string, std::string> out;
    const node* n = lookup(root_, name);
    if (!n || n->kind != node_kind::table)
        return out;
    for (const auto& [k, v] : n->fields)
        out[k] = v.scalar_text();
    return out;
}

values values::table(std::string_view name) const {
    const node* n = lookup(root_, name);
    if (!n || n->kind != node_kind::table)
        return values();
    return values(std::shared_ptr<const node>(root_, n));  // aliasing: shares the tree
}

std::vector<values> values::tables(std::string_view name) const {
    std::vector<values> out;
    const node* n = lookup(root_, name);
    if (!n || n->kind != node_kind::array)
        return out;
    out.reserve(n->items.size());
    for (const auto& item : n->items) {
        if (item.kind == node_kind::table)
            out.emplace_back(std::shared_ptr<const node>(root_, &item));
    }
    return out;
}

std::string values::to_redacted_json() const {
    return root_ ? root_->to_json(false) : std::string("{}");
}

const node* values::raw(std::string_view name) const {
    const node* n = lookup(root_, name);
    return (n && !n->is_null()) ? n : nullptr;
}

std::string values::json(std::string_view name) const {
    const node* n = lookup(root_, name);
    return n ? n->to_json(true) : std::string("null");
}

std::vector<std::string> values::names() const {
    std::vector<std::string> out;
    if (!root_ || root_->kind != node_kind::table)
        return out;
    for (const auto& [k, v] : root_->fields) {
        if (!v.is_null())
            out.push_back(k);
    }
    return out;
}

// --- problems --------------------------------------------------------------------------------

std::string problem::to_string() const {
    std::string out = file;
    if (!path.empty()) {
        if (!out.empty())
            out += ": ";
        out += path;
    }
    if (!out.empty())
        out += ": ";
    if (level == severity::warning)
        out += "warning: ";
    out += message;
    // A problem may quote a value (a URL with a password, a conninfo string): validate output
    // and start-up logs show it redacted.
    return redact(out);
}

void problems::error(std::string file, std::string path, std::string message) {
    items_.push_back({severity::error, std::move(file), std::move(path), std::move(message)});
}

void problems::warning(std::string file, std::string path, std::string message) {
    items_.push_back({severity::warning, std::move(file), std::move(path), std::move(message)});
}

void problems::append(const problems& other) {
    items_.insert(items_.end(), other.items_.begin(), other.items_.end());
}

void problems::downgrade_errors() {
    for (auto& p : items_)
        p.level = severity::warning;
}

bool problems::has_errors() const {
    return error_count() > 0;
}

std::size_t problems::error_count() const {
    return static_cast<std::size_t>(std::count_if(
        items_.begin(), items_.end(), [](const problem& p) { return p.level == severity::error; }));
}

std::size_t problems::warning_count() const {
    return items_.size() - error_count();
}

std::string problems::to_string() const {
    std::string out;
    for (const auto& p : items_) {
        if (!out.empty())
            out.push_back('\n');
        out += p.to_string();
    }
    return out;
}

std::string problems::errors_to_string() const {
    std::string out;
    for (const auto& p : items_) {
        if (p.level != severity::error)
            continue;
        if (!out.empty())
            out.push_back('\n');
        out += p.to_string();
    }
    return out;
}

// --- environment -----------------------------------------------------------------------------

environment environment::from_process() {
    std::map<std::string, std::string, std::less<>> vars;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string_view kv(*e);
        auto eq = kv.find('=');
        if (eq == std::string_view::npos)
            continue;
        vars.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    }
    return environment(std::move(vars));
}

std::optional<std::string> environment::get(std::string_view name) const {
    auto it = vars_.find(name);
    if (it == vars_.end())
        return std::nullopt;
    return it->second;
}

namespace {
bool iequal_prefix(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size())
        return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::toupper(static_cast<unsigned char>(s[i])) !=
            std::toupper(static_cast<unsigned char>(prefix[i]))) {
            return false;
        }
    }
    return true;
}
}  // namespace

std::vector<std::pair<std::string, std::string>> environment::with_prefix(
    std::string_view prefix) const {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [k, v] : vars_) {
        if (iequal_prefix(k, prefix))
            out.emplace_back(k, v);
    }
    return out;
}

// --- units -----------------------------------------------------------------------------------

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// Reads a non-negative decimal number (digits, optional fraction). Returns false if none.
bool read_number(std::string_view& s, double& value, bool& integral, std::uint64_t& int_value) {
    std::size_t i = 0;
    int_value = 0;
    bool overflow = false;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
        std::uint64_t digit = static_cast<std::uint64_t>(s[i] - '0');
        if (int_value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
            overflow = true;
        int_value = int_value * 10 + digit;
        ++i;
    }
    std::size_t int_end = i;
    integral = true;
    if (i < s.size() && s[i] == '.') {
        integral = false;
        ++i;
        std::size_t frac_start = i;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
            ++i;
        if (i == frac_start)
            return false;
    }
    if (int_end == 0 && integral)
        return false;
    if (int_end == 0 && i <= 1)
        return false;
    // Digits with an optional fraction (checked above): always a finite double.
    value = parse_double(s.substr(0, i)).value_or(0);
    if (overflow && integral)
        return false;
    s.remove_prefix(i);
    return true;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view text) {
    std::string_view s = trim(text);
    if (s.empty())
        return std::nullopt;
    // A bare integer means milliseconds (Tributary's rule for unit-less values).
    {
        std::string_view t = s;
        double v;
        bool integral;
        std::uint64_t iv;
        if (read_number(t, v, integral, iv) && t.empty()) {
            if (!integral)
                return std::nullopt;
            if (iv >
                static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() / 1'000'000)) {
                return std::nullopt;
            }
            return std::chrono::milliseconds(static_cast<std::int64_t>(iv));
        }
    }
    long double total_ns = 0;
    bool any = false;
    while (!s.empty()) {
        s = trim(s);
        if (s.empty())
            break;
        double v;
        bool integral;
        std::uint64_t iv;
        if (!read_number(s, v, integral, iv))
            return std::nullopt;
        s = trim(s);
        std::size_t u = 0;
        while (u < s.size() && (std::isalpha(static_cast<unsigned char>(s[u])) ||
                                static_cast<unsigned char>(s[u]) >= 0x80)) {
            ++u;
        }
        if (u == 0)
            return std::nullopt;
        std::string unit = lower(s.substr(0, u));
        s.remove_prefix(u);
        long double mult;
        if (unit == "ns" || unit == "nsec" || unit == "nanos") {
            mult = 1;
        } else if (unit == "us" || unit == "µs" || unit == "usec" || unit == "micros") {
            mult = 1e3;
        } else if (unit == "ms" || unit == "msec" || unit == "millis") {
            mult = 1e6;
        } else if (unit == "s" || unit == "sec" || unit == "secs" || unit == "second" ||
                   unit == "seconds") {
            mult = 1e9;
        } else if (unit == "m" || unit == "min" || unit == "mins" || unit == "minute" ||
                   unit == "minutes") {
            mult = 60e9;
        } else if (unit == "h" || unit == "hr" || unit == "hrs" || unit == "hour" ||
                   unit == "hours") {
            mult = 3600e9;
        } else if (unit == "d" || unit == "day" || unit == "days") {
            mult = 86400e9;
        } else if (unit == "w" || unit == "week" || unit == "weeks") {
            mult = 7 * 86400e9;
        } else {
            return std::nullopt;
        }
        total_ns +=
            integral ? static_cast<long double>(iv) * mult : static_cast<long double>(v) * mult;
        any = true;
    }
    if (!any)
        return std::nullopt;
    if (total_ns > static_cast<long double>(std::numeric_limits<std::int64_t>::max())) {
        return std::nullopt;
    }
    return std::chrono::nanoseconds(static_cast<std::int64_t>(total_ns + 0.5L));
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    std::string_view s = trim(text);
    double v;
    bool integral;
    std::uint64_t iv;
    if (!read_number(s, v, integral, iv))
        return std::nullopt;
    std::string unit = lower(trim(s));
    long double mult;
    if (unit.empty() || unit == "b") {
        if (!integral)
            return std::nullopt;  // fractions of a byte
        mult = 1;
    } else if (unit == "kb" || unit == "k") {
        mult = 1e3;
    } else if (unit == "mb" || unit == "m") {
        mult = 1e6;
    } else if (unit == "gb" || unit == "g") {
        mult = 1e9;
    } else if (unit == "tb" || unit == "t") {
        mult = 1e12;
    } else if (unit == "kib") {
        mult = 1024.0L;
    } else if (unit == "mib") {
        mult = 1024.0L * 1024;
    } else if (unit == "gib") {
        mult = 1024.0L * 1024 * 1024;
    } else if (unit == "tib") {
        mult = 1024.0L * 1024 * 1024 * 1024;
    } else {
        return std::nullopt;
    }
    long double total =
        integral ? static_cast<long double>(iv) * mult : static_cast<long double>(v) * mult;
    if (total > static_cast<long double>(std::numeric_limits<std::int64_t>::max())) {
        return std::nullopt;
    }
    return static_cast<std::uint64_t>(total + 0.5L);
}

std::string format_duration(std::chrono::nanoseconds d) {
    std::int64_t ns = d.count();
    if (ns <= 0)
        return "0s";
    std::string out;
    auto take = [&](std::int64_t unit, const char* name) {
        if (ns >= unit) {
            out += std::to_string(ns / unit) + name;
            ns %= unit;
        }
    };
    if (ns % 1'000'000 != 0) {
        // sub-millisecond precision: one unit keeps it exact
        if (ns % 1000 == 0)
            return std::to_string(ns / 1000) + "us";
        return std::to_string(ns) + "ns";
    }
    take(3600'000'000'000LL, "h");
    take(60'000'000'000LL, "m");
    take(1'000'000'000LL, "s");
    take(1'000'000LL, "ms");
    return out;
}

std::string format_size(std::uint64_t bytes) {
    const char* units[] = {"TiB", "GiB", "MiB", "KiB"};
    const std::uint64_t sizes[] = {1ull << 40, 1ull << 30, 1ull << 20, 1ull << 10};
    for (int i = 0; i < 4; ++i) {
        if (bytes >= sizes[i] && bytes % sizes[i] == 0) {
            return std::to_string(bytes / sizes[i]) + units[i];
        }
    }
    return std::to_string(bytes);
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
    const std::size_t n = a.size(), m = b.size();
    std::vector<std::size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
    for (std::size_t j = 0; j <= m; ++j)
        prev[j] = j;
    auto eq = [](char x, char y) {
        return std::tolower(static_cast<unsigned char>(x)) ==
               std::tolower(static_cast<unsigned char>(y));
    };
    for (std::size_t i = 1; i <= n; ++i) {
        cur[0] = i;
        for (std::size_t j = 1; j <= m; ++j) {
            std::size_t cost = eq(a[i - 1], b[j - 1]) ? 0 : 1;
            cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
            if (i > 1 && j > 1 && eq(a[i - 1], b[j - 2]) && eq(a[i - 2], b[j - 1])) {
                cur[j] = std::min(cur[j], prev2[j - 2] + 1);  // transposition
            }
        }
        std::swap(prev2, prev);
        std::swap(prev, cur);
    }
    return prev[m];
}

std::optional<std::string> closest_match(std::string_view word,
                                         const std::vector<std::string>& candidates) {
    std::optional<std::string> best;
    std::size_t best_d = std::numeric_limits<std::size_t>::max();
    for (const auto& c : candidates) {
        std::size_t d = edit_distance(word, c);
        if (d < best_d) {
            best_d = d;
            best = c;
        }
    }
    if (!best)
        return std::nullopt;
    // Plausible typo: up to a third of the word (at least 1, at most 3 edits), or one word is a
    // prefix of the other ("batch" for "batch_length").
    std::size_t limit = std::clamp<std::size_t>(std::max(word.size(), best->size()) / 3, 1, 3);
    if (best_d <= limit)
        return best;
    for (const auto& c : candidates) {
        std::string lw = lower(word), lc = lower(c);
        if (lw.size() >= 3 && lc.size() >= 3 && (lc.rfind(lw, 0) == 0 || lw.rfind(lc, 0) == 0)) {
            return c;
        }
    }
    return std::nullopt;
}

}  // namespace trib::config
