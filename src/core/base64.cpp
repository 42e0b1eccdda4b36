#include "core/base64.h"

namespace trib {
namespace {

constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int b64_index(unsigned char c) {
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

}  // namespace

void append_base64(std::string& out, std::string_view bytes) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size(), k = 0;
    out.reserve(out.size() + (n + 2) / 3 * 4);
    for (; k + 3 <= n; k += 3) {
        unsigned v = (p[k] << 16) | (p[k + 1] << 8) | p[k + 2];
        out.push_back(b64[v >> 18]);
        out.push_back(b64[(v >> 12) & 63]);
        out.push_back(b64[(v >> 6) & 63]);
        out.push_back(b64[v & 63]);
    }
    if (n - k == 1) {
        unsigned v = p[k] << 16;
        out.push_back(b64[v >> 18]);
        out.push_back(b64[(v >> 12) & 63]);
        out += "==";
    } else if (n - k == 2) {
        unsigned v = (p[k] << 16) | (p[k + 1] << 8);
        out.push_back(b64[v >> 18]);
        out.push_back(b64[(v >> 12) & 63]);
        out.push_back(b64[(v >> 6) & 63]);
        out.push_back('=');
    }
}

bool decode_base64(std::string_view in, std::string& out) {
    while (!in.empty() && in.back() == '=')
        in.remove_suffix(1);
    if (in.size() % 4 == 1)
        return false;
    out.reserve(out.size() + in.size() / 4 * 3 + 2);
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = b64_index(static_cast<unsigned char>(c));
        if (v < 0)
            return false;
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return true;
}

std::string base64_encode(std::string_view bytes) {
    std::string out;
    append_base64(out, bytes);
    return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
    std::string out;
    if (!decode_base64(text, out))
        return std::nullopt;
    return out;
}

}  // namespace trib
