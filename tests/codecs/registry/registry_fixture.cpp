#include "registry_fixture.h"

#include <cstdlib>

#include "connectors/mqtt/mosquitto_fixture.h"

namespace trib::test {

std::filesystem::path source_dir() {
    const char* s = std::getenv("TRIB_SOURCE_DIR");
    return s ? std::filesystem::path(s) : std::filesystem::current_path();
}

std::filesystem::path venv_python() {
    return source_dir() / ".venv" / "bin" / "python";
}

peer_spec ccompat_standin_spec(const registry_peer_options& o) {
    peer_spec s;
    s.name = "ccompat-standin";
    s.program = venv_python().string();
    s.args = {(source_dir() / "tests" / "codecs" / "registry" / "ccompat_standin.py").string(),
              "--port", "{port}"};
    if (!o.prefix.empty())
        s.args.insert(s.args.end(), {"--prefix", o.prefix});
    if (!o.user_info.empty())
        s.args.insert(s.args.end(), {"--user-info", o.user_info});
    if (!o.bearer.empty())
        s.args.insert(s.args.end(), {"--bearer", o.bearer});
    if (o.tls) {
        s.args.insert(s.args.end(),
                      {"--tls-cert", "{dir}/server.crt", "--tls-key", "{dir}/server.key"});
        if (o.require_client_certificate)
            s.args.insert(s.args.end(), {"--tls-client-ca", "{dir}/ca.crt"});
        s.prepare = [](const peer& p) { (void)make_test_pki(p.dir()); };
    }
    return s;
}

std::string registry_url(const peer& p, const registry_peer_options& o) {
    return std::string(o.tls ? "https" : "http") + "://" + (o.tls ? "localhost" : "127.0.0.1") +
           ":" + std::to_string(p.port()) + o.prefix;
}

}  // namespace trib::test
