// The S3 connectors' pure parts, without a server: object names, formats, S3's XML answers,
// credentials, record framing, the source's saved position.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <random>

#include "connectors/s3/credentials.h"
#include "connectors/s3/format.h"
#include "connectors/s3/path.h"
#include "connectors/s3/records.h"
#include "connectors/s3/s3_store.h"
#include "connectors/s3/source_state.h"
#include "connectors/s3/xml.h"
#include "harness/hostile.h"

namespace trib::connectors::s3_detail {
namespace {

// 2024-03-16T14:00:00Z
constexpr std::uint64_t k_t0 = 1'710'597'600'000'000ull;

TEST(s3_path, given_iggy_default_template_should_render_date_and_hour_of_the_message) {
    auto t = path_template::parse("{stream}/{topic}/{date}/{hour}");
    ASSERT_TRUE(t);
    path_context c{"app_logs", "api_requests", 1, k_t0 + 3'600'000'000ull * 3, 0, {}};
    EXPECT_EQ(t->render(c), "app_logs/api_requests/2024-03-16/17");
    EXPECT_FALSE(t->uses_receive_time());
    EXPECT_FALSE(t->uses("partition"));
}

TEST(s3_path, given_payload_field_should_render_it_and_unknown_when_absent) {
    auto t = path_template::parse("dev={payload.device.id}/p{partition}");
    ASSERT_TRUE(t);
    path_context c{"s", "t", 7, k_t0, 0, R"({"device":{"id":"a/b"}})"};
    EXPECT_EQ(t->render(c), "dev=a_b/p7");  // a slash in a value must not add a folder
    c.payload = R"({"device":{}})";
    EXPECT_EQ(t->render(c), "dev=unknown/p7");
    c.payload = "\xff not json";
    EXPECT_EQ(t->render(c), "dev=unknown/p7");
    c.payload = R"({"device":{"id":42}})";
    EXPECT_EQ(t->render(c), "dev=42/p7");
}

TEST(s3_path, given_bad_templates_should_name_the_problem) {
    EXPECT_FALSE(path_template::parse("{stream"));
    EXPECT_FALSE(path_template::parse("a}"));
    auto u = path_template::parse("{nope}");
    ASSERT_FALSE(u);
    EXPECT_NE(u.error().message().find("{nope}"), std::string::npos);
    auto r = path_template::parse("{timestamp}/{receive_hour}");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->uses_receive_time());
    path_context c{"s", "t", 0, 0, k_t0, {}};
    EXPECT_EQ(r->render(c), "1710597600000/14");
}

TEST(s3_path, given_offsets_should_name_objects_as_iggy_and_parse_them_back) {
    EXPECT_EQ(object_file_name(true, 1, 0, 999, "jsonl"), "000000-000999.jsonl");
    EXPECT_EQ(object_file_name(false, 3, 1000, 1234567, "csv"), "p3_001000-1234567.csv");
    std::uint64_t last = 0;
    EXPECT_TRUE(parse_object_last_offset("p3_001000-1234567.csv", 1000, last));
    EXPECT_EQ(last, 1234567u);
    EXPECT_FALSE(parse_object_last_offset("p3_001000-12x.csv", 1000, last));
    EXPECT_FALSE(parse_object_last_offset("p3_001000-000999.csv", 1000, last));  // last < first
    EXPECT_EQ(join_key("/iggy/raw/", "s/t/", "a.jsonl"), "iggy/raw/s/t/a.jsonl");
    EXPECT_EQ(join_key("", "", "a.jsonl"), "a.jsonl");
}

message msg(std::uint64_t offset, std::string_view payload) {
    message m;
    m.offset = offset;
    m.timestamp_us = k_t0 + offset;
    m.payload = payload;
    return m;
}

TEST(s3_format, given_json_lines_should_write_iggy_records_that_parse_back) {
    auto w = make_format_writer(output_format::json_lines, {true, true});
    object_context ctx{"app", "req", 1, "json"};
    std::string out;
    w->begin(out, ctx);
    auto m1 = msg(42, R"({"method":"GET"})");
    m1.headers.push_back(header{"h", value_kind::string, "v"});
    w->add(out, ctx, m1);
    w->add(out, ctx, msg(43, "\x01\x02"));
    w->finish(out);
    const auto nl = out.find('\n');
    ASSERT_NE(nl, std::string::npos);
    rapidjson::Document d;
    d.Parse(out.data(), nl);
    ASSERT_FALSE(d.HasParseError());
    EXPECT_EQ(d["offset"].GetUint64(), 42u);
    EXPECT_STREQ(d["timestamp"].GetString(), "2024-03-16T14:00:00Z");
    EXPECT_STREQ(d["stream"].GetString(), "app");
    EXPECT_EQ(d["partition_id"].GetUint(), 1u);
    EXPECT_STREQ(d["payload"]["method"].GetString(), "GET");
    EXPECT_STREQ(d["headers"]["h"].GetString(), "v");
    rapidjson::Document d2;
    d2.Parse(out.data() + nl + 1, out.size() - nl - 2);
    ASSERT_FALSE(d2.HasParseError());
    EXPECT_STREQ(d2["payload"].GetString(), "AQI=");  // not JSON: base64 as Iggy's sink
    EXPECT_EQ(w->extension(), "jsonl");
}

TEST(s3_format, given_json_array_should_write_one_array) {
    auto w = make_format_writer(output_format::json_array, {false, false});
    object_context ctx{"a", "b", 0, "text"};
    std::string out;
    w->begin(out, ctx);
    w->add(out, ctx, msg(1, "x"));
    w->add(out, ctx, msg(2, "[1]"));
    w->finish(out);
    rapidjson::Document d;
    d.Parse(out.data(), out.size());
    ASSERT_FALSE(d.HasParseError()) << out;
    ASSERT_TRUE(d.IsArray());
    ASSERT_EQ(d.Size(), 2u);
    EXPECT_STREQ(d[0]["payload"].GetString(), "x");  // text stays a string
    EXPECT_FALSE(d[0].HasMember("offset"));
}

TEST(s3_format, given_csv_should_quote_and_split_back) {
    auto w = make_format_writer(output_format::csv, {true, false});
    object_context ctx{"s", "t", 2, "json"};
    std::string out;
    w->begin(out, ctx);
    w->add(out, ctx, msg(5, "a,\"b\"\nc"));
    w->finish(out);
    record_framer f(record_format::csv, "\n", 1 << 20);
    f.reset(true);
    std::string_view rest = out;
    std::vector<std::string> rows;
    for (;;) {
        auto s = f.next(rest, true);
        if (s.what == record_framer::kind::end)
            break;
        if (s.what == record_framer::kind::record)
            rows.emplace_back(rest.substr(s.begin, s.end - s.begin));
        rest.remove_prefix(s.consumed);
    }
    ASSERT_EQ(rows.size(), 2u);
    auto h = split_csv_row(rows[0]);
    EXPECT_EQ(h.back(), "payload");
    auto r = split_csv_row(rows[1]);
    ASSERT_EQ(r.size(), h.size());
    EXPECT_EQ(r[0], "5");
    EXPECT_EQ(r.back(), "a,\"b\"\nc");
}

TEST(s3_format, given_iggy_format_names_should_accept_them_and_refuse_others) {
    EXPECT_EQ(*parse_output_format("JSONL"), output_format::json_lines);
    EXPECT_EQ(*parse_output_format("json"), output_format::json_array);
    EXPECT_EQ(*parse_output_format("raw"), output_format::raw);
    EXPECT_FALSE(parse_output_format("xml"));
}

TEST(s3_xml, given_a_listing_should_read_keys_etags_sizes_and_the_token) {
    const std::string xml =
        R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name>
<Contents><Key>a%2Fb+c.json</Key><ETag>&quot;abc&quot;</ETag><Size>12</Size></Contents>
<Contents><Key>z</Key><Size>0</Size><ETag>"e"</ETag></Contents>
<IsTruncated>true</IsTruncated><NextContinuationToken>tok/1</NextContinuationToken>
</ListBucketResult>)";
    auto p = parse_list_result(xml, true);
    ASSERT_TRUE(p) << p.error().to_string();
    ASSERT_EQ(p->objects.size(), 2u);
    EXPECT_EQ(p->objects[0].key, "a/b c.json");
    EXPECT_EQ(p->objects[0].etag, "\"abc\"");
    EXPECT_EQ(p->objects[0].size, 12u);
    EXPECT_EQ(p->objects[1].key, "z");
    EXPECT_TRUE(p->truncated);
    EXPECT_EQ(p->next_token, "tok/1");
}

TEST(s3_xml, given_errors_and_garbage_should_not_throw_and_say_what) {
    auto e = parse_error("<Error><Code>SlowDown</Code><Message>Reduce</Message></Error>");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, "SlowDown");
    EXPECT_FALSE(parse_error("not xml"));
    EXPECT_FALSE(parse_list_result("<Other/>", false));
    EXPECT_FALSE(
        parse_list_result("<ListBucketResult><Contents><Size>x</Size></Contents>"
                          "</ListBucketResult>",
                          false));
    EXPECT_FALSE(parse_upload_id("<InitiateMultipartUploadResult/>"));
    auto id = parse_upload_id(
        "<InitiateMultipartUploadResult><UploadId>u-1</UploadId></InitiateMultipartUploadResult>");
    ASSERT_TRUE(id);
    EXPECT_EQ(*id, "u-1");
    // The billion laughs: expat's amplification guard stops it.
    std::string bomb = "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">";
    char prev = 'a';
    for (char c = 'b'; c <= 'k'; ++c) {
        bomb += std::string("<!ENTITY ") + c + " \"";
        for (int i = 0; i < 10; ++i)
            bomb += std::string("&") + prev + ";";
        bomb += "\">";
        prev = c;
    }
    bomb += "]><Error><Code>&k;</Code></Error>";
    auto b = parse_error(bomb);
    EXPECT_TRUE(!b || b->code.size() <= 128);
    const auto corpus = test::hostile_inputs("json");
    EXPECT_GE(corpus.size(), 5u);
    for (const auto& [name, h] : corpus) {
        (void)parse_error(h);
        (void)parse_list_result(h, true);
    }
}

