#include "core/redact.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <mutex>
#include <shared_mutex>
#include <vector>

namespace trib {
namespace {

constexpr std::size_t k_min_secret = 4;
constexpr std::size_t k_max_secrets = 4096;

struct registry {
    std::shared_mutex mu;
    std::vector<std::string> values;  // longest first, so a longer secret wins over its prefix
};

registry& secrets() {
    static registry r;
    return r;
}

bool is_alnum(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

char lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool iequals_at(std::string_view s, std::size_t at, std::string_view word) {
    if (at + word.size() > s.size())
        return false;
    for (std::size_t i = 0; i < word.size(); ++i) {
        if (lower(s[at + i]) != word[i])
            return false;
    }
    return true;
}

// Ends a URL's authority (or an unquoted value) in free text.
bool ends_token(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '"' || c == '\'' || c == '<' ||
           c == '>' || c == '`' || c == ',' || c == ';' || c == ')' || c == ']' || c == '}';
}

// scheme://user:pass@host -> scheme://user:***@host. Returns true if anything changed.
bool redact_urls(std::string& s) {
    bool changed = false;
    std::size_t from = 0;
    for (;;) {
        const auto sep = s.find("://", from);
        if (sep == std::string::npos)
            break;
        const std::size_t auth = sep + 3;
        // The authority ends at the path, query or fragment, or where the text token ends.
        std::size_t end = auth;
        while (end < s.size() && s[end] != '/' && s[end] != '?' && s[end] != '#' &&
               !ends_token(s[end])) {
            ++end;
        }
        const auto at = std::string_view(s).substr(auth, end - auth).rfind('@');
        if (at != std::string_view::npos) {
            const std::size_t at_pos = auth + at;
            const auto colon = std::string_view(s).substr(auth, at).find(':');
            if (colon != std::string_view::npos) {
                const std::size_t pw = auth + colon + 1;
                if (std::string_view(s).substr(pw, at_pos - pw) != redacted_mark) {
                    s.replace(pw, at_pos - pw, redacted_mark);
                    changed = true;
                    end = pw + redacted_mark.size() + 1;
                }
            }
        }
        from = std::max(end, auth);
    }
    return changed;
}

// user:pass@host without a scheme (libraries print the authority alone: "cannot resolve
// bob:pw@broker"): in the text token before an '@', what follows the first ':' is hidden.
bool redact_bare_userinfo(std::string& s) {
    bool changed = false;
    for (std::size_t at = s.find('@'); at != std::string::npos; at = s.find('@', at + 1)) {
        std::size_t begin = at;
        while (begin > 0 && !ends_token(s[begin - 1]) && s[begin - 1] != '(' &&
               s[begin - 1] != '[' && s[begin - 1] != '{' && s[begin - 1] != '=' &&
               s[begin - 1] != '/')
            --begin;
        const auto colon = std::string_view(s).substr(begin, at - begin).find(':');
        if (colon == std::string_view::npos || begin + colon + 1 == at)
            continue;
        const std::size_t pw = begin + colon + 1;
        if (std::string_view(s).substr(pw, at - pw) == redacted_mark)
            continue;
        s.replace(pw, at - pw, redacted_mark);
        changed = true;
        at = pw + redacted_mark.size();
    }
    return changed;
}

constexpr std::array<std::string_view, 9> k_keys = {
    "sslpassword", "password", "passwd", "pwd", "secret", "api_key", "apikey", "api-key", "token"};

// key=value and key = 'quoted value' (libpq conninfo), case-insensitive keys.
bool redact_key_values(std::string& s) {
    bool changed = false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '_'))
            continue;  // inside a longer word
        std::size_t key_len = 0;
        for (auto k : k_keys) {
            if (iequals_at(s, i, k)) {
                key_len = k.size();
                break;
            }
        }
        if (key_len == 0)
            continue;
        std::size_t j = i + key_len;
        if (j < s.size() && (is_alnum(s[j]) || s[j] == '_'))
            continue;  // "passwords", "token_count"
        while (j < s.size() && s[j] == ' ')
            ++j;
        if (j >= s.size() || s[j] != '=')
            continue;
        ++j;
        while (j < s.size() && s[j] == ' ')
            ++j;
        std::size_t v_begin = j;
        std::size_t v_end = j;
        if (j < s.size() && s[j] == '\'') {
            // libpq quoting: backslash escapes, ends at the next unescaped quote.
            v_begin = j + 1;
            v_end = v_begin;
            while (v_end < s.size() && s[v_end] != '\'') {
                if (s[v_end] == '\\' && v_end + 1 < s.size())
                    ++v_end;
                ++v_end;
            }
        } else {
            while (v_end < s.size() && !ends_token(s[v_end]) && s[v_end] != '&')
                ++v_end;
        }
        if (v_end == v_begin ||
            std::string_view(s).substr(v_begin, v_end - v_begin) == redacted_mark) {
            i = v_end;
            continue;
        }
        s.replace(v_begin, v_end - v_begin, redacted_mark);
        changed = true;
        i = v_begin + redacted_mark.size();
    }
    return changed;
}

bool redact_registered(std::string& s) {
    auto& r = secrets();
    std::shared_lock lk(r.mu);
    bool changed = false;
    for (const auto& v : r.values) {
        for (auto at = s.find(v); at != std::string::npos; at = s.find(v, at)) {
            s.replace(at, v.size(), redacted_mark);
            at += redacted_mark.size();
            changed = true;
        }
    }
    return changed;
}

bool may_hold_key_value(std::string_view text) {
    return text.find('=') != std::string_view::npos;
}

}  // namespace

std::string redact(std::string_view text) {
    std::string s(text);
    if (s.find("://") != std::string::npos)
        redact_urls(s);
    if (s.find('@') != std::string::npos)
        redact_bare_userinfo(s);
    if (may_hold_key_value(s))
        redact_key_values(s);
    redact_registered(s);
    return s;
}

bool needs_redaction(std::string_view text) {
    return redact(text) != text;
}

void register_secret(std::string_view value) {
    if (value.size() < k_min_secret || value == redacted_mark)
        return;
    auto& r = secrets();
    std::unique_lock lk(r.mu);
    if (r.values.size() >= k_max_secrets)
        return;
    if (std::find(r.values.begin(), r.values.end(), value) != r.values.end())
        return;
    r.values.emplace_back(value);
    std::stable_sort(
        r.values.begin(), r.values.end(),
        [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
}

void clear_registered_secrets() {
    auto& r = secrets();
    std::unique_lock lk(r.mu);
    r.values.clear();
}

}  // namespace trib
