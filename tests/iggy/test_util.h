#pragma once
// Helpers shared by the iggy codec tests.

#include <cstdint>
#include <string>
#include <string_view>

#include "iggy/wire/bytes.h"

namespace trib::iggy::test {

inline bytes from_hex(std::string_view hex) {
    bytes out;
    auto nib = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    int hi = -1;
    for (char c : hex) {
        int v = nib(c);
        if (v < 0)
            continue;  // spaces and separators are allowed
        if (hi < 0) {
            hi = v;
        } else {
            out.push_back(static_cast<std::uint8_t>(hi * 16 + v));
            hi = -1;
        }
    }
    return out;
}

inline std::string to_hex(bytes_view b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    s.reserve(b.size() * 2);
    for (auto c : b) {
        s.push_back(d[c >> 4]);
        s.push_back(d[c & 15]);
    }
    return s;
}

/// The client id of the protocol doc's worked examples: bytes 00 01 .. 0f on the wire.
inline u128 doc_client_id() {
    return {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
}

}  // namespace trib::iggy::test
