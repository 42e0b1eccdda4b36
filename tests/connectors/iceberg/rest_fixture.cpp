#include "rest_fixture.h"

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
    s.env = {{"CATALOG_REST_PORT", "{port}"},
             {"CATALOG_WAREHOUSE", "file://{dir}/warehouse"},
             {"CATALOG_URI", "jdbc:sqlite:file:{dir}/catalog.db"}};
    s.ready_timeout = std::chrono::milliseconds(90000);
    return s;
}

std::string iceberg_rest_uri(const peer& p) {
    return "http://127.0.0.1:" + std::to_string(p.port());
}

}  // namespace trib::test
