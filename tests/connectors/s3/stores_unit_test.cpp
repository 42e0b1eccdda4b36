// The pure parts of the GCS, Azure Blob and HDFS stores, without a peer: Azure's SharedKey
// string to sign and connection strings, the GCS service-account JWT (verified with the public
// key), the JSON and XML answers of the three APIs, including malformed ones.

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>

#include <memory>

#include "connectors/s3/azure_util.h"
#include "connectors/s3/gcs_store.h"
#include "connectors/s3/gcs_util.h"
#include "connectors/s3/hdfs_util.h"
#include "connectors/s3/xml.h"
#include "core/base64.h"
#include "harness/hostile.h"

namespace trib::connectors::s3_detail {
namespace {

TEST(azure_shared_key, given_a_put_block_should_canonicalize_headers_and_query_as_documented) {
    azure_request_view r;
    r.method = "PUT";
    r.path = "/devstoreaccount1/c/dir/a%20b.json";
    r.query = {{"comp", "block"}, {"blockid", "QUJD"}};
    r.headers = {{"Content-Type", "application/octet-stream"},
                 {"X-MS-Version", "2021-08-06"},
                 {"x-ms-date", "Mon, 07 Dec 2026 16:00:00 GMT"},
                 {"If-None-Match", "*"},
                 {"x-ms-meta-tributary_tag", " 7/123 "}};
    r.content_length = 11;
    const auto s = azure_string_to_sign(r, "devstoreaccount1");
    EXPECT_EQ(s,
              "PUT\n\n\n11\n\napplication/octet-stream\n\n\n\n*\n\n\n"
              "x-ms-date:Mon, 07 Dec 2026 16:00:00 GMT\n"
              "x-ms-meta-tributary_tag:7/123\n"
              "x-ms-version:2021-08-06\n"
              "/devstoreaccount1/devstoreaccount1/c/dir/a%20b.json\n"
              "blockid:QUJD\ncomp:block");
    // A request without a body signs an empty Content-Length, not 0.
    r.content_length = 0;
    EXPECT_NE(azure_string_to_sign(r, "acct").find("PUT\n\n\n\n"), std::string::npos);
}

TEST(azure_shared_key, given_a_key_should_sign_with_hmac_sha256_and_refuse_non_base64) {
    // HMAC-SHA256 of "abc" under the key "key" (the value `openssl dgst -sha256 -hmac key` gives).
    auto h = azure_shared_key_header("acct", base64_encode("key"), "abc");
    ASSERT_TRUE(h) << h.error().to_string();
    EXPECT_EQ(*h, "SharedKey acct:nBluMtwBdfhvSxy4konWYZ3mvuaZ5MN45oMJ7Zehpqs=");
    auto bad = azure_shared_key_header("acct", "not base64 !!", "abc");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().message().find("not base64 !!"), std::string::npos);
}

TEST(azure_connection_string, given_the_usual_forms_should_read_account_key_sas_and_endpoint) {
    auto dev = parse_azure_connection_string("UseDevelopmentStorage=true");
    ASSERT_TRUE(dev);
    EXPECT_EQ(dev->account, "devstoreaccount1");
    EXPECT_EQ(dev->blob_endpoint, "http://127.0.0.1:10000/devstoreaccount1");
    EXPECT_FALSE(dev->key.empty());

    auto full = parse_azure_connection_string(
        "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=a2V5;EndpointSuffix=core."
        "chinacloudapi.cn;");
    ASSERT_TRUE(full);
    EXPECT_EQ(full->account, "acme");
    EXPECT_EQ(full->key, "a2V5");
    EXPECT_EQ(full->blob_endpoint, "https://acme.blob.core.chinacloudapi.cn");

    auto sas = parse_azure_connection_string(
        "BlobEndpoint=http://127.0.0.1:1/acct/;SharedAccessSignature=?sv=2021&sig=x%2By");
    ASSERT_TRUE(sas);
    EXPECT_EQ(sas->sas, "sv=2021&sig=x%2By");
    EXPECT_EQ(sas->blob_endpoint, "http://127.0.0.1:1/acct");

    auto no_creds = parse_azure_connection_string("AccountName=acme");
    ASSERT_FALSE(no_creds);
    auto garbage = parse_azure_connection_string("AccountKey=s3cr3t;nonsense");
    ASSERT_FALSE(garbage);
    EXPECT_EQ(garbage.error().message().find("s3cr3t"), std::string::npos);
}

TEST(azure_list, given_an_enumeration_should_read_names_etags_sizes_and_the_marker) {
    auto p = parse_azure_list(
        R"(<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="x" ContainerName="c"><Prefix>a/</Prefix><Blobs><Blob><Name>a/1 &amp; 2.json</Name><Properties><Etag>"0x1"</Etag><Content-Length>12</Content-Length></Properties></Blob><Blob><Name>a/3.json</Name><Properties><Etag>0x2</Etag><Content-Length>0</Content-Length></Properties></Blob></Blobs><NextMarker>tok</NextMarker></EnumerationResults>)");
    ASSERT_TRUE(p) << p.error().to_string();
    ASSERT_EQ(p->objects.size(), 2u);
    EXPECT_EQ(p->objects[0].key, "a/1 & 2.json");
    EXPECT_EQ(p->objects[0].etag, "\"0x1\"");
    EXPECT_EQ(p->objects[0].size, 12u);
    EXPECT_TRUE(p->truncated);
    EXPECT_EQ(p->next_token, "tok");
    auto last = parse_azure_list("<EnumerationResults><Blobs/><NextMarker/></EnumerationResults>");
    ASSERT_TRUE(last);
    EXPECT_FALSE(last->truncated);
    EXPECT_FALSE(parse_azure_list("<ListBucketResult/>"));
    EXPECT_FALSE(parse_azure_list(
        "<EnumerationResults><Blobs><Blob><Properties><Content-Length>x</Content-Length>"
        "</Properties></Blob></Blobs></EnumerationResults>"));
}

struct pkey_free {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

TEST(gcs_jwt, given_a_service_account_should_sign_an_rs256_assertion_the_public_key_verifies) {
    std::unique_ptr<EVP_PKEY, pkey_free> key(EVP_RSA_gen(2048));
    ASSERT_TRUE(key);
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr),
              1);
    char* pem_data = nullptr;
    const auto pem_len = BIO_get_mem_data(bio.get(), &pem_data);
    std::string pem(pem_data, static_cast<std::size_t>(pem_len));
    std::string escaped;
    for (char c : pem)
        escaped += c == '\n' ? std::string("\\n") : std::string(1, c);
    auto sa = parse_gcs_service_account(
        R"({"type":"service_account","project_id":"p","private_key_id":"kid1","private_key":")" +
        escaped +
        R"(","client_email":"w@p.iam.gserviceaccount.com","token_uri":"http://127.0.0.1:9/token"})");
    ASSERT_TRUE(sa) << sa.error().to_string();
    auto jwt = gcs_jwt(*sa, "https://www.googleapis.com/auth/devstorage.read_write", 1000);
    ASSERT_TRUE(jwt) << jwt.error().to_string();
    const auto d1 = jwt->find('.');
    const auto d2 = jwt->find('.', d1 + 1);
    ASSERT_NE(d2, std::string::npos);
    auto header = base64_decode(jwt->substr(0, d1));
    auto claims = base64_decode(jwt->substr(d1 + 1, d2 - d1 - 1));
    auto sig = base64_decode(jwt->substr(d2 + 1));
    ASSERT_TRUE(header && claims && sig);
    rapidjson::Document h, c;
    h.Parse(header->c_str());
    c.Parse(claims->c_str());
    ASSERT_FALSE(h.HasParseError() || c.HasParseError());
    EXPECT_STREQ(h["alg"].GetString(), "RS256");
    EXPECT_STREQ(h["kid"].GetString(), "kid1");
    EXPECT_STREQ(c["iss"].GetString(), "w@p.iam.gserviceaccount.com");
    EXPECT_STREQ(c["aud"].GetString(), "http://127.0.0.1:9/token");
    EXPECT_EQ(c["iat"].GetInt64(), 1000);
    EXPECT_EQ(c["exp"].GetInt64(), 4600);
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    ASSERT_EQ(EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
    const std::string signed_part = jwt->substr(0, d2);
    EXPECT_EQ(EVP_DigestVerify(
                  ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                  reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size()),
              1);
    EXPECT_EQ(jwt->find('='), std::string::npos);  // base64url without padding
    EXPECT_EQ(gcs_token_request_body("a.b.c"),
              "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=a.b.c");
}

