// Over 1,000 lines: the eight built-in transforms share the JSON path and value helpers at the
// top; each transform is short. One file per transform is the seam if it grows further.
//
// The built-in transforms. Option names and behaviour follow Iggy's connector SDK
// (core/connectors/sdk/src/transforms): non-JSON records and non-object JSON pass through
// unchanged; add_fields/update_fields overwrite existing keys; filter_fields keeps a field when
// it is listed in keep_fields or when (matches any pattern) == include_matching.

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>

#include <re2/re2.h>

#include "codecs/json_dom.h"
#include "config/node.h"
#include "config/units.h"
#include "core/parse_number.h"
#include "transforms/transform.h"

namespace trib::transforms {

using codecs::json_allocator;
using codecs::json_document;
using codecs::json_value;

namespace {

// --- spec helpers ----------------------------------------------------------------------------

config::option make(std::string name, config::opt_type t, std::string doc) {
    config::option o;
    o.name = std::move(name);
    o.type = t;
    o.doc = std::move(doc);
    return o;
}
config::option defaulted(config::option o, std::string def) {
    o.default_value = std::move(def);
    return o;
}
config::option optional(config::option o) {
    o.optional = true;
    return o;
}

const std::vector<std::string>& computed_names() {
    static const std::vector<std::string> n = {
        "date_time",         "timestamp_nanos", "timestamp_micros", "timestamp_millis",
        "timestamp_seconds", "uuid_v4",         "uuid_v7"};
    return n;
}

// `value.static = ...` or `value.computed = "..."` (Iggy's FieldValue).
config::option field_value_option() {
    config::option value = make("value", config::opt_type::table,
                                "The value: `value.static = <any TOML value>` or "
                                "`value.computed = \"<kind>\"`.");
    config::option stat = optional(make("static", config::opt_type::any, "A fixed value."));
    config::option comp =
        optional(make("computed", config::opt_type::enumeration, "A value computed per message."));
    comp.choices = computed_names();
    value.children = {stat, comp};
    return value;
}

void check_field_values(const config::values& v, const config::check_report& report) {
    auto fields = v.tables("fields");
    for (std::size_t i = 0; i < fields.size(); ++i) {
        config::values val = fields[i].table("value");
        bool s = val.has("static"), c = val.has("computed");
        if (s == c) {
            report("fields[" + std::to_string(i) + "].value",
                   "set exactly one of value.static and value.computed");
        }
    }
}

// Regular expressions are RE2: linear time whatever the input (no ReDoS on message data) and the
// syntax of Rust's regex crate, which Iggy's patterns are written in. Searched anywhere in the
// text, as Rust's is_match.
using regex_ptr = std::shared_ptr<const re2::RE2>;

regex_ptr compile_regex(const std::string& pattern) {
    return std::make_shared<const re2::RE2>(pattern, re2::RE2::Quiet);
}

bool search(const regex_ptr& re, std::string_view text) {
    return re && re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re);
}

std::optional<std::string> regex_problem(const std::string& pattern) {
    auto re = compile_regex(pattern);
    if (re->ok())
        return std::nullopt;
    return "invalid regular expression: " + re->error();
}

// --- JSON helpers ----------------------------------------------------------------------------

json_value from_node(const config::node& n, json_allocator& a) {
    using config::node_kind;
    switch (n.kind) {
        case node_kind::null:
            return json_value(rapidjson::kNullType);
        case node_kind::boolean:
            return json_value(n.b);
        case node_kind::integer:
            return json_value(static_cast<int64_t>(n.i));
        case node_kind::number:
            return json_value(n.d);
        case node_kind::size:
            return json_value(static_cast<int64_t>(n.i));
        case node_kind::string:
        case node_kind::duration:
            return json_value(n.s.data(), static_cast<rapidjson::SizeType>(n.s.size()), a);
        case node_kind::array: {
            json_value arr(rapidjson::kArrayType);
            for (const auto& item : n.items)
                arr.PushBack(from_node(item, a), a);
            return arr;
        }
        case node_kind::table: {
            json_value obj(rapidjson::kObjectType);
            for (const auto& [k, v] : n.fields) {
                obj.AddMember(json_value(k.data(), static_cast<rapidjson::SizeType>(k.size()), a),
                              from_node(v, a), a);
            }
            return obj;
        }
    }
    return json_value(rapidjson::kNullType);
}

json_value key_ref(std::string_view k) {
    return json_value(rapidjson::StringRef(k.data(), static_cast<rapidjson::SizeType>(k.size())));
}

json_value copy_string(std::string_view s, json_allocator& a) {
    return json_value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

bool is_json_object(const codecs::record& r) {
    return r.kind == codecs::record_kind::json && codecs::json_of(r).IsObject();
}

// --- computed values -------------------------------------------------------------------------

enum class computed : std::uint8_t {
    date_time,
    timestamp_nanos,
    timestamp_micros,
    timestamp_millis,
    timestamp_seconds,
    uuid_v4,
    uuid_v7,
};

computed parse_computed(const std::string& s) {
    const auto& names = computed_names();
    auto it = std::find(names.begin(), names.end(), s);
    return static_cast<computed>(it - names.begin());
}

struct rng {
    std::uint64_t s[4];
    rng() {
        std::random_device rd;
        for (auto& x : s)
            x = (static_cast<std::uint64_t>(rd()) << 32) ^ rd();
    }
    static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    std::uint64_t next() {  // xoshiro256**
        const std::uint64_t result = rotl(s[1] * 5, 7) * 9;
        const std::uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
    }
};

std::string uuid_text(const std::array<std::uint8_t, 16>& b) {
    static const char* hex = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (int i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out.push_back('-');
        out.push_back(hex[b[i] >> 4]);
        out.push_back(hex[b[i] & 15]);
    }
    return out;
}

std::string make_uuid(bool v7, std::int64_t unix_ms) {
    thread_local rng r;
    std::array<std::uint8_t, 16> b{};
    std::uint64_t hi = r.next(), lo = r.next();
    for (int i = 0; i < 8; ++i) {
        b[i] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
        b[8 + i] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
    }
    if (v7) {  // RFC 9562: 48-bit Unix milliseconds, then random bits
        for (int i = 0; i < 6; ++i)
            b[i] = static_cast<std::uint8_t>(unix_ms >> (40 - 8 * i));
        b[6] = static_cast<std::uint8_t>(0x70 | (b[6] & 0x0f));
    } else {
        b[6] = static_cast<std::uint8_t>(0x40 | (b[6] & 0x0f));
    }
    b[8] = static_cast<std::uint8_t>(0x80 | (b[8] & 0x3f));
    return uuid_text(b);
}

// RFC 3339 in UTC with "+00:00" and the fraction in 0, 3, 6 or 9 digits as needed (what
// chrono's to_rfc3339() writes in Iggy's runtime).
std::string rfc3339(std::int64_t unix_ns) {
    std::int64_t secs = unix_ns / 1'000'000'000;
    std::int64_t frac = unix_ns % 1'000'000'000;
    if (frac < 0) {
        frac += 1'000'000'000;
        --secs;
    }
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                          tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    std::string out(buf, static_cast<std::size_t>(n));
    if (frac != 0) {
        if (frac % 1'000'000 == 0) {
            std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(frac / 1'000'000));
        } else if (frac % 1000 == 0) {
            std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac / 1000));
        } else {
            std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(frac));
        }
        out += buf;
    }
    out += "+00:00";
    return out;
}