TEST(s3_credentials, given_the_shared_file_should_pick_the_profile) {
    const std::string file =
        "[default]\naws_access_key_id = A\naws_secret_access_key=B\n"
        "; comment\n[profile dev]\naws_access_key_id=C\n"
        "aws_secret_access_key = D\naws_session_token=T\n";
    auto d = parse_credentials_file(file, "default");
    ASSERT_TRUE(d);
    EXPECT_EQ(d->access_key_id, "A");
    auto dev = parse_credentials_file(file, "dev");
    ASSERT_TRUE(dev);
    EXPECT_EQ(dev->secret_access_key, "D");
    EXPECT_EQ(dev->session_token, "T");
    EXPECT_FALSE(parse_credentials_file(file, "prod"));
}

TEST(s3_credentials, given_options_env_and_file_should_resolve_in_the_aws_order) {
    std::map<std::string, std::string> env;
    credential_inputs in;
    in.getenv = [&](const char* n) -> std::optional<std::string> {
        auto it = env.find(n);
        if (it == env.end())
            return std::nullopt;
        return it->second;
    };
    in.read_file = [](const std::string& p) -> std::optional<std::string> {
        if (p == "/home/u/.aws/credentials")
            return std::string("[default]\naws_access_key_id=F\naws_secret_access_key=FS\n");
        return std::nullopt;
    };
    auto none = resolve_credentials(in);
    ASSERT_FALSE(none);
    EXPECT_EQ(none.error().retry(), retry_class::fatal);
    env["HOME"] = "/home/u";
    auto f = resolve_credentials(in);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->access_key_id, "F");
    env["AWS_ACCESS_KEY_ID"] = "E";
    env["AWS_SECRET_ACCESS_KEY"] = "ES";
    auto e = resolve_credentials(in);
    ASSERT_TRUE(e);
    EXPECT_EQ(e->access_key_id, "E");
    in.access_key_id = "O";
    in.secret_access_key = "OS";
    auto o = resolve_credentials(in);
    ASSERT_TRUE(o);
    EXPECT_EQ(o->access_key_id, "O");
    in.secret_access_key.reset();
    auto half = resolve_credentials(in);
    ASSERT_FALSE(half);
    EXPECT_EQ(half.error().message().find("OS"), std::string::npos);
}

