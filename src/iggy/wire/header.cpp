#include "iggy/wire/header.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <fmt/format.h>

#include <cstring>

namespace trib::iggy {

using op_t = operation;

namespace {

void put_u128(std::uint8_t* p, const u128& v) {
    store_u64(p, v.lo);
    store_u64(p + 8, v.hi);
}
u128 get_u128(const std::uint8_t* p) {
    return {load_u64(p), load_u64(p + 8)};
}

status need_header(bytes_view h, std::uint8_t command, std::string_view what) {
    if (h.size() < header_size)
        return fail(errc::protocol_error,
                    fmt::format("{} header: short ({} bytes)", what, h.size()));
    if (h[60] != command) {
        return fail(errc::protocol_error,
                    fmt::format("{} header: command byte {} (expected {})", what, h[60], command));
    }
    return ok();
}

}  // namespace

void request_header::encode(std::uint8_t* p) const {
    std::memset(p, 0, header_size);
    put_u128(p + 0, checksum);
    put_u128(p + 16, checksum_body);
    put_u128(p + 32, cluster);
    store_u32(p + 48, size);
    store_u32(p + 52, view);
    store_u32(p + 56, release);
    p[60] = static_cast<std::uint8_t>(frame_command::request);
    p[61] = replica;
    put_u128(p + 128, client);
    put_u128(p + 144, request_checksum);
    store_u64(p + 160, timestamp);
    store_u64(p + 168, request);
    p[176] = operation;
    store_u64(p + 184, session);
    store_u32(p + 192, user_id);
    if (operation == static_cast<std::uint8_t>(op_t::non_replicated))
        store_u32(p + 196, code);
}

result<request_header> request_header::decode(bytes_view b) {
    TRIB_TRY(need_header(b, static_cast<std::uint8_t>(frame_command::request), "request"));
    const std::uint8_t* p = b.data();
    request_header h;
    h.checksum = get_u128(p + 0);
    h.checksum_body = get_u128(p + 16);
    h.cluster = get_u128(p + 32);
    h.size = load_u32(p + 48);
    h.view = load_u32(p + 52);
    h.release = load_u32(p + 56);
    h.replica = p[61];
    h.client = get_u128(p + 128);
    h.request_checksum = get_u128(p + 144);
    h.timestamp = load_u64(p + 160);
    h.request = load_u64(p + 168);
    h.operation = p[176];
    h.session = load_u64(p + 184);
    h.user_id = load_u32(p + 192);
    if (h.operation == static_cast<std::uint8_t>(op_t::non_replicated))
        h.code = load_u32(p + 196);
    return h;
}

status request_header::validate() const {
    if (client.is_zero())
        return fail(errc::protocol_error, "request header: client id is zero");
    if (!is_defined_operation(operation)) {
        return fail(errc::protocol_error,
                    fmt::format("request header: undefined operation {}", operation));
    }
    if (operation >= 64 && operation <= 68)
        return fail(errc::protocol_error, "request header: server-internal operation");
    const auto op = static_cast<op_t>(operation);
    if (op == op_t::register_session) {
        if (session != 0 || request != 0)
            return fail(errc::protocol_error,
                        "request header: Register needs session 0, request 0");
    } else if (op != op_t::non_replicated) {
        if (session == 0 || request == 0) {
            return fail(errc::protocol_error,
                        "request header: replicated op needs session > 0 and request > 0");
        }
    }
    return ok();
}

std::optional<std::uint32_t> request_header::command() const {
    if (operation == static_cast<std::uint8_t>(op_t::non_replicated))
        return code;
    if (!is_defined_operation(operation))
        return std::nullopt;
    return command_for_operation(static_cast<op_t>(operation));
}

void reply_header::encode(std::uint8_t* p) const {
    std::memset(p, 0, header_size);
    put_u128(p + 0, checksum);
    put_u128(p + 16, checksum_body);
    put_u128(p + 32, cluster);
    store_u32(p + 48, size);
    store_u32(p + 52, view);
    store_u32(p + 56, release);
    p[60] = static_cast<std::uint8_t>(frame_command::reply);
    p[61] = replica;
    put_u128(p + 128, request_checksum);
    put_u128(p + 144, context);
    put_u128(p + 160, client);
    store_u64(p + 176, op);
    store_u64(p + 184, commit);
    store_u64(p + 192, timestamp);
    store_u64(p + 200, request);
    p[208] = operation;
    store_u32(p + 216, status);
}

result<reply_header> reply_header::decode(bytes_view b) {
    TRIB_TRY(need_header(b, static_cast<std::uint8_t>(frame_command::reply), "reply"));
    const std::uint8_t* p = b.data();
    reply_header h;
    h.checksum = get_u128(p + 0);
    h.checksum_body = get_u128(p + 16);
    h.cluster = get_u128(p + 32);
    h.size = load_u32(p + 48);
    h.view = load_u32(p + 52);
    h.release = load_u32(p + 56);
    h.replica = p[61];
    h.request_checksum = get_u128(p + 128);
    h.context = get_u128(p + 144);
    h.client = get_u128(p + 160);
    h.op = load_u64(p + 176);
    h.commit = load_u64(p + 184);
    h.timestamp = load_u64(p + 192);
    h.request = load_u64(p + 200);
    h.operation = p[208];
    h.status = load_u32(p + 216);
    return h;
}

reply_header reply_header::for_request(const request_header& req) {
    reply_header h;
    h.cluster = req.cluster;
    h.view = req.view;
    h.release = req.release;
    h.replica = req.replica;
    h.request_checksum = req.request_checksum;
    h.client = req.client;
    h.timestamp = req.timestamp;
    h.request = req.request;
    h.operation = req.operation;
    return h;
}

void eviction_header::encode(std::uint8_t* p) const {
    std::memset(p, 0, header_size);
    store_u32(p + 48, static_cast<std::uint32_t>(header_size));
    p[60] = static_cast<std::uint8_t>(frame_command::eviction);
    put_u128(p + 128, client);
    store_u32(p + 144, server_protocol_version);
    store_u32(p + 148, server_protocol_version_min);
    p[255] = reason;
}

result<eviction_header> eviction_header::decode(bytes_view b) {
    TRIB_TRY(need_header(b, static_cast<std::uint8_t>(frame_command::eviction), "eviction"));
    eviction_header h;
    h.client = get_u128(b.data() + 128);
    h.server_protocol_version = load_u32(b.data() + 144);
    h.server_protocol_version_min = load_u32(b.data() + 148);
    h.reason = b[255];
    return h;
}

error eviction_header::to_error() const {
    auto c = eviction_error_code(reason, server_protocol_version, server_protocol_version_min);
    auto ctx =
        fmt::format("evicted by the server ({}, reason {})", eviction_reason_name(reason), reason);
    if (reason == static_cast<std::uint8_t>(eviction_reason::incompatible_protocol)) {
        ctx += fmt::format(", server accepts protocol {:#x}..{:#x}", server_protocol_version_min,
                           server_protocol_version);
    }
    return iggy_error(c, ctx);
}

result<frame_prefix> read_frame_prefix(bytes_view h, std::uint32_t max_size) {
    if (h.size() < header_size)
        return fail(errc::protocol_error, "frame: fewer than 256 header bytes");
    frame_prefix f;
    f.command = h[60];
    f.size = load_u32(h.data() + 48);
    if (f.size < header_size || f.size > max_size) {
        return fail(errc::protocol_error,
                    fmt::format("frame: size {} outside 256..{}", f.size, max_size));
    }
    f.body_size = f.size - header_size;
    return f;
}

u128 body_checksum(bytes_view body) {
    return {XXH3_64bits(body.data(), body.size()), 0};
}

bytes_view request_frame_builder::finish(request_header h, bool stamp) {
    h.size = static_cast<std::uint32_t>(out_.size());
    if (stamp)
        h.request_checksum = body_checksum(bytes_view(out_).subspan(header_size));
    h.encode(out_.data());
    return out_;
}

bytes_view reply_frame_builder::finish(reply_header h) {
    h.size = static_cast<std::uint32_t>(out_.size());
    h.encode(out_.data());
    return out_;
}

bytes encode_eviction(const eviction_header& h) {
    bytes out(header_size);
    h.encode(out.data());
    return out;
}

result<server_frame> decode_server_frame(bytes_view frame) {
    TRIB_ASSIGN_OR_RETURN(auto prefix, read_frame_prefix(frame));
    if (prefix.size != frame.size()) {
        return fail(errc::protocol_error,
                    fmt::format("frame: size field {} but {} bytes", prefix.size, frame.size()));
    }
    server_frame out;
    if (prefix.command == static_cast<std::uint8_t>(frame_command::eviction)) {
        TRIB_ASSIGN_OR_RETURN(out.eviction, eviction_header::decode(frame));
        out.kind = frame_command::eviction;
        return out;
    }
    if (prefix.command != static_cast<std::uint8_t>(frame_command::reply)) {
        return fail(errc::protocol_error,
                    fmt::format("frame: unexpected command byte {} from server", prefix.command));
    }
    TRIB_ASSIGN_OR_RETURN(out.reply, reply_header::decode(frame));
    out.kind = frame_command::reply;
    out.body = frame.subspan(header_size);
    return out;
}

result<bytes_view> reply_payload(const reply_header& h, bytes_view body) {
    if (h.status != 0) {
        return iggy_error(h.status, fmt::format("request {} ({})", h.request,
                                                operation_name(static_cast<op_t>(h.operation))));
    }
    if (!is_result_framed(h.operation, body.size()))
        return body;
    if (body.size() < 4)
        return iggy_error(code::invalid_command, "reply: result section shorter than 4 bytes");
    std::uint32_t count = load_u32(body.data());
    if (count == 0)
        return body.subspan(4);
    if ((body.size() - 4) / 8 < count)
        return iggy_error(code::invalid_command, "reply: result section runs past the body");
    std::uint32_t c = load_u32(body.data() + 8);
    return iggy_error(c, fmt::format("request {} ({}) rejected", h.request,
                                     operation_name(static_cast<op_t>(h.operation))));
}

result<bytes_view> decode_reply(bytes_view frame) {
    TRIB_ASSIGN_OR_RETURN(auto f, decode_server_frame(frame));
    if (f.kind == frame_command::eviction)
        return f.eviction.to_error();
    return reply_payload(f.reply, f.body);
}

error connection_lost(std::string_view what) {
    return error(errc::unavailable, retry_class::retryable,
                 fmt::format("connection lost: {}", what));
}

}  // namespace trib::iggy
