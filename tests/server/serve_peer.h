#pragma once
// Starts `tributary serve` as a child process through the test harness (a free loopback port, a
// temporary data dir, stopped by PID), for the tests that need a real process: the iggy CLI
// scenario and the kill -9 crash test.

#include <filesystem>
#include <string>
#include <vector>

#include "harness/peer.h"
#include "server/process_util.h"

namespace trib::server::test {

inline std::filesystem::path tributary_binary() {
    return binary_dir() / "src" / "app" / "tributary";
}

/// `tributary serve --data-dir {dir}/data --address 127.0.0.1:{port}` with iggy/iggy and the
/// given extra arguments (e.g. {"--fsync", "always"}).
inline trib::test::peer_spec serve_spec(std::vector<std::string> extra = {}) {
    trib::test::peer_spec s;
    s.name = "tributary-serve";
    s.program = tributary_binary().string();
    s.args = {"serve",     "--data-dir",       "{dir}/data",
              "--address", "127.0.0.1:{port}", "--with-default-root-credentials"};
    for (auto& a : extra)
        s.args.push_back(std::move(a));
    return s;
}

}  // namespace trib::server::test
