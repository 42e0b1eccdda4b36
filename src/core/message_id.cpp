#include "core/message_id.h"

#include <xxhash.h>

#include <fmt/format.h>

namespace trib {

message_id_builder& message_id_builder::add(std::string_view s) {
    add_u32(static_cast<std::uint32_t>(s.size()));
    buf_.append(s);
    return *this;
}

message_id_builder& message_id_builder::add_u32(std::uint32_t v) {
    for (int i = 3; i >= 0; --i)
        buf_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
}

message_id_builder& message_id_builder::add_u64(std::uint64_t v) {
    for (int i = 7; i >= 0; --i)
        buf_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
    return *this;
}

message_id message_id_builder::finish() const {
    const XXH128_hash_t h = XXH3_128bits(buf_.data(), buf_.size());
    message_id id{h.low64, h.high64};
    if (id.is_zero())
        id.lo = 1;
    return id;
}

message_id message_id_of(std::string_view domain, std::string_view identity) {
    return message_id_builder(domain).add(identity).finish();
}

std::string to_hex(const message_id& id) {
    return fmt::format("{:016x}{:016x}", id.hi, id.lo);
}

std::string to_decimal(const message_id& id) {
    __extension__ typedef unsigned __int128 u128;
    u128 v = (static_cast<u128>(id.hi) << 64) | id.lo;
    if (v == 0)
        return "0";
    char buf[40];
    int n = 0;
    while (v != 0) {
        buf[n++] = static_cast<char>('0' + static_cast<int>(v % 10));
        v /= 10;
    }
    std::string out;
    out.reserve(static_cast<std::size_t>(n));
    while (n > 0)
        out += buf[--n];
    return out;
}

}  // namespace trib
