// Names made from a template; see name_template.h.

#include "core/name_template.h"

#include <fmt/format.h>

#include <array>
#include <optional>

namespace trib {
namespace {

error bad(std::string msg) {
    return error(errc::invalid_argument, retry_class::fatal, std::move(msg));
}

using kind = name_template::part::kind;

struct placeholder {
    std::string_view name;
    kind what;
    bool takes_name;  // `{header:NAME}`, `{field:PATH}`
};
constexpr std::array<placeholder, 5> placeholders{{
    {"stream", kind::stream, false},
    {"topic", kind::topic, false},
    {"partition", kind::partition, false},
    {"header", kind::header, true},
    {"field", kind::field, true},
}};

std::optional<name_template::part> read_placeholder(std::string_view inside) {
    for (const auto& p : placeholders) {
        if (!p.takes_name && inside == p.name)
            return name_template::part{p.what, {}};
        if (p.takes_name && inside.size() > p.name.size() + 1 && inside.starts_with(p.name) &&
            inside[p.name.size()] == ':')
            return name_template::part{p.what, std::string(inside.substr(p.name.size() + 1))};
    }
    return std::nullopt;
}

}  // namespace

result<name_template> name_template::parse(std::string_view text) {
    name_template t;
    std::string literal;
    std::size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        const bool doubled = i + 1 < text.size() && text[i + 1] == c;
        if ((c == '{' || c == '}') && doubled) {
            literal += c;
            i += 2;
            continue;
        }
        if (c == '}')
            return bad(fmt::format("unmatched '}}' at byte {} (write '}}}}' for a brace)", i));
        if (c != '{') {
            literal += c;
            ++i;
            continue;
        }
        const std::size_t end = text.find('}', i);
        if (end == std::string_view::npos)
            return bad(fmt::format("unclosed '{{' at byte {}", i));
        const std::string_view inside = text.substr(i + 1, end - i - 1);
        auto p = read_placeholder(inside);
        if (!p) {
            return bad(fmt::format(
                "unknown placeholder {{{}}} (known: {{stream}}, {{topic}}, {{partition}}, "
                "{{header:NAME}}, {{field:PATH}})",
                inside));
        }
        if (!literal.empty())
            t.parts_.push_back(part{kind::literal, std::exchange(literal, {})});
        t.parts_.push_back(std::move(*p));
        i = end + 1;
    }
    if (!literal.empty())
        t.parts_.push_back(part{kind::literal, std::move(literal)});
    if (t.parts_.empty())
        return bad("the template is empty");
    return t;
}

bool name_template::needs_payload() const {
    for (const auto& p : parts_) {
        if (p.what == kind::field)
            return true;
    }
    return false;
}

bool name_template::per_batch() const {
    for (const auto& p : parts_) {
        if (p.what == kind::field || p.what == kind::header)
            return false;
    }
    return true;
}

const std::string* name_template::literal() const {
    return parts_.size() == 1 && parts_[0].what == kind::literal ? &parts_[0].text : nullptr;
}

result<std::string> name_template::render(const sink_batch& b, const message& m,
                                          const renderers& r) const {
    std::string out;
    for (const auto& p : parts_) {
        switch (p.what) {
            case kind::literal:
                out += p.text;
                break;
            case kind::stream:
                out += b.stream;
                break;
            case kind::topic:
                out += b.topic;
                break;
            case kind::partition:
                out += std::to_string(b.partition);
                break;
            case kind::header: {
                const header* h = m.find_header(p.text);
                if (h == nullptr)
                    return bad(fmt::format("header '{}' is missing", p.text));
                out += r.header_text(*h);
                break;
            }
            case kind::field: {
                TRIB_ASSIGN_OR_RETURN(auto v, r.field_text(p.text));
                out += v;
                break;
            }
        }
    }
    return out;
}

}  // namespace trib
