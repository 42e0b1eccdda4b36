// Object names of the object sink: template parsing and rendering, offset file names.

#include "connectors/s3/path.h"

#include <fmt/format.h>

#include <charconv>
#include <ctime>

#include "core/json_parse.h"
#include "core/json_path.h"

namespace trib::connectors::s3_detail {
namespace {

constexpr std::string_view k_names[] = {
    "stream", "topic", "partition", "date",      "hour",         "year",
    "month",  "day",   "minute",    "timestamp", "receive_date", "receive_hour",
};

bool known(std::string_view n) {
    if (n.starts_with("payload.") && n.size() > 8)
        return true;
    for (auto k : k_names) {
        if (k == n)
            return true;
    }
    return false;
}

std::tm utc(std::uint64_t us) {
    const auto secs = static_cast<std::time_t>(us / 1000000u);
    std::tm t{};
    ::gmtime_r(&secs, &t);
    return t;
}

/// Keeps a rendered value from changing the key's structure.
void append_safe(std::string& out, std::string_view v) {
    if (v.empty() || v == "." || v == "..") {
        out += '_';
        return;
    }
    for (char c : v) {
        const auto u = static_cast<unsigned char>(c);
        out += (c == '/' || c == '\\' || u < 0x20 || u == 0x7f) ? '_' : c;
    }
}

/// The text of a JSON field at a dotted path, or "unknown".
std::string payload_field(std::string_view payload, std::string_view path) {
    if (payload.empty() || payload.size() > (64u << 20))
        return "unknown";
    rapidjson::Document d;
    if (!parse_json_document(payload, d))
        return "unknown";
    const rapidjson::Value* v = json_member_at(d, path);
    auto text = v != nullptr ? json_scalar_text(*v) : std::nullopt;
    return text ? *text : "unknown";
}

}  // namespace

result<path_template> path_template::parse(std::string_view text) {
    path_template t;
    std::string lit;
    for (std::size_t i = 0; i < text.size();) {
        const char c = text[i];
        if (c == '{') {
            const auto end = text.find('}', i + 1);
            if (end == std::string_view::npos)
                return fail(errc::invalid_argument,
                            fmt::format("unclosed '{{' at character {}", i + 1));
            const auto name = text.substr(i + 1, end - i - 1);
            if (!known(name))
                return fail(errc::invalid_argument,
                            fmt::format("unknown placeholder {{{}}} (known: stream, topic, "
                                        "partition, date, hour, year, month, day, minute, "
                                        "timestamp, receive_date, receive_hour, payload.<field>)",
                                        name));
            if (!lit.empty())
                t.parts_.push_back({true, std::move(lit)});
            lit.clear();
            t.parts_.push_back({false, std::string(name)});
            i = end + 1;
        } else if (c == '}') {
            return fail(errc::invalid_argument,
                        fmt::format("'}}' without '{{' at character {}", i + 1));
        } else {
            lit += c;
            ++i;
        }
    }
    if (!lit.empty())
        t.parts_.push_back({true, std::move(lit)});
    return t;
}

std::string path_template::render(const path_context& ctx) const {
    std::string out;
    const std::tm m = utc(ctx.message_time_us);
    for (const auto& p : parts_) {
        if (p.literal) {
            out += p.text;
            continue;
        }
        const auto& n = p.text;
        if (n == "stream") {
            append_safe(out, ctx.stream);
        } else if (n == "topic") {
            append_safe(out, ctx.topic);
        } else if (n == "partition") {
            out += std::to_string(ctx.partition);
        } else if (n == "date") {
            out += fmt::format("{:04}-{:02}-{:02}", m.tm_year + 1900, m.tm_mon + 1, m.tm_mday);
        } else if (n == "hour") {
            out += fmt::format("{:02}", m.tm_hour);
        } else if (n == "year") {
            out += fmt::format("{:04}", m.tm_year + 1900);
        } else if (n == "month") {
            out += fmt::format("{:02}", m.tm_mon + 1);
        } else if (n == "day") {
            out += fmt::format("{:02}", m.tm_mday);
        } else if (n == "minute") {
            out += fmt::format("{:02}", m.tm_min);
        } else if (n == "timestamp") {
            out += std::to_string(ctx.receive_time_us / 1000u);
        } else if (n == "receive_date" || n == "receive_hour") {
            const std::tm r = utc(ctx.receive_time_us);
            out += n == "receive_hour" ? fmt::format("{:02}", r.tm_hour)
                                       : fmt::format("{:04}-{:02}-{:02}", r.tm_year + 1900,
                                                     r.tm_mon + 1, r.tm_mday);
        } else if (n.starts_with("payload.")) {
            append_safe(out, payload_field(ctx.payload, std::string_view(n).substr(8)));
        }
    }
    return out;
}

bool path_template::uses(std::string_view name) const {
    for (const auto& p : parts_) {
        if (!p.literal && p.text == name)
            return true;
    }
    return false;
}

bool path_template::uses_receive_time() const {
    return uses("timestamp") || uses("receive_date") || uses("receive_hour");
}

bool path_template::uses_payload() const {
    for (const auto& p : parts_) {
        if (!p.literal && p.text.starts_with("payload."))
            return true;
    }
    return false;
}

std::string object_file_prefix(bool partition_in_path, std::uint32_t partition,
                               std::uint64_t first) {
    if (partition_in_path)
        return fmt::format("{:06}-", first);
    return fmt::format("p{}_{:06}-", partition, first);
}

std::string object_file_name(bool partition_in_path, std::uint32_t partition, std::uint64_t first,
                             std::uint64_t last, std::string_view ext) {
    return fmt::format("{}{:06}.{}", object_file_prefix(partition_in_path, partition, first), last,
                       ext);
}

bool parse_object_last_offset(std::string_view name, std::uint64_t first, std::uint64_t& last) {
    // "<prefix><digits>.<ext>": the caller listed by the prefix; the digits follow its '-'.
    const auto dash = name.find('-');
    if (dash == std::string_view::npos)
        return false;
    const auto digits_at = dash + 1;
    const auto dot = name.find('.', digits_at);
    if (dot == std::string_view::npos || dot == digits_at)
        return false;
    const char* b = name.data() + digits_at;
    const char* e = name.data() + dot;
    auto [p, ec] = std::from_chars(b, e, last);
    return ec == std::errc{} && p == e && last >= first;
}

std::string join_key(std::string_view prefix, std::string_view dir, std::string_view file) {
    std::string out;
    auto add = [&](std::string_view s) {
        while (!s.empty() && s.front() == '/')
            s.remove_prefix(1);
        while (!s.empty() && s.back() == '/')
            s.remove_suffix(1);
        if (s.empty())
            return;
        if (!out.empty())
            out += '/';
        out += s;
    };
    add(prefix);
    add(dir);
    add(file);
    return out;
}

std::string rfc3339_seconds(std::uint64_t us) {
    const std::tm t = utc(us);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", t.tm_year + 1900, t.tm_mon + 1,
                       t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec);
}

}  // namespace trib::connectors::s3_detail
