#include "connectors/postgres/sink_rows.h"

#include <cstdio>
#include <ctime>

#include "connectors/postgres/pg.h"
#include "core/utc_text.h"

namespace trib::connectors::postgres {

std::string iso_timestamp(std::uint64_t unix_us) {
    return utc_text(unix_us, ' ', "+00");
}

void json_array_literal(const json::document& d, const json::node& n, std::string& out) {
    out += '{';
    bool first = true;
    for (std::int32_t i = n.first; i >= 0; i = d.at(i).next) {
        const json::node& e = d.at(i);
        if (!first)
            out += ',';
        first = false;
        switch (e.k) {
            case json::kind::null:
                out += "NULL";
                break;
            case json::kind::boolean:
                out += e.b ? "true" : "false";
                break;
            case json::kind::number:
                out += e.text;
                break;
            case json::kind::array:
                json_array_literal(d, e, out);
                break;
            case json::kind::string:
            case json::kind::object: {
                std::string s;
                if (e.k == json::kind::string)
                    s = std::string(e.text);
                else
                    d.write(e, s);
                out += '"';
                for (char c : s) {
                    if (c == '"' || c == '\\')
                        out += '\\';
                    out += c;
                }
                out += '"';
                break;
            }
        }
    }
    out += '}';
}

std::string copy_stream(const row_group& g, const std::vector<std::size_t>& rows) {
    std::string s;
    if (g.binary) {
        s.reserve(binary::copy_header.size() + 2 + g.data.size() + g.cells.size() * 4 +
                  rows.size() * 2);
        s.append(binary::copy_header);
        for (auto r : rows) {
            binary::put16(s, static_cast<std::uint16_t>(g.width()));
            for (std::size_t c = 0; c < g.width(); ++c) {
                const cell& ce = g.cells[r * g.width() + c];
                binary::put32(s, static_cast<std::uint32_t>(ce.len));
                if (ce.len > 0)
                    s.append(g.data, ce.off, static_cast<std::size_t>(ce.len));
            }
        }
        binary::put16(s, 0xffff);
    } else {
        s.reserve(g.data.size() + g.data.size() / 8 + rows.size() * g.width());
        for (auto r : rows) {
            for (std::size_t c = 0; c < g.width(); ++c) {
                if (c)
                    s += '\t';
                if (g.is_null(r, c))
                    s += "\\N";
                else
                    copy_text_escape(s, g.value(r, c));
            }
            s += '\n';
        }
    }
    return s;
}

}  // namespace trib::connectors::postgres
