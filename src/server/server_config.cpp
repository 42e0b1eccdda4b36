// Server settings from outside the options struct: the environment (Iggy's IGGY_* variables) and
// an Iggy server.toml (`tributary serve --config`).

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "server/model.h"
#include "server/server.h"

namespace trib::server {

namespace {

// Iggy's server.toml is a few KiB; a much larger file is not one.
constexpr std::uintmax_t max_config_bytes = 1 << 20;

constexpr std::string_view dedup_table = "system.message_deduplication";

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::optional<bool> parse_bool(std::string_view s) {
    auto v = lower(s);
    if (v == "true" || v == "1" || v == "yes" || v == "on")
        return true;
    if (v == "false" || v == "0" || v == "no" || v == "off")
        return false;
    return std::nullopt;
}

// Iggy's expiry: a duration text; "none" / "unlimited" / "0" mean no expiry (Iggy's zero
// duration: ids stay until evicted by count).
std::optional<std::uint64_t> parse_expiry_us(std::string_view s) {
    auto us = parse_duration_us(s);
    if (!us)
        return std::nullopt;
    return *us == UINT64_MAX ? 0 : *us;
}

std::optional<std::uint64_t> parse_count(std::string_view s) {
    if (s.empty() || s.size() > 19)
        return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9')
            return std::nullopt;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

error bad(std::string_view where, std::string_view what) {
    return error(errc::invalid_argument, fmt::format("{}: {}", where, what));
}

}  // namespace

status apply_environment(server_options& options) {
    if (options.root_username.empty()) {
        if (const char* u = std::getenv("IGGY_ROOT_USERNAME"); u && *u)
            options.root_username = u;
    }
    if (options.root_password.empty()) {
        if (const char* p = std::getenv("IGGY_ROOT_PASSWORD"); p && *p)
            options.root_password = p;
    }
    auto& d = options.message_deduplication;
    if (const char* v = std::getenv("IGGY_SYSTEM_MESSAGE_DEDUPLICATION_ENABLED"); v && *v) {
        auto b = parse_bool(v);
        if (!b)
            return unexpected(bad("IGGY_SYSTEM_MESSAGE_DEDUPLICATION_ENABLED",
                                  fmt::format("'{}' is not true or false", v)));
        d.enabled = *b;
    }
    if (const char* v = std::getenv("IGGY_SYSTEM_MESSAGE_DEDUPLICATION_MAX_ENTRIES"); v && *v) {
        auto n = parse_count(v);
        if (!n)
            return unexpected(bad("IGGY_SYSTEM_MESSAGE_DEDUPLICATION_MAX_ENTRIES",
                                  fmt::format("'{}' is not a non-negative integer", v)));
        d.max_entries = *n;
    }
    if (const char* v = std::getenv("IGGY_SYSTEM_MESSAGE_DEDUPLICATION_EXPIRY"); v && *v) {
        auto us = parse_expiry_us(v);
        if (!us)
            return unexpected(bad("IGGY_SYSTEM_MESSAGE_DEDUPLICATION_EXPIRY",
                                  fmt::format("'{}' is not a duration (e.g. \"1 m\")", v)));
        d.expiry_us = *us;
    }
    return ok();
}

status apply_iggy_server_config(const std::filesystem::path& file, server_options& options) {
    const std::string name = file.string();
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec)
        return fail(errc::invalid_argument, fmt::format("{}: {}", name, ec.message()));
    if (size > max_config_bytes) {
        return fail(errc::invalid_argument,
                    fmt::format("{}: {} bytes is too large for a server config", name, size));
    }
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in)
        return fail(errc::invalid_argument, fmt::format("{}: cannot be read", name));
    const std::string text = ss.str();
    toml::table root;
    try {
        root = toml::parse(text, std::string_view(name));
    } catch (const toml::parse_error& e) {
        return fail(errc::invalid_argument, fmt::format("{}:{}:{}: {}", name, e.source().begin.line,
                                                        e.source().begin.column, e.description()));
    }
    const toml::node* section = root.at_path(dedup_table).node();
    if (!section)
        return ok();
    const toml::table* t = section->as_table();
    if (!t)
        return fail(errc::invalid_argument, fmt::format("{}: {}: not a table", name, dedup_table));
    auto& d = options.message_deduplication;
    for (const auto& [key, node] : *t) {
        const std::string where = fmt::format("{}: {}.{}", name, dedup_table, key.str());
        if (key == "enabled") {
            auto b = node.value<bool>();
            if (!b || !node.is_boolean())
                return unexpected(bad(where, "expected true or false"));
            d.enabled = *b;
        } else if (key == "max_entries") {
            auto n = node.value<std::int64_t>();
            if (!node.is_integer() || !n || *n < 0)
                return unexpected(bad(where, "expected a non-negative integer"));
            d.max_entries = static_cast<std::uint64_t>(*n);
        } else if (key == "expiry") {
            std::optional<std::uint64_t> us;
            if (node.is_string())
                us = parse_expiry_us(*node.value<std::string>());
            if (!us)
                return unexpected(bad(where, "expected a duration text such as \"1 m\""));
            d.expiry_us = *us;
        } else {
            return unexpected(bad(where, "unknown key (expected enabled, max_entries, expiry)"));
        }
    }
    if (auto st = storage::validate(d); !st)
        return unexpected(bad(fmt::format("{}: {}", name, dedup_table), st.error().message()));
    return ok();
}

}  // namespace trib::server
