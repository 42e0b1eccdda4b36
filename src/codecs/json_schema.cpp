// JSON Schema validation on valijson 1.0 (Debian's libvalijson-dev) with its RapidJSON adapter.
//
// valijson 1.0 knows draft 7 (and 3, 4). A 2020-12 schema is rewritten into the draft 7 form
// valijson understands before it is parsed (prefixItems -> items array + additionalItems,
// dependentRequired/dependentSchemas -> dependencies, `$ref` beside other keywords -> allOf);
// 2020-12 keywords that have no draft 7 form (unevaluated*, $dynamicRef, min/maxContains, ...)
// are refused at compile time. References to embedded resources (`$id`) become JSON pointers
// into the one schema document where they can (see preparer::local_refs); otherwise `$id`
// becomes valijson's `id` and the resources are served to valijson's document fetcher from the
// schema itself. Any other URI is refused (no network from a validator). `format` is an annotation
// (as in Python's jsonschema by default): it is removed, which also keeps valijson's
// std::regex-based date checks away from hostile strings.
//
// valijson matches `pattern` and `patternProperties` with std::regex, which backtracks (and
// recurses per character in libstdc++) on hostile input. The two visitor methods that do so are
// explicitly specialised below for the adapters this file uses, to match with RE2 instead; the
// patterns are compiled once, at compile().

#include "codecs/json_schema.h"

#include <re2/re2.h>

#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/rapidjson_adapter.hpp>
#include <valijson/adapters/std_string_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validation_visitor.hpp>
// validator.hpp last: the specialisations below must precede any instantiation.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "codecs/json_dom.h"
#include "codecs/value.h"

namespace trib::codecs {
namespace {

/// Compiled patterns of one schema, looked up by pattern text while validating.
struct pattern_table {
    std::unordered_map<std::string, std::unique_ptr<re2::RE2>> by_text;
    const re2::RE2* find(const std::string& p) const {
        auto it = by_text.find(p);
        return it == by_text.end() ? nullptr : it->second.get();
    }
};

/// The table of the validator running on this thread (set for the duration of validate()).
thread_local const pattern_table* current_patterns = nullptr;

bool pattern_matches(const std::string& pattern, const std::string& text, bool& known) {
    const re2::RE2* re = current_patterns ? current_patterns->find(pattern) : nullptr;
    known = re != nullptr;
    // A pattern compile() did not see cannot happen; fail closed if it does.
    return re != nullptr && re2::RE2::PartialMatch(text, *re);
}

}  // namespace
}  // namespace trib::codecs

