// Unit tests of connectors/http's helpers: templates, encodings, HMAC signatures (with published
// vectors), Link headers, URLs, the JSON path language and body splitting.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "connectors/http/json.h"
#include "connectors/http/poll_state.h"
#include "connectors/http/util.h"
#include "harness/hostile.h"
#include "harness/hostile_json.h"

namespace trib::connectors::http_detail {
namespace {

using namespace std::chrono_literals;

TEST(text_template, expands_known_placeholders_and_keeps_json_braces) {
    auto t = text_template::parse("https://h/{stream}/x?o={offset}&t={topic}");
    ASSERT_TRUE(t);
    EXPECT_TRUE(t->uses("offset"));
    EXPECT_FALSE(t->uses("id"));
    auto v = [](std::string_view n) { return n == "stream" ? std::string("a b/c") : "v"; };
    EXPECT_EQ(t->expand(v, true), "https://h/a%20b%2Fc/x?o=v&t=v");
    EXPECT_EQ(t->expand(v, false), "https://h/a b/c/x?o=v&t=v");

    auto body = text_template::parse(R"({"after": "{cursor}", "n": {"x": 1}})");
    ASSERT_TRUE(body);
    EXPECT_EQ(body->names(), std::vector<std::string>{"cursor"});
    EXPECT_EQ(body->expand([](std::string_view) { return "C1"; }, false),
              R"({"after": "C1", "n": {"x": 1}})");

    auto known = [](std::string_view n) { return n == "stream"; };
    EXPECT_FALSE(text_template::parse("/{streem}", known));
    EXPECT_TRUE(text_template::parse("/{stream}", known));
    EXPECT_TRUE(text_template::parse("plain")->is_literal());
}

TEST(encodings, hex_base64_percent) {
    EXPECT_EQ(hex_encode(std::string("\x00\xffz", 3)), "00ff7a");
    EXPECT_EQ(hex_decode("00FF7a"), std::string("\x00\xffz", 3));
    EXPECT_FALSE(hex_decode("abc"));
    EXPECT_FALSE(hex_decode("zz"));
    EXPECT_EQ(base64_encode("hello"), "aGVsbG8=");
    EXPECT_EQ(base64_decode("aGVsbG8="), "hello");
    EXPECT_EQ(base64_decode("aGVsbG8"), "hello");
    EXPECT_EQ(base64_decode(base64_encode(std::string("\xfb\xff", 2))), std::string("\xfb\xff", 2));
    EXPECT_EQ(base64_decode("-_8"), std::string("\xfb\xff", 2));  // URL-safe alphabet
    EXPECT_FALSE(base64_decode("a"));
    EXPECT_FALSE(base64_decode("a$b="));
    EXPECT_EQ(percent_encode("a-b_c.d~e f/g"), "a-b_c.d~e%20f%2Fg");
}

TEST(hmac, rfc4231_and_constant_time_compare) {
    // RFC 4231 test case 2.
    EXPECT_EQ(hex_encode(hmac_sha256("Jefe", "what do ya want for nothing?")),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(hex_encode(sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_TRUE(constant_time_equal("abc", "abc"));
    EXPECT_FALSE(constant_time_equal("abc", "abd"));
    EXPECT_FALSE(constant_time_equal("abc", "abcd"));
}

std::function<std::string_view(std::string_view)> headers(std::map<std::string, std::string> h) {
    return [h = std::move(h)](std::string_view n) -> std::string_view {
        auto it = h.find(std::string(n));
        return it == h.end() ? std::string_view() : std::string_view(it->second);
    };
}

TEST(signatures, github_published_example) {
    // docs.github.com "Validating webhook deliveries": secret, payload and expected signature.
    signature_scheme s;
    s.secrets = {"It's a Secret to Everybody"};
    const std::string sig =
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    auto now = std::chrono::system_clock::now();
    EXPECT_EQ(verify_signature(s, headers({{"X-Hub-Signature-256", sig}}), "Hello, World!", now),
              auth_result::ok);
    EXPECT_EQ(sign(s, "It's a Secret to Everybody", "Hello, World!", 0), sig);
    EXPECT_EQ(verify_signature(s, headers({{"X-Hub-Signature-256", sig}}), "Hello, World?", now),
              auth_result::bad_signature);
    EXPECT_EQ(verify_signature(s, headers({}), "Hello, World!", now), auth_result::missing);
    EXPECT_EQ(verify_signature(s, headers({{"X-Hub-Signature-256", "sha1=abc"}}), "x", now),
              auth_result::bad_signature);
    EXPECT_EQ(verify_signature(s, headers({{"X-Hub-Signature-256", "sha256=zz"}}), "x", now),
              auth_result::bad_signature);
    // During a secret rotation either secret is accepted.
    s.secrets = {"new secret", "It's a Secret to Everybody"};
    EXPECT_EQ(verify_signature(s, headers({{"X-Hub-Signature-256", sig}}), "Hello, World!", now),
              auth_result::ok);
}

TEST(signatures, stripe_style_keyed_header_with_timestamp_tolerance) {
    signature_scheme s;
    s.secrets = {"whsec_test"};
    s.header = "Stripe-Signature";
    s.format = signature_scheme::format::keyed;
    s.signed_payload = "{timestamp}.{body}";
    s.tolerance = 300s;
    const auto now = std::chrono::system_clock::now();
    const auto ts =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const std::string body = R"({"id":"evt_1"})";
    const std::string good = sign(s, "whsec_test", body, ts);
    EXPECT_EQ(good.substr(0, 2), "t=");
    EXPECT_EQ(verify_signature(s, headers({{"Stripe-Signature", good}}), body, now),
              auth_result::ok);
    // Several v1 signatures (secret rolling) and a v0 that is ignored.
    const std::string several =
        "t=" + std::to_string(ts) + ",v1=00ff,v0=abcd," + good.substr(good.find("v1="));
    EXPECT_EQ(verify_signature(s, headers({{"Stripe-Signature", several}}), body, now),
              auth_result::ok);
    // Replayed ten minutes later: correctly signed but stale.
    const std::string old = sign(s, "whsec_test", body, ts - 600);
    EXPECT_EQ(verify_signature(s, headers({{"Stripe-Signature", old}}), body, now),
              auth_result::stale_timestamp);
    // The timestamp is signed: changing it breaks the signature.
    std::string forged = good;
    forged.replace(2, std::to_string(ts).size(), std::to_string(ts + 1));
    EXPECT_EQ(verify_signature(s, headers({{"Stripe-Signature", forged}}), body, now),
              auth_result::bad_signature);
    EXPECT_EQ(verify_signature(s, headers({{"Stripe-Signature", "v1=00"}}), body, now),
              auth_result::missing);
}

TEST(signatures, slack_and_shopify_styles) {
    const auto now = std::chrono::system_clock::now();
    const auto ts =
        std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    signature_scheme slack;
    slack.secrets = {"8f742231b10e8888abcd99yyyzzz85a5"};
    slack.header = "X-Slack-Signature";
    slack.prefix = "v0=";
    slack.timestamp_header = "X-Slack-Request-Timestamp";
    slack.signed_payload = "v0:{timestamp}:{body}";
    const std::string body = "token=xyz&team_id=T1";
    const std::string sig = sign(slack, slack.secrets[0], body, ts);
    EXPECT_EQ(sig.substr(0, 3), "v0=");
    // The same bytes an independent computation gives.
    EXPECT_EQ(sig, "v0=" + hex_encode(hmac_sha256(slack.secrets[0],
                                                  "v0:" + std::to_string(ts) + ":" + body)));
    EXPECT_EQ(verify_signature(slack,
                               headers({{"X-Slack-Signature", sig},
                                        {"X-Slack-Request-Timestamp", std::to_string(ts)}}),
                               body, now),
              auth_result::ok);
    EXPECT_EQ(verify_signature(slack, headers({{"X-Slack-Signature", sig}}), body, now),
              auth_result::missing);

    signature_scheme shopify;
    shopify.secrets = {"shpss_secret"};
    shopify.header = "X-Shopify-Hmac-Sha256";
    shopify.prefix = "";
    shopify.encoding = signature_scheme::encoding::base64;
    const std::string b64 = base64_encode(hmac_sha256("shpss_secret", body));
    EXPECT_EQ(verify_signature(shopify, headers({{"X-Shopify-Hmac-Sha256", b64}}), body, now),
              auth_result::ok);
    EXPECT_EQ(verify_signature(shopify, headers({{"X-Shopify-Hmac-Sha256", "!!"}}), body, now),
              auth_result::bad_signature);
}

TEST(links, next_link_relative_urls_and_query_params) {
    EXPECT_EQ(
        link_next(R"(<https://api/x?page=2>; rel="next", <https://api/x?page=9>; rel="last")"),
        "https://api/x?page=2");
    EXPECT_EQ(link_next(R"(<https://api/x?page=1>; rel="prev",<https://api/x?page=3>;rel=next)"),
              "https://api/x?page=3");
    EXPECT_EQ(link_next(R"(</items?c=a,b>; title="a, b"; rel="prefetch next")"), "/items?c=a,b");
    EXPECT_FALSE(link_next(R"(<https://api/x?page=9>; rel="last")"));
    EXPECT_FALSE(link_next(""));

    EXPECT_EQ(resolve_url("http://h:1/a/b?x=1", "/c?d=2"), "http://h:1/c?d=2");
    EXPECT_EQ(resolve_url("http://h:1/a/b?x=1", "c"), "http://h:1/a/c");
    EXPECT_EQ(resolve_url("http://h:1/a/b", "https://o/p"), "https://o/p");
    EXPECT_EQ(resolve_url("http://h:1/a/b", "?page=2"), "http://h:1/a/b?page=2");

    EXPECT_EQ(set_query_param("http://h/p", "cursor", "a b"), "http://h/p?cursor=a%20b");
    EXPECT_EQ(set_query_param("http://h/p?x=1&cursor=old&y=2#f", "cursor", "n"),
              "http://h/p?x=1&y=2&cursor=n#f");
    EXPECT_EQ(list_values("t=1, v1=aa,v1=bb ,v0=cc", "v1"),
              (std::vector<std::string_view>{"aa", "bb"}));
}

TEST(uuid, formats_the_128_bit_id_like_iggy) {
    EXPECT_EQ(format_uuid(message_id{0x0123456789abcdefull, 0xfedcba9876543210ull}),
              "fedcba98-7654-3210-0123-456789abcdef");
    EXPECT_EQ(format_uuid(message_id{1, 0}), "00000000-0000-0000-0000-000000000001");
}

TEST(json_path, selects_keys_indexes_and_wildcards) {
    rapidjson::Document d;
    d.Parse(R"({"data": {"items": [{"id": 1}, {"id": 2, "x.y": "dot"}], "next": null},
                "a b": [[1, 2], [3]], "n": 5})");
    ASSERT_FALSE(d.HasParseError());
    auto sel = [&](std::string_view p) {
        auto jp = json_path::parse(p);
        EXPECT_TRUE(jp) << p;
        std::vector<std::string> out;
        std::vector<const rapidjson::Value*> vs;
        if (jp)
            jp->select(d, vs);
        for (auto* v : vs)
            out.push_back(scalar_text(*v));
        return out;
    };
    EXPECT_EQ(sel("data.items[1].id"), std::vector<std::string>{"2"});
    EXPECT_EQ(sel("$.data.items[*].id"), (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(sel("$['data'][\"items\"][1]['x.y']"), std::vector<std::string>{"dot"});
    EXPECT_EQ(sel("['a b'][*][*]"), (std::vector<std::string>{"1", "2", "3"}));
    EXPECT_EQ(sel("n"), std::vector<std::string>{"5"});
    EXPECT_EQ(sel("data.next"), std::vector<std::string>{""});
    EXPECT_TRUE(sel("data.items[7]").empty());
    EXPECT_TRUE(sel("n.deeper").empty());
    EXPECT_EQ(sel("$").size(), 1u);
    EXPECT_TRUE(json_path::parse("")->is_root());
    EXPECT_FALSE(json_path::parse("a[1"));
    EXPECT_FALSE(json_path::parse("a['x"));
    EXPECT_FALSE(json_path::parse("a..b"));
    EXPECT_FALSE(json_path::parse("a[x]"));
}

TEST(json_exact, numbers_survive_as_written) {
    rapidjson::Document d;
    std::string err;
    ASSERT_TRUE(parse_exact(R"({"big": 123456789012345678901234567890, "dec": 2.50,
                               "e": -1.0E+2, "s": "2.50", "a": [0.1, 7]})",
                            d, err))
        << err;
    std::string out;
    append_json(d, out);
    EXPECT_EQ(out, R"({"big":123456789012345678901234567890,"dec":2.50,"e":-1.0E+2,"s":"2.50",)"
                   R"("a":[0.1,7]})");
    EXPECT_EQ(scalar_text(d["big"]), "123456789012345678901234567890");
    EXPECT_EQ(scalar_text(d["s"]), "2.50");
    auto p = json_path::parse("a[1]");
    ASSERT_TRUE(p);
    EXPECT_EQ(scalar_text(*p->first(d)), "7");
    EXPECT_FALSE(parse_exact("{\"a\": 01}", d, err));
    EXPECT_FALSE(err.empty());
}

TEST(json_split, arrays_are_sliced_without_copies) {
    std::vector<std::string_view> out;
    split_error err;
    const std::string body =
        " [ {\"a\": [1, {\"b\": \"]\"}]} ,\n 2.5e3, \"s,t\", null,[ ] ,true ] ";
    ASSERT_TRUE(split_json(body, out, err)) << err.message;
    ASSERT_EQ(out.size(), 6u);
    EXPECT_EQ(out[0], "{\"a\": [1, {\"b\": \"]\"}]}");
    EXPECT_EQ(out[1], "2.5e3");
    EXPECT_EQ(out[2], "\"s,t\"");
    EXPECT_EQ(out[3], "null");
    EXPECT_EQ(out[4], "[ ]");
    EXPECT_EQ(out[5], "true");
    EXPECT_GE(out[0].data(), body.data());  // views into the body
    EXPECT_LT(out[0].data(), body.data() + body.size());

    out.clear();
    ASSERT_TRUE(split_json(" {\"one\": 1}\n", out, err));
    EXPECT_EQ(out, std::vector<std::string_view>{"{\"one\": 1}"});
    out.clear();
    ASSERT_TRUE(split_json("[]", out, err));
    EXPECT_TRUE(out.empty());

    for (std::string bad : {"[1, 2,", "{\"a\": }", "[1] [2]", "", "[\"\xff\"]", "nul"}) {
        out.clear();
        EXPECT_FALSE(split_json(bad, out, err)) << bad;
    }
    out.clear();
    EXPECT_FALSE(split_json("[1, 2, {x}]", out, err));
    EXPECT_EQ(err.item, 2u);
}

TEST(json_split, hostile_bodies_are_refused_with_a_reason) {
    // Through core's read_json: 200,000 '[' crashed the recursive parser; a NUL ended the value.
    for (const auto& [name, bytes] : testing::hostile_json_inputs()) {
        std::vector<std::string_view> out;
        split_error err;
        EXPECT_FALSE(split_json(bytes, out, err)) << name;
        EXPECT_FALSE(err.message.empty()) << name;
        out.clear();
        EXPECT_FALSE(split_ndjson(bytes, out, err)) << name;
        rapidjson::Document d;
        std::string perr;
        EXPECT_FALSE(parse_exact(bytes, d, perr)) << name;
        EXPECT_FALSE(perr.empty()) << name;
        std::string min = "x";
        EXPECT_FALSE(append_minified(bytes, min)) << name;
        EXPECT_EQ(min, "x") << name;
        EXPECT_FALSE(is_valid_json(bytes)) << name;
    }
    std::vector<std::string_view> out;
    split_error err;
    EXPECT_FALSE(split_json(testing::deep_arrays(), out, err));
    EXPECT_EQ(err.message, "JSON nested deeper than 128 levels at byte 128");
    EXPECT_FALSE(split_json(std::string("{\"k\":1}\0garbage", 16), out, err));
    EXPECT_EQ(err.message, "data after the JSON value at byte 7 (byte 0x00)");
    // The deepest accepted: elements of a top-level array at 127 levels.
    out.clear();
    const std::string inner = testing::deep_arrays(127);
    const std::string body = "[" + inner + "," + inner + "]";
    ASSERT_TRUE(split_json(body, out, err)) << err.message;
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0], inner);
    EXPECT_EQ(out[1], inner);
}

TEST(json_split, ndjson_lines) {
    std::vector<std::string_view> out;
    split_error err;
    ASSERT_TRUE(split_ndjson("{\"a\":1}\r\n\n  [2]  \n\"x\"", out, err));
    EXPECT_EQ(out, (std::vector<std::string_view>{"{\"a\":1}", "[2]", "\"x\""}));
    out.clear();
    EXPECT_FALSE(split_ndjson("{\"a\":1}\n{bad}\n", out, err));
    EXPECT_EQ(err.item, 1u);
    out.clear();
    EXPECT_FALSE(split_ndjson("{\"a\":1} {\"b\":2}\n", out, err));
}

TEST(json_minify, keeps_numbers_and_validates) {
    std::string out = "x";
    EXPECT_TRUE(append_minified(" { \"a\" : [ 1.50 , 1e300 ] ,\n \"b\":\"\\u00e9\" } ", out));
    EXPECT_EQ(out, "x{\"a\":[1.50,1e300],\"b\":\"\xc3\xa9\"}");
    EXPECT_FALSE(append_minified("{\"a\":", out));
    EXPECT_EQ(out, "x{\"a\":[1.50,1e300],\"b\":\"\xc3\xa9\"}");
    EXPECT_TRUE(is_valid_json(" 1 "));
    EXPECT_FALSE(is_valid_json("1 2"));
    std::string s;
    append_json_string(s, "q\"\n\x01");
    EXPECT_EQ(s, "\"q\\\"\\n\\u0001\"");
}

TEST(poll_state, round_trips_and_refuses_every_hostile_state) {
    const poll_position p{"c\"1\u0000", "https://h/x?page=2"};
    auto back = from_state(to_state(p));
    ASSERT_TRUE(back) << back.error().to_string();
    EXPECT_EQ(*back, p);
    auto cases = test::hostile_inputs("state/http_poll");
    ASSERT_GE(cases.size(), 8u);
    cases.emplace_back("one_mib_of_brackets", std::string(1u << 20, '['));
    cases.emplace_back("one_mib_of_objects", [] {
        std::string s;
        while (s.size() < (1u << 20))
            s += "{\"a\":";
        return s;
    }());
    for (const auto& [name, state] : cases) {
        auto r = from_state(state);
        ASSERT_FALSE(r) << name << " was accepted";
        EXPECT_EQ(r.error().code(), errc::data_loss) << name;
        EXPECT_NE(r.error().message().find("http_poll state"), std::string::npos) << name;
    }
}

}  // namespace
}  // namespace trib::connectors::http_detail