TEST(gcs_jwt, given_bad_key_files_should_name_the_field_and_never_the_key) {
    EXPECT_FALSE(parse_gcs_service_account("not json"));
    auto no_key = parse_gcs_service_account(R"({"client_email":"a@b"})");
    ASSERT_FALSE(no_key);
    EXPECT_NE(no_key.error().message().find("private_key"), std::string::npos);
    auto wrong_type = parse_gcs_service_account(
        R"({"type":"authorized_user","client_email":"a","private_key":"k"})");
    ASSERT_FALSE(wrong_type);
    gcs_service_account sa;
    sa.client_email = "a@b";
    sa.private_key = "-----BEGIN PRIVATE KEY-----\nsecretbytes\n-----END PRIVATE KEY-----\n";
    auto j = gcs_jwt(sa, "s", 1);
    ASSERT_FALSE(j);
    EXPECT_EQ(j.error().message().find("secretbytes"), std::string::npos);
}

TEST(gcs_json, given_api_answers_should_read_lists_objects_tokens_and_errors) {
    auto l = parse_gcs_list(
        R"({"kind":"storage#objects","nextPageToken":"n1","items":[{"name":"a/b.json","generation":"1733","size":"42"},{"name":"a/c","generation":"9","size":"0"}]})");
    ASSERT_TRUE(l) << l.error().to_string();
    ASSERT_EQ(l->objects.size(), 2u);
    EXPECT_EQ(l->objects[0].key, "a/b.json");
    EXPECT_EQ(l->objects[0].etag, "1733");
    EXPECT_EQ(l->objects[0].size, 42u);
    EXPECT_TRUE(l->truncated);
    auto empty = parse_gcs_list(R"({"kind":"storage#objects"})");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->objects.empty());
    EXPECT_FALSE(empty->truncated);
    EXPECT_FALSE(parse_gcs_list(R"({"items":[{"name":"x","size":"-1"}]})"));
    EXPECT_FALSE(parse_gcs_list(R"({"items":{}})"));
    EXPECT_FALSE(parse_gcs_list("[1,2"));

    auto o = parse_gcs_object(R"({"generation":"5","metadata":{"tributary-tag":"3/99"}})");
    ASSERT_TRUE(o);
    EXPECT_EQ(o->tag, "3/99");
    auto t =
        parse_gcs_token(R"({"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"})");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->expires_in, 3599);
    EXPECT_FALSE(parse_gcs_token(R"({"error":"invalid_grant"})"));
    auto rw =
        parse_gcs_rewrite(R"({"kind":"storage#rewriteResponse","done":false,"rewriteToken":"t1"})");
    ASSERT_TRUE(rw);
    EXPECT_FALSE(rw->done);
    EXPECT_EQ(rw->token, "t1");
    auto rw2 = parse_gcs_rewrite(R"({"done":true,"resource":{"name":"x"}})");
    ASSERT_TRUE(rw2);
    EXPECT_TRUE(rw2->done);
    EXPECT_FALSE(parse_gcs_rewrite("nope"));
    auto e = parse_gcs_error(
        R"({"error":{"code":403,"message":"no access","errors":[{"reason":"forbidden"}]}})");
    EXPECT_EQ(e.reason, "forbidden");
    EXPECT_EQ(e.message, "no access");
    EXPECT_TRUE(parse_gcs_error("<html>").reason.empty());
}

TEST(gcs_endpoint, given_option_and_emulator_variable_should_pick_in_that_order) {
    EXPECT_EQ(gcs_endpoint("http://h:1/", "ignored:2"), "http://h:1");
    EXPECT_EQ(gcs_endpoint("", "127.0.0.1:4443"), "http://127.0.0.1:4443");
    EXPECT_EQ(gcs_endpoint("", "https://emu:1"), "https://emu:1");
    EXPECT_EQ(gcs_endpoint("", ""), "https://storage.googleapis.com");
}

TEST(hdfs_json, given_webhdfs_answers_should_read_statuses_booleans_and_exceptions) {
    auto l = parse_hdfs_statuses(
        R"({"FileStatuses":{"FileStatus":[{"pathSuffix":"a.json","type":"FILE","length":24930,"modificationTime":1320171722771},{"pathSuffix":"sub","type":"DIRECTORY","length":0,"modificationTime":1}]}})");
    ASSERT_TRUE(l) << l.error().to_string();
    ASSERT_EQ(l->size(), 2u);
    EXPECT_EQ((*l)[0].length, 24930u);
    EXPECT_FALSE((*l)[0].directory);
    EXPECT_TRUE((*l)[1].directory);
    EXPECT_EQ(hdfs_etag((*l)[0]), "24930-1320171722771");
    EXPECT_EQ(hdfs_etag_length("24930-1320171722771"), 24930u);
    EXPECT_FALSE(hdfs_etag_length("\"0x8D\""));
    EXPECT_FALSE(hdfs_etag_length(""));
    auto one = parse_hdfs_statuses(R"({"FileStatus":{"pathSuffix":"","type":"DIRECTORY"}})");
    ASSERT_TRUE(one);
    EXPECT_TRUE(one->front().directory);
    // A name with a slash would let a listing step out of its directory.
    EXPECT_FALSE(parse_hdfs_statuses(
        R"({"FileStatuses":{"FileStatus":[{"pathSuffix":"../x","type":"FILE"}]}})"));
    EXPECT_FALSE(parse_hdfs_statuses(R"({"boolean":true})"));
    EXPECT_EQ(parse_hdfs_boolean(R"({"boolean": false})").value_or(true), false);
    EXPECT_FALSE(parse_hdfs_boolean(R"({"boolean": "yes"})"));
    auto e = parse_hdfs_error(
        R"({"RemoteException":{"exception":"FileAlreadyExistsException","javaClassName":"x","message":"/a exists"}})");
    EXPECT_EQ(e.exception, "FileAlreadyExistsException");
    EXPECT_EQ(e.message, "/a exists");
}

TEST(stores_parsers, given_hostile_inputs_should_return_errors_without_crashing) {
    const auto corpus = test::hostile_inputs("json");
    ASSERT_GE(corpus.size(), 5u);
    for (const auto& [name, h] : corpus) {
        SCOPED_TRACE(name);
        // Under ASan/UBSan: no crash, no overflow, no unbounded allocation.
        (void)parse_gcs_list(h);
        (void)parse_gcs_error(h);
        (void)parse_gcs_object(h);
        (void)parse_gcs_token(h);
        (void)parse_gcs_rewrite(h);
        (void)parse_gcs_service_account(h);
        (void)parse_hdfs_statuses(h);
        (void)parse_hdfs_error(h);
        (void)parse_hdfs_boolean(h);
        (void)parse_azure_list(h);
        (void)parse_azure_connection_string(h);
    }
}

}  // namespace
}  // namespace trib::connectors::s3_detail