namespace valijson {

using trib::codecs::pattern_matches;

template <>
bool ValidationVisitor<adapters::RapidJsonAdapter>::visit(const PatternConstraint& constraint) {
    if ((m_strictTypes && !m_target.isString()) || !m_target.maybeString())
        return true;
    bool known = false;
    if (!pattern_matches(constraint.getPattern<std::string::allocator_type>(), m_target.asString(),
                         known)) {
        if (m_results)
            m_results->pushError(
                m_context, known ? "pattern: string does not match" : "pattern: not compiled");
        return false;
    }
    return true;
}

template <>
bool ValidationVisitor<adapters::StdStringAdapter>::visit(const PatternConstraint& constraint) {
    bool known = false;
    if (!pattern_matches(constraint.getPattern<std::string::allocator_type>(), m_target.asString(),
                         known)) {
        if (m_results)
            m_results->pushError(m_context, "pattern: property name does not match");
        return false;
    }
    return true;
}

template <>
bool ValidationVisitor<adapters::RapidJsonAdapter>::visit(const PropertiesConstraint& constraint) {
    if ((m_strictTypes && !m_target.isObject()) || !m_target.maybeObject())
        return true;
    bool validated = true;
    const typename adapters::RapidJsonAdapter::Object object = m_target.asObject();
    if (m_results == nullptr) {
        // Fast path (no error report asked for): when every member is named in `properties`,
        // nothing is left for patternProperties/additionalProperties, and no set of matched
        // names or context copies are needed (valijson's own loop allocates several per
        // property).
        std::size_t named = 0;
        constraint.applyToProperties([&](const auto& name, const Subschema* sub) {
            const auto it = object.find(std::string(name.c_str(), name.size()));
            if (it == object.end())
                return true;
            ++named;
            ValidationVisitor child(it->second, m_context, m_strictTypes, nullptr, m_regexesCache);
            validated = child.validateSchema(*sub);
            return validated;
        });
        if (!validated)
            return false;
        bool patterns = false;
        constraint.applyToPatternProperties([&](const auto&, const Subschema*) {
            patterns = true;
            return false;
        });
        if (!patterns && named == m_target.getObjectSize())
            return true;
    }
    std::set<std::string> matched;
    constraint.applyToProperties(
        ValidatePropertySubschemas(object, m_context, true, m_results != nullptr, true,
                                   m_strictTypes, m_results, &matched, &validated, m_regexesCache));
    if (!validated && !m_results)
        return false;

    constraint.applyToPatternProperties([&](const auto& pattern, const Subschema* sub) {
        const std::string p(pattern.c_str(), pattern.size());
        for (const typename adapters::RapidJsonAdapter::ObjectMember m : object) {
            bool known = false;
            if (!pattern_matches(p, m.first, known)) {
                if (known)
                    continue;
                if (m_results)
                    m_results->pushError(m_context, "patternProperties: pattern not compiled");
                validated = false;
                return false;
            }
            matched.insert(m.first);
            std::vector<std::string> ctx = m_context;
            ctx.push_back("[" + m.first + "]");
            ValidationVisitor child(m.second, ctx, m_strictTypes, m_results, m_regexesCache);
            if (!child.validateSchema(*sub)) {
                validated = false;
                if (m_results) {
                    m_results->pushError(m_context, "patternProperties: property '" + m.first +
                                                        "' fails the schema of pattern '" + p +
                                                        "'");
                } else {
                    return false;
                }
            }
        }
        return true;
    });
    if (!validated && !m_results)
        return false;

    const Subschema* additional = constraint.getAdditionalPropertiesSubschema();
    for (const typename adapters::RapidJsonAdapter::ObjectMember m : object) {
        if (matched.count(m.first) != 0)
            continue;
        std::vector<std::string> ctx = m_context;
        ctx.push_back("[" + m.first + "]");
        if (additional == nullptr) {
            if (m_results)
                m_results->pushError(ctx, "additionalProperties: property not allowed");
            return false;
        }
        ValidationVisitor child(m.second, ctx, m_strictTypes, m_results, m_regexesCache);
        if (!child.validateSchema(*additional)) {
            validated = false;
            if (m_results)
                m_results->pushError(ctx, "additionalProperties: property fails the schema");
            else
                return false;
        }
    }
    return validated;
}

// 2020-12 and draft 7: "a number with a zero fractional part is an integer" (1.0 is an
// integer); valijson's strict mode looks at the number's representation instead.
template <>
bool ValidationVisitor<adapters::RapidJsonAdapter>::visit(const TypeConstraint& constraint) {
    bool validated = false;
    constraint.applyToNamedTypes([&](TypeConstraint::JsonType t) {
        bool match = false;
        switch (t) {
            case TypeConstraint::kAny:
                match = true;
                break;
            case TypeConstraint::kArray:
                match = m_target.isArray();
                break;
            case TypeConstraint::kBoolean:
                match = m_target.isBool();
                break;
            case TypeConstraint::kInteger:
                if (m_target.isInteger()) {
                    match = true;
                } else if (m_target.isDouble()) {
                    const double d = m_target.asDouble();
                    match = std::isfinite(d) && std::trunc(d) == d;
                }
                break;
            case TypeConstraint::kNull:
                match = m_target.isNull();
                break;
            case TypeConstraint::kNumber:
                match = m_target.isNumber();
                break;
            case TypeConstraint::kObject:
                match = m_target.isObject();
                break;
            case TypeConstraint::kString:
                match = m_target.isString();
                break;
        }
        validated = validated || match;
        return !match;
    });
    if (!validated && m_results)
        m_results->pushError(m_context, "Value type not permitted by 'type' constraint.");
    return validated;
}

// valijson compares every pair of items (quadratic: a hostile array of 100,000 distinct
// numbers would take minutes). Here each item gets a canonical text (object keys sorted,
// integral numbers as integers, so 1 and 1.0 are equal as the spec says) and the texts are
// sorted: n log n.
namespace {
template <class A>
void canonical(const A& v, std::string& out) {
    if (v.isNull()) {
        out += 'n';
    } else if (v.isBool()) {
        out += v.asBool() ? 't' : 'f';
    } else if (v.isString()) {
        const std::string str = v.asString();
        out += 's' + std::to_string(str.size()) + ':' + str;
    } else if (v.isInteger()) {
        out += 'i' + std::to_string(v.asInteger()) + ';';
    } else if (v.isNumber()) {
        const double d = v.asDouble();
        if (std::trunc(d) == d && std::fabs(d) < 9.2e18) {
            out += 'i' + std::to_string(static_cast<std::int64_t>(d)) + ';';
        } else {
            char buf[40];
            std::snprintf(buf, sizeof buf, "d%.17g;", d);
            out += buf;
        }
    } else if (v.isArray()) {
        out += '[';
        for (const A e : v.asArray())
            canonical(e, out);
        out += ']';
    } else if (v.isObject()) {
        std::vector<std::pair<std::string, std::string>> m;
        for (const typename A::ObjectMember e : v.asObject()) {
            m.emplace_back(e.first, std::string());
            canonical(e.second, m.back().second);
        }
        std::sort(m.begin(), m.end());
        out += '{';
        for (const auto& [k, val] : m)
            out += std::to_string(k.size()) + ':' + k + val;
        out += '}';
    }
}
}  // namespace

template <>
bool ValidationVisitor<adapters::RapidJsonAdapter>::visit(const UniqueItemsConstraint&) {
    if (!m_target.isArray())
        return true;
    std::vector<std::pair<std::string, std::size_t>> items;
    items.reserve(m_target.getArraySize());
    for (const adapters::RapidJsonAdapter e : m_target.asArray()) {
        items.emplace_back(std::string(), items.size());
        canonical(e, items.back().first);
    }
    std::sort(items.begin(), items.end());
    for (std::size_t i = 1; i < items.size(); ++i) {
        if (items[i].first == items[i - 1].first) {
            if (m_results) {
                m_results->pushError(m_context, "Elements at indexes #" +
                                                    std::to_string(items[i - 1].second) + " and #" +
                                                    std::to_string(items[i].second) +
                                                    " violate uniqueness constraint.");
            }
            return false;
        }
    }
    return true;
}
}  // namespace valijson

