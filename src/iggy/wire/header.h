#pragma once
// The 256-byte frame headers of protocol 0.11 (request, reply, eviction), the frame-size rules and
// the reply-decoding steps of iggy-protocol.md section 1.7. Pure codec: no I/O.
//
// Both sides use this file: the client encodes requests and decodes replies; the embedded server
// decodes requests and encodes replies and evictions.

#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/error.h"
#include "iggy/wire/bytes.h"
#include "iggy/wire/codes.h"

namespace trib::iggy {

inline constexpr std::size_t header_size = 256;
/// `[message_bus] max_message_size` default: 64 MiB, header included.
inline constexpr std::uint32_t max_frame_size = 64u * 1024u * 1024u;

/// The command byte at offset 60: which header shape a frame has.
enum class frame_command : std::uint8_t { request = 5, reply = 8, eviction = 13 };
/// Command bytes above this make a 0.9 server close the connection.
inline constexpr std::uint8_t max_frame_command = 29;

/// Client to server (section 1.3).
struct request_header {
    u128 checksum;       // 0 on client frames
    u128 checksum_body;  // 0
    u128 cluster;        // 0
    std::uint32_t size = header_size;
    std::uint32_t view = 0;
    std::uint32_t release = 0;
    std::uint8_t replica = 0;
    u128 client;            // non-zero, fixed for the session
    u128 request_checksum;  // 0 = unstamped; else XXH3-64(body) zero-extended
    std::uint64_t timestamp = 0;
    std::uint64_t request = 0;
    std::uint8_t operation = 0;  // an `operation` value
    std::uint64_t session = 0;
    std::uint32_t user_id = 0;
    std::uint32_t code = 0;  // only for operation non_replicated (offset 196)

    /// Writes the 256 bytes (command byte 5, reserved bytes zero).
    void encode(std::uint8_t* out) const;
    /// Reads a request header; fails if the command byte is not 5. Does not validate the fields
    /// (see `validate`), so a server can decide what to do with a bad header.
    static result<request_header> decode(bytes_view header);
    /// The server's admission checks (section 1.3): client != 0, a defined operation, Register
    /// with session 0 and request 0, other non-NR ops with session > 0 and request > 0.
    /// A header that fails them is dropped without a reply.
    status validate() const;
    /// The command this request carries: the code at 196 for NR, else the op's command.
    std::optional<std::uint32_t> command() const;
};

/// Server to client (section 1.5).
struct reply_header {
    u128 checksum;
    u128 checksum_body;
    u128 cluster;
    std::uint32_t size = header_size;
    std::uint32_t view = 0;
    std::uint32_t release = 0;
    std::uint8_t replica = 0;
    u128 request_checksum;
    u128 context;
    u128 client;           // at 160 (not 128)
    std::uint64_t op = 0;  // the session on login and ping replies
    std::uint64_t commit = 0;
    std::uint64_t timestamp = 0;
    std::uint64_t request = 0;
    std::uint8_t operation = 0;
    std::uint32_t status = 0;

    void encode(std::uint8_t* out) const;
    /// Reads a reply header; fails if the command byte is not 8.
    static result<reply_header> decode(bytes_view header);
    /// A reply header that echoes what a server must echo (cluster, view, release, replica,
    /// request checksum, client, timestamp, request number, operation).
    static reply_header for_request(const request_header& req);
};

/// Server to client, header only, terminal for the session (section 1.8).
struct eviction_header {
    u128 client;
    std::uint32_t server_protocol_version = 0;      // only for incompatible_protocol
    std::uint32_t server_protocol_version_min = 0;  // only for incompatible_protocol
    std::uint8_t reason = 0;                        // an eviction_reason value

    void encode(std::uint8_t* out) const;
    /// Reads an eviction header; fails if the command byte is not 13.
    static result<eviction_header> decode(bytes_view header);
    /// The Iggy code SDKs report for it, as a trib::error.
    error to_error() const;
};

/// What the first 256 bytes of a frame say about the rest.
struct frame_prefix {
    std::uint8_t command = 0;   // 5, 8, 13 (or replica traffic)
    std::uint32_t size = 0;     // whole frame, header included
    std::size_t body_size = 0;  // how many more bytes to read
};
/// Reads command and size from a header and checks `256 <= size <= max_size`. The caller then
/// reads `body_size` more bytes. An error means the framing is lost: close the connection.
result<frame_prefix> read_frame_prefix(bytes_view header, std::uint32_t max_size = max_frame_size);

/// XXH3-64 of a body, zero-extended: the optional request stamp (offset 144).
u128 body_checksum(bytes_view body);

/// A request frame built in place: reserves the header, the caller appends the body through
/// `body()`, then `finish` writes the header with the final size. Reuses the buffer's capacity.
class request_frame_builder {
  public:
    explicit request_frame_builder(bytes& out) : out_(out), w_(out) {
        out_.clear();
        out_.resize(header_size);
    }
    writer& body() { return w_; }
    /// Writes the header (size filled in) and, if `stamp`, the body checksum. Returns the frame.
    bytes_view finish(request_header h, bool stamp = false);

  private:
    bytes& out_;
    writer w_;
};

/// A reply frame built in place (server side). For result-framed ops, call `result_ok()` before
/// appending the payload; `finish` fills in the size.
class reply_frame_builder {
  public:
    explicit reply_frame_builder(bytes& out) : out_(out), w_(out) {
        out_.clear();
        out_.resize(header_size);
    }
    writer& body() { return w_; }
    /// Appends `[count=0]`: success of a result-framed reply, payload follows.
    void result_ok() { w_.u32(0); }
    /// Appends `[count=1][index=0][code]`: a committed business rejection (no payload).
    void result_error(std::uint32_t iggy_code) {
        w_.u32(1);
        w_.u32(0);
        w_.u32(iggy_code);
    }
    bytes_view finish(reply_header h);

  private:
    bytes& out_;
    writer w_;
};

/// Encodes a whole header-only frame of an eviction.
bytes encode_eviction(const eviction_header& h);

/// A frame a client read from the server.
struct server_frame {
    frame_command kind = frame_command::reply;
    reply_header reply;        // kind == reply
    eviction_header eviction;  // kind == eviction
    bytes_view body;           // the bytes after the header (empty for evictions)
};

/// Section 1.7 steps 1-2: classifies a whole frame (header + body) from the server. An eviction is
/// returned as a frame (not an error) so the caller can see its reason; anything other than a
/// reply or an eviction, or a size that disagrees with the frame, is a protocol error.
result<server_frame> decode_server_frame(bytes_view frame);

/// Section 1.7 steps 3-5: the typed payload of a reply, or its error. A non-zero status becomes
/// that Iggy error; for result-framed ops a `count >= 1` result section becomes the error of its
/// first entry and `count == 0` strips the section; otherwise the whole body is the payload.
/// Errors carry errc, retry class (57/58 retryable) and vendor_code = the Iggy code.
result<bytes_view> reply_payload(const reply_header& h, bytes_view body);

/// Steps 1-5 in one: an eviction becomes its mapped error, a reply its payload.
result<bytes_view> decode_reply(bytes_view frame);

/// The error for a lost connection or a reply that never came: unavailable/timeout, retryable.
error connection_lost(std::string_view what);

}  // namespace trib::iggy
