#include "connectors/http/util.h"

#include <curl/curl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <memory>

#include "core/message_id.h"
#include "core/text.h"

namespace trib::connectors::http_detail {

namespace {

bool ident_start(char c) {
    return std::isalpha(static_cast<unsigned char>(c)) || c == '_';
}
bool ident_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
}

}  // namespace

// ---- text_template ---------------------------------------------------------------------------

result<text_template> text_template::parse(std::string_view text,
                                           const std::function<bool(std::string_view)>& known) {
    // A placeholder is '{' identifier '}'; every other brace is literal, so JSON bodies
    // ({"after": "{cursor}"}) need no escaping.
    text_template t;
    std::string lit;
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '{' && i + 1 < text.size() && ident_start(text[i + 1])) {
            std::size_t j = i + 1;
            while (j < text.size() && ident_char(text[j]))
                ++j;
            if (j < text.size() && text[j] == '}') {
                std::string name(text.substr(i + 1, j - i - 1));
                if (known && !known(name)) {
                    return fail(errc::invalid_argument,
                                fmt::format("unknown placeholder {{{}}}", name));
                }
                if (!lit.empty())
                    t.parts_.push_back(part{false, std::move(lit)});
                lit.clear();
                t.parts_.push_back(part{true, std::move(name)});
                i = j + 1;
                continue;
            }
        }
        lit.push_back(text[i]);
        ++i;
    }
    if (!lit.empty())
        t.parts_.push_back(part{false, std::move(lit)});
    return t;
}

std::string text_template::expand(const std::function<std::string(std::string_view)>& value,
                                  bool encode) const {
    std::string out;
    for (const auto& p : parts_) {
        if (!p.is_var) {
            out += p.text;
        } else if (encode) {
            out += percent_encode(value(p.text));
        } else {
            out += value(p.text);
        }
    }
    return out;
}

bool text_template::uses(std::string_view name) const {
    return std::any_of(parts_.begin(), parts_.end(),
                       [&](const part& p) { return p.is_var && p.text == name; });
}

bool text_template::is_literal() const {
    return std::none_of(parts_.begin(), parts_.end(), [](const part& p) { return p.is_var; });
}

std::vector<std::string> text_template::names() const {
    std::vector<std::string> out;
    for (const auto& p : parts_) {
        if (p.is_var)
            out.push_back(p.text);
    }
    return out;
}

// ---- encodings -------------------------------------------------------------------------------

std::string percent_encode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            fmt::format_to(std::back_inserter(out), "%{:02X}", c);
        }
    }
    return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
    return std::string(reinterpret_cast<const char*>(md), len);
}

std::string sha256(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<const char*>(md), len);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string format_uuid(const message_id& id) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(36, '-');
    std::size_t pos = 0;
    auto put = [&](std::uint64_t v, int nibbles) {
        for (int i = nibbles - 1; i >= 0; --i) {
            if (pos == 8 || pos == 13 || pos == 18 || pos == 23)
                ++pos;
            out[pos++] = digits[(v >> (4 * i)) & 15];
        }
    };
    put(id.hi, 16);
    put(id.lo, 16);
    return out;
}

// ---- links and URLs --------------------------------------------------------------------------

