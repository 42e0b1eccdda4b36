#pragma once
// Names made from a template: the Kafka sink's topic and the NATS sink's subject (one parser and
// one renderer instead of a copy per connector). A template is literal text and placeholders:
// `{stream}`, `{topic}`, `{partition}` (the Iggy batch's), `{header:NAME}` (a user header of the
// message), `{field:a.b}` (a field of the message's JSON payload); `{{` and `}}` are literal
// braces. The connector checks the rendered name against its system's rules.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/connector.h"
#include "core/error.h"
#include "core/message.h"

namespace trib {

class name_template {
  public:
    struct part {
        enum class kind { literal, stream, topic, partition, header, field } what = kind::literal;
        std::string text;  // the literal, the header name or the field path
    };
    /// Parses `text`; the error (invalid_argument, fatal) names the offending placeholder or
    /// brace. An empty template is an error.
    static result<name_template> parse(std::string_view text);
    const std::vector<part>& parts() const { return parts_; }
    /// True when rendering needs the message's JSON payload (a `{field:...}`).
    bool needs_payload() const;
    /// True when every message of a batch gets the same name (no header or field placeholder).
    bool per_batch() const;
    /// The literal text when the template has no placeholder.
    const std::string* literal() const;

    /// How a header value becomes text, and a field's value as text (its error is the
    /// message's: not JSON, missing, not a scalar).
    struct renderers {
        std::function<std::string(const header&)> header_text;
        std::function<result<std::string>(std::string_view path)> field_text;
    };
    /// The name for message `m` of batch `b`. A missing header is an error (invalid_argument,
    /// fatal: the message's).
    result<std::string> render(const sink_batch& b, const message& m, const renderers& r) const;

  private:
    std::vector<part> parts_;
};

}  // namespace trib
