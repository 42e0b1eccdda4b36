#include "rest_fixture.h"

#include <sys/wait.h>

#include <cstdio>

namespace trib::test {

std::filesystem::path iceberg_rest_lib(const std::filesystem::path& source_dir) {
    auto lib = source_dir / ".deps" / "iceberg-rest" / "lib";
    std::error_code ec;
    if (!std::filesystem::is_directory(lib, ec))
        return {};
    return lib;
}

peer_spec iceberg_rest_spec(const std::filesystem::path& lib) {
    peer_spec s;
    s.name = "iceberg-rest";
    s.program = "java";
    s.args = {"-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", (lib / "*").string(),
              "org.apache.iceberg.rest.RESTCatalogServer"};
    // RCKUtils maps CATALOG_* variables to catalog properties (CATALOG_REST_PORT -> rest.port).
    // The server has no host option and listens on every interface: the shim makes that
    // 127.0.0.1 (tests/harness/loopback_bind.c).
    s.env = {{"CATALOG_REST_PORT", "{port}"},
             {"CATALOG_WAREHOUSE", "file://{dir}/warehouse"},
             {"CATALOG_URI", "jdbc:sqlite:file:{dir}/catalog.db"},
             {"LD_PRELOAD", TRIB_LOOPBACK_BIND_LIB}};
    s.ready_timeout = std::chrono::milliseconds(90000);
    return s;
}

std::string iceberg_rest_uri(const peer& p) {
    return "http://127.0.0.1:" + std::to_string(p.port());
}

int run_command(const std::string& cmd, std::string& out) {
    FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr)
        return -1;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        out.append(buf, n);
    const int st = ::pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::map<std::string, std::string> parse_kv(const std::string& out) {
    std::map<std::string, std::string> kv;
    std::size_t at = 0;
    while (at < out.size()) {
        auto nl = out.find('\n', at);
        auto line = out.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
        auto eq = line.find('=');
        if (eq != std::string::npos)
            kv[line.substr(0, eq)] = line.substr(eq + 1);
        if (nl == std::string::npos)
            break;
        at = nl + 1;
    }
    return kv;
}

}  // namespace trib::test
