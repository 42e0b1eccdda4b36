// Google Cloud Storage's service-account JWT and JSON answers (pure).

#include "connectors/s3/gcs_util.h"

#include <fmt/format.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <charconv>
#include <memory>

#include "connectors/s3/json_member.h"
#include "core/base64.h"
#include "core/json_parse.h"
#include "core/json_text.h"

namespace trib::connectors::s3_detail {
namespace {

std::string member_str(const rapidjson::Value& o, const char* name) {
    return json_member_str(o, name);
}

}  // namespace

std::string base64url(std::string_view bytes) {
    std::string s = base64_encode(bytes);
    while (!s.empty() && s.back() == '=')
        s.pop_back();
    for (auto& c : s) {
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    return s;
}

result<gcs_service_account> parse_gcs_service_account(std::string_view json) {
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st)
        return fail(errc::invalid_argument,
                    "the service-account key file is not JSON: " + st.error().message());
    if (!d.IsObject())
        return fail(errc::invalid_argument, "the service-account key file is not a JSON object");
    gcs_service_account sa;
    sa.client_email = member_str(d, "client_email");
    sa.private_key = member_str(d, "private_key");
    sa.private_key_id = member_str(d, "private_key_id");
    if (auto t = member_str(d, "token_uri"); !t.empty())
        sa.token_uri = t;
    const auto type = member_str(d, "type");
    if (!type.empty() && type != "service_account")
        return fail(errc::invalid_argument,
                    fmt::format("the key file's type is '{}', not 'service_account'", type));
    if (sa.client_email.empty())
        return fail(errc::invalid_argument, "the service-account key file has no client_email");
    if (sa.private_key.empty())
        return fail(errc::invalid_argument, "the service-account key file has no private_key");
    return sa;
}

result<std::string> gcs_jwt(const gcs_service_account& sa, std::string_view scope,
                            std::int64_t now_unix) {
    std::string header = R"({"alg":"RS256","typ":"JWT")";
    if (!sa.private_key_id.empty()) {
        header += ",\"kid\":";
        append_json_string(header, sa.private_key_id);
    }
    header += "}";
    std::string claims = "{\"iss\":";
    append_json_string(claims, sa.client_email);
    claims += ",\"scope\":";
    append_json_string(claims, scope);
    claims += ",\"aud\":";
    append_json_string(claims, sa.token_uri);
    claims += fmt::format(",\"iat\":{},\"exp\":{}}}", now_unix, now_unix + 3600);
    const std::string signing_input = base64url(header) + "." + base64url(claims);

    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(sa.private_key.data(), static_cast<int>(sa.private_key.size())), BIO_free);
    if (!bio)
        return fail(errc::resource_exhausted, "cannot read the private key");
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
    if (!key)
        return fail(errc::invalid_argument,
                    "the service-account private_key is not a PEM private key");
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    std::size_t len = 0;
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
        EVP_DigestSign(ctx.get(), nullptr, &len,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1)
        return fail(errc::invalid_argument, "cannot sign with the service-account private_key");
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1)
        return fail(errc::invalid_argument, "cannot sign with the service-account private_key");
    sig.resize(len);
    return signing_input + "." + base64url(sig);
}

std::string gcs_token_request_body(std::string_view jwt) {
    return "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" +
           std::string(jwt);  // base64url and '.' need no escaping
}

result<gcs_token> parse_gcs_token(std::string_view json) {
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st || !d.IsObject())
        return fail(errc::protocol_error, "the token answer is not a JSON object");
    gcs_token t;
    t.access_token = member_str(d, "access_token");
    if (t.access_token.empty())
        return fail(errc::protocol_error, "the token answer has no access_token");
    if (const auto* e = json_member(d, "expires_in"); e && e->IsInt64())
        t.expires_in = e->GetInt64();
    return t;
}

result<list_page> parse_gcs_list(std::string_view json) {
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st || !d.IsObject())
        return fail(errc::protocol_error, "the GCS list answer is not a JSON object");
    list_page page;
    if (const auto* items = json_member(d, "items")) {
        if (!items->IsArray())
            return fail(errc::protocol_error, "the GCS list answer's items is not an array");
        for (const auto& item : items->GetArray()) {
            object_info o;
            o.key = member_str(item, "name");
            if (o.key.empty())
                return fail(errc::protocol_error, "a listed GCS object has no name");
            o.etag = member_str(item, "generation");
            const auto size = member_str(item, "size");  // a decimal string (int64 in JSON API)
            if (!size.empty()) {
                auto [q, ec] = std::from_chars(size.data(), size.data() + size.size(), o.size);
                if (ec != std::errc{} || q != size.data() + size.size())
                    return fail(errc::protocol_error, "a listed GCS object's size is not a number");
            }
            page.objects.push_back(std::move(o));
        }
    }
    page.next_token = member_str(d, "nextPageToken");
    page.truncated = !page.next_token.empty();
    return page;
}

result<gcs_object_meta> parse_gcs_object(std::string_view json) {
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st || !d.IsObject())
        return fail(errc::protocol_error, "the GCS object answer is not a JSON object");
    gcs_object_meta m;
    m.generation = member_str(d, "generation");
    if (const auto* md = json_member(d, "metadata"))
        m.tag = member_str(*md, "tributary-tag");
    return m;
}

result<gcs_rewrite> parse_gcs_rewrite(std::string_view json) {
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st || !d.IsObject())
        return fail(errc::protocol_error, "the GCS rewrite answer is not a JSON object");
    gcs_rewrite r;
    if (const auto* done = json_member(d, "done"); done && done->IsBool())
        r.done = done->GetBool();
    r.token = member_str(d, "rewriteToken");
    // An answer with neither (an emulator answering with the object resource) is done.
    if (r.token.empty())
        r.done = true;
    return r;
}

gcs_error_body parse_gcs_error(std::string_view json) {
    gcs_error_body e;
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st || !d.IsObject())
        return e;
    const auto* err = json_member(d, "error");
    if (err == nullptr || !err->IsObject())
        return e;
    e.message = member_str(*err, "message").substr(0, 512);
    if (const auto* errs = json_member(*err, "errors"); errs && errs->IsArray() && !errs->Empty())
        e.reason = member_str((*errs)[0], "reason").substr(0, 128);
    return e;
}

}  // namespace trib::connectors::s3_detail
