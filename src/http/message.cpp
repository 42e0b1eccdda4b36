// Request and response helpers of the HTTP server that need no socket (server.h, message.h).

#include "http/message.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>

#include "core/text.h"
#include "http/json.h"
#include "http/server.h"

namespace trib::http {

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty())
            out += sep;
        out += s;
    }
    return out;
}

void split_target(request& r) {
    auto qpos = r.target.find('?');
    r.path = r.target.substr(0, qpos);
    r.query_string.clear();
    r.query.clear();
    if (qpos == std::string::npos)
        return;
    r.query_string = r.target.substr(qpos + 1);
    for_each_query_param(r.query_string, [&](std::string_view k, std::string_view v) {
        auto dk = percent_decode(k, true);
        auto dv = percent_decode(v, true);
        r.query.emplace_back(dk ? *dk : std::string(k), dv ? *dv : std::string(v));
    });
}

bool header_name_less::operator()(std::string_view a, std::string_view b) const {
    return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
        return ascii_lower(x) < ascii_lower(y);
    });
}

std::string_view request::header(std::string_view name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string_view{} : std::string_view(it->second);
}

std::optional<std::string_view> request::query_param(std::string_view name) const {
    for (const auto& [k, v] : query) {
        if (k == name)
            return std::string_view(v);
    }
    return std::nullopt;
}

std::string_view request::param(std::string_view name) const {
    auto it = params.find(name);
    return it == params.end() ? std::string_view{} : std::string_view(it->second);
}

response response::text(int status, std::string body) {
    response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

response response::json(int status, std::string body) {
    response r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = "application/json";
    return r;
}

response response::empty(int status) {
    response r;
    r.status = status;
    r.content_type.clear();
    return r;
}

response response::error_json(int status, std::string_view message) {
    std::string body = "{\"error\":";
    append_json_string(body, message);
    body += '}';
    return json(status, std::move(body));
}

response response::overloaded(int status, std::chrono::seconds retry_after,
                              std::string_view message) {
    response r = error_json(status, message);
    r.headers["Retry-After"] = std::to_string(retry_after.count());
    return r;
}

response& response::set_header(std::string name, std::string value) {
    headers[std::move(name)] = std::move(value);
    return *this;
}

concurrency_gate::ticket& concurrency_gate::ticket::operator=(ticket&& o) noexcept {
    if (this != &o) {
        release();
        gate_ = std::exchange(o.gate_, nullptr);
    }
    return *this;
}

void concurrency_gate::ticket::release() {
    if (gate_ != nullptr) {
        gate_->in_flight_.fetch_sub(1, std::memory_order_acq_rel);
        gate_ = nullptr;
    }
}

concurrency_gate::ticket concurrency_gate::try_acquire() {
    std::size_t cur = in_flight_.load(std::memory_order_relaxed);
    while (cur < limit_) {
        if (in_flight_.compare_exchange_weak(cur, cur + 1, std::memory_order_acq_rel))
            return ticket(this);
    }
    return ticket();
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    // Hashing first makes the comparison independent of the lengths and of the position of the
    // first difference; CRYPTO_memcmp then compares the digests in constant time.
    std::array<unsigned char, EVP_MAX_MD_SIZE> ha{};
    std::array<unsigned char, EVP_MAX_MD_SIZE> hb{};
    unsigned la = 0;
    unsigned lb = 0;
    if (EVP_Digest(a.data(), a.size(), ha.data(), &la, EVP_sha256(), nullptr) != 1 ||
        EVP_Digest(b.data(), b.size(), hb.data(), &lb, EVP_sha256(), nullptr) != 1 || la != lb)
        return false;
    return CRYPTO_memcmp(ha.data(), hb.data(), la) == 0;
}

// ---- API key and CORS ----

bool api_key_ok(std::string_view api_key, const request& r) {
    if (api_key.empty())
        return true;
    std::string_view key = r.header("api-key");
    if (key.empty()) {
        std::string_view auth = trim(r.header("authorization"));
        if (auth.size() > 7 && iequals(auth.substr(0, 7), "bearer "))
            key = trim(auth.substr(7));
    }
    if (key.empty())
        return false;
    return constant_time_equal(key, api_key);
}

namespace {

bool origin_allowed(const cors_config& cors, std::string_view origin) {
    for (const auto& o : cors.allowed_origins) {
        if (o == "*" || iequals(o, origin))
            return true;
    }
    return false;
}

bool origin_wildcard(const cors_config& cors) {
    return std::find(cors.allowed_origins.begin(), cors.allowed_origins.end(), "*") !=
           cors.allowed_origins.end();
}

void set_allow_origin(const cors_config& cors, response& res, std::string_view origin) {
    // With credentials the origin must be echoed; "*" is not allowed then.
    if (origin_wildcard(cors) && !cors.allow_credentials) {
        res.headers["Access-Control-Allow-Origin"] = "*";
    } else {
        res.headers["Access-Control-Allow-Origin"] = std::string(origin);
        res.headers["Vary"] = "Origin";
    }
    if (cors.allow_credentials)
        res.headers["Access-Control-Allow-Credentials"] = "true";
}

}  // namespace

response cors_preflight(const cors_config& cors, const request& r) {
    std::string_view origin = r.header("origin");
    if (!origin_allowed(cors, origin))
        return response::error_json(403, "CORS origin not allowed");
    response res = response::empty(204);
    set_allow_origin(cors, res, origin);
    res.headers["Access-Control-Allow-Methods"] = join(cors.allowed_methods, ", ");
    bool any_header = std::find(cors.allowed_headers.begin(), cors.allowed_headers.end(), "*") !=
                      cors.allowed_headers.end();
    std::string_view asked = r.header("access-control-request-headers");
    if (any_header) {
        if (!asked.empty())
            res.headers["Access-Control-Allow-Headers"] = std::string(asked);
    } else if (!cors.allowed_headers.empty()) {
        res.headers["Access-Control-Allow-Headers"] = join(cors.allowed_headers, ", ");
    }
    res.headers["Access-Control-Max-Age"] = std::to_string(cors.max_age.count());
    return res;
}

void apply_cors(const cors_config& cors, const request& r, response& res) {
    if (!cors.enabled)
        return;
    std::string_view origin = r.header("origin");
    if (origin.empty() || !origin_allowed(cors, origin) ||
        res.headers.count("Access-Control-Allow-Origin"))
        return;
    set_allow_origin(cors, res, origin);
    if (!cors.exposed_headers.empty())
        res.headers["Access-Control-Expose-Headers"] = join(cors.exposed_headers, ", ");
}

}  // namespace trib::http
