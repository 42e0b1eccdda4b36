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

/// Reads little-endian values from a byte span without ever reading past its end.
class reader {
  public:
    explicit reader(bytes_view in) : in_(in) {}
    bool ok() const { return ok_; }
    bool at_end() const { return pos_ == in_.size(); }
    std::size_t remaining() const { return in_.size() - pos_; }
    std::size_t position() const { return pos_; }
    void fail() { ok_ = false; }

    std::uint8_t u8() {
        if (!need(1))
            return 0;
        return in_[pos_++];
    }
    std::uint16_t u16() {
        if (!need(2))
            return 0;
        auto v = load_u16(in_.data() + pos_);
        pos_ += 2;
        return v;
    }
    std::uint32_t u32() {
        if (!need(4))
            return 0;
        auto v = load_u32(in_.data() + pos_);
        pos_ += 4;
        return v;
    }
    std::uint64_t u64() {
        if (!need(8))
            return 0;
        auto v = load_u64(in_.data() + pos_);
        pos_ += 8;
        return v;
    }
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
    bytes_view raw(std::size_t n) {
        if (!need(n))
            return {};
        auto v = in_.subspan(pos_, n);
        pos_ += n;
        return v;
    }
    bytes_view rest() { return raw(remaining()); }
    std::string_view str8() { return as_string(raw(u8())); }
    std::string_view str32() {
        auto n = u32();
        return as_string(raw(n));
    }
    void skip(std::size_t n) { (void)raw(n); }

  private:
    bool need(std::size_t n) {
        if (!ok_ || n > in_.size() - pos_) {
            ok_ = false;
            return false;
        }
        return true;
    }
    bytes_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace trib::iggy