#include <valijson/validator.hpp>

namespace trib::codecs {

result<json_schema_draft> parse_json_schema_draft(std::string_view t) {
    if (t == "auto" || t.empty())
        return json_schema_draft::automatic;
    if (t == "7" || t == "draft7" || t == "draft-07" || t == "draft-7")
        return json_schema_draft::draft7;
    if (t == "2020-12" || t == "draft2020-12" || t == "draft-2020-12")
        return json_schema_draft::draft2020_12;
    return fail(errc::invalid_argument,
                "json_schema: draft must be \"auto\", \"7\" or \"2020-12\", not \"" +
                    std::string(t) + "\"");
}

namespace {

using rj_doc = rapidjson::Document;
using rj_value = rapidjson::Value;

// Keywords of 2020-12 (and 2019-09) with no draft 7 form; a schema using one is refused.
constexpr std::string_view unsupported_2020[] = {
    "unevaluatedProperties", "unevaluatedItems", "$dynamicRef", "$dynamicAnchor", "$recursiveRef",
    "$recursiveAnchor",      "minContains",      "maxContains", "$anchor",        "$vocabulary",
};
// Keywords removed before valijson sees them (annotations, or not keywords in this draft).
constexpr std::string_view dropped_both[] = {"format"};
// Not keywords in 2020-12 (replaced by prefixItems/items and dependent*); valijson would apply
// them as draft 7 keywords.
constexpr std::string_view dropped_2020[] = {"additionalItems", "dependencies"};

// Keywords whose value is one subschema, an array of subschemas, or a map of subschemas.
constexpr std::string_view single_sub[] = {"additionalItems",
                                           "additionalProperties",
                                           "contains",
                                           "else",
                                           "if",
                                           "not",
                                           "propertyNames",
                                           "then",
                                           "items"};
constexpr std::string_view array_sub[] = {"allOf", "anyOf", "oneOf", "items"};
constexpr std::string_view map_sub[] = {"$defs", "definitions", "properties", "patternProperties",
                                        "dependencies"};

template <std::size_t N>
bool in(const std::string_view (&list)[N], std::string_view k) {
    for (auto x : list)
        if (x == k)
            return true;
    return false;
}

std::string_view key_of(const rj_value::MemberIterator& m) {
    return {m->name.GetString(), m->name.GetStringLength()};
}

bool is_absolute_uri(std::string_view u) {
    return u.find("://") != std::string_view::npos || u.substr(0, 4) == "urn:";
}

std::string resolve_uri(const std::string& base, std::string_view id) {
    if (is_absolute_uri(id) || base.empty())
        return std::string(id);
    std::string b = base.substr(0, base.find('#'));
    if (!id.empty() && id[0] == '#')
        return b + std::string(id);
    auto slash = b.rfind('/');
    return (slash == std::string::npos ? std::string() : b.substr(0, slash + 1)) + std::string(id);
}

std::string strip_fragment(std::string u) {
    auto h = u.find('#');
    if (h != std::string::npos)
        u.resize(h);
    return u;
}

/// Rewrites a parsed schema into the form valijson reads; collects patterns and embedded
/// resources. Errors name the schema location (a JSON pointer into the schema).
class preparer {
  public:
    preparer(rj_doc& doc, json_schema_draft d, const json_schema_limits& lim,
             pattern_table& patterns)
        : doc_(doc), draft_(d), lim_(lim), patterns_(patterns) {}

