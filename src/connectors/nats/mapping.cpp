// The pure part of the NATS connector; see mapping.h.

#include "connectors/nats/mapping.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "core/header_json.h"
#include "core/message_id.h"
#include "core/name_pattern.h"

namespace trib::connectors::nats {
namespace {

error bad(std::string msg) {
    return error(errc::invalid_argument, retry_class::fatal, std::move(msg));
}

bool control_or_space(unsigned char c) {
    return c <= ' ' || c == 0x7f;
}

status check_subject(std::string_view s, bool wildcards) {
    if (s.empty())
        return bad("the subject is empty");
    if (s.size() > 4096)
        return bad(fmt::format("the subject is {} bytes long (at most 4096)", s.size()));
    std::size_t start = 0;
    for (;;) {
        const std::size_t dot = s.find('.', start);
        const std::string_view token =
            s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (token.empty())
            return bad(
                fmt::format("subject '{}' has an empty token (two dots, or a dot at an end)", s));
        for (char c : token) {
            if (control_or_space(static_cast<unsigned char>(c)))
                return bad(fmt::format("subject '{}' holds a space or control byte", s));
        }
        const bool last = dot == std::string_view::npos;
        if (token == "*" || token == ">") {
            if (!wildcards)
                return bad(
                    fmt::format("subject '{}' holds a wildcard token; one can only "
                                "publish to a concrete subject",
                                s));
            if (token == ">" && !last)
                return bad(fmt::format("subject '{}': '>' must be the last token", s));
        }
        if (last)
            break;
        start = dot + 1;
    }
    return ok();
}

bool header_name_ok(std::string_view n) {
    if (n.empty())
        return false;
    for (char ch : n) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= ' ' || c >= 0x7f || c == ':')
            return false;
    }
    return true;
}

bool header_value_ok(std::string_view v) {
    return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

}  // namespace

result<name_template> parse_subject(std::string_view text) {
    TRIB_ASSIGN_OR_RETURN(auto t, name_template::parse(text, "subject"));
    const auto& parts = t.parts();
    if (parts.size() == 1 && parts[0].what == name_template::part::kind::literal)
        TRIB_TRY(check_publish_subject(parts[0].text));
    return t;
}

status check_publish_subject(std::string_view subject) {
    return check_subject(subject, false);
}
status check_subscribe_subject(std::string_view subject) {
    return check_subject(subject, true);
}

result<std::string> render_subject(const name_template& t, const sink_batch& b, const message& m) {
    payload_fields fields(m.payload);
    TRIB_ASSIGN_OR_RETURN(auto out, render_name(t, name_context{b.stream, b.topic, b.partition}, m,
                                                fields, "subject"));
    TRIB_TRY(check_publish_subject(out));
    return out;
}

std::string nats_header_text(const header& h) {
    if (h.kind == value_kind::string)
        return h.value;
    std::string json;
    append_header_json_value(json, h);
    // Raw (base64) and 128-bit (hex) values come quoted; neither holds a character JSON escapes.
    if (json.size() >= 2 && json.front() == '"' && json.back() == '"')
        return json.substr(1, json.size() - 2);
    return json;
}

result<std::vector<std::pair<std::string, std::string>>> nats_headers(const header_out_options& o,
                                                                      const message& m,
                                                                      bool msg_id) {
    std::vector<std::pair<std::string, std::string>> out;
    if (o.include) {
        for (const auto& h : m.headers) {
            if (h.key == subject_header || h.key == stream_header || h.key == sequence_header)
                continue;
            if (msg_id && h.key == msg_id_header)
                continue;
            if (matches_name_pattern(h.key, o.exclude))
                continue;
            if (!header_name_ok(h.key))
                return bad(
                    fmt::format("header name '{}' cannot be a NATS header (empty, or "
                                "holds ':', a space or a control byte)",
                                h.key));
            std::string text = nats_header_text(h);
            if (!header_value_ok(text))
                return bad(
                    fmt::format("the value of header '{}' holds CR, LF or NUL, which a "
                                "NATS header cannot carry",
                                h.key));
            out.emplace_back(h.key, std::move(text));
        }
    }
    if (msg_id)
        out.emplace_back(std::string(msg_id_header), to_hex(m.id));
    return out;
}

result<std::vector<header>> iggy_headers(const std::vector<nats_header>& in,
                                         std::string_view subject, std::string_view stream,
                                         std::uint64_t stream_sequence, bool metadata,
                                         unfit_policy unfit) {
    std::vector<header> out;
    out.reserve(in.size() + 3);
    auto seen = [&](std::string_view name) {
        for (const auto& h : out) {
            if (h.key == name)
                return true;
        }
        return false;
    };
    for (const auto& nh : in) {
        if (seen(nh.name))
            continue;
        std::string value;
        for (std::size_t i = 0; i < nh.values.size(); ++i) {
            if (i > 0)
                value += ", ";
            value += nh.values[i];
        }
        const bool fits = !nh.name.empty() && nh.name.size() <= max_header_bytes &&
                          !value.empty() && value.size() <= max_header_bytes;
        if (!fits) {
            if (unfit == unfit_policy::skip)
                continue;
            return bad(fmt::format(
                "NATS header '{}' does not fit an Iggy header (name {} bytes, value {} bytes; "
                "Iggy takes 1..255 each); set unfit_headers = \"skip\" to drop such headers",
                nh.name.substr(0, 64), nh.name.size(), value.size()));
        }
        out.push_back(header{std::string(nh.name), value_kind::string, std::move(value)});
    }
    if (metadata) {
        if (!subject.empty() && subject.size() <= max_header_bytes)
            out.push_back(
                header{std::string(subject_header), value_kind::string, std::string(subject)});
        if (!stream.empty() && stream.size() <= max_header_bytes) {
            out.push_back(
                header{std::string(stream_header), value_kind::string, std::string(stream)});
            std::string le(8, '\0');
            for (int i = 0; i < 8; ++i)
                le[static_cast<std::size_t>(i)] = static_cast<char>(stream_sequence >> (8 * i));
            out.push_back(header{std::string(sequence_header), value_kind::uint64, std::move(le)});
        }
    }
    return out;
}

message_id jetstream_message_id(std::string_view stream, std::uint64_t stream_sequence) {
    return message_id_builder("nats").add(stream).add_u64(stream_sequence).finish();
}

}  // namespace trib::connectors::nats
