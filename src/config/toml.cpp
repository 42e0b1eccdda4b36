// The only translation unit that includes toml++ (it is heavy to compile). toml++ comes from
// Debian as a shared library (TOML_HEADER_ONLY=0 via pkg-config), so this file compiles only
// its declarations. Everything else sees config::node.

#include <toml++/toml.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "config/node.h"

namespace trib::config {
namespace {

std::string two_digits(int v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02d", v);
    return buf;
}

std::string date_text(const toml::date& d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(d.year),
                  static_cast<int>(d.month), static_cast<int>(d.day));
    return buf;
}

std::string time_text(const toml::time& t) {
    std::string s = two_digits(t.hour) + ":" + two_digits(t.minute) + ":" + two_digits(t.second);
    if (t.nanosecond != 0) {
        char buf[16];
        std::snprintf(buf, sizeof buf, ".%09u", static_cast<unsigned>(t.nanosecond));
        s += buf;
    }
    return s;
}

void set_pos(node& n, const toml::source_region& r) {
    n.line = r.begin.line;
    n.column = r.begin.column;
}

node convert(const toml::node& in);

node convert_table(const toml::table& t) {
    node out = node::make_table();
    set_pos(out, t.source());
    struct entry {
        std::uint32_t line, column;
        std::string key;
        const toml::node* value;
    };
    std::vector<entry> entries;
    entries.reserve(t.size());
    for (const auto& [k, v] : t) {
        // A key's own position is where it was written; implicit tables ([a.b] creating a) take
        // the first child's position through their value.
        auto pos = k.source().begin;
        if (pos.line == 0)
            pos = v.source().begin;
        entries.push_back({pos.line, pos.column, std::string(k.str()), &v});
    }
    // toml++ keeps tables sorted by key; restore the order of the file.
    std::stable_sort(entries.begin(), entries.end(), [](const entry& a, const entry& b) {
        if (a.line != b.line)
            return a.line < b.line;
        return a.column < b.column;
    });
    out.fields.reserve(entries.size());
    for (auto& e : entries)
        out.fields.emplace_back(std::move(e.key), convert(*e.value));
    return out;
}

node convert(const toml::node& in) {
    node out;
    switch (in.type()) {
        case toml::node_type::table:
            return convert_table(*in.as_table());
        case toml::node_type::array: {
            out.kind = node_kind::array;
            for (const auto& item : *in.as_array())
                out.items.push_back(convert(item));
            break;
        }
        case toml::node_type::string:
            out.kind = node_kind::string;
            out.s = in.as_string()->get();
            break;
        case toml::node_type::integer:
            out.kind = node_kind::integer;
            out.i = in.as_integer()->get();
            break;
        case toml::node_type::floating_point:
            out.kind = node_kind::number;
            out.d = in.as_floating_point()->get();
            break;
        case toml::node_type::boolean:
            out.kind = node_kind::boolean;
            out.b = in.as_boolean()->get();
            break;
        case toml::node_type::date:
            out.kind = node_kind::string;
            out.s = date_text(in.as_date()->get());
            break;
        case toml::node_type::time:
            out.kind = node_kind::string;
            out.s = time_text(in.as_time()->get());
            break;
        case toml::node_type::date_time: {
            const auto& dt = in.as_date_time()->get();
            out.kind = node_kind::string;
            out.s = date_text(dt.date) + "T" + time_text(dt.time);
            if (dt.offset) {
                int minutes = dt.offset->minutes;
                if (minutes == 0) {
                    out.s += "Z";
                } else {
                    out.s += minutes < 0 ? "-" : "+";
                    minutes = minutes < 0 ? -minutes : minutes;
                    out.s += two_digits(minutes / 60) + ":" + two_digits(minutes % 60);
                }
            }
            break;
        }
        case toml::node_type::none:
            break;
    }
    set_pos(out, in.source());
    return out;
}

}  // namespace

result<node> parse_toml(std::string_view text, std::string_view source_name) {
    try {
        toml::table t = toml::parse(text, std::string_view(source_name));
        return convert_table(t);
    } catch (const toml::parse_error& e) {
        const auto& pos = e.source().begin;
        return fail(errc::invalid_argument, "line " + std::to_string(pos.line) + ", column " +
                                                std::to_string(pos.column) + ": " +
                                                std::string(e.description()));
    } catch (const std::exception& e) {
        return fail(errc::invalid_argument, std::string("cannot parse TOML: ") + e.what());
    }
}

result<node> parse_toml_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::FILE* probe = std::fopen(path.c_str(), "rb");
        if (probe == nullptr)
            return fail(errc::not_found, "cannot open " + path);
        std::fclose(probe);
        return fail(errc::io_error, "cannot read " + path);
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad())
        return fail(errc::io_error, "cannot read " + path);
    return parse_toml(ss.str(), path);
}

node parse_toml_value(std::string_view text) {
    std::string doc = "v = ";
    doc.append(text);
    doc.push_back('\n');
    try {
        toml::table t = toml::parse(std::string_view(doc), std::string_view("value"));
        if (t.size() == 1) {
            if (const toml::node* v = t.get("v")) {
                node out = convert(*v);
                out.line = out.column = 0;
                return out;
            }
        }
    } catch (const std::exception&) {
        // not a TOML value: a bare string below
    }
    return node::make_string(std::string(text));
}

}  // namespace trib::config