    status run() {
        TRIB_TRY(walk(doc_, 0, "", ""));
        local_refs();
        return ok();
    }

    /// Embedded resources by absolute URI (without fragment).
    std::map<std::string, const rj_value*> resources;

  private:
    // valijson 1.0 caches the subschemas of the documents its fetcher returns by their JSON
    // pointer without the document's URI, so two embedded resources that refer to each other
    // ("tree" -> "node" -> "tree") get each other's root. When every $ref can be written as a
    // pointer into the one schema document, it is, and the resources' ids are dropped (the
    // ids only changed the base of references, which are all absolute or local by then):
    // valijson then resolves everything inside one document. Otherwise (a plain-name fragment,
    // a key a pointer would have to escape) the references stay as they are.
    struct ref_site {
        rj_value* target;
        std::string scope;  // the base URI the reference is relative to
    };
    std::vector<ref_site> ref_sites_;
    std::map<std::string, std::string> resource_pointers_;  // URI -> JSON pointer in the doc
    std::vector<rj_value*> id_holders_;
    bool pointers_safe_ = true;

    static bool safe_pointer(std::string_view p) {
        for (char c : p)
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.' || c == '/' || c == '$'))
                return false;
        return true;
    }

    void local_refs() {
        if (!pointers_safe_ || resource_pointers_.empty())
            return;
        std::vector<std::string> rewritten;
        rewritten.reserve(ref_sites_.size());
        for (const ref_site& r : ref_sites_) {
            std::string_view text(r.target->GetString(), r.target->GetStringLength());
            std::string uri;
            std::string fragment;
            if (!text.empty() && text[0] == '#') {
                uri = strip_fragment(r.scope);
                fragment = std::string(text.substr(1));
            } else {
                const auto hash = text.find('#');
                uri = std::string(text.substr(0, hash));
                fragment = hash == std::string_view::npos ? "" : std::string(text.substr(hash + 1));
            }
            if (!fragment.empty() && fragment[0] != '/')
                return;  // a plain-name fragment
            std::string pointer;
            if (uri.empty()) {
                pointer = "";  // the root document without an id
            } else if (auto it = resource_pointers_.find(uri); it != resource_pointers_.end()) {
                pointer = it->second;
            } else {
                return;  // not in this schema: the fetcher refuses it at compile
            }
            if (!safe_pointer(fragment))
                return;
            rewritten.push_back("#" + pointer + fragment);
        }
        auto& al = doc_.GetAllocator();
        for (std::size_t i = 0; i < ref_sites_.size(); ++i)
            ref_sites_[i].target->SetString(
                rewritten[i].data(), static_cast<rapidjson::SizeType>(rewritten[i].size()), al);
        // Innermost first: removing a member moves the object's last member into its slot,
        // which would move an enclosing resource's children (and the pointers to them).
        for (auto it = id_holders_.rbegin(); it != id_holders_.rend(); ++it)
            (*it)->RemoveMember("id");
        resources.clear();  // nothing is fetched any more (and the pointers may have moved)
    }

    status refuse(const std::string& where, const std::string& what) {
        return fail(
            errc::invalid_argument,
            "json_schema: schema at " + (where.empty() ? std::string("/") : where) + ": " + what);
    }

    status add_pattern(const std::string& where, const rj_value& p) {
        if (!p.IsString())
            return refuse(where, "pattern must be a string");
        std::string text(p.GetString(), p.GetStringLength());
        if (patterns_.by_text.count(text) != 0)
            return ok();
        re2::RE2::Options o;
        o.set_log_errors(false);
        o.set_encoding(re2::RE2::Options::EncodingUTF8);
        auto re = std::make_unique<re2::RE2>(text, o);
        if (!re->ok()) {
            return refuse(where, "pattern \"" + text + "\" is not supported by RE2 (" +
                                     re->error() +
                                     "); lookaround and backreferences are not available");
        }
        patterns_.by_text.emplace(std::move(text), std::move(re));
        return ok();
    }

