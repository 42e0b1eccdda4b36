#include "codecs/registry/framing.h"

#include "codecs/codec.h"

namespace trib::codecs::registry {

result<frame> read_frame(std::string_view payload) {
    if (payload.size() < header_size)
        return bad_payload("schema registry: payload of " + std::to_string(payload.size()) +
                           " bytes is shorter than the 5-byte header (magic byte + schema id)");
    if (static_cast<std::uint8_t>(payload[0]) != magic_byte)
        return bad_payload("schema registry: unknown magic byte " +
                           std::to_string(static_cast<std::uint8_t>(payload[0])) +
                           " (expected 0: not a schema-registry framed payload)");
    frame f;
    for (std::size_t i = 1; i < header_size; ++i)
        f.schema_id = (f.schema_id << 8) | static_cast<std::uint8_t>(payload[i]);
    f.body = payload.substr(header_size);
    return f;
}

void write_frame_header(std::uint32_t schema_id, std::string& out) {
    out.push_back(static_cast<char>(magic_byte));
    for (int shift = 24; shift >= 0; shift -= 8)
        out.push_back(static_cast<char>((schema_id >> shift) & 0xff));
}

void write_zigzag_varint(std::int32_t v, std::string& out) {
    std::uint32_t z = (static_cast<std::uint32_t>(v) << 1) ^ static_cast<std::uint32_t>(v >> 31);
    while (z >= 0x80) {
        out.push_back(static_cast<char>((z & 0x7f) | 0x80));
        z >>= 7;
    }
    out.push_back(static_cast<char>(z));
}

bool read_zigzag_varint(std::string_view& in, std::int32_t& v) {
    std::uint64_t z = 0;
    for (std::size_t i = 0; i < 5; ++i) {
        if (i >= in.size())
            return false;
        const auto b = static_cast<std::uint8_t>(in[i]);
        z |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            if (z > 0xffffffffu)
                return false;
            const auto u = static_cast<std::uint32_t>(z);
            v = static_cast<std::int32_t>((u >> 1) ^ (~(u & 1) + 1));
            in.remove_prefix(i + 1);
            return true;
        }
    }
    return false;
}

result<std::vector<std::int32_t>> read_message_indexes(std::string_view& body) {
    std::string_view in = body;
    std::int32_t count = 0;
    if (!read_zigzag_varint(in, count))
        return bad_payload("schema registry: truncated or malformed Protobuf message-index count");
    if (count == 0) {
        body = in;
        return std::vector<std::int32_t>{0};
    }
    if (count < 0 || static_cast<std::size_t>(count) > max_message_indexes ||
        static_cast<std::size_t>(count) > in.size())
        return bad_payload("schema registry: Protobuf message-index count " +
                           std::to_string(count) + " is out of range (at most " +
                           std::to_string(max_message_indexes) +
                           ", and the bytes left: " + std::to_string(in.size()) + ")");
    std::vector<std::int32_t> out;
    out.reserve(static_cast<std::size_t>(count));
    for (std::int32_t i = 0; i < count; ++i) {
        std::int32_t idx = 0;
        if (!read_zigzag_varint(in, idx))
            return bad_payload("schema registry: truncated or malformed Protobuf message index");
        if (idx < 0)
            return bad_payload("schema registry: negative Protobuf message index " +
                               std::to_string(idx));
        out.push_back(idx);
    }
    body = in;
    return out;
}

void write_message_indexes(std::span<const std::int32_t> indexes, std::string& out) {
    if (indexes.size() == 1 && indexes[0] == 0) {
        out.push_back('\0');
        return;
    }
    write_zigzag_varint(static_cast<std::int32_t>(indexes.size()), out);
    for (std::int32_t i : indexes)
        write_zigzag_varint(i, out);
}

}  // namespace trib::codecs::registry