/// Feeds `data` to a framer in chunks of `chunk` bytes, as the source does, and returns the
/// records (too long ones marked with a leading '!').
std::vector<std::string> frame(record_format f, std::string_view delim, std::size_t max,
                               std::string_view data, std::size_t chunk) {
    record_framer fr(f, std::string(delim), max);
    fr.reset(true);
    std::string buf;
    std::size_t fed = 0;
    std::vector<std::string> out;
    for (int guard = 0; guard < 1000000; ++guard) {
        const bool eof = fed == data.size();
        auto s = fr.next(buf, eof);
        using k = record_framer::kind;
        if (s.what == k::need_more) {
            const auto n = std::min(chunk, data.size() - fed);
            buf.append(data.substr(fed, n));
            fed += n;
            continue;
        }
        if (s.what == k::end)
            return out;
        if (s.what == k::malformed) {
            out.push_back("?" + s.error);
            return out;
        }
        if (s.what == k::record)
            out.emplace_back(std::string_view(buf).substr(s.begin, s.end - s.begin));
        if (s.what == k::too_long)
            out.push_back("!" + buf.substr(s.begin, s.end - s.begin));
        buf.erase(0, s.consumed);
    }
    ADD_FAILURE() << "framer did not finish";
    return out;
}

TEST(s3_records, given_lines_in_any_chunking_should_give_the_same_records) {
    const std::string data = "a||bb||||c|d||" + std::string(40, 'x') + "||tail";
    for (std::size_t chunk = 1; chunk <= data.size(); ++chunk) {
        auto r = frame(record_format::lines, "||", 30, data, chunk);
        ASSERT_EQ(r.size(), 5u) << "chunk " << chunk;
        EXPECT_EQ(r[0], "a");
        EXPECT_EQ(r[1], "bb");
        EXPECT_EQ(r[2], "c|d");
        EXPECT_EQ(r[3], "!" + std::string(30, 'x')) << "chunk " << chunk;
        EXPECT_EQ(r[4], "tail");
    }
}

