#pragma once
// Names made from a template: the Kafka sink's topic, the RabbitMQ sink's exchange and routing
// key. Literal text and `{stream}`, `{topic}`, `{partition}`, `{header:NAME}`, `{field:a.b}`
// placeholders (`{{` and `}}` are literal braces); header values and payload fields render as
// text the same way for every sink that uses it. Pure: no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/message.h"

namespace trib {

/// A parsed name template.
class name_template {
  public:
    struct part {
        enum class kind { literal, stream, topic, partition, header, field } what = kind::literal;
        std::string text;  // the literal, the header name or the field path
    };
    /// Parses `text`; the error names the offending placeholder. `what` names the result in
    /// errors ("topic", "routing key"); an empty template is refused unless `allow_empty`.
    static result<name_template> parse(std::string_view text, std::string_view what = "topic",
                                       bool allow_empty = false);
    const std::vector<part>& parts() const { return parts_; }
    /// True when rendering needs the message's JSON payload.
    bool needs_payload() const;
    /// True when every message of a batch renders the same (no header/field placeholder).
    bool per_batch() const;

  private:
    std::vector<part> parts_;
};

/// A payload parsed as JSON once per message, on first use (field lookups).
class payload_fields {
  public:
    explicit payload_fields(std::string_view payload) : payload_(payload) {}
    ~payload_fields();
    payload_fields(const payload_fields&) = delete;
    payload_fields& operator=(const payload_fields&) = delete;
    /// The value at a dotted path of the payload's JSON object, as text (strings as they are,
    /// numbers and booleans as JSON writes them). The error says why (not JSON, missing, an
    /// object or array, null).
    result<std::string> text(std::string_view path);

  private:
    struct doc;
    std::string_view payload_;
    doc* doc_ = nullptr;
    std::optional<error> parse_error_;
    bool parsed_ = false;
};

/// Where a template's Iggy placeholders come from.
struct name_context {
    std::string_view stream;
    std::string_view topic;
    std::uint32_t partition = 0;
};

/// Renders `t` for message `m`. A missing header or field is the message's error (fatal class,
/// `what` names the template in it).
result<std::string> render_name(const name_template& t, const name_context& c, const message& m,
                                payload_fields& fields, std::string_view what = "topic");

/// A header value as text: raw and string as they are, booleans `true`/`false`, numbers in
/// decimal (floats shortest round-trip), 128-bit values as 32 hex digits (little-endian bytes as
/// stored, like core/header_json). A numeric header of the wrong width passes its bytes on.
std::string header_text(const header& h);

/// An integer carried by a header: a numeric kind, or decimal text in a string/raw header.
std::optional<std::int64_t> header_integer(const header& h);

}  // namespace trib
