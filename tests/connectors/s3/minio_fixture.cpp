#include "minio_fixture.h"

#include <fmt/format.h>

#include "connectors/s3/s3_store.h"
#include "core/net/http_client.h"

namespace trib::test {

namespace {

std::vector<std::string> go_bin_dirs() {
    std::vector<std::string> d;
#ifdef TRIB_TEST_SOURCE_DIR
    d.push_back(std::string(TRIB_TEST_SOURCE_DIR) + "/.deps/go/bin");
#endif
    if (const char* h = std::getenv("HOME"))
        d.push_back(std::string(h) + "/go/bin");
    return d;
}

connectors::s3_detail::s3_settings settings(const peer& p, const std::string& bucket) {
    connectors::s3_detail::s3_settings s;
    s.bucket = bucket;
    s.endpoint = minio_endpoint(p);
    s.path_style = true;
    s.credentials = {minio_user, minio_password, "", "test"};
    s.retries = 0;
    return s;
}

}  // namespace

peer_spec minio_spec(std::vector<std::pair<std::string, std::string>> extra_env) {
    peer_spec s;
    s.name = "minio";
    s.program = find_program("minio", go_bin_dirs()).string();
    if (s.program.empty())
        s.program = "minio";
    s.args = {"server",           "{dir}/data",        "--address",
              "127.0.0.1:{port}", "--console-address", "127.0.0.1:{port1}",
              "--quiet"};
    s.extra_ports = 1;
    s.env = {{"MINIO_ROOT_USER", minio_user},
             {"MINIO_ROOT_PASSWORD", minio_password},
             {"MINIO_BROWSER", "off"},
             {"MINIO_UPDATE", "off"}};
    for (auto& e : extra_env)
        s.env.push_back(std::move(e));
    s.ready = [](const peer& p) {
        net::client_options o;
        o.timeout = std::chrono::milliseconds(2000);
        net::http_client c(o);
        auto r = c.get(minio_endpoint(p) + "/minio/health/ready");
        // "ready" comes before the object layer is up (503 XMinioServerNotInitialized): a
        // signed request must go through too.
        return r && r->status == 200 && minio_make_bucket(p, "tributary-ready");
    };
    s.ready_timeout = std::chrono::milliseconds(60000);
    return s;
}

std::string minio_endpoint(const peer& p) {
    return fmt::format("http://127.0.0.1:{}", p.port());
}

status minio_make_bucket(const peer& p, const std::string& bucket) {
    net::client_options o;
    net::aws_sigv4_options sig;
    sig.region = "us-east-1";
    sig.service = "s3";
    sig.access_key_id = minio_user;
    sig.secret_access_key = minio_password;
    o.aws_sigv4 = sig;
    net::http_client c(o);
    net::http_request req;
    req.method = "PUT";
    req.url = minio_endpoint(p) + "/" + bucket;
    auto r = c.perform(req);
    if (!r)
        return r.error();
    if (r->ok() || r->status == 409)
        return ok();
    return fail(errc::internal, fmt::format("make bucket {}: HTTP {} {}", bucket, r->status,
                                            r->body.substr(0, 300)));
}

result<std::vector<stored_object>> minio_read_all(const peer& p, const std::string& bucket,
                                                  const std::string& prefix) {
    auto store = connectors::s3_detail::make_s3_store(settings(p, bucket));
    std::vector<stored_object> out;
    std::string token;
    for (;;) {
        TRIB_ASSIGN_OR_RETURN(auto page, store->list(prefix, {}, token, 1000));
        for (auto& o : page.objects) {
            TRIB_ASSIGN_OR_RETURN(auto body, store->get(o.key, 0, 0, {}));
            out.push_back({o.key, std::move(body)});
        }
        if (!page.truncated || page.next_token.empty())
            break;
        token = page.next_token;
    }
    return out;
}

}  // namespace trib::test
