#pragma once
// One bounds-checked reader for binary decoders (the PostgreSQL pgoutput decoder, the MQTT packet
// decoder, the Iggy wire decoders through iggy::reader, ...): every read checks the bytes left
// first; the first overrun marks the reader failed and every later read returns zeros or empty
// views, so a decoder may read a whole structure and check once. Lengths read from the input are
// checked against what is left before anything is taken or allocated. Header-only: decoders sit on
// hot paths.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace trib {

/// Holds a view of its input: the bytes must outlive the reader.
class byte_reader {
  public:
    explicit byte_reader(std::string_view in) : in_(in) {}

    bool ok() const { return ok_; }
    /// Bytes not read yet (0 once failed).
    std::size_t left() const { return ok_ ? in_.size() - pos_ : 0; }
    std::size_t position() const { return pos_; }
    bool at_end() const { return ok_ && pos_ == in_.size(); }
    /// Marks the input malformed (a decoder's own check failed).
    void fail() { ok_ = false; }
    /// True when `n` more bytes are there; otherwise marks the reader failed.
    bool need(std::size_t n) {
        if (!ok_ || n > in_.size() - pos_) {
            ok_ = false;
            return false;
        }
        return true;
    }

    std::uint8_t u8() { return need(1) ? static_cast<std::uint8_t>(in_[pos_++]) : 0; }
    std::uint16_t be16() { return static_cast<std::uint16_t>(be(2)); }
    std::uint32_t be32() { return static_cast<std::uint32_t>(be(4)); }
    std::uint64_t be64() { return be(8); }
    std::uint16_t le16() { return static_cast<std::uint16_t>(le(2)); }
    std::uint32_t le32() { return static_cast<std::uint32_t>(le(4)); }
    std::uint64_t le64() { return le(8); }

    /// The next `n` bytes (empty and failed when fewer are left).
    std::string_view take(std::size_t n) {
        if (!need(n))
            return {};
        std::string_view v = in_.substr(pos_, n);
        pos_ += n;
        return v;
    }
    /// Everything not read yet.
    std::string_view rest() { return take(left()); }
    /// Bytes up to a NUL, which is consumed; failed when there is none.
    std::string_view cstr() {
        if (!ok_)
            return {};
        auto end = in_.find('\0', pos_);
        if (end == std::string_view::npos) {
            ok_ = false;
            return {};
        }
        std::string_view v = in_.substr(pos_, end - pos_);
        pos_ = end + 1;
        return v;
    }

  private:
    std::uint64_t be(std::size_t n) {
        if (!need(n))
            return 0;
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < n; ++i)
            v = (v << 8) | static_cast<std::uint8_t>(in_[pos_ + i]);
        pos_ += n;
        return v;
    }
    // On little-endian hosts a memcpy is the wire format and compiles to one unaligned move; GCC
    // at -O2 did not merge the byte loop (it showed up per frame in the Iggy batch walks).
    std::uint64_t le(std::size_t n) {
        if (!need(n))
            return 0;
        std::uint64_t v = 0;
        if constexpr (std::endian::native == std::endian::little) {
            if (n == 8) {
                std::memcpy(&v, in_.data() + pos_, 8);
            } else if (n == 4) {
                std::uint32_t w = 0;
                std::memcpy(&w, in_.data() + pos_, 4);
                v = w;
            } else {
                for (std::size_t i = n; i-- > 0;)
                    v = (v << 8) | static_cast<std::uint8_t>(in_[pos_ + i]);
            }
        } else {
            for (std::size_t i = n; i-- > 0;)
                v = (v << 8) | static_cast<std::uint8_t>(in_[pos_ + i]);
        }
        pos_ += n;
        return v;
    }

    std::string_view in_;
    std::size_t pos_ = 0;
    bool ok_ = true;
};

}  // namespace trib
