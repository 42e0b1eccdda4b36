#pragma once
// Shared pieces of the HTTP connectors' tests: the Python receiving server (receiver.py) as a
// harness peer, option values from TOML, and JSON reading with RapidJSON.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "config/node.h"
#include "config/problems.h"
#include "config/spec.h"
#include "config/validate.h"
#include "core/net/http_client.h"
#include "harness/peer.h"

namespace trib::test {

inline std::filesystem::path source_dir() {
    const char* d = std::getenv("TRIB_SOURCE_DIR");
    return d ? std::filesystem::path(d) : std::filesystem::path(TRIB_TEST_SOURCE_DIR);
}

/// receiver.py on a free port (see its docstring for the fault injection it offers).
inline peer_spec receiver_spec() {
    peer_spec s;
    s.name = "http-receiver";
    s.program = "python3";
    s.args = {(source_dir() / "tests/connectors/http/receiver.py").string(), "{port}"};
    return s;
}

/// Option values validated against `s` from the TOML body of a [plugin_config] table.
inline config::values values_of(const config::spec& s, std::string_view toml) {
    auto n = config::parse_toml(toml, "test.toml");
    EXPECT_TRUE(n) << (n ? "" : n.error().to_string());
    if (!n)
        return config::values();
    config::problems pr;
    auto v = config::validate(s, *n, "test.toml", "plugin_config", pr);
    EXPECT_FALSE(pr.has_errors()) << pr.to_string();
    return v;
}

/// The validation errors of `toml` against `s` ("" when valid).
inline std::string problems_of(const config::spec& s, std::string_view toml) {
    auto n = config::parse_toml(toml, "test.toml");
    if (!n)
        return n.error().to_string();
    config::problems pr;
    (void)config::validate(s, *n, "test.toml", "plugin_config", pr);
    return pr.errors_to_string();
}

/// Talks to a receiver.py instance.
class receiver_client {
  public:
    explicit receiver_client(std::uint16_t port)
        : base_("http://127.0.0.1:" + std::to_string(port)) {}
    std::string url(std::string_view path) const { return base_ + std::string(path); }

    void configure(const std::string& json) {
        auto r = client_.post(url("/_config"), json);
        ASSERT_TRUE(r) << r.error().to_string();
    }
    void reset() {
        auto r = client_.post(url("/_reset"), "{}");
        ASSERT_TRUE(r) << r.error().to_string();
    }
    /// Every request received so far (method, path, headers, body, fate).
    rapidjson::Document requests() {
        rapidjson::Document d;
        auto r = client_.get(url("/_requests"));
        EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
        if (r)
            d.Parse(r->body.c_str());
        return d;
    }
    rapidjson::Document stats() {
        rapidjson::Document d;
        auto r = client_.get(url("/_stats"));
        EXPECT_TRUE(r) << (r ? "" : r.error().to_string());
        if (r)
            d.Parse(r->body.c_str());
        return d;
    }

  private:
    std::string base_;
    net::http_client client_;
};

inline std::string str_of(const rapidjson::Value& v, const char* key) {
    if (!v.IsObject() || !v.HasMember(key) || !v[key].IsString())
        return {};
    return std::string(v[key].GetString(), v[key].GetStringLength());
}

/// A request header from receiver.py's record (names as sent; looked up case-insensitively).
inline std::string header_of(const rapidjson::Value& req, std::string_view name) {
    const auto& h = req["headers"];
    for (auto it = h.MemberBegin(); it != h.MemberEnd(); ++it) {
        std::string_view k(it->name.GetString(), it->name.GetStringLength());
        if (k.size() == name.size() &&
            std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
                return std::tolower(static_cast<unsigned char>(a)) ==
                       std::tolower(static_cast<unsigned char>(b));
            }))
            return it->value.GetString();
    }
    return {};
}

}  // namespace trib::test