json_value compute(computed kind, json_allocator& a) {
    std::int64_t ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
    switch (kind) {
        case computed::date_time:
            return copy_string(rfc3339(ns), a);
        case computed::timestamp_nanos:
            return json_value(static_cast<int64_t>(ns));
        case computed::timestamp_micros:
            return json_value(static_cast<int64_t>(ns / 1000));
        case computed::timestamp_millis:
            return json_value(static_cast<int64_t>(ns / 1'000'000));
        case computed::timestamp_seconds:
            return json_value(static_cast<int64_t>(ns / 1'000'000'000));
        case computed::uuid_v4:
            return copy_string(make_uuid(false, 0), a);
        case computed::uuid_v7:
            return copy_string(make_uuid(true, ns / 1'000'000), a);
    }
    return json_value(rapidjson::kNullType);
}

// A field value as configured: a static JSON value (owned by the transform) or a computed kind.
struct field_value {
    bool is_computed = false;
    computed kind = computed::date_time;
    json_value fixed;  // allocated in the transform's store

    json_value make(json_allocator& a) const {
        if (is_computed)
            return compute(kind, a);
        return json_value(fixed, a);  // deep copy into the batch arena
    }
};

field_value read_field_value(const config::values& val, json_document& store) {
    field_value fv;
    if (val.has("computed")) {
        fv.is_computed = true;
        fv.kind = parse_computed(val.str("computed"));
    } else if (const config::node* n = val.raw("static")) {
        fv.fixed = from_node(*n, store.GetAllocator());
    }
    return fv;
}

// Sets obj[key] = v, replacing an existing member in place (keeps its position).
void set_member(json_value& obj, std::string_view key, json_value&& v, json_allocator& a) {
    auto it = obj.FindMember(key_ref(key));
    if (!codecs::is_end(it, obj.MemberEnd())) {
        it->value.Swap(v);
    } else {
        obj.AddMember(copy_string(key, a), v, a);
    }
}

// --- add_fields ------------------------------------------------------------------------------

class add_fields final : public transform {
  public:
    struct field {
        std::string key;
        field_value value;
    };
    explicit add_fields(const config::values& v) {
        for (const auto& f : v.tables("fields")) {
            field fl;
            fl.key = f.str("key");
            fl.value = read_field_value(f.table("value"), store_);
            fields_.push_back(std::move(fl));
        }
    }
    std::string_view name() const override { return "add_fields"; }
    result<verdict> apply(codecs::record& rec, codecs::arena& a,
                          const transform_context&) const override {
        if (fields_.empty() || !is_json_object(rec))
            return verdict::keep;
        json_value& obj = codecs::json_of(rec);
        json_allocator& alloc = codecs::allocator_of(a);
        for (const auto& f : fields_)
            set_member(obj, f.key, f.value.make(alloc), alloc);
        rec.modified = true;
        return verdict::keep;
    }

  private:
    json_document store_;
    std::vector<field> fields_;
};

// --- delete_fields ---------------------------------------------------------------------------

class delete_fields final : public transform {
  public:
    explicit delete_fields(const config::values& v) : fields_(v.list("fields")) {
        std::sort(fields_.begin(), fields_.end());
        fields_.erase(std::unique(fields_.begin(), fields_.end()), fields_.end());
    }
    std::string_view name() const override { return "delete_fields"; }
    result<verdict> apply(codecs::record& rec, codecs::arena&,
                          const transform_context&) const override {
        if (fields_.empty() || !is_json_object(rec))
            return verdict::keep;
        json_value& obj = codecs::json_of(rec);
        bool changed = false;
        for (auto it = obj.MemberBegin(); !codecs::is_end(it, obj.MemberEnd());) {
            std::string_view k(it->name.GetString(), it->name.GetStringLength());
            if (std::binary_search(fields_.begin(), fields_.end(), k, std::less<>())) {
                it = obj.EraseMember(it);  // keeps the order of the others
                changed = true;
            } else {
                ++it;
            }
        }
        if (changed)
            rec.modified = true;
        return verdict::keep;
    }

  private:
    std::vector<std::string> fields_;  // sorted
};

// --- filter_fields ---------------------------------------------------------------------------

struct key_pattern {
    enum kind_t : std::uint8_t { exact, starts_with, ends_with, contains, regex } kind = exact;
    std::string text;
    regex_ptr re;
    bool matches(std::string_view k) const {
        switch (kind) {
            case exact:
                return k == text;
            case starts_with:
                return k.substr(0, text.size()) == text;
            case ends_with:
                return k.size() >= text.size() && k.substr(k.size() - text.size()) == text;
            case contains:
                return k.find(text) != std::string_view::npos;
            case regex:
                return search(re, k);
        }
        return false;
    }
};

const std::vector<std::string>& value_pattern_units() {
    static const std::vector<std::string> u = {
        "is_null", "is_not_null", "is_string", "is_number", "is_boolean", "is_object", "is_array"};
    return u;
}
const std::vector<std::string>& value_pattern_keys() {
    static const std::vector<std::string> k = {"equals",       "contains",  "regex",
                                               "greater_than", "less_than", "between"};
    return k;
}

struct value_pattern {
    enum kind_t : std::uint8_t {
        equals,
        contains,
        regex,
        greater_than,
        less_than,
        between,
        is_null,
        is_not_null,
        is_string,
        is_number,
        is_boolean,
        is_object,
        is_array,
    } kind = is_null;
    json_value target;  // equals (in the transform's store)
    std::string text;
    regex_ptr re;
    double a = 0, b = 0;

    bool matches(const json_value& v) const {
        switch (kind) {
            case equals:
                return v == target;
            case contains:
                return v.IsString() &&
                       std::string_view(v.GetString(), v.GetStringLength()).find(text) !=
                           std::string_view::npos;
            case regex:
                return v.IsString() &&
                       search(re, std::string_view(v.GetString(), v.GetStringLength()));
            case greater_than:
                return v.IsNumber() && v.GetDouble() > a;
            case less_than:
                return v.IsNumber() && v.GetDouble() < a;
            case between:
                return v.IsNumber() && v.GetDouble() >= a && v.GetDouble() <= b;
            case is_null:
                return v.IsNull();
            case is_not_null:
                return !v.IsNull();
            case is_string:
                return v.IsString();
            case is_number:
                return v.IsNumber();
            case is_boolean:
                return v.IsBool();
            case is_object:
                return v.IsObject();
            case is_array:
                return v.IsArray();
        }
        return false;
    }
};

double node_number(const config::node& n) {
    return n.kind == config::node_kind::integer ? static_cast<double>(n.i) : n.d;
}
bool node_is_number(const config::node& n) {
    return n.kind == config::node_kind::integer || n.kind == config::node_kind::number;
}

// Checks a value_pattern's shape (Iggy's serde shape): "is_null" ... or { equals = x } ...
std::optional<std::string> value_pattern_problem(const config::node& n) {
    if (n.kind == config::node_kind::string) {
        const auto& u = value_pattern_units();
        if (std::find(u.begin(), u.end(), n.s) != u.end())
            return std::nullopt;
        std::string msg = "unknown value pattern \"" + n.s + "\"";
        if (auto m = config::closest_match(n.s, u))
            msg += "; did you mean \"" + *m + "\"?";
        return msg;
    }
    if (n.kind != config::node_kind::table || n.fields.size() != 1) {
        return std::string(
            "expected one of \"is_null\", \"is_string\", ... or a table with one "
            "of equals, contains, regex, greater_than, less_than, between");
    }
    const auto& [k, v] = n.fields.front();
    if (k == "equals")
        return std::nullopt;
    if (k == "contains" || k == "regex") {
        if (v.kind != config::node_kind::string)
            return k + " expects a string";
        if (k == "regex")
            return regex_problem(v.s);
        return std::nullopt;
    }
    if (k == "greater_than" || k == "less_than") {
        if (!node_is_number(v))
            return k + " expects a number";
        return std::nullopt;
    }
    if (k == "between") {
        if (v.kind != config::node_kind::array || v.items.size() != 2 ||
            !node_is_number(v.items[0]) || !node_is_number(v.items[1])) {
            return std::string("between expects [low, high]");
        }
        return std::nullopt;
    }
    std::string msg = "unknown value pattern \"" + k + "\"";
    if (auto m = config::closest_match(k, value_pattern_keys()))
        msg += "; did you mean \"" + *m + "\"?";
    return msg;
}

value_pattern read_value_pattern(const config::node& n, json_document& store) {
    value_pattern p;
    if (n.kind == config::node_kind::string) {
        const auto& u = value_pattern_units();
        p.kind = static_cast<value_pattern::kind_t>(
            value_pattern::is_null + (std::find(u.begin(), u.end(), n.s) - u.begin()));
        return p;
    }
    const auto& [k, v] = n.fields.front();
    if (k == "equals") {
        p.kind = value_pattern::equals;
        p.target = from_node(v, store.GetAllocator());
    } else if (k == "contains") {
        p.kind = value_pattern::contains;
        p.text = v.s;
    } else if (k == "regex") {
        p.kind = value_pattern::regex;
        p.re = compile_regex(v.s);
    } else if (k == "greater_than") {
        p.kind = value_pattern::greater_than;
        p.a = node_number(v);
    } else if (k == "less_than") {
        p.kind = value_pattern::less_than;
        p.a = node_number(v);
    } else {
        p.kind = value_pattern::between;
        p.a = node_number(v.items[0]);
        p.b = node_number(v.items[1]);
    }
    return p;
}

class filter_fields final : public transform {
  public:
    struct pattern {
        std::optional<key_pattern> key;
        std::optional<value_pattern> value;
    };
    explicit filter_fields(const config::values& v)
        : keep_(v.list("keep_fields")), include_(v.boolean("include_matching")) {
        std::sort(keep_.begin(), keep_.end());
        for (const auto& p : v.tables("patterns")) {
            pattern pat;
            if (p.has("key_pattern")) {
                config::values kp = p.table("key_pattern");
                key_pattern k;
                for (auto [name, kind] : {std::pair{"exact", key_pattern::exact},
                                          std::pair{"starts_with", key_pattern::starts_with},
                                          std::pair{"ends_with", key_pattern::ends_with},
                                          std::pair{"contains", key_pattern::contains},
                                          std::pair{"regex", key_pattern::regex}}) {
                    if (kp.has(name)) {
                        k.kind = kind;
                        k.text = kp.str(name);
                    }
                }
                if (k.kind == key_pattern::regex)
                    k.re = compile_regex(k.text);
                pat.key = std::move(k);
            }
            if (const config::node* vp = p.raw("value_pattern")) {
                pat.value = read_value_pattern(*vp, store_);
            }
            patterns_.push_back(std::move(pat));
        }
    }
    std::string_view name() const override { return "filter_fields"; }
    result<verdict> apply(codecs::record& rec, codecs::arena&,
                          const transform_context&) const override {
        if ((keep_.empty() && patterns_.empty()) || !is_json_object(rec))
            return verdict::keep;
        json_value& obj = codecs::json_of(rec);
        bool changed = false;
        for (auto it = obj.MemberBegin(); !codecs::is_end(it, obj.MemberEnd());) {
            std::string_view k(it->name.GetString(), it->name.GetStringLength());
            bool keep = std::binary_search(keep_.begin(), keep_.end(), k, std::less<>()) ||
                        matches(k, it->value) == include_;
            if (keep) {
                ++it;
            } else {
                it = obj.EraseMember(it);
                changed = true;
            }
        }
        if (changed)
            rec.modified = true;
        return verdict::keep;
    }

  private:
    bool matches(std::string_view k, const json_value& v) const {
        for (const auto& p : patterns_) {
            bool key_ok = !p.key || p.key->matches(k);
            bool value_ok = !p.value || p.value->matches(v);
            if (key_ok && value_ok)
                return true;
        }
        return false;
    }
    json_document store_;
    std::vector<std::string> keep_;  // sorted
    bool include_ = true;
    std::vector<pattern> patterns_;
};

// --- update_fields ---------------------------------------------------------------------------

class update_fields final : public transform {
  public:
    enum class condition : std::uint8_t { always, key_exists, key_not_exists };
    struct field {
        std::string key;
        field_value value;
        condition when = condition::always;
    };
    explicit update_fields(const config::values& v) {
        for (const auto& f : v.tables("fields")) {
            field fl;
            fl.key = f.str("key");
            fl.value = read_field_value(f.table("value"), store_);
            std::string c = f.opt_str("condition").value_or("always");
            fl.when = c == "key_exists"       ? condition::key_exists
                      : c == "key_not_exists" ? condition::key_not_exists
                                              : condition::always;
            fields_.push_back(std::move(fl));
        }
    }
    std::string_view name() const override { return "update_fields"; }
    result<verdict> apply(codecs::record& rec, codecs::arena& a,
                          const transform_context&) const override {
        if (fields_.empty() || !is_json_object(rec))
            return verdict::keep;
        json_value& obj = codecs::json_of(rec);
        json_allocator& alloc = codecs::allocator_of(a);
        for (const auto& f : fields_) {
            bool present = !codecs::is_end(obj.FindMember(key_ref(f.key)), obj.MemberEnd());
            bool pass = f.when == condition::always ||
                        (f.when == condition::key_exists && present) ||
                        (f.when == condition::key_not_exists && !present);
            if (!pass)
                continue;
            set_member(obj, f.key, f.value.make(alloc), alloc);
            rec.modified = true;
        }
        return verdict::keep;
    }

  private:
    json_document store_;
    std::vector<field> fields_;
};

// --- unwrap_envelope -------------------------------------------------------------------------

class unwrap_envelope final : public transform {
  public:
    explicit unwrap_envelope(const config::values& v) : field_(v.str("field")) {}
    std::string_view name() const override { return "unwrap_envelope"; }
    result<verdict> apply(codecs::record& rec, codecs::arena& a,
                          const transform_context&) const override {
        if (!is_json_object(rec))
            return verdict::keep;
        json_value& obj = codecs::json_of(rec);
        auto it = obj.FindMember(key_ref(field_));
        if (codecs::is_end(it, obj.MemberEnd()))
            return verdict::keep;  // Iggy: passes through (with a warning)
        json_value* inner = a.get().new_value();
        inner->Swap(it->value);
        codecs::set_json(rec, inner);
        rec.modified = true;
        return verdict::keep;
    }

  private:
    std::string field_;
};

// --- filter (Tributary) ----------------------------------------------------------------------

const std::vector<std::string>& filter_ops() {
    static const std::vector<std::string> ops = {
        "eq", "ne", "gt", "ge", "lt", "le", "exists", "not_exists", "matches", "contains"};
    return ops;
}

class filter final : public transform {
  public:
    enum class op : std::uint8_t { eq, ne, gt, ge, lt, le, exists, not_exists, matches, contains };
    explicit filter(const config::values& v) : keep_(v.str("action") == "keep") {
        std::string f = v.str("field");
        std::size_t start = 0;
        for (std::size_t i = 0; i <= f.size(); ++i) {
            if (i == f.size() || f[i] == '.') {
                path_.push_back(f.substr(start, i - start));
                start = i + 1;
            }
        }
        const auto& ops = filter_ops();
        op_ = static_cast<op>(std::find(ops.begin(), ops.end(), v.str("op")) - ops.begin());
        if (const config::node* n = v.raw("value")) {
            value_ = from_node(*n, store_.GetAllocator());
            if (op_ == op::matches && n->kind == config::node_kind::string) {
                re_ = compile_regex(n->s);
            }
        }
    }
    std::string_view name() const override { return "filter"; }
    result<verdict> apply(codecs::record& rec, codecs::arena&,
                          const transform_context&) const override {
        const json_value* target = nullptr;
        if (rec.kind == codecs::record_kind::json)
            target = find(codecs::json_of(rec));
        return (holds(target) == keep_) ? verdict::keep : verdict::drop;
    }

  private:
    const json_value* find(const json_value& root) const {
        const json_value* cur = &root;
        for (const auto& seg : path_) {
            if (cur->IsObject()) {
                auto it = cur->FindMember(key_ref(seg));
                if (codecs::is_end(it, cur->MemberEnd()))
                    return nullptr;
                cur = &it->value;
            } else if (auto index = parse_u32(seg); cur->IsArray() && index) {
                const std::uint32_t idx = *index;
                if (idx >= cur->Size())
                    return nullptr;
                cur = &(*cur)[static_cast<rapidjson::SizeType>(idx)];
            } else {
                return nullptr;
            }
        }
        return cur;
    }

    // Three-way comparison of numbers or of strings; nullopt when not comparable.
    std::optional<int> compare(const json_value& v) const {
        if (v.IsNumber() && value_.IsNumber()) {
            double x = v.GetDouble(), y = value_.GetDouble();
            return x < y ? -1 : (x > y ? 1 : 0);
        }
        if (v.IsString() && value_.IsString()) {
            int c = std::string_view(v.GetString(), v.GetStringLength())
                        .compare(std::string_view(value_.GetString(), value_.GetStringLength()));
            return c < 0 ? -1 : (c > 0 ? 1 : 0);
        }
        return std::nullopt;
    }

    bool holds(const json_value* v) const {
        if (op_ == op::exists)
            return v != nullptr;
        if (op_ == op::not_exists)
            return v == nullptr;
        if (v == nullptr)
            return false;  // a missing field satisfies no comparison
        switch (op_) {
            case op::eq:
                return *v == value_;
            case op::ne:
                return !(*v == value_);
            case op::gt: {
                auto c = compare(*v);
                return c && *c > 0;
            }
            case op::ge: {
                auto c = compare(*v);
                return c && *c >= 0;
            }
            case op::lt: {
                auto c = compare(*v);
                return c && *c < 0;
            }
            case op::le: {
                auto c = compare(*v);
                return c && *c <= 0;
            }
            case op::matches:
                return v->IsString() &&
                       search(re_, std::string_view(v->GetString(), v->GetStringLength()));
            case op::contains:
                if (v->IsString() && value_.IsString()) {
                    return std::string_view(v->GetString(), v->GetStringLength())
                               .find(std::string_view(value_.GetString(),
                                                      value_.GetStringLength())) !=
                           std::string_view::npos;
                }
                if (v->IsArray()) {
                    for (const auto& item : v->GetArray()) {
                        if (item == value_)
                            return true;
                    }
                }
                return false;
            default:
                return false;
        }
    }

    json_document store_;
    bool keep_ = true;
    std::vector<std::string> path_;
    op op_ = op::eq;
    json_value value_;
    regex_ptr re_;
};

template <class T>
result<std::unique_ptr<transform>> construct(const config::values& v, std::string_view name) {
    try {
        return std::unique_ptr<transform>(std::make_unique<T>(v));
    } catch (const std::exception& e) {  // allocation failure
        return fail(errc::invalid_argument, std::string(name) + ": " + e.what());
    }
}

}  // namespace

// --- specs -----------------------------------------------------------------------------------

config::spec add_fields_spec() {
    config::spec s;
    s.name = "add_fields";
    s.kind = config::spec_kind::transform;
    s.summary = "Adds fields to JSON objects (overwriting fields of the same name).";
    s.description =
        "Each field has a `key` and either `value.static` (any TOML value) or "
        "`value.computed`. Computed values are taken per message: date_time (RFC "
        "3339, UTC), timestamp_nanos/micros/millis/seconds (Unix time), uuid_v4, "
        "uuid_v7. Records that are not JSON objects pass through unchanged.";
    config::option fields =
        defaulted(make("fields", config::opt_type::table_list, "The fields to add."), "[]");
    fields.children = {make("key", config::opt_type::string, "Field name."), field_value_option()};
    s.options = {fields};
    s.check = check_field_values;
    s.example =
        "[transforms.add_fields]\nenabled = true\n\n[[transforms.add_fields.fields]]\n"
        "key = \"source\"\nvalue.static = \"iggy\"\n\n"
        "[[transforms.add_fields.fields]]\nkey = \"ingested_at\"\n"
        "value.computed = \"timestamp_millis\"";
    return s;
}

config::spec delete_fields_spec() {
    config::spec s;
    s.name = "delete_fields";
    s.kind = config::spec_kind::transform;
    s.summary = "Removes fields from JSON objects.";
    s.description = "Fields not present are ignored; the other fields keep their order.";
    s.options = {defaulted(make("fields", config::opt_type::list, "Field names to remove."), "[]")};
    s.example = "[transforms.delete_fields]\nenabled = true\nfields = [\"email\", \"created_at\"]";
    return s;
}

config::spec filter_fields_spec() {
    config::spec s;
    s.name = "filter_fields";
    s.kind = config::spec_kind::transform;
    s.summary = "Keeps or removes fields of JSON objects by name and value patterns.";
    s.description =
        "A field is kept when it is listed in `keep_fields`, or when whether it matches any "
        "pattern equals `include_matching`. A pattern matches when both its key_pattern and its "
        "value_pattern (each optional) match. key_pattern: one of exact, starts_with, ends_with, "
        "contains, regex. value_pattern: \"is_null\", \"is_not_null\", \"is_string\", "
        "\"is_number\", \"is_boolean\", \"is_object\", \"is_array\", or a table with one of "
        "equals, contains, regex, greater_than, less_than, between = [low, high].";
    config::option keep =
        defaulted(make("keep_fields", config::opt_type::list, "Fields always kept."), "[]");
    config::option key_pattern = optional(
        make("key_pattern", config::opt_type::table, "Matches field names (set one kind)."));
    for (const char* k : {"exact", "starts_with", "ends_with", "contains", "regex"}) {
        key_pattern.children.push_back(optional(make(k, config::opt_type::string, "")));
    }
    key_pattern.children[0].doc = "The whole name.";
    key_pattern.children[1].doc = "A prefix.";
    key_pattern.children[2].doc = "A suffix.";
    key_pattern.children[3].doc = "A substring.";
    key_pattern.children[4].doc = "A regular expression (RE2/Rust syntax), searched anywhere.";
    config::option value_pattern =
        optional(make("value_pattern", config::opt_type::any, "Matches field values."));
    config::option patterns =
        defaulted(make("patterns", config::opt_type::table_list, "Key and value patterns."), "[]");
    patterns.children = {key_pattern, value_pattern};
    config::option include = defaulted(
        make("include_matching", config::opt_type::boolean,
             "true: keep matching fields (and drop the rest); false: drop matching fields."),
        "true");
    s.options = {keep, patterns, include};
    s.check = [](const config::values& v, const config::check_report& report) {
        auto pats = v.tables("patterns");
        for (std::size_t i = 0; i < pats.size(); ++i) {
            std::string at = "patterns[" + std::to_string(i) + "]";
            if (pats[i].has("key_pattern")) {
                auto kp = pats[i].table("key_pattern");
                auto set = kp.names();
                if (set.size() != 1) {
                    report(at + ".key_pattern",
                           "set exactly one of exact, starts_with, ends_with, contains, regex");
                } else if (set[0] == "regex") {
                    if (auto p = regex_problem(kp.str("regex")))
                        report(at + ".key_pattern.regex", *p);
                }
            }
            if (const config::node* vp = pats[i].raw("value_pattern")) {
                if (auto p = value_pattern_problem(*vp))
                    report(at + ".value_pattern", *p);
            }
        }
    };
    s.example =
        "[transforms.filter_fields]\nenabled = true\nkeep_fields = [\"id\"]\n"
        "include_matching = true\n\n[[transforms.filter_fields.patterns]]\n"
        "key_pattern = { starts_with = \"meta_\" }\n\n"
        "[[transforms.filter_fields.patterns]]\nvalue_pattern = \"is_number\"";
    return s;
}

config::spec update_fields_spec() {
    config::spec s;
    s.name = "update_fields";
    s.kind = config::spec_kind::transform;
    s.summary = "Sets fields of JSON objects, optionally only when the key exists or not.";
    s.description =
        "Like add_fields, with a `condition` per field: always (the default), "
        "key_exists, key_not_exists.";
    config::option fields =
        defaulted(make("fields", config::opt_type::table_list, "The fields to update."), "[]");
    config::option cond = optional(make("condition", config::opt_type::enumeration,
                                        "When to set the field (default: always)."));
    cond.choices = {"always", "key_exists", "key_not_exists"};
    fields.children = {make("key", config::opt_type::string, "Field name."), field_value_option(),
                       cond};
    s.options = {fields};
    s.check = check_field_values;
    s.example =
        "[transforms.update_fields]\nenabled = true\n\n"
        "[[transforms.update_fields.fields]]\nkey = \"status\"\n"
        "value.static = \"processed\"\ncondition = \"key_exists\"";
    return s;
}

config::spec unwrap_envelope_spec() {
    config::spec s;
    s.name = "unwrap_envelope";
    s.kind = config::spec_kind::transform;
    s.summary = "Replaces a JSON object by one of its fields (e.g. the `data` of a CDC record).";
    s.description = "When the field is absent the record passes through unchanged.";
    s.options = {
        make("field", config::opt_type::string, "The field whose value becomes the payload.")};
    s.example = "[transforms.unwrap_envelope]\nenabled = true\nfield = \"data\"";
    return s;
}

config::spec filter_spec() {
    config::spec s;
    s.name = "filter";
    s.kind = config::spec_kind::transform;
    s.summary = "Keeps (or drops) whole messages by a condition on one field (Tributary).";
    s.description =
        "`field` is a dotted path into the JSON record (`reading.temp`, `items.0.id`). With "
        "action = \"keep\" only messages for which the condition holds go on; with \"drop\" "
        "those are dropped. Dropped messages are counted as filtered. A missing field (or a "
        "record that is not JSON) satisfies only `not_exists`. gt/ge/lt/le compare numbers, or "
        "strings lexicographically; eq/ne compare any JSON value; matches is a regular "
        "expression (RE2/Rust syntax) searched in a string; contains finds a substring or an array "
        "element.";
    config::option op = make("op", config::opt_type::enumeration, "The comparison.");
    op.choices = filter_ops();
    config::option action = defaulted(
        make("action", config::opt_type::enumeration, "What to do with matching messages."),
        "\"keep\"");
    action.choices = {"keep", "drop"};
    s.options = {make("field", config::opt_type::string, "Dotted path of the field."), op,
                 optional(make("value", config::opt_type::any,
                               "The value to compare with (not for exists/not_exists).")),
                 action};
    s.check = [](const config::values& v, const config::check_report& report) {
        std::string o = v.str("op");
        bool needs = o != "exists" && o != "not_exists";
        if (needs && !v.has("value"))
            report("value", "op = \"" + o + "\" needs a value");
        if (!needs && v.has("value"))
            report("value", "op = \"" + o + "\" takes no value");
        if (o == "matches") {
            const config::node* n = v.raw("value");
            if (n && n->kind != config::node_kind::string) {
                report("value", "op = \"matches\" needs a regular expression string");
            } else if (n) {
                if (auto p = regex_problem(n->s))
                    report("value", *p);
            }
        }
        if (v.str("field").empty())
            report("field", "must not be empty");
    };
    s.example =
        "[transforms.filter]\nenabled = true\nfield = \"reading.temp\"\nop = \"gt\"\n"
        "value = 30\naction = \"keep\"";
    return s;
}

result<std::unique_ptr<transform>> make_add_fields(const config::values& v) {
    return construct<add_fields>(v, "add_fields");
}
result<std::unique_ptr<transform>> make_delete_fields(const config::values& v) {
    return construct<delete_fields>(v, "delete_fields");
}
result<std::unique_ptr<transform>> make_filter_fields(const config::values& v) {
    return construct<filter_fields>(v, "filter_fields");
}
result<std::unique_ptr<transform>> make_update_fields(const config::values& v) {
    return construct<update_fields>(v, "update_fields");
}
result<std::unique_ptr<transform>> make_unwrap_envelope(const config::values& v) {
    return construct<unwrap_envelope>(v, "unwrap_envelope");
}
result<std::unique_ptr<transform>> make_filter(const config::values& v) {
    return construct<filter>(v, "filter");
}

}  // namespace trib::transforms
