#include "core/parse_number.h"

#include <cmath>

namespace trib {

std::optional<double> parse_double(std::string_view text) {
    if (text.empty())
        return std::nullopt;
    // from_chars would read "inf" and "nan"; a number in our inputs is digits.
    const char c = text[0] == '-' ? (text.size() > 1 ? text[1] : '\0') : text[0];
    if (!((c >= '0' && c <= '9') || c == '.'))
        return std::nullopt;
    double v = 0;
    const char* end = text.data() + text.size();
    const auto r = std::from_chars(text.data(), end, v, std::chars_format::general);
    if (r.ec != std::errc() || r.ptr != end || !std::isfinite(v))
        return std::nullopt;
    return v;
}

}  // namespace trib