std::optional<std::string> link_next(std::string_view header) {
    // Link: <https://a/b?page=2>; rel="next", <https://a/b?page=9>; rel="last"
    std::size_t i = 0;
    while (i < header.size()) {
        auto open = header.find('<', i);
        if (open == std::string_view::npos)
            break;
        auto close = header.find('>', open);
        if (close == std::string_view::npos)
            break;
        std::string_view target = header.substr(open + 1, close - open - 1);
        // Parameters run to the next link (a ',' followed, after spaces, by '<') or the end.
        std::size_t end = close + 1;
        bool in_quotes = false;
        for (; end < header.size(); ++end) {
            char c = header[end];
            if (c == '"')
                in_quotes = !in_quotes;
            if (c == ',' && !in_quotes)
                break;
        }
        std::string_view params = header.substr(close + 1, end - close - 1);
        std::size_t p = 0;
        while (p < params.size()) {
            auto semi = params.find(';', p);
            std::string_view item = trim(params.substr(
                p, semi == std::string_view::npos ? std::string_view::npos : semi - p));
            p = semi == std::string_view::npos ? params.size() : semi + 1;
            auto eq = item.find('=');
            if (eq == std::string_view::npos || !iequals(trim(item.substr(0, eq)), "rel"))
                continue;
            std::string_view v = trim(item.substr(eq + 1));
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"')
                v = v.substr(1, v.size() - 2);
            // rel may hold several space-separated relation types.
            std::size_t s = 0;
            while (s < v.size()) {
                auto sp = v.find(' ', s);
                auto rel =
                    v.substr(s, sp == std::string_view::npos ? std::string_view::npos : sp - s);
                if (iequals(rel, "next"))
                    return std::string(target);
                s = sp == std::string_view::npos ? v.size() : sp + 1;
            }
        }
        i = end + 1;
    }
    return std::nullopt;
}

std::optional<std::string> resolve_url(std::string_view base, std::string_view ref) {
    std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> h(curl_url(), &curl_url_cleanup);
    if (!h)
        return std::nullopt;
    std::string b(base), r(ref);
    if (curl_url_set(h.get(), CURLUPART_URL, b.c_str(), 0) != CURLUE_OK)
        return std::nullopt;
    // Setting a relative URL on a handle that holds one resolves it against it.
    if (curl_url_set(h.get(), CURLUPART_URL, r.c_str(), 0) != CURLUE_OK)
        return std::nullopt;
    char* out = nullptr;
    if (curl_url_get(h.get(), CURLUPART_URL, &out, 0) != CURLUE_OK || out == nullptr)
        return std::nullopt;
    std::string s(out);
    curl_free(out);
    return s;
}

std::string set_query_param(std::string_view url, std::string_view name, std::string_view value) {
    std::string_view frag;
    if (auto h = url.find('#'); h != std::string_view::npos) {
        frag = url.substr(h);
        url = url.substr(0, h);
    }
    std::string_view path = url, query;
    if (auto q = url.find('?'); q != std::string_view::npos) {
        path = url.substr(0, q);
        query = url.substr(q + 1);
    }
    std::string out(path);
    std::string kept;
    const std::string enc_name = percent_encode(name);
    std::size_t i = 0;
    while (i <= query.size() && !query.empty()) {
        auto amp = query.find('&', i);
        std::string_view item =
            query.substr(i, amp == std::string_view::npos ? std::string_view::npos : amp - i);
        auto key = item.substr(0, item.find('='));
        if (!item.empty() && key != name && key != enc_name) {
            if (!kept.empty())
                kept += '&';
            kept += item;
        }
        if (amp == std::string_view::npos)
            break;
        i = amp + 1;
    }
    if (!kept.empty())
        kept += '&';
    kept += enc_name;
    kept += '=';
    kept += percent_encode(value);
    out += '?';
    out += kept;
    out += frag;
    return out;
}

std::vector<std::string_view> list_values(std::string_view header, std::string_view name) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < header.size()) {
        auto comma = header.find(',', i);
        std::string_view item = trim(
            header.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i));
        i = comma == std::string_view::npos ? header.size() : comma + 1;
        auto eq = item.find('=');
        if (eq == std::string_view::npos)
            continue;
        if (iequals(trim(item.substr(0, eq)), name))
            out.push_back(trim(item.substr(eq + 1)));
    }
    return out;
}

// ---- signatures ------------------------------------------------------------------------------

std::string_view to_string(auth_result r) {
    switch (r) {
        case auth_result::ok:
            return "ok";
        case auth_result::missing:
            return "missing_credentials";
        case auth_result::bad_credentials:
            return "bad_credentials";
        case auth_result::bad_signature:
            return "bad_signature";
        case auth_result::stale_timestamp:
            return "stale_timestamp";
    }
    return "unknown";
}

