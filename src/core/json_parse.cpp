#include "core/json_parse.h"

#include <fmt/format.h>
#include <rapidjson/error/en.h>

#include <cstring>

namespace trib {

bool valid_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        // ASCII runs, eight bytes at a time.
        if (i + 8 <= n) {
            std::uint64_t w;
            std::memcpy(&w, p + i, 8);
            if ((w & 0x8080808080808080ull) == 0) {
                i += 8;
                continue;
            }
        }
        const unsigned char c = p[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        std::size_t len;
        unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            if (c == 0xE0)
                lo = 0xA0;  // overlong
            else if (c == 0xED)
                hi = 0x9F;  // UTF-16 surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            if (c == 0xF0)
                lo = 0x90;  // overlong
            else if (c == 0xF4)
                hi = 0x8F;  // beyond U+10FFFF
        } else {
            return false;
        }
        if (n - i < len || p[i + 1] < lo || p[i + 1] > hi)
            return false;
        for (std::size_t k = 2; k < len; ++k)
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

status check_json(std::string_view text, const json_limits& limits) {
    rapidjson::BaseReaderHandler<> h;
    return read_json(text, h, limits);
}

namespace json_detail {

namespace {
error invalid(std::string message) {
    return error(errc::invalid_argument, retry_class::fatal, std::move(message));
}
}  // namespace

error syntax_error(rapidjson::ParseErrorCode code, std::size_t offset) {
    if (code == rapidjson::kParseErrorDocumentEmpty)
        return invalid("JSON input is empty");
    return invalid(
        fmt::format("invalid JSON at byte {}: {}", offset, rapidjson::GetParseError_En(code)));
}

error too_deep(std::size_t max_depth, std::size_t offset) {
    return invalid(fmt::format("JSON nested deeper than {} levels at byte {}", max_depth, offset));
}

error bad_utf8(std::size_t offset) {
    return invalid(fmt::format("invalid UTF-8 in the JSON string ending at byte {}", offset));
}

error out_of_range(std::size_t offset) {
    return invalid(fmt::format("JSON number beyond a double's range ending at byte {}", offset));
}

error trailing_data(std::size_t offset, unsigned char byte) {
    return invalid(
        fmt::format("data after the JSON value at byte {} (byte 0x{:02x})", offset, byte));
}

error handler_stopped(std::size_t offset) {
    return invalid(fmt::format("JSON not accepted at byte {}", offset));
}

}  // namespace json_detail
}  // namespace trib
