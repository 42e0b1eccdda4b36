// The official Iggy Python SDK (PyPI apache-iggy 0.9.0, a wrapper over the Rust SDK 0.11) runs
// tests/server/python_sdk_scenario.py against the embedded server started in-process: streams,
// topics, 10,000 messages with user headers, every polling strategy, consumer offsets, a
// consumer group with two members, personal access tokens, users, purge and delete.
// The venv is $TRIB_SOURCE_DIR/.venv (scripts/setup.sh installs the SDK there). With CI=true a
// missing venv or SDK fails the test; elsewhere it is skipped.

#include <gtest/gtest.h>

#include <filesystem>

#include "harness/peer.h"
#include "server/process_util.h"
#include "server/server.h"

namespace trib::server {
namespace {

std::filesystem::path venv_python() {
    return test::source_dir() / ".venv" / "bin" / "python";
}

#define TRIB_REQUIRE_PEER(cond, what)                         \
    do {                                                      \
        if (!(cond)) {                                        \
            if (::trib::test::in_ci())                        \
                FAIL() << what << " (required with CI=true)"; \
            GTEST_SKIP() << what;                             \
        }                                                     \
    } while (0)

TEST(python_sdk, scenario_against_embedded_server) {
    auto python = venv_python();
    TRIB_REQUIRE_PEER(std::filesystem::exists(python),
                      "no Python venv at " + python.string() + " (run scripts/setup.sh)");
    auto probe =
        test::run_process({python.string(), "-c", "import apache_iggy"}, std::chrono::seconds(60));
    TRIB_REQUIRE_PEER(probe.exit_code == 0,
                      "apache-iggy is not installed in the venv: " + probe.output);

    trib::test::temp_dir dir("trib-pysdk");
    server_options o;
    o.data_dir = dir.path() / "data";
    o.address = "127.0.0.1:0";
    o.root_username = "pyroot";
    o.root_password = "py-root-secret";
    auto srv = embedded_server::start(o);
    ASSERT_TRUE(srv.has_value()) << srv.error().message();

    auto script = test::source_dir() / "tests" / "server" / "python_sdk_scenario.py";
    auto r = test::run_process(
        {python.string(), script.string(), (*srv)->address(), "pyroot", "py-root-secret"},
        std::chrono::seconds(240));
    EXPECT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("ALL CHECKS PASSED"), std::string::npos) << r.output;
    // Every check line the script prints, so that a silently shortened run is noticed.
    std::size_t checks = 0;
    for (std::size_t p = 0; (p = r.output.find("ok ", p)) != std::string::npos; ++p)
        if (p == 0 || r.output[p - 1] == '\n')
            ++checks;
    EXPECT_GE(checks, 30u) << r.output;
}

}  // namespace
}  // namespace trib::server