TEST(s3_records, given_a_json_array_in_any_chunking_should_give_its_elements) {
    const std::string data = " [ {\"a\":\"],\\\"\"} , [1,[2]] ,\"s\",3 ]\n";
    for (std::size_t chunk = 1; chunk <= data.size(); ++chunk) {
        auto r = frame(record_format::json_array, "", 1000, data, chunk);
        ASSERT_EQ(r.size(), 4u) << "chunk " << chunk;
        EXPECT_EQ(r[0], "{\"a\":\"],\\\"\"}");
        EXPECT_EQ(r[1], "[1,[2]]");
        EXPECT_EQ(r[2], "\"s\"");
        EXPECT_EQ(r[3], "3");
    }
    EXPECT_EQ(frame(record_format::json_array, "", 100, "{}", 4).front()[0], '?');
    EXPECT_EQ(frame(record_format::json_array, "", 100, "[1,2", 4).back()[0], '?');
    EXPECT_TRUE(frame(record_format::json_array, "", 100, "", 4).empty());
}

TEST(s3_records, given_csv_with_quoted_newlines_should_keep_rows_whole) {
    const std::string data = "id,text\r\n1,\"a\nb\"\r\n2,\"say \"\"hi\"\"\"\n3,x";
    for (std::size_t chunk = 1; chunk <= data.size(); ++chunk) {
        auto r = frame(record_format::csv, "", 1000, data, chunk);
        ASSERT_EQ(r.size(), 4u) << "chunk " << chunk;
        EXPECT_EQ(r[1], "1,\"a\nb\"");
        EXPECT_EQ(csv_row_json(split_csv_row(r[0]), r[2]), R"({"id":"2","text":"say \"hi\""})");
    }
}

TEST(s3_records, given_random_bytes_should_terminate_with_bounded_records) {
    std::mt19937 rng(7);
    for (int round = 0; round < 200; ++round) {
        std::string data(static_cast<std::size_t>(rng() % 400), '\0');
        for (auto& c : data)
            c = "ab,\"[]{}\n\\ "[rng() % 12];
        for (auto f : {record_format::lines, record_format::csv, record_format::json_array}) {
            for (auto r : frame(f, "\n", 16, data, 1 + rng() % 20))
                EXPECT_LE(r.size(), 17u + 200u);
        }
    }
}