    status walk(rj_value& s, std::uint32_t depth, const std::string& where,
                const std::string& base) {
        if (s.IsBool())
            return ok();
        if (!s.IsObject())
            return refuse(where, "a schema must be an object or a boolean");
        if (depth > lim_.max_schema_depth)
            return refuse(where, "nested deeper than " + std::to_string(lim_.max_schema_depth));
        auto& al = doc_.GetAllocator();
        const bool v2020 = draft_ == json_schema_draft::draft2020_12;

        // Keywords refused, dropped or renamed.
        for (auto m = s.MemberBegin(); !is_end(m, s.MemberEnd());) {
            const std::string_view k = key_of(m);
            if (v2020 && in(unsupported_2020, k))
                return refuse(where, "keyword \"" + std::string(k) + "\" is not supported");
            if (in(dropped_both, k) || (v2020 && in(dropped_2020, k))) {
                m = s.EraseMember(m);
                continue;
            }
            ++m;
        }
        if (v2020) {
            auto items = s.FindMember("items");
            auto prefix = s.FindMember("prefixItems");
            if (!is_end(items, s.MemberEnd()) && items->value.IsArray())
                return refuse(where, "\"items\" must be a schema in 2020-12 (use prefixItems)");
            if (!is_end(prefix, s.MemberEnd())) {
                if (!prefix->value.IsArray())
                    return refuse(where, "\"prefixItems\" must be an array");
                rj_value arr;
                arr.CopyFrom(prefix->value, al);
                rj_value extra;
                bool has_extra = false;
                if (!is_end(items, s.MemberEnd())) {
                    extra.CopyFrom(items->value, al);
                    has_extra = true;
                }
                s.RemoveMember("prefixItems");
                s.RemoveMember("items");
                s.AddMember("items", arr, al);
                if (has_extra)
                    s.AddMember("additionalItems", extra, al);
            }
            auto dreq = s.FindMember("dependentRequired");
            auto dsch = s.FindMember("dependentSchemas");
            if (!is_end(dreq, s.MemberEnd()) || !is_end(dsch, s.MemberEnd())) {
                rj_value deps(rapidjson::kObjectType);
                for (const char* kw : {"dependentSchemas", "dependentRequired"}) {
                    auto d = s.FindMember(kw);
                    if (is_end(d, s.MemberEnd()))
                        continue;
                    if (!d->value.IsObject())
                        return refuse(where, std::string("\"") + kw + "\" must be an object");
                    for (auto e = d->value.MemberBegin(); !is_end(e, d->value.MemberEnd()); ++e) {
                        rj_value v;
                        v.CopyFrom(e->value, al);
                        auto have = deps.FindMember(e->name);
                        if (is_end(have, deps.MemberEnd())) {
                            rj_value name;
                            name.CopyFrom(e->name, al);
                            deps.AddMember(name, v, al);
                        } else {
                            // Both forms for one property: all of them apply.
                            rj_value req(rapidjson::kObjectType);
                            req.AddMember("required", v, al);
                            rj_value all(rapidjson::kArrayType);
                            all.PushBack(have->value, al);  // moves
                            all.PushBack(req, al);
                            rj_value wrap(rapidjson::kObjectType);
                            wrap.AddMember("allOf", all, al);
                            have->value = wrap;
                        }
                    }
                }
                s.RemoveMember("dependentRequired");
                s.RemoveMember("dependentSchemas");
                s.AddMember("dependencies", deps, al);
            }
            // In 2020-12 `$ref` is one keyword among others; valijson (draft 7) ignores the
            // siblings of a `$ref`, so it moves into an allOf.
            auto ref = s.FindMember("$ref");
            if (!is_end(ref, s.MemberEnd()) && s.MemberCount() > 1) {
                bool others = false;
                for (auto m = s.MemberBegin(); !is_end(m, s.MemberEnd()); ++m) {
                    auto k = key_of(m);
                    if (k != "$ref" && k != "$id" && k != "$schema" && k != "$defs" &&
                        k != "definitions" && k != "$comment")
                        others = true;
                }
                if (others) {
                    rj_value r(rapidjson::kObjectType);
                    rj_value target;
                    target.CopyFrom(ref->value, al);
                    r.AddMember("$ref", target, al);
                    s.RemoveMember("$ref");
                    auto all = s.FindMember("allOf");
                    if (!is_end(all, s.MemberEnd()) && all->value.IsArray()) {
                        all->value.PushBack(r, al);
                    } else {
                        rj_value a(rapidjson::kArrayType);
                        a.PushBack(r, al);
                        if (!is_end(all, s.MemberEnd()))
                            s.RemoveMember("allOf");
                        s.AddMember("allOf", a, al);
                    }
                }
            }
        }

        // $id: valijson 1.0 reads draft 4's `id`.
        std::string scope = base;
        if (auto id = s.FindMember("$id"); !is_end(id, s.MemberEnd())) {
            if (!id->value.IsString())
                return refuse(where, "\"$id\" must be a string");
            std::string_view idv(id->value.GetString(), id->value.GetStringLength());
            if (!idv.empty() && idv[0] != '#') {
                scope = resolve_uri(base, idv);
                rj_value v;
                v.CopyFrom(id->value, al);
                s.RemoveMember("$id");
                s.RemoveMember("id");
                s.AddMember("id", v, al);
                resources[strip_fragment(scope)] = &s;
                resource_pointers_[strip_fragment(scope)] = where;
                id_holders_.push_back(&s);
                pointers_safe_ = pointers_safe_ && safe_pointer(where);
            } else {
                s.RemoveMember("$id");
            }
        }

        // valijson 1.0 joins a relative reference to its base without the RFC 3986 rules
        // ("https://x/root.json" + "a.json" -> "https://x/root.jsona.json"), so relative refs
        // are made absolute here; fragment-only refs stay relative to their resource.
        if (auto r = s.FindMember("$ref"); !is_end(r, s.MemberEnd()) && r->value.IsString()) {
            std::string_view rv(r->value.GetString(), r->value.GetStringLength());
            if (!rv.empty() && rv[0] != '#' && !is_absolute_uri(rv) && !scope.empty()) {
                const std::string abs = resolve_uri(scope, rv);
                r->value.SetString(abs.data(), static_cast<rapidjson::SizeType>(abs.size()), al);
            }
            ref_sites_.push_back({&r->value, scope});
        }
        if (auto p = s.FindMember("pattern"); !is_end(p, s.MemberEnd()))
            TRIB_TRY(add_pattern(where + "/pattern", p->value));
        if (auto pp = s.FindMember("patternProperties");
            !is_end(pp, s.MemberEnd()) && pp->value.IsObject()) {
            for (auto e = pp->value.MemberBegin(); !is_end(e, pp->value.MemberEnd()); ++e)
                TRIB_TRY(add_pattern(where + "/patternProperties", e->name));
        }

        // Subschemas (pointers into s stay valid: s is not changed below this line).
        for (auto m = s.MemberBegin(); !is_end(m, s.MemberEnd()); ++m) {
            const std::string k(key_of(m));
            const std::string at = where + "/" + k;
            if (in(single_sub, k) && (m->value.IsObject() || m->value.IsBool())) {
                TRIB_TRY(walk(m->value, depth + 1, at, scope));
            } else if (in(array_sub, k) && m->value.IsArray()) {
                for (rapidjson::SizeType i = 0; i < m->value.Size(); ++i)
                    TRIB_TRY(walk(m->value[i], depth + 1, at + "/" + std::to_string(i), scope));
            } else if (in(map_sub, k) && m->value.IsObject()) {
                for (auto e = m->value.MemberBegin(); !is_end(e, m->value.MemberEnd()); ++e) {
                    if (k == "dependencies" && e->value.IsArray())
                        continue;  // a list of property names
                    TRIB_TRY(walk(e->value, depth + 1, at + "/" + std::string(key_of(e)), scope));
                }
            }
        }
        return ok();
    }

