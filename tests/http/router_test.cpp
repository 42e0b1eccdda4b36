// The HTTP server's routing table and message helpers without a socket (src/http/router.cpp,
// src/http/message.cpp); tests/http/server_test.cpp covers the same rules over real connections.

#include "http/router.h"

#include <gtest/gtest.h>

#include "http/message.h"
#include "http/server.h"

namespace trib::http {
namespace {

std::vector<std::string> segments(std::initializer_list<const char*> s) {
    return {s.begin(), s.end()};
}

TEST(http_router, split_path_ignores_the_leading_and_trailing_slash) {
    EXPECT_TRUE(split_path("/").empty());
    EXPECT_TRUE(split_path("").empty());
    EXPECT_EQ(split_path("/a/b/"), (std::vector<std::string_view>{"a", "b"}));
    EXPECT_EQ(split_path("/a//b"), (std::vector<std::string_view>{"a", "", "b"}));
}

TEST(http_router, pattern_matches_literals_params_and_the_rest) {
    param_map p;
    path_pattern lit("/health");
    EXPECT_TRUE(lit.match(segments({"health"}), p));
    EXPECT_FALSE(lit.match(segments({"health", "x"}), p));
    EXPECT_FALSE(lit.match(segments({}), p));

    path_pattern par("/sinks/{key}/configs");
    ASSERT_TRUE(par.match(segments({"sinks", "pg", "configs"}), p));
    EXPECT_EQ(p.at("key"), "pg");
    param_map untouched{{"old", "1"}};
    EXPECT_FALSE(par.match(segments({"sinks", "", "configs"}), untouched));  // empty segment
    EXPECT_EQ(untouched.size(), 1u);  // a failed match leaves params alone
    EXPECT_EQ(untouched.at("old"), "1");

    path_pattern rest("/files/{path*}");
    ASSERT_TRUE(rest.match(segments({"files", "a", "b", "c.txt"}), p));
    EXPECT_EQ(p.at("path"), "a/b/c.txt");
    ASSERT_TRUE(rest.match(segments({"files"}), p));
    EXPECT_EQ(p.at("path"), "");
}

TEST(http_router, literal_routes_win_over_parameters_whatever_the_order) {
    router r;
    r.add("GET", "/sinks/{key}", 0);
    r.add("GET", "/sinks/{rest*}", 1);
    r.add("GET", "/sinks/stats", 2);
    r.sort();
    param_map p;
    EXPECT_EQ(r.lookup("GET", "/sinks/stats", p).id, 2u);
    EXPECT_EQ(r.lookup("GET", "/sinks/pg", p).id, 0u);
    EXPECT_EQ(p.at("key"), "pg");
    EXPECT_EQ(r.lookup("GET", "/sinks/pg/more", p).id, 1u);
    EXPECT_EQ(p.at("rest"), "pg/more");
}

TEST(http_router, head_uses_get_and_other_methods_give_the_allow_list) {
    router r;
    r.add("GET", "/items/{id}", 7);
    r.add("DELETE", "/items/{id}", 8);
    r.sort();
    param_map p;
    EXPECT_EQ(r.lookup("HEAD", "/items/1", p).id, 7u);
    EXPECT_EQ(r.lookup("DELETE", "/items/1", p).id, 8u);
    auto m = r.lookup("PUT", "/items/1", p);
    EXPECT_FALSE(m.id.has_value());
    EXPECT_TRUE(m.path_found);
    EXPECT_EQ(m.allow, (std::vector<std::string>{"GET", "DELETE"}));
    EXPECT_EQ(allow_header(m.allow), "GET, DELETE, HEAD, OPTIONS");
    EXPECT_EQ(allow_header({"POST"}), "POST, OPTIONS");

    auto none = r.lookup("GET", "/other", p);
    EXPECT_FALSE(none.id.has_value());
    EXPECT_FALSE(none.path_found);
}

TEST(http_router, path_segments_are_percent_decoded_and_bad_escapes_refused) {
    router r;
    r.add("GET", "/streams/{name}", 0);
    r.sort();
    param_map p;
    auto m = r.lookup("GET", "/streams/a%2Fb%20c", p);
    ASSERT_EQ(m.id, 0u);
    EXPECT_EQ(p.at("name"), "a/b c");  // an encoded '/' stays inside the segment
    auto bad = r.lookup("GET", "/streams/%zz", p);
    EXPECT_TRUE(bad.bad_encoding);
    EXPECT_FALSE(bad.id.has_value());
}

TEST(http_message, split_target_decodes_the_query) {
    request r;
    r.target = "/sinks/pg%20x?format=json&a+b=c%2Bd&&flag&bad=%zz";
    split_target(r);
    EXPECT_EQ(r.path, "/sinks/pg%20x");  // the path stays encoded (the router decodes segments)
    EXPECT_EQ(r.query_string, "format=json&a+b=c%2Bd&&flag&bad=%zz");
    ASSERT_EQ(r.query.size(), 4u);
    EXPECT_EQ(r.query[0], (std::pair<std::string, std::string>{"format", "json"}));
    EXPECT_EQ(r.query[1], (std::pair<std::string, std::string>{"a b", "c+d"}));
    EXPECT_EQ(r.query[2], (std::pair<std::string, std::string>{"flag", ""}));
    EXPECT_EQ(r.query[3], (std::pair<std::string, std::string>{"bad", "%zz"}));
    EXPECT_EQ(r.query_param("flag"), "");
    EXPECT_EQ(r.query_param("missing"), std::nullopt);

    request plain;
    plain.target = "/health";
    split_target(plain);
    EXPECT_EQ(plain.path, "/health");
    EXPECT_TRUE(plain.query.empty());
}

TEST(http_message, headers_are_case_insensitive_and_helpers_agree) {
    request r;
    r.headers["Content-Type"] = "application/json";
    EXPECT_EQ(r.header("content-type"), "application/json");
    EXPECT_EQ(r.header("CONTENT-TYPE"), "application/json");
    EXPECT_EQ(r.header("accept"), "");
    EXPECT_TRUE(iequals("100-Continue", "100-continue"));
    EXPECT_FALSE(iequals("100-continue", "100-continu"));
    EXPECT_EQ(trib::trim(" \tBearer x \t"), "Bearer x");
    EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
    EXPECT_EQ(join({}, ", "), "");
}

TEST(http_message, response_builders) {
    auto e = response::error_json(400, "bad \"x\"\n");
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.content_type, "application/json");
    EXPECT_EQ(e.body, "{\"error\":\"bad \\\"x\\\"\\n\"}");
    auto o = response::overloaded(429, std::chrono::seconds(3));
    EXPECT_EQ(o.status, 429);
    EXPECT_EQ(o.headers.at("retry-after"), "3");
    auto n = response::empty();
    EXPECT_EQ(n.status, 204);
    EXPECT_TRUE(n.content_type.empty());
}

TEST(http_message, concurrency_gate_gives_limit_tickets) {
    concurrency_gate g(2);
    auto a = g.try_acquire();
    auto b = g.try_acquire();
    auto c = g.try_acquire();
    EXPECT_TRUE(a);
    EXPECT_TRUE(b);
    EXPECT_FALSE(c);
    EXPECT_EQ(g.in_flight(), 2u);
    a.release();
    EXPECT_EQ(g.in_flight(), 1u);
    EXPECT_TRUE(g.try_acquire());  // a temporary ticket: released again at once
    EXPECT_EQ(g.in_flight(), 1u);
}

TEST(http_message, api_key_from_either_header) {
    request r;
    EXPECT_TRUE(api_key_ok("", r));  // no key configured
    EXPECT_FALSE(api_key_ok("k1", r));
    r.headers["Authorization"] = "bearer  k1 ";
    EXPECT_TRUE(api_key_ok("k1", r));
    r.headers["api-key"] = "k2";  // api-key is looked at first
    EXPECT_FALSE(api_key_ok("k1", r));
    EXPECT_TRUE(api_key_ok("k2", r));
}

TEST(http_message, cors_preflight_and_response_headers) {
    cors_config cors;
    cors.enabled = true;
    cors.allowed_origins = {"https://ui.example.com"};
    cors.allowed_headers = {"*"};
    request pre;
    pre.method = "OPTIONS";
    pre.headers["Origin"] = "https://UI.example.com";
    pre.headers["Access-Control-Request-Headers"] = "x-custom";
    auto ok = cors_preflight(cors, pre);
    EXPECT_EQ(ok.status, 204);
    EXPECT_EQ(ok.headers.at("access-control-allow-origin"), "https://UI.example.com");
    EXPECT_EQ(ok.headers.at("vary"), "Origin");
    EXPECT_EQ(ok.headers.at("access-control-allow-headers"), "x-custom");
    EXPECT_EQ(ok.headers.at("access-control-allow-methods"), "GET, POST, PUT, DELETE, OPTIONS");
    pre.headers["Origin"] = "https://evil.example.com";
    EXPECT_EQ(cors_preflight(cors, pre).status, 403);

    cors.allowed_origins = {"*"};
    cors.exposed_headers = {"x-total"};
    request get;
    get.headers["Origin"] = "https://any.example.com";
    response res = response::json(200, "{}");
    apply_cors(cors, get, res);
    EXPECT_EQ(res.headers.at("access-control-allow-origin"), "*");
    EXPECT_EQ(res.headers.at("access-control-expose-headers"), "x-total");
    cors.enabled = false;
    response off = response::json(200, "{}");
    apply_cors(cors, get, off);
    EXPECT_EQ(off.headers.count("access-control-allow-origin"), 0u);
}

}  // namespace
}  // namespace trib::http
