#include "config/spec_data.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "config/node.h"
#include "config/validate.h"
#include "core/json_text.h"

namespace trib::config {
namespace {

constexpr opt_type all_types[] = {
    opt_type::string,   opt_type::integer, opt_type::boolean,     opt_type::number,
    opt_type::duration, opt_type::size,    opt_type::enumeration, opt_type::list,
    opt_type::map,      opt_type::table,   opt_type::table_list,  opt_type::secret,
    opt_type::any,
};

/// Reads one data file; collects every problem as "file: key.path: what".
class reader {
  public:
    reader(const node& root, std::string_view file) : root_(root), file_(file) {}

    std::vector<std::string> problems;

    void problem(const std::string& path, const std::string& what) {
        problems.push_back(std::string(file_) + ": " + path + ": " + what);
    }

    bool string_at(const node& table, std::string_view key, const std::string& path,
                   std::string& out) {
        const node* n = table.find(key);
        if (n == nullptr)
            return false;
        if (!n->is_string()) {
            problem(path + "." + std::string(key), "must be a string");
            return false;
        }
        out = n->s;
        return true;
    }

    void bool_at(const node& table, std::string_view key, const std::string& path, bool& out) {
        const node* n = table.find(key);
        if (n == nullptr)
            return;
        if (n->kind != node_kind::boolean) {
            problem(path + "." + std::string(key), "must be true or false");
            return;
        }
        out = n->b;
    }

    void number_at(const node& table, std::string_view key, const std::string& path,
                   std::optional<double>& out) {
        const node* n = table.find(key);
        if (n == nullptr)
            return;
        if (n->kind == node_kind::integer) {
            out = static_cast<double>(n->i);
        } else if (n->kind == node_kind::number) {
            out = n->d;
        } else {
            problem(path + "." + std::string(key), "must be a number");
        }
    }

    void strings_at(const node& table, std::string_view key, const std::string& path,
                    std::vector<std::string>& out) {
        const node* n = table.find(key);
        if (n == nullptr)
            return;
        const std::string p = path + "." + std::string(key);
        if (!n->is_array()) {
            problem(p, "must be an array of strings");
            return;
        }
        for (const auto& item : n->items) {
            if (!item.is_string()) {
                problem(p, "must be an array of strings");
                return;
            }
            out.push_back(item.s);
        }
    }

    std::optional<opt_type> type_named(const std::string& name, const std::string& path) {
        for (opt_type t : all_types) {
            if (to_string(t) == name)
                return t;
        }
        std::string known;
        for (opt_type t : all_types)
            known += (known.empty() ? "" : ", ") + std::string(to_string(t));
        problem(path, "unknown option type \"" + name + "\" (one of " + known + ")");
        return std::nullopt;
    }

    void unknown_keys(const node& table, const std::string& path,
                      std::initializer_list<std::string_view> known) {
        for (const auto& [key, value] : table.fields) {
            bool found = false;
            for (auto k : known)
                found = found || k == key;
            if (!found)
                problem(path + "." + key, "unknown key");
        }
    }

    /// An array of option tables; an entry `group = "NAME"` stands for the options of the
    /// top-level `[[groups.NAME]]` array (options several specs of the folder share).
    void options(const node* list, const std::string& path, std::vector<option>& out,
                 int depth = 0) {
        if (list == nullptr)
            return;
        if (!list->is_array()) {
            problem(path, "must be an array of tables ([[...options]])");
            return;
        }
        if (depth > 8) {
            problem(path, "groups and children nest too deep");
            return;
        }
        for (std::size_t i = 0; i < list->items.size(); ++i) {
            const node& t = list->items[i];
            const std::string p = path + "[" + std::to_string(i) + "]";
            if (!t.is_table()) {
                problem(p, "must be a table");
                continue;
            }
            if (const node* g = t.find("group")) {
                unknown_keys(t, p, {"group"});
                const node* groups = root_.find("groups");
                const node* members =
                    g->is_string() && groups != nullptr ? groups->find(g->s) : nullptr;
                if (members == nullptr) {
                    problem(p + ".group", "no [[groups." + g->scalar_text() + "]] in the file");
                    continue;
                }
                options(members, "groups." + g->s, out, depth + 1);
                continue;
            }
            out.push_back(one_option(t, p, depth));
        }
    }