TEST(s3_state, given_positions_should_round_trip_and_refuse_damage) {
    source_position p{"a/done.csv", "a/\"next\".csv", "\"etag\"", 1234};
    auto d = decode_position(encode_position(p));
    ASSERT_TRUE(d);
    EXPECT_EQ(*d, p);
    EXPECT_FALSE(decode_position("{}"));
    EXPECT_FALSE(decode_position(R"({"v":2,"done":"","key":"","etag":"","pos":0})"));
    EXPECT_FALSE(decode_position(R"({"v":1,"done":"","key":"","etag":"","pos":5})"));
    EXPECT_FALSE(decode_position(R"({"v":1,"done":"","key":"k","etag":"","pos":-1})"));
    // Avro's block: both fields or none, the block's first record not after the position.
    source_position b{"", "k.avro", "e", 700, 40960, 650};
    auto db = decode_position(encode_position(b));
    ASSERT_TRUE(db);
    EXPECT_EQ(*db, b);
    EXPECT_EQ(encode_position(p).find("block"), std::string::npos);  // older states unchanged
    EXPECT_TRUE(
        decode_position(R"({"v":1,"done":"","key":"k","etag":"","pos":7,"block":9,"brow":7})"));
    EXPECT_FALSE(decode_position(R"({"v":1,"done":"","key":"k","etag":"","pos":7,"block":9})"));
    EXPECT_FALSE(
        decode_position(R"({"v":1,"done":"","key":"k","etag":"","pos":7,"block":9,"brow":8})"));
    EXPECT_FALSE(
        decode_position(R"({"v":1,"done":"","key":"k","etag":"","pos":7,"block":"9","brow":1})"));
    EXPECT_FALSE(
        decode_position(R"({"v":1,"done":"","key":"","etag":"","pos":0,"block":9,"brow":0})"));
    const auto corpus = test::hostile_inputs("json");
    EXPECT_GE(corpus.size(), 5u);
    for (const auto& [name, h] : corpus)
        EXPECT_FALSE(decode_position(h)) << name;
}

net::http_response answer(int status, std::string code, std::string retry_after = {}) {
    net::http_response r;
    r.status = status;
    if (!code.empty())
        r.body = "<Error><Code>" + code + "</Code><Message>m</Message></Error>";
    if (!retry_after.empty())
        r.headers["Retry-After"] = retry_after;
    return r;
}

TEST(s3_errors, given_s3_answers_should_classify_them_for_the_runtime) {
    auto slow = classify_s3_response(answer(503, "SlowDown", "3"), "put", "b");
    EXPECT_EQ(slow.retry(), retry_class::throttled);
    EXPECT_EQ(slow.retry_after(), std::chrono::milliseconds(3000));
    EXPECT_NE(slow.message().find("SlowDown"), std::string::npos);
    EXPECT_EQ(classify_s3_response(answer(500, "InternalError"), "put", "b").retry(),
              retry_class::retryable);
    EXPECT_EQ(classify_s3_response(answer(400, "RequestTimeout"), "put", "b").retry(),
              retry_class::retryable);
    auto key = classify_s3_response(answer(403, "InvalidAccessKeyId"), "put", "b");
    EXPECT_EQ(key.retry(), retry_class::fatal);
    EXPECT_EQ(key.code(), errc::unauthenticated);
    auto denied = classify_s3_response(answer(403, "AccessDenied"), "put", "b");
    EXPECT_EQ(denied.code(), errc::permission_denied);
    auto bucket = classify_s3_response(answer(404, "NoSuchBucket"), "put", "lake");
    EXPECT_EQ(bucket.code(), errc::not_found);
    EXPECT_NE(bucket.message().find("'lake'"), std::string::npos);
    EXPECT_EQ(classify_s3_response(answer(404, ""), "check bucket 'x'", "x").code(),
              errc::not_found);  // HEAD has no body
    EXPECT_EQ(classify_s3_response(answer(400, "InvalidArgument"), "put", "b").retry(),
              retry_class::fatal);
}

TEST(s3_urls, given_addressing_styles_should_build_signed_friendly_urls) {
    s3_settings s;
    s.bucket = "lake";
    s.region = "eu-west-1";
    EXPECT_EQ(s3_object_url(s, "a b/c+d.json"),
              "https://lake.s3.eu-west-1.amazonaws.com/a%20b/c%2Bd.json");
    s.endpoint = "http://127.0.0.1:9000/";
    s.path_style = true;
    EXPECT_EQ(s3_object_url(s, "x/ü"), "http://127.0.0.1:9000/lake/x/%C3%BC");
    s.path_style = false;
    EXPECT_EQ(s3_object_url(s, "k"), "http://lake.127.0.0.1:9000/k");
}

}  // namespace
}  // namespace trib::connectors::s3_detail
