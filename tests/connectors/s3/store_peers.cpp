#include "store_peers.h"

#include <fmt/format.h>

#include <filesystem>

#include "connectors/s3/azure_util.h"
#include "connectors/s3/rest_util.h"
#include "core/net/http_client.h"

namespace trib::test {
namespace {

std::string source_dir() {
#ifdef TRIB_TEST_SOURCE_DIR
    return TRIB_TEST_SOURCE_DIR;
#else
    return ".";
#endif
}

bool http_up(const std::string& url) {
    net::client_options o;
    o.timeout = std::chrono::milliseconds(2000);
    net::http_client c(o);
    net::http_request req;
    req.url = url;
    auto r = c.perform(req);  // any answer below 500 (401/403 without credentials) means up
    return r && r->status > 0 && r->status < 500;
}

}  // namespace

peer_spec fake_gcs_spec() {
    peer_spec s;
    s.name = "fake-gcs-server";
    s.program = find_program("fake-gcs-server", {source_dir() + "/.deps/go/bin"}).string();
    if (s.program.empty())
        s.program = "fake-gcs-server";
    s.args = {"-scheme",
              "http",
              "-host",
              "127.0.0.1",
              "-port",
              "{port}",
              "-backend",
              "filesystem",
              "-filesystem-root",
              "{dir}/gcs",
              "-external-url",
              "http://127.0.0.1:{port}",
              "-public-host",
              "127.0.0.1:{port}",
              "-log-level",
              "warn"};
    s.ready = [](const peer& p) { return http_up(peer_url(p) + "/storage/v1/b"); };
    return s;
}

peer_spec azurite_spec() {
    peer_spec s;
    s.name = "azurite";
    s.program =
        find_program("azurite-blob", {source_dir() + "/.deps/npm/node_modules/.bin"}).string();
    if (s.program.empty())
        s.program = "azurite-blob";
    s.args = {"--blobHost", "127.0.0.1",     "--blobPort",         "{port}",
              "--location", "{dir}/azurite", "--disableTelemetry", "--skipApiVersionCheck",
              "--silent"};
    s.ready = [](const peer& p) {
        return http_up(azurite_endpoint(p) + "?comp=list");  // 403 without a signature: up
    };
    s.ready_timeout = std::chrono::milliseconds(30000);
    return s;
}

peer_spec webhdfs_spec(std::vector<std::string> extra) {
    peer_spec s;
    s.name = "webhdfs-standin";
    s.program = find_program("python3").string();
    s.args = {source_dir() + "/tests/connectors/s3/webhdfs_standin.py", "--port", "{port}",
              "--root", "{dir}/fs"};
    for (auto& a : extra)
        s.args.push_back(std::move(a));
    s.ready = [](const peer& p) { return http_up(peer_url(p) + "/webhdfs/v1/?op=GETFILESTATUS"); };
    return s;
}

std::string hadoop_lib_dir() {
    const auto lib = std::filesystem::path(source_dir()) / ".deps" / "hadoop" / "lib";
    return std::filesystem::exists(lib / "hadoop-client-minicluster-3.4.1.jar") ? lib.string()
                                                                                : std::string();
}

peer_spec hdfs_cluster_spec() {
    peer_spec s;
    s.name = "hdfs-minicluster";
    const auto lib = hadoop_lib_dir();
    // A missing jar makes the start fail with this name in the reason (a skip outside CI).
    // MiniDFSClusterManager (in hadoop-client-minicluster) starts one NameNode and one DataNode
    // in {dir}: the NameNode's RPC and HTTP (WebHDFS) ports are ours, the DataNode's are chosen
    // by the cluster (port 0 on 127.0.0.1). HADOOP_USER_NAME makes `iggy` the superuser that
    // owns the file system, so the tests write as `iggy` and another user is refused. The first
    // start formats the file system; a restart (peer::restart, the outage test) keeps it.
    const std::string java =
        "exec java -Xmx512m -XX:+UseSerialGC -cp '" + lib +
        "/*' org.apache.hadoop.test.MiniDFSClusterManager $F -datanodes 1 -nnport {port1} "
        "-httpport {port} -D hdfs.minidfs.basedir={dir}/dfs -D dfs.webhdfs.enabled=true "
        "-writeDetails {dir}/details.json";
    s.program = lib.empty() ? "hadoop-jars-missing-run-scripts-setup.sh" : "sh";
    s.args = {
        "-c",
        "F=-format; if [ -f {dir}/details.json ]; then F=; rm {dir}/details.json; fi; " + java};
    s.env = {{"HADOOP_USER_NAME", "iggy"}};
    s.extra_ports = 1;
    // The details file is written once the cluster is up (NameNode out of safe mode, the
    // DataNode registered); WebHDFS answering as well.
    s.ready = [](const peer& p) {
        return std::filesystem::exists(p.dir() / "details.json") &&
               http_up(peer_url(p) + "/webhdfs/v1/?op=GETFILESTATUS&user.name=iggy");
    };
    s.ready_timeout = std::chrono::milliseconds(180000);
    s.attempts = 2;
    return s;
}

std::string peer_url(const peer& p) {
    return fmt::format("http://127.0.0.1:{}", p.port());
}

std::string azurite_endpoint(const peer& p) {
    return fmt::format("http://127.0.0.1:{}/{}", p.port(), azurite_account);
}

status gcs_make_bucket(const peer& p, const std::string& bucket) {
    net::http_client c;
    auto r = c.post(peer_url(p) + "/storage/v1/b?project=test", "{\"name\":\"" + bucket + "\"}");
    if (!r)
        return r.error();
    if (r->ok() || r->status == 409)
        return ok();
    return fail(errc::internal, fmt::format("make bucket {}: HTTP {} {}", bucket, r->status,
                                            r->body.substr(0, 300)));
}

status azurite_make_container(const peer& p, const std::string& container) {
    using namespace connectors::s3_detail;
    net::http_client c;
    net::http_request req;
    req.method = "PUT";
    req.url = azurite_endpoint(p) + "/" + container + "?restype=container";
    req.headers["x-ms-version"] = "2021-08-06";
    req.headers["x-ms-date"] = http_date(std::chrono::duration_cast<std::chrono::seconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
    azure_request_view v;
    v.method = "PUT";
    v.path = url_path(req.url);
    v.query = {{"restype", "container"}};
    for (const auto& [k, val] : req.headers)
        v.headers[k] = val;
    TRIB_ASSIGN_OR_RETURN(auto auth,
                          azure_shared_key_header(azurite_account, azurite_key,
                                                  azure_string_to_sign(v, azurite_account)));
    req.headers["Authorization"] = auth;
    auto r = c.perform(req);
    if (!r)
        return r.error();
    if (r->ok() || r->status == 409)
        return ok();
    return fail(errc::internal, fmt::format("make container {}: HTTP {} {}", container, r->status,
                                            r->body.substr(0, 300)));
}

status webhdfs_mkdirs(const peer& p, const std::string& path) {
    return webhdfs_mkdirs(peer_url(p), path);
}

status webhdfs_mkdirs(const std::string& endpoint, const std::string& path) {
    net::http_client c;
    net::http_request req;
    req.method = "PUT";
    req.url = endpoint + "/webhdfs/v1" + path + "?op=MKDIRS&user.name=iggy";
    auto r = c.perform(req);
    if (!r)
        return r.error();
    if (r->ok())
        return ok();
    return fail(errc::internal,
                fmt::format("mkdirs {}: HTTP {} {}", path, r->status, r->body.substr(0, 300)));
}

connectors::s3_detail::s3_settings gcs_settings(const peer& p, const std::string& bucket) {
    connectors::s3_detail::s3_settings s;
    s.kind = connectors::s3_detail::store_kind::gcs;
    s.bucket = bucket;
    s.endpoint = peer_url(p);
    s.retries = 0;
    return s;
}

connectors::s3_detail::s3_settings azurite_settings(const peer& p, const std::string& container) {
    connectors::s3_detail::s3_settings s;
    s.kind = connectors::s3_detail::store_kind::azure_blob;
    s.bucket = container;
    s.endpoint = azurite_endpoint(p);
    s.azure.account = azurite_account;
    s.azure.key = azurite_key;
    s.retries = 0;
    return s;
}

connectors::s3_detail::s3_settings webhdfs_settings(const peer& p, const std::string& dir) {
    return webhdfs_settings(peer_url(p), dir);
}

connectors::s3_detail::s3_settings webhdfs_settings(const std::string& endpoint,
                                                    const std::string& dir) {
    connectors::s3_detail::s3_settings s;
    s.kind = connectors::s3_detail::store_kind::hdfs;
    s.bucket = dir;
    s.endpoint = endpoint;
    s.hdfs.user = "iggy";
    s.retries = 0;
    return s;
}

result<std::vector<object_bytes>> read_all(connectors::s3_detail::object_store& st,
                                           const std::string& prefix) {
    std::vector<object_bytes> out;
    std::string token;
    for (int pages = 0; pages < 10000; ++pages) {
        TRIB_ASSIGN_OR_RETURN(auto page, st.list(prefix, {}, token, 1000));
        for (auto& o : page.objects) {
            TRIB_ASSIGN_OR_RETURN(auto body, st.get(o.key, 0, 0, {}));
            out.push_back({o.key, std::move(body)});
        }
        if (!page.truncated || page.next_token.empty())
            break;
        token = page.next_token;
    }
    return out;
}

}  // namespace trib::test
