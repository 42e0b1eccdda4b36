// The Iceberg sink spec (option names shared with Iggy's iceberg_sink; the prose and options are
// data in spec.toml, this file keeps the rules one option cannot express) and its translation
// into sink_options.

#include "codecs/parquet.h"
#include "config/spec_data.h"
#include "connectors/iceberg/catalog.h"
#include "connectors/iceberg/iceberg.h"
#include "connectors/iceberg/sink_options.h"
#include "embedded/iceberg_spec.h"

namespace trib::connectors {

config::spec iceberg_sink_spec() {
    auto s = config::builtin_spec(embedded::iceberg_spec, embedded::iceberg_spec_file, "sink");
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.str("catalog_type") != "rest")
            report("catalog_type", "only \"rest\" (the Iceberg REST catalog) is implemented");
        const bool dynamic = v.boolean("dynamic_routing");
        if (dynamic && v.str("dynamic_route_field").empty())
            report("dynamic_route_field", "dynamic_routing needs the field that names the table");
        if (!dynamic && v.list("tables").empty())
            report("tables",
                   "name at least one table (namespace.table), or turn dynamic_routing on");
        for (const auto& t : v.list("tables")) {
            if (auto id = iceberg::parse_table_ident(t); !id)
                report("tables", id.error().message());
        }
        const auto uri = v.str("uri");
        if (!uri.starts_with("http://") && !uri.starts_with("https://"))
            report("uri", "write the catalog's URL as http://host:port or https://...");
        if (auto sc = v.opt_str("schema")) {
            if (auto cols = codecs::parquet::parse_columns(*sc); !cols)
                report("schema", cols.error().message());
            else if (cols->empty())
                report("schema", "names no column");
        }
        if (!codecs::parquet::available())
            report("compression", "this build has no Apache Arrow (Parquet data files)");
    };
    return s;
}

result<std::unique_ptr<sink>> make_iceberg_sink(const config::values& v) {
    iceberg::sink_options o;
    o.tables = v.list("tables");
    o.uri = v.str("uri");
    o.warehouse = v.str("warehouse");
    o.dynamic_routing = v.boolean("dynamic_routing");
    o.route_field = v.str("dynamic_route_field");
    o.create_tables = v.boolean("create_tables");
    if (auto sc = v.opt_str("schema")) {
        TRIB_ASSIGN_OR_RETURN(o.schema_cols, codecs::parquet::parse_columns(*sc));
    }
    TRIB_ASSIGN_OR_RETURN(o.compression, codecs::parquet::parse_compression(v.str("compression")));
    o.token = v.opt_str("token").value_or("");
    o.request_timeout = v.duration("request_timeout");
    o.commit_retries = static_cast<int>(v.integer("commit_retries"));
    return iceberg::make_sink(std::move(o));
}

}  // namespace trib::connectors
