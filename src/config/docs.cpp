// Documentation from specs: markdown, describe text and JSON. Deterministic by construction.

#include "config/docs.h"

#include <cmath>
#include <sstream>

#include "config/node.h"

namespace trib::config {
namespace {

std::string fmt_num(double v) {
    if (std::floor(v) == v && std::fabs(v) < 9e15)
        return std::to_string(static_cast<long long>(v));
    std::ostringstream ss;
    ss << v;
    return ss.str();
}

std::string type_text(const option& o) {
    std::string t(to_string(o.type));
    if (o.type == opt_type::list)
        t = "list of " + std::string(to_string(o.element));
    return t;
}

bool required(const option& o) {
    return !o.default_value && !o.optional && o.type != opt_type::table;
}

std::string default_text(const option& o) {
    if (o.default_value)
        return *o.default_value;
    if (o.optional || o.type == opt_type::table)
        return "";
    return "required";
}

// Notes shown after the doc string: choices, range, secret, aliases, feature.
std::vector<std::string> notes(const option& o) {
    std::vector<std::string> n;
    if (!o.choices.empty()) {
        std::string c = "one of: ";
        for (std::size_t i = 0; i < o.choices.size(); ++i) {
            if (i)
                c += ", ";
            c += o.choices[i];
        }
        n.push_back(c);
    }
    const char* unit = o.type == opt_type::duration ? " ms"
                       : o.type == opt_type::size   ? " bytes"
                                                    : "";
    if (o.min && o.max) {
        n.push_back("range " + fmt_num(*o.min) + ".." + fmt_num(*o.max) + unit);
    } else if (o.min) {
        n.push_back("at least " + fmt_num(*o.min) + unit);
    } else if (o.max) {
        n.push_back("at most " + fmt_num(*o.max) + unit);
    }
    if (o.type == opt_type::secret)
        n.push_back("secret: accepts ${env:NAME} and ${file:/path}");
    for (const auto& a : o.aliases)
        n.push_back("deprecated alias: " + a);
    if (!o.requires_feature.empty())
        n.push_back("needs " + o.requires_feature);
    if (o.advanced)
        n.push_back("advanced");
    return n;
}

std::string md_escape(std::string_view s) {
    std::string out;
    for (char c : s) {
        if (c == '|') {
            out += "\\|";
        } else if (c == '\n') {
            out += "<br>";
        } else {
            out.push_back(c);
        }
    }
    return out;
}

void md_rows(const std::vector<option>& opts, const std::string& prefix, std::string& out) {
    for (const auto& o : opts) {
        std::string name = prefix + o.name;
        std::string def = default_text(o);
        std::string desc = md_escape(o.doc);
        auto n = notes(o);
        if (!n.empty()) {
            if (!desc.empty())
                desc += " ";
            desc += "(";
            for (std::size_t i = 0; i < n.size(); ++i) {
                if (i)
                    desc += "; ";
                desc += md_escape(n[i]);
            }
            desc += ")";
        }
        out += "| `" + name + "` | " + type_text(o) + " | " +
               (def.empty() ? std::string()
                            : (def == "required" ? "**required**" : "`" + md_escape(def) + "`")) +
               " | " + desc + " |\n";
        if (o.type == opt_type::table)
            md_rows(o.children, name + ".", out);
        if (o.type == opt_type::table_list)
            md_rows(o.children, name + "[].", out);
    }
}

void text_rows(const std::vector<option>& opts, const std::string& prefix, bool advanced,
               std::string& out) {
    for (const auto& o : opts) {
        if (o.advanced && !advanced)
            continue;
        std::string name = prefix + o.name;
        out += "  " + name + " (" + type_text(o);
        std::string def = default_text(o);
        if (def == "required") {
            out += ", required";
        } else if (!def.empty()) {
            out += ", default " + def;
        }
        out += ")\n";
        if (!o.doc.empty())
            out += "      " + o.doc + "\n";
        for (const auto& n : notes(o))
            out += "      " + n + "\n";
        if (o.type == opt_type::table)
            text_rows(o.children, name + ".", advanced, out);
        if (o.type == opt_type::table_list)
            text_rows(o.children, name + "[].", advanced, out);
    }
}

void json_str(std::string& out, std::string_view key, std::string_view v) {
    append_json_string(out, key);
    out += ':';
    append_json_string(out, v);
}

void json_options(const std::vector<option>& opts, std::string& out) {
    out += '[';
    for (std::size_t i = 0; i < opts.size(); ++i) {
        const auto& o = opts[i];
        if (i)
            out += ',';
        out += '{';
        json_str(out, "name", o.name);
        out += ',';
        json_str(out, "type", to_string(o.type));
        out += ',';
        json_str(out, "doc", o.doc);
        out += ",\"required\":";
        out += required(o) ? "true" : "false";
        out += ",\"default\":";
        if (o.default_value) {
            append_json_string(out, *o.default_value);
        } else {
            out += "null";
        }
        if (o.type == opt_type::list) {
            out += ',';
            json_str(out, "element", to_string(o.element));
        }
        if (!o.choices.empty()) {
            out += ",\"choices\":[";
            for (std::size_t c = 0; c < o.choices.size(); ++c) {
                if (c)
                    out += ',';
                append_json_string(out, o.choices[c]);
            }
            out += ']';
        }
        if (o.min)
            out += ",\"min\":" + fmt_num(*o.min);
        if (o.max)
            out += ",\"max\":" + fmt_num(*o.max);
        if (!o.aliases.empty()) {
            out += ",\"deprecated_aliases\":[";
            for (std::size_t a = 0; a < o.aliases.size(); ++a) {
                if (a)
                    out += ',';
                append_json_string(out, o.aliases[a]);
            }
            out += ']';
        }
        out += ",\"secret\":";
        out += o.type == opt_type::secret ? "true" : "false";
        out += ",\"advanced\":";
        out += o.advanced ? "true" : "false";
        if (!o.requires_feature.empty()) {
            out += ',';
            json_str(out, "requires_feature", o.requires_feature);
        }
        if (o.type == opt_type::table || o.type == opt_type::table_list) {
            out += ",\"children\":";
            json_options(o.children, out);
        }
        out += '}';
    }
    out += ']';
}

}  // namespace

std::string render_markdown(const spec& s) {
    std::string out;
    out += "# " + s.name + " (" + std::string(to_string(s.kind)) + ")\n\n";
    out += "<!-- Generated from the spec in the source; do not edit by hand. -->\n\n";
    if (!s.summary.empty())
        out += s.summary + "\n\n";
    if (!s.description.empty()) {
        out += s.description;
        if (s.description.back() != '\n')
            out += "\n";
        out += "\n";
    }
    if (!s.guarantee.empty())
        out += "**Guarantee:** " + s.guarantee + ".\n\n";
    if (s.idempotent) {
        out +=
            "Writes are idempotent (keyed by the Iggy message id): replays after a crash "
            "leave no duplicates.\n\n";
    }
    if (!s.plugin_aliases.empty()) {
        out += "Iggy plugin names accepted in `path`: ";
        for (std::size_t i = 0; i < s.plugin_aliases.size(); ++i) {
            if (i)
                out += ", ";
            out += "`" + s.plugin_aliases[i] + "`";
        }
        out += ".\n\n";
    }
    out += "## Options\n\n";
    if (s.options.empty()) {
        out += "This " + std::string(to_string(s.kind)) + " has no options.\n\n";
    } else {
        out += "| option | type | default | description |\n";
        out += "| --- | --- | --- | --- |\n";
        md_rows(s.options, "", out);
        out += "\n";
    }
    if (!s.example.empty()) {
        out += "## Example\n\n```toml\n" + s.example;
        if (s.example.back() != '\n')
            out += "\n";
        out += "```\n";
    }
    while (out.size() >= 2 && out[out.size() - 1] == '\n' && out[out.size() - 2] == '\n') {
        out.pop_back();
    }
    return out;
}

std::string render_text(const spec& s, bool include_advanced) {
    std::string out;
    out += s.name + " (" + std::string(to_string(s.kind)) + ")";
    if (!s.summary.empty())
        out += ": " + s.summary;
    out += "\n";
    if (!s.plugin_aliases.empty()) {
        out += "Iggy plugin names:";
        for (const auto& a : s.plugin_aliases)
            out += " " + a;
        out += "\n";
    }
    if (!s.guarantee.empty())
        out += "Guarantee: " + s.guarantee + ".\n";
    if (s.idempotent)
        out += "Idempotent writes (exactly-once effects).\n";
    out += "\nOptions:\n";
    if (s.options.empty())
        out += "  (none)\n";
    text_rows(s.options, "", include_advanced, out);
    if (!s.example.empty()) {
        out += "\nExample:\n";
        std::istringstream lines(s.example);
        std::string line;
        while (std::getline(lines, line))
            out += "  " + line + "\n";
    }
    return out;
}

std::string to_json(const spec& s) {
    std::string out = "{";
    json_str(out, "name", s.name);
    out += ',';
    json_str(out, "kind", to_string(s.kind));
    out += ',';
    json_str(out, "summary", s.summary);
    out += ',';
    json_str(out, "description", s.description);
    out += ',';
    json_str(out, "guarantee", s.guarantee);
    out += ",\"idempotent\":";
    out += s.idempotent ? "true" : "false";
    out += ",\"plugin_aliases\":[";
    for (std::size_t i = 0; i < s.plugin_aliases.size(); ++i) {
        if (i)
            out += ',';
        append_json_string(out, s.plugin_aliases[i]);
    }
    out += "],\"options\":";
    json_options(s.options, out);
    out += ',';
    json_str(out, "example", s.example);
    out += '}';
    return out;
}

}  // namespace trib::config