    option one_option(const node& t, const std::string& p, int depth) {
        unknown_keys(t, p,
                     {"name", "type", "doc", "default", "optional", "choices", "min", "max",
                      "element", "children", "aliases", "advanced", "requires_feature"});
        option o;
        if (!string_at(t, "name", p, o.name))
            problem(p + ".name", "missing");
        std::string type = "string";
        string_at(t, "type", p, type);
        if (auto ty = type_named(type, p + ".type"))
            o.type = *ty;
        string_at(t, "doc", p, o.doc);
        if (const node* d = t.find("default")) {
            o.default_value = default_text(*d);
            if (!o.default_value)
                problem(p + ".default", "must be a string, number, boolean or array");
        }
        bool_at(t, "optional", p, o.optional);
        strings_at(t, "choices", p, o.choices);
        number_at(t, "min", p, o.min);
        number_at(t, "max", p, o.max);
        std::string element;
        if (string_at(t, "element", p, element)) {
            if (auto ty = type_named(element, p + ".element"))
                o.element = *ty;
        }
        options(t.find("children"), p + ".children", o.children, depth + 1);
        strings_at(t, "aliases", p, o.aliases);
        bool_at(t, "advanced", p, o.advanced);
        string_at(t, "requires_feature", p, o.requires_feature);
        return o;
    }

    spec one_spec(const node& t, const std::string& id) {
        unknown_keys(t, id,
                     {"name", "kind", "summary", "guarantee", "description", "example",
                      "idempotent", "plugin_aliases", "options"});
        spec s;
        if (!string_at(t, "name", id, s.name))
            problem(id + ".name", "missing");
        std::string kind;
        string_at(t, "kind", id, kind);
        if (kind == "source") {
            s.kind = spec_kind::source;
        } else if (kind == "sink") {
            s.kind = spec_kind::sink;
        } else {
            problem(id + ".kind", "must be \"source\" or \"sink\"");
        }
        string_at(t, "summary", id, s.summary);
        string_at(t, "guarantee", id, s.guarantee);
        string_at(t, "description", id, s.description);
        string_at(t, "example", id, s.example);
        bool_at(t, "idempotent", id, s.idempotent);
        strings_at(t, "plugin_aliases", id, s.plugin_aliases);
        options(t.find("options"), id + ".options", s.options);
        return s;
    }

  private:
    const node& root_;
    std::string_view file_;
};

void append_default(std::string& out, const node& v, bool& ok) {
    switch (v.kind) {
        case node_kind::string:
            append_json_string(out, v.s);  // JSON's escapes are TOML's
            return;
        case node_kind::integer:
            out += std::to_string(v.i);
            return;
        case node_kind::boolean:
            out += v.b ? "true" : "false";
            return;
        case node_kind::number: {
            char buf[64];
            std::snprintf(buf, sizeof buf, "%.17g", v.d);
            std::string text = buf;
            if (text.find_first_of(".eEn") == std::string::npos)
                text += ".0";  // 2.0 stays a TOML float
            out += text;
            return;
        }
        case node_kind::array:
            out += '[';
            for (std::size_t i = 0; i < v.items.size(); ++i) {
                if (i)
                    out += ", ";
                append_default(out, v.items[i], ok);
            }
            out += ']';
            return;
        default:
            ok = false;
    }
}

}  // namespace

std::optional<std::string> default_text(const node& value) {
    std::string out;
    bool ok = true;
    append_default(out, value, ok);
    if (!ok)
        return std::nullopt;
    return out;
}

result<spec> parse_spec_data(std::string_view toml, std::string_view file, std::string_view id) {
    auto root = parse_toml(toml, file);
    if (!root)
        return fail(errc::invalid_argument, std::string(file) + ": " + root.error().message());
    reader r(*root, file);
    const node* t = root->find(id);
    if (t == nullptr || !t->is_table())
        return fail(errc::not_found, std::string(file) + ": no table [" + std::string(id) + "]");
    spec s = r.one_spec(*t, std::string(id));
    if (r.problems.empty()) {
        for (auto& d : check_spec(s))
            r.problems.push_back(std::string(file) + ": [" + std::string(id) + "] " + d);
    }
    if (!r.problems.empty()) {
        std::string all;
        for (const auto& p : r.problems)
            all += (all.empty() ? "" : "; ") + p;
        return fail(errc::invalid_argument, all);
    }
    return s;
}

spec builtin_spec(std::string_view toml, std::string_view file, std::string_view id) {
    auto s = parse_spec_data(toml, file, id);
    if (!s) {
        std::fprintf(stderr, "tributary: bug: the built-in spec data is defective: %s\n",
                     s.error().message().c_str());
        std::abort();
    }
    return std::move(*s);
}

}  // namespace trib::config
