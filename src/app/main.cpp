// The `tributary` command line. Only argument parsing and dispatch live here.

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstring>
#include <string>

#include "app/commands.h"
#include "app/run.h"
#include "config/units.h"
#include "server/serve.h"

namespace {

constexpr const char* k_about =
    "Tributary: a connector runtime for Apache Iggy (sources and sinks between Iggy and other "
    "systems), with an embedded Iggy-compatible server.";

std::optional<std::chrono::milliseconds> parse_duration_or_exit(const std::string& s) {
    if (s.empty())
        return std::nullopt;
    auto d = trib::config::parse_duration(s);
    if (!d) {
        std::fprintf(stderr, "tributary: bad duration '%s' (try 30s, 5m, 1h)\n", s.c_str());
        std::exit(2);
    }
    return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

}  // namespace

int main(int argc, char** argv) {
    // Before any thread exists, so that every thread inherits it: `run` waits for these.
    trib::app::block_stop_signals();

    // `serve` takes the server's own options (src/server/serve.h).
    if (argc >= 2 && std::strcmp(argv[1], "serve") == 0) {
        return trib::server::serve_main(argc - 1, argv + 1);
    }

    CLI::App app{k_about, "tributary"};
    app.set_version_flag("-V,--version", std::string("tributary ") + TRIB_VERSION +
                                             " (Iggy binary protocol 0.11, server 0.9.x)");
    app.require_subcommand(0, 1);

    auto* run = app.add_subcommand("run", "Run the connectors of a runtime config");
    std::string config_path;
    std::string run_duration;
    std::uint64_t run_messages = 0;
    run->add_option(
        "config", config_path,
        "Runtime config TOML (default: $IGGY_CONNECTORS_CONFIG_PATH, else config.toml)");
    run->add_option("--duration", run_duration, "Stop by itself after this long (e.g. 30s)");
    run->add_option("--messages", run_messages,
                    "Stop by itself once every sink processed this many messages");

    auto* validate = app.add_subcommand(
        "validate", "Check a runtime config (and its connector files) or one connector file");
    std::string validate_path;
    validate->add_option("path", validate_path, "The TOML file")->required();

    auto* conns = app.add_subcommand("connectors", "The built-in connectors");
    conns->require_subcommand(1);
    auto* list = conns->add_subcommand("list", "List built-in connectors, codecs and transforms");
    bool list_json = false;
    list->add_flag("--json", list_json, "Every spec as JSON");
    auto* describe =
        conns->add_subcommand("describe", "A connector's (or codec's, transform's) options");
    std::string describe_name;
    bool describe_json = false;
    bool describe_short = false;
    describe->add_option("name", describe_name, "e.g. random, stdout, file_sink, add_fields")
        ->required();
    describe->add_flag("--json", describe_json, "The spec as JSON");
    describe->add_flag("--short", describe_short, "Leave out advanced options");

    auto* docs = app.add_subcommand("docs", "Generate docs/connectors/NAME.md from the specs");
    std::string docs_out = "docs/connectors";
    bool docs_check = false;
    docs->add_option("--out", docs_out, "Output directory")->capture_default_str();
    docs->add_flag("--check", docs_check, "Write nothing; fail if the files there are out of date");

    auto* quickstart =
        app.add_subcommand("quickstart",
                           "Run examples/quickstart: embedded Iggy server, random source, file and "
                           "stdout sinks");
    trib::app::quickstart_options qo;
    std::string qs_duration;
    std::uint64_t qs_messages = 0;
    quickstart->add_option("--duration", qs_duration,
                           "Stop after this long (default: until Ctrl-C)");
    quickstart->add_option("--messages", qs_messages,
                           "Produce exactly this many messages, stop when the sinks have them");
    quickstart->add_option("--dir", qo.work_dir,
                           "Working directory (default: $TMPDIR/tributary-quickstart)");
    quickstart->add_option("--example", qo.example_dir,
                           "The example to run (default: examples/quickstart)");

    app.add_subcommand("serve",
                       "Run the embedded Iggy-compatible server alone (see `tributary "
                       "serve --help`)");

    CLI11_PARSE(app, argc, argv);

    if (*run) {
        trib::app::run_options ro;
        ro.config_path = config_path;
        ro.duration = parse_duration_or_exit(run_duration);
        if (run_messages != 0)
            ro.messages = run_messages;
        return trib::app::run_runtime(ro);
    }
    if (*validate)
        return trib::app::validate(validate_path);
    if (*list)
        return trib::app::connectors_list(list_json);
    if (*describe)
        return trib::app::connectors_describe(describe_name, describe_json, !describe_short);
    if (*docs)
        return trib::app::docs(docs_out, docs_check);
    if (*quickstart) {
        qo.duration = parse_duration_or_exit(qs_duration);
        if (qs_messages != 0)
            qo.messages = qs_messages;
        return trib::app::quickstart(qo, argv[0]);
    }
    if (app.get_subcommands().empty())
        fmt::print("{}\n\n{}", k_about, app.help());
    return 0;
}