namespace {

std::string signed_payload(const signature_scheme& s, std::string_view body,
                           std::string_view timestamp) {
    std::string out;
    out.reserve(s.signed_payload.size() + body.size() + timestamp.size());
    std::string_view t = s.signed_payload;
    std::size_t i = 0;
    while (i < t.size()) {
        if (t.compare(i, 6, "{body}") == 0) {
            out += body;
            i += 6;
        } else if (t.compare(i, 11, "{timestamp}") == 0) {
            out += timestamp;
            i += 11;
        } else {
            out += t[i++];
        }
    }
    return out;
}

std::optional<std::string> decode_sig(const signature_scheme& s, std::string_view text) {
    text = trim(text);
    return s.encoding == signature_scheme::encoding::hex ? hex_decode(text) : base64_decode(text);
}

}  // namespace

auth_result verify_signature(const signature_scheme& s,
                             const std::function<std::string_view(std::string_view)>& header,
                             std::string_view body, std::chrono::system_clock::time_point now) {
    std::string_view value = trim(header(s.header));
    if (value.empty())
        return auth_result::missing;
    std::vector<std::string_view> candidates;
    std::string_view timestamp;
    if (s.format == signature_scheme::format::keyed) {
        auto ts = list_values(value, s.timestamp_key);
        if (!ts.empty())
            timestamp = ts.front();
        candidates = list_values(value, s.signature_key);
    } else {
        if (!s.prefix.empty()) {
            if (value.size() < s.prefix.size() ||
                !iequals(value.substr(0, s.prefix.size()), s.prefix))
                return auth_result::bad_signature;
            value.remove_prefix(s.prefix.size());
        }
        candidates.push_back(value);
        if (!s.timestamp_header.empty())
            timestamp = trim(header(s.timestamp_header));
    }
    const bool needs_ts = s.signed_payload.find("{timestamp}") != std::string::npos;
    if (needs_ts && timestamp.empty())
        return auth_result::missing;
    if (candidates.empty())
        return auth_result::bad_signature;

    const std::string payload = signed_payload(s, body, timestamp);
    bool matched = false;
    for (const auto& secret : s.secrets) {
        const std::string mac = hmac_sha256(secret, payload);
        for (auto c : candidates) {
            auto sig = decode_sig(s, c);
            // Every candidate is compared (no early exit) so that timing says nothing about
            // which one matched.
            if (sig && constant_time_equal(mac, *sig))
                matched = true;
        }
    }
    if (!matched)
        return auth_result::bad_signature;
    if (!timestamp.empty() && s.tolerance.count() > 0) {
        std::int64_t ts = 0;
        auto [p, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
        if (ec != std::errc() || p != timestamp.data() + timestamp.size())
            return auth_result::stale_timestamp;
        const auto now_s =
            std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
        const auto diff = now_s > ts ? now_s - ts : ts - now_s;
        if (diff > s.tolerance.count())
            return auth_result::stale_timestamp;
    }
    return auth_result::ok;
}

std::string sign(const signature_scheme& s, std::string_view secret, std::string_view body,
                 std::int64_t timestamp) {
    const std::string ts = std::to_string(timestamp);
    const std::string mac = hmac_sha256(secret, signed_payload(s, body, ts));
    const std::string enc =
        s.encoding == signature_scheme::encoding::hex ? hex_encode(mac) : base64_encode(mac);
    if (s.format == signature_scheme::format::keyed)
        return s.timestamp_key + "=" + ts + "," + s.signature_key + "=" + enc;
    return s.prefix + enc;
}

message_id delivery_id(std::string_view delivery, std::size_t part) {
    return message_id_builder("webhook").add(delivery).add_u64(part).finish();
}

message_id delivery_path_id(std::string_view value) {
    return message_id_builder("webhook").add("path").add(value).finish();
}

message_id item_id(std::string_view value) {
    return message_id_of("http_poll", value);
}

}  // namespace trib::connectors::http_detail
