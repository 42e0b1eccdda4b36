#include "core/template_text.h"

namespace trib {

result<std::vector<template_token>> split_template(std::string_view text) {
    std::vector<template_token> out;
    std::string lit;
    auto flush = [&] {
        if (!lit.empty())
            out.push_back({false, std::move(lit)});
        lit.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        const bool doubled = i + 1 < text.size() && text[i + 1] == c;
        if ((c == '{' || c == '}') && doubled) {
            lit += c;
            ++i;
        } else if (c == '}') {
            return fail(errc::invalid_argument,
                        "a lone '}' at byte " + std::to_string(i) + " (write '}}' for a brace)");
        } else if (c == '{') {
            const auto close = text.find('}', i);
            if (close == std::string_view::npos)
                return fail(errc::invalid_argument, "unclosed '{' at byte " + std::to_string(i) +
                                                        " (write '{{' for a brace)");
            flush();
            out.push_back({true, std::string(text.substr(i + 1, close - i - 1))});
            i = close;
        } else {
            lit += c;
        }
    }
    flush();
    return out;
}

}  // namespace trib
