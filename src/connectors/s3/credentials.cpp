// AWS credentials from options, environment and the shared credentials file.

#include "connectors/s3/credentials.h"

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/text.h"

namespace trib::connectors::s3_detail {

std::optional<aws_credentials> parse_credentials_file(std::string_view text,
                                                      std::string_view profile) {
    aws_credentials c;
    bool in_profile = false;
    bool seen = false;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        line = trim(line, " \t\r");
        if (line.empty() || line.front() == '#' || line.front() == ';')
            continue;
        if (line.front() == '[') {
            if (line.back() != ']') {
                in_profile = false;
                continue;
            }
            auto name = trim(line.substr(1, line.size() - 2), " \t");
            // ~/.aws/config spells it "profile x"; the credentials file just "x".
            if (name.starts_with("profile "))
                name = trim(name.substr(8), " \t");
            in_profile = name == profile;
            seen = seen || in_profile;
            continue;
        }
        if (!in_profile)
            continue;
        const auto eq = line.find('=');
        if (eq == std::string_view::npos)
            continue;
        const auto k = trim(line.substr(0, eq), " \t");
        const auto v = std::string(trim(line.substr(eq + 1), " \t"));
        if (iequals(k, "aws_access_key_id"))
            c.access_key_id = v;
        else if (iequals(k, "aws_secret_access_key"))
            c.secret_access_key = v;
        else if (iequals(k, "aws_session_token"))
            c.session_token = v;
    }
    if (!seen || c.access_key_id.empty() || c.secret_access_key.empty())
        return std::nullopt;
    return c;
}

result<aws_credentials> resolve_credentials(const credential_inputs& in) {
    auto env = [&](const char* n) -> std::optional<std::string> {
        if (!in.getenv)
            return std::nullopt;
        auto v = in.getenv(n);
        if (v && v->empty())
            return std::nullopt;
        return v;
    };
    if (in.access_key_id || in.secret_access_key) {
        if (!in.access_key_id || !in.secret_access_key || in.access_key_id->empty() ||
            in.secret_access_key->empty())
            return unexpected(error(errc::unauthenticated, retry_class::fatal,
                                    "access_key_id and secret_access_key go together"));
        return aws_credentials{*in.access_key_id, *in.secret_access_key,
                               in.session_token.value_or(""), "options"};
    }
    auto id = env("AWS_ACCESS_KEY_ID");
    auto key = env("AWS_SECRET_ACCESS_KEY");
    if (id && key)
        return aws_credentials{*id, *key, env("AWS_SESSION_TOKEN").value_or(""), "environment"};
    std::string path;
    if (auto f = env("AWS_SHARED_CREDENTIALS_FILE")) {
        path = *f;
    } else if (auto home = env("HOME")) {
        path = *home + "/.aws/credentials";
    }
    std::string profile = in.profile.value_or(env("AWS_PROFILE").value_or("default"));
    if (!path.empty() && in.read_file) {
        if (auto text = in.read_file(path)) {
            if (auto c = parse_credentials_file(*text, profile)) {
                c->origin = fmt::format("file {} [{}]", path, profile);
                return *c;
            }
        }
    }
    return unexpected(
        error(errc::unauthenticated, retry_class::fatal,
              fmt::format("no AWS credentials: set access_key_id and secret_access_key, or "
                          "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or profile [{}] in {}",
                          profile, path.empty() ? std::string("~/.aws/credentials") : path)));
}

std::optional<std::string> real_getenv(const char* name) {
    const char* v = std::getenv(name);
    if (!v)
        return std::nullopt;
    return std::string(v);
}

std::optional<std::string> real_read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f)
        return std::nullopt;
    std::ostringstream ss;
    ss << f.rdbuf();
    auto s = ss.str();
    if (s.size() > (1u << 20))
        return std::nullopt;
    return s;
}

}  // namespace trib::connectors::s3_detail
