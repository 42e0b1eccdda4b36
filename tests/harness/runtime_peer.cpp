#include "harness/runtime_peer.h"

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace trib::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path tributary_binary() {
    if (const char* b = std::getenv("TRIB_BINARY_DIR"))
        return fs::path(b) / "src/app/tributary";
    return fs::read_symlink("/proc/self/exe").parent_path() / "../../../src/app/tributary";
}

namespace {

void write_config(const fs::path& dir, std::uint16_t port,
                  const std::vector<std::pair<std::string, std::string>>& connectors,
                  const std::string& extra) {
    fs::create_directories(dir / "connectors");
    std::ofstream(dir / "config.toml")
        << "[state]\npath = \"" << (dir / "state").string()
        << "\"\n\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \""
        << (dir / "connectors").string()
        << "\"\n\n[http]\nenabled = false\n\n[logging]\nformat = \"text\"\nlevel = \"info\"\n\n"
           "[server]\naddress = \"127.0.0.1:"
        << port << "\"\ndata_dir = \"" << (dir / "state/server").string()
        << "\"\nfsync = \"interval\"\n"
        << extra;
    for (const auto& [file, toml] : connectors)
        std::ofstream(dir / "connectors" / file) << toml;
}

}  // namespace

peer_spec tributary_run_spec(const std::string& name,
                             std::vector<std::pair<std::string, std::string>> connectors,
                             const std::string& extra_config) {
    peer_spec s;
    s.name = name;
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/config.toml"};
    s.prepare = [connectors, extra_config](const peer& p) {
        write_config(p.dir(), p.port(), connectors, extra_config);
    };
    s.ready_timeout = 60s;
    s.attempts = 2;
    return s;
}

run_result tributary_run_once(const fs::path& dir,
                              std::vector<std::pair<std::string, std::string>> connectors) {
    write_config(dir, free_port(), connectors, "");
    run_result r;
    const std::string cmd =
        "'" + tributary_binary().string() + "' run '" + (dir / "config.toml").string() + "' 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr)
        return r;
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
        r.output.append(buf, n);
    const int st = ::pclose(p);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

}  // namespace trib::test