    rj_doc& doc_;
    json_schema_draft draft_;
    json_schema_limits lim_;
    pattern_table& patterns_;
};

// The keyword behind one of valijson's messages (or ours, which start with the keyword).
std::string keyword_of(const std::string& msg) {
    static const std::pair<std::string_view, std::string_view> table[] = {
        {"pattern:", "pattern"},
        {"patternProperties:", "patternProperties"},
        {"additionalProperties:", "additionalProperties"},
        {"Array contains more items than allowed", "additionalItems"},
        {"Array should contain no fewer", "minItems"},
        {"Array should contain no more", "maxItems"},
        {"Elements at indexes", "uniqueItems"},
        {"Expected number greater than or equal", "minimum"},
        {"Expected number greater than", "exclusiveMinimum"},
        {"Expected number less than or equal", "maximum"},
        {"Expected number less than", "exclusiveMaximum"},
        {"Failed to any values against subschema in 'contains'", "contains"},
        {"Failed to match against any enum", "enum"},
        {"Failed to match expected value set by 'const'", "const"},
        {"Failed to validate against a conditional schema", "if"},
        {"Failed to validate against any schemas allowed by anyOf", "anyOf"},
        {"Failed to validate against dependent schema", "dependencies"},
        {"Missing dependency", "dependencies"},
        {"Failed to validate against exactly one", "oneOf"},
        {"Failed to validate against any", "oneOf"},
        {"Missing required property", "required"},
        {"Object should have no fewer", "minProperties"},
        {"Object should have no more", "maxProperties"},
        {"String should be no fewer", "minLength"},
        {"String should be no more", "maxLength"},
        {"Value should be a multiple", "multipleOf"},
        {"Value could not be converted", "multipleOf"},
        {"Value type not permitted", "type"},
        {"Target value and comparison value are not equal", "const"},
        {"Failed to validate item", "items"},
        {"Cannot validate item", "items"},
        {"Failed to validate against schema associated with property", "properties"},
    };
    for (const auto& [prefix, kw] : table) {
        if (std::string_view(msg).substr(0, prefix.size()) == prefix)
            return std::string(kw);
    }
    return "schema";
}

// valijson's context ("<root>", "[name]", "[0]", ...) as a JSON pointer.
std::string pointer_of(const std::vector<std::string>& ctx) {
    std::string out;
    for (const auto& c : ctx) {
        if (c == "<root>")
            continue;
        std::string_view seg = c;
        if (seg.size() >= 2 && seg.front() == '[' && seg.back() == ']')
            seg = seg.substr(1, seg.size() - 2);
        out += '/';
        for (char ch : seg) {
            if (ch == '~')
                out += "~0";
            else if (ch == '/')
                out += "~1";
            else
                out += ch;
        }
    }
    return out.empty() ? "/" : out;
}

json_schema_draft draft_of_uri(std::string_view u, bool& known) {
    known = true;
    if (u.find("draft-07") != std::string_view::npos)
        return json_schema_draft::draft7;
    if (u.find("2020-12") != std::string_view::npos)
        return json_schema_draft::draft2020_12;
    known = false;
    return json_schema_draft::automatic;
}

}  // namespace

struct json_schema_validator::impl {
    json_schema_draft draft = json_schema_draft::draft2020_12;
    rj_doc doc;  // the rewritten schema (valijson's subschemas do not point into it, but the
                 // resources handed to its fetcher are copied from it)
    valijson::Schema schema;
    pattern_table patterns;
};

result<json_schema_validator> json_schema_validator::compile(std::string_view text,
                                                             json_schema_draft draft,
                                                             const json_schema_limits& lim) {
    if (text.size() > lim.max_schema_bytes) {
        return fail(errc::invalid_argument, "json_schema: schema is larger than " +
                                                std::to_string(lim.max_schema_bytes) + " bytes");
    }
    auto p = std::make_shared<impl>();
    // Iterative parsing: a deeply nested schema text cannot exhaust the stack here; the walk
    // below refuses it by depth.
    p->doc.Parse<rapidjson::kParseIterativeFlag>(text.data(), text.size());
    if (p->doc.HasParseError()) {
        return fail(errc::invalid_argument, "json_schema: schema is not valid JSON (offset " +
                                                std::to_string(p->doc.GetErrorOffset()) + ")");
    }
    json_schema_draft declared = json_schema_draft::automatic;
    if (p->doc.IsObject()) {
        if (auto s = p->doc.FindMember("$schema");
            !is_end(s, p->doc.MemberEnd()) && s->value.IsString()) {
            bool known = false;
            declared = draft_of_uri(s->value.GetString(), known);
            if (!known) {
                return fail(errc::invalid_argument,
                            std::string("json_schema: $schema \"") + s->value.GetString() +
                                "\" is not a supported draft (draft-07 or 2020-12)");
            }
        }
    }
    if (draft == json_schema_draft::automatic)
        draft =
            declared == json_schema_draft::automatic ? json_schema_draft::draft2020_12 : declared;
    else if (declared != json_schema_draft::automatic && declared != draft)
        return fail(errc::invalid_argument,
                    "json_schema: the schema's $schema names another draft than `draft`");
    p->draft = draft;

    preparer prep(p->doc, draft, lim, p->patterns);
    TRIB_TRY(prep.run());

    // Embedded resources ($id) are served from the schema; every other URI is refused.
    std::string remote_refused;
    auto fetch = [&](const std::string& uri) -> const rj_doc* {
        auto it = prep.resources.find(strip_fragment(uri));
        if (it == prep.resources.end()) {
            remote_refused = uri;
            throw std::runtime_error("remote $ref refused: " + uri);
        }
        auto* d = new rj_doc();
        d->CopyFrom(*it->second, d->GetAllocator());
        return d;
    };
    auto release = [](const rj_doc* d) { delete d; };
    try {
        valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
        valijson::adapters::RapidJsonAdapter root(p->doc);
        parser.populateSchema(root, p->schema, fetch, release);
    } catch (const std::exception& e) {
        if (!remote_refused.empty()) {
            return fail(errc::invalid_argument,
                        "json_schema: $ref to \"" + remote_refused +
                            "\" refused: only references inside the schema are resolved (no "
                            "network from a validator)");
        }
        return fail(errc::invalid_argument,
                    std::string("json_schema: invalid schema: ") + e.what());
    }
    return json_schema_validator(std::move(p));
}

json_schema_draft json_schema_validator::draft() const {
    return impl_->draft;
}

namespace {

// Values in `v` (containers and scalars), counting no further than `limit`.
std::size_t count_values(const json_value& v, std::size_t limit, std::size_t n = 0) {
    ++n;
    if (v.IsArray()) {
        for (const auto& e : v.GetArray()) {
            if (n > limit)
                break;
            n = count_values(e, limit, n);
        }
    } else if (v.IsObject()) {
        for (auto m = v.MemberBegin(); !is_end(m, v.MemberEnd()) && n <= limit; ++m)
            n = count_values(m->value, limit, n);
    }
    return n;
}

// valijson's detailed run keeps every failure with its context (a vector of strings each):
// on a large invalid value that is hundreds of bytes per element, so it only runs on values
// of at most this many elements.
constexpr std::size_t max_detailed_values = 10000;

status validate_value(const json_schema_validator::impl& im, const json_value& v) {
    struct scope {
        explicit scope(const pattern_table* t) : prev(current_patterns) { current_patterns = t; }
        ~scope() { current_patterns = prev; }
        const pattern_table* prev;
    } s(&im.patterns);
    valijson::adapters::RapidJsonAdapter target(v);
    try {
        // An empty context: visitors copy it into every child, and it is only read for error
        // reports (the detailed run below uses valijson's "<root>" context).
        static const std::vector<std::string> no_context;
        std::unordered_map<std::string, std::regex> unused_cache;
        valijson::ValidationVisitor<valijson::adapters::RapidJsonAdapter> fast(
            target, no_context, true, nullptr, unused_cache);
        if (fast.validateSchema(im.schema))
            return ok();
        // Invalid: run again collecting the reasons; the first is the deepest failure.
        if (count_values(v, max_detailed_values) > max_detailed_values) {
            return bad_payload(
                "json_schema: /: schema: the value does not match the schema "
                "(where is not reported for values of more than " +
                std::to_string(max_detailed_values) + " elements)");
        }
        valijson::Validator detailed;
        valijson::ValidationResults results;
        (void)detailed.validate(im.schema, target, &results);
        valijson::ValidationResults::Error e;
        if (!results.popError(e))
            return bad_payload("json_schema: /: schema: the value does not match the schema");
        return bad_payload("json_schema: " + pointer_of(e.context) + ": " +
                           keyword_of(e.description) + ": " + e.description);
    } catch (const std::exception& ex) {
        return bad_payload(std::string("json_schema: validation failed: ") + ex.what());
    }
}

arena& scratch_arena() {
    // One per thread, kept for the thread's life (its memory is reused batch after batch).
    thread_local arena a;
    return a;
}

}  // namespace

status json_schema_validator::validate(const record& r) const {
    switch (r.kind) {
        case record_kind::json:
            return validate_value(*impl_, json_of(r));
        case record_kind::text:
        case record_kind::raw:
            return validate_text(r.bytes);
        case record_kind::typed: {
            arena& a = scratch_arena();
            a.reset();
            json_value j;
            TRIB_TRY(to_json(typed_of(r), a, j));
            return validate_value(*impl_, j);
        }
    }
    return ok();
}

status json_schema_validator::validate_text(std::string_view json) const {
    arena& a = scratch_arena();
    a.reset();
    json_value* v = nullptr;
    TRIB_TRY(parse_json(json, a, v));
    return validate_value(*impl_, *v);
}

}  // namespace trib::codecs
