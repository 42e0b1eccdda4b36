#pragma once
// The pure part of the NATS connector: the sink's subject template, Iggy headers to NATS headers
// and back, and the source's deterministic message ids. No cnats here, no I/O: unit-tested
// without a server (tests/connectors/nats/mapping_test.cpp) and fuzzed (fuzz/nats).

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/connector.h"
#include "core/error.h"
#include "core/message.h"
#include "core/name_template.h"

namespace trib::connectors::nats {

/// The headers the source adds to each Iggy message (and the sink leaves out when it copies
/// headers back to NATS).
inline constexpr std::string_view subject_header = "nats.subject";    // string
inline constexpr std::string_view stream_header = "nats.stream";      // string (JetStream)
inline constexpr std::string_view sequence_header = "nats.sequence";  // uint64 (JetStream)
/// JetStream's de-duplication header: the sink sets it to the Iggy message id.
inline constexpr std::string_view msg_id_header = "Nats-Msg-Id";
/// Iggy's limit on a user header's key and value (1..255 bytes each).
inline constexpr std::size_t max_header_bytes = 255;

/// Parses a subject template (core/name_template.h: `{stream}`, `{topic}`, `{partition}`,
/// `{header:NAME}`, `{field:a.b}`); a template without placeholders must itself be a subject one
/// may publish to.
result<name_template> parse_subject(std::string_view text);

/// A subject one may publish to: non-empty, at most 4096 bytes, tokens separated by single dots,
/// no empty token, no whitespace or control byte, no wildcard token (`*`, `>`).
status check_publish_subject(std::string_view subject);
/// A subject filter one may subscribe with: as above, but `*` tokens and a final `>` allowed.
status check_subscribe_subject(std::string_view subject);

/// The subject of message `m` of batch `b`. An error (missing header or field, a rendered
/// subject NATS refuses) is the message's: it goes to the error policy.
result<std::string> render_subject(const name_template& t, const sink_batch& b, const message& m);

/// How the sink copies Iggy headers to NATS headers.
struct header_out_options {
    bool include = true;
    /// Iggy header names not copied; an entry ending in '*' is a prefix.
    std::vector<std::string> exclude;
};

/// An Iggy header value as NATS header text: strings as they are, booleans `true`/`false`,
/// numbers in decimal (floats shortest round-trip, NaN/inf `null`), 128-bit values as 32 hex
/// digits and raw bytes as base64 (as core/header_json renders them).
std::string nats_header_text(const header& h);

/// The NATS headers of message `m`, in its order, without the source's nats.* headers and the
/// excluded ones, then `Nats-Msg-Id` = the Iggy id as 32 hex digits when `msg_id` is set (an Iggy
/// header of that name is not copied). An error (a header name NATS cannot carry: empty, with
/// `:`, a space or a control byte; a value with CR, LF or NUL) is the message's.
result<std::vector<std::pair<std::string, std::string>>> nats_headers(const header_out_options& o,
                                                                      const message& m,
                                                                      bool msg_id);

/// What the source does with a NATS header Iggy cannot hold (a name or value longer than 255
/// bytes, an empty value).
enum class unfit_policy { reject, skip };

/// One NATS header as the client library hands it over: a name and its values in order.
struct nats_header {
    std::string_view name;
    std::vector<std::string_view> values;
};

/// The Iggy headers of a NATS message: each NATS header as a string header (several values
/// joined by ", "; a repeated name: the first one wins), then the nats.* metadata (subject;
/// with JetStream the stream and stream sequence). An unfit header is skipped or makes an
/// error (the message's, for the error policy) by `unfit`.
result<std::vector<header>> iggy_headers(const std::vector<nats_header>& in,
                                         std::string_view subject, std::string_view stream,
                                         std::uint64_t stream_sequence, bool metadata,
                                         unfit_policy unfit);

/// The Iggy message id of a JetStream message: XXH3-128 of ("nats", stream, stream sequence)
/// (core/message_id.h), the same after every redelivery.
message_id jetstream_message_id(std::string_view stream, std::uint64_t stream_sequence);

}  // namespace trib::connectors::nats
