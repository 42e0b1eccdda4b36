// The `tributary` command line. Only argument parsing and dispatch live here.

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>
#include <string_view>

#include "server/serve.h"

namespace {

constexpr const char* k_about =
    "Tributary: a connector runtime for Apache Iggy (sources and sinks between Iggy and other "
    "systems), with an embedded Iggy-compatible server.";

}  // namespace

int main(int argc, char** argv) {
    // `tributary serve` parses its own options (server/serve.h).
    if (argc > 1 && std::string_view(argv[1]) == "serve")
        return trib::server::serve_main(argc - 1, argv + 1);
    CLI::App app{k_about, "tributary"};
    app.set_version_flag("-V,--version", std::string("tributary ") + TRIB_VERSION +
                                             " (Iggy binary protocol 0.11, server 0.9.x)");
    app.require_subcommand(0, 1);

    auto* run = app.add_subcommand("run", "Run the connectors of a runtime config (not yet built)");
    std::string config_path;
    run->add_option("config", config_path, "Runtime config TOML");

    app.add_subcommand("serve", "Run the embedded Iggy-compatible server (tributary serve --help)");

    auto* quickstart = app.add_subcommand(
        "quickstart", "Run the quickstart pipeline on the embedded server (examples/quickstart)");

    CLI11_PARSE(app, argc, argv);

    if (*quickstart) {
        fmt::print("tributary {}\n", TRIB_VERSION);
        fmt::print(
            "The quickstart pipeline (embedded Iggy server, random source, file and stdout sinks) "
            "arrives with the connector runtime; this build has the command line and the test "
            "harness only.\n");
        return 0;
    }

    if (*run) {
        fmt::print(stderr, "tributary run: the connector runtime has not landed yet\n");
        return 1;
    }
    if (app.get_subcommands().empty()) {
        fmt::print("{}\n\n{}", k_about, app.help());
    }
    return 0;
}
