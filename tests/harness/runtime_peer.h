#pragma once
// A `tributary run` process as a test peer: its config, state and the embedded Iggy server in the
// peer's folder, connector files given as (file name, TOML). One helper for the end-to-end tests
// of new connectors (the older e2e tests still carry their own copies).

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "harness/peer.h"

namespace trib::test {

/// The built `tributary` binary: $TRIB_BINARY_DIR/src/app/tributary, else found from the test
/// binary's place (<build>/tests/<area>/<name>/<test>).
std::filesystem::path tributary_binary();

/// The peer spec of `tributary run` with these connector files; port 0 is the embedded Iggy
/// server's. `extra_config` is appended to the runtime's config.toml.
peer_spec tributary_run_spec(const std::string& name,
                             std::vector<std::pair<std::string, std::string>> connectors,
                             const std::string& extra_config = "");

/// Runs `tributary run` on these connector files to its end (for configurations it refuses):
/// the exit code and the combined output.
struct run_result {
    int exit_code = -1;
    std::string output;
};
run_result tributary_run_once(const std::filesystem::path& dir,
                              std::vector<std::pair<std::string, std::string>> connectors);

}  // namespace trib::test
