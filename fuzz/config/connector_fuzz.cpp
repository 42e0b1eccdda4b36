// A connector file from arbitrary bytes: TOML parsing, environment overrides, validation against
// the file spec, a connector spec and every transform spec, redacted JSON, and building the
// transform chains. Invariant: a file that validates without errors always builds its chains.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config/connector_config.h"
#include "config/docs.h"
#include "transforms/chain.h"
#include "transforms/registry.h"

namespace {

using namespace trib;

const config::spec& sink_spec() {
    static const config::spec s = [] {
        config::spec sp;
        sp.name = "postgres";
        sp.kind = config::spec_kind::sink;
        config::option url;
        url.name = "connection_string";
        url.type = config::opt_type::secret;
        config::option batch;
        batch.name = "batch_size";
        batch.type = config::opt_type::integer;
        batch.default_value = "100";
        batch.min = 1;
        config::option timeout;
        timeout.name = "timeout";
        timeout.type = config::opt_type::duration;
        timeout.default_value = "\"5s\"";
        config::option headers;
        headers.name = "headers";
        headers.type = config::opt_type::map;
        headers.optional = true;
        config::option mode;
        mode.name = "mode";
        mode.type = config::opt_type::enumeration;
        mode.choices = {"insert", "upsert"};
        mode.default_value = "\"insert\"";
        config::option tls;
        tls.name = "tls";
        tls.type = config::opt_type::table;
        config::option ca;
        ca.name = "ca_file";
        ca.optional = true;
        tls.children = {ca};
        sp.options = {url, batch, timeout, headers, mode, tls};
        return sp;
    }();
    return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const config::catalog cat = [] {
        config::catalog c;
        transforms::builtins().fill(c);
        c.find_connector = [](config::connector_type,
                              std::string_view name) -> const config::spec* {
            return name == "postgres" || name == "iggy_connector_postgres_sink" ? &sink_spec()
                                                                                : nullptr;
        };
        c.connector_names = [](config::connector_type) {
            return std::vector<std::string>{"postgres", "iggy_connector_postgres_sink"};
        };
        return c;
    }();
    static const config::environment env = [] {
        config::environment e;
        e.set("IGGY_CONNECTORS_SINK_PG_PLUGIN_CONFIG_BATCH_SIZE", "50");
        e.set("IGGY_CONNECTORS_SINK_PG_STREAMS_0_TOPICS", "[a, b]");
        e.set("TRIBUTARY_SINK_PG_PLUGIN_CONFIG_HEADERS_X_KEY", "v");
        e.set("PG_PASSWORD", "secret-from-env");
        return e;
    }();

    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto loaded = config::parse_connector_config(text, "fuzz.toml", cat, env);
    std::string all = loaded.issues.to_string();  // every problem renders
    if (!loaded)
        return 0;
    const config::connector_config& c = *loaded;
    std::string json = c.raw.to_redacted_json();
    if (json.find("secret-from-env") != std::string::npos) {
        std::fprintf(stderr, "secret leaked into redacted JSON: %s\n", json.c_str());
        std::abort();
    }
    std::vector<std::string> schemas;
    for (const auto& s : c.sink_streams)
        schemas.push_back(s.schema);
    for (const auto& s : c.source_streams)
        schemas.push_back(s.schema);
    for (const auto& schema : schemas) {
        auto ch = transforms::make_chain(schema, c.transforms);
        if (!ch) {
            std::fprintf(stderr, "validated config failed to build: %s\n",
                         ch.error().to_string().c_str());
            std::abort();
        }
        message_batch b;
        message m;
        m.payload = b.own(R"({"a":1,"data":{"x":[1,2]},"email":"e","temp":31})");
        b.messages.push_back(m);
        transforms::chain_report report;
        ch->process(b, "s", "t", report);
    }
    return 0;
}
