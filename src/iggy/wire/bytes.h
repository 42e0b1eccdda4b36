#pragma once
// Little-endian byte writing and bounds-checked reading for Iggy's binary protocol.
// The reader never reads past its input: a short read returns zeros and marks the reader failed,
// so decoders check `ok()` once at the end (fuzz-safe by construction).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_reader.h"

namespace trib::iggy {

using bytes = std::vector<std::uint8_t>;
using bytes_view = std::span<const std::uint8_t>;

/// An unsigned 128-bit value as Iggy sends it: 16 bytes little-endian, low half first.
struct u128 {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    bool is_zero() const { return lo == 0 && hi == 0; }
    friend bool operator==(const u128&, const u128&) = default;
    friend auto operator<=>(const u128&, const u128&) = default;
};

/// 32 lowercase hex digits, high half first (the way a u128 prints as a number).
std::string to_hex(const u128& v);

inline bytes_view as_bytes(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_string(bytes_view b) {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// On little-endian hosts a memcpy is the wire format and compiles to one unaligned move; GCC at
// -O2 did not merge the byte loops (they showed up per frame in the batch walks).
inline void store_u32(std::uint8_t* p, std::uint32_t v) {
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(p, &v, 4);
    } else {
        for (int i = 0; i < 4; ++i)
            p[i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
}
inline void store_u64(std::uint8_t* p, std::uint64_t v) {
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(p, &v, 8);
    } else {
        for (int i = 0; i < 8; ++i)
            p[i] = static_cast<std::uint8_t>(v >> (8 * i));
    }
}
inline std::uint32_t load_u32(const std::uint8_t* p) {
    std::uint32_t v = 0;
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(&v, p, 4);
    } else {
        for (int i = 3; i >= 0; --i)
            v = (v << 8) | p[i];
    }
    return v;
}
inline std::uint64_t load_u64(const std::uint8_t* p) {
    std::uint64_t v = 0;
    if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(&v, p, 8);
    } else {
        for (int i = 7; i >= 0; --i)
            v = (v << 8) | p[i];
    }
    return v;
}
inline std::uint16_t load_u16(const std::uint8_t* p) {
    return static_cast<std::uint16_t>(p[0] | (p[1] << 8));
}

/// Appends little-endian values to a byte vector.
class writer {
  public:
    explicit writer(bytes& out) : out_(out) {}
    void u8(std::uint8_t v) { out_.push_back(v); }
    void u16(std::uint16_t v) {
        out_.push_back(static_cast<std::uint8_t>(v));
        out_.push_back(static_cast<std::uint8_t>(v >> 8));
    }
    void u32(std::uint32_t v) {
        auto n = out_.size();
        out_.resize(n + 4);
        store_u32(out_.data() + n, v);
    }
    void u64(std::uint64_t v) {
        auto n = out_.size();
        out_.resize(n + 8);
        store_u64(out_.data() + n, v);
    }
    void u128v(const u128& v) {
        u64(v.lo);
        u64(v.hi);
    }
    void f32(float v) {
        std::uint32_t u;
        std::memcpy(&u, &v, 4);
        u32(u);
    }
    void raw(bytes_view b) { out_.insert(out_.end(), b.begin(), b.end()); }
    void raw(std::string_view s) { raw(as_bytes(s)); }
    void zeros(std::size_t n) { out_.resize(out_.size() + n, 0); }
    /// `[len:u8][bytes]`; the caller checks 1..255 where the protocol requires it.
    void str8(std::string_view s) {
        u8(static_cast<std::uint8_t>(s.size()));
        raw(s);
    }
    /// `[len:u32][bytes]`
    void str32(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        raw(s);
    }
    std::size_t size() const { return out_.size(); }
    bytes& buffer() { return out_; }

  private:
    bytes& out_;
};

/// Reads little-endian values from a byte span without ever reading past its end: Iggy's names
/// over the one bounds-checked reader of the project (core/byte_reader.h).
class reader {
  public:
    explicit reader(bytes_view in) : r_(as_string(in)), size_(in.size()) {}
    bool ok() const { return r_.ok(); }
    // Position-based, also once failed (byte_reader's at_end()/left() say false/0 then): the
    // decoders' loops "until the input is used up" stop on a short read at the very end.
    bool at_end() const { return r_.position() == size_; }
    std::size_t remaining() const { return size_ - r_.position(); }
    std::size_t position() const { return r_.position(); }
    void fail() { r_.fail(); }

    std::uint8_t u8() { return r_.u8(); }
    std::uint16_t u16() { return r_.le16(); }
    std::uint32_t u32() { return r_.le32(); }
    std::uint64_t u64() { return r_.le64(); }
    u128 u128v() {
        u128 v;
        v.lo = u64();
        v.hi = u64();
        return v;
    }
    float f32() {
        std::uint32_t u = u32();
        float f;
        std::memcpy(&f, &u, 4);
        return f;
    }
    bytes_view raw(std::size_t n) { return as_bytes(r_.take(n)); }
    bytes_view rest() { return as_bytes(r_.rest()); }
    std::string_view str8() { return r_.take(u8()); }
    std::string_view str32() { return r_.take(u32()); }
    void skip(std::size_t n) { (void)r_.take(n); }

  private:
    byte_reader r_;
    std::size_t size_;
};

}  // namespace trib::iggy
