// The delta sink's spec: prose and options are data (spec.toml); here the rules one option
// cannot express (the table location and Iggy's schema entries).

#include "config/spec_data.h"
#include "connectors/delta/delta.h"
#include "connectors/delta/delta_log.h"
#include "connectors/delta/table_dir.h"
#include "embedded/delta_spec.h"

namespace trib::connectors {

config::spec delta_sink_spec() {
    auto s = config::builtin_spec(embedded::delta_spec, embedded::delta_spec_file, "sink");
    s.check = [](const config::values& v, const config::check_report& report) {
        if (auto p = delta::local_table_path(v.str("table_uri")); !p)
            report("table_uri", p.error().message());
        if (auto f = delta::parse_schema_entries(v.list("schema")); !f)
            report("schema", f.error().message());
        if (auto b = v.opt_str("storage_backend_type"))
            report("storage_backend_type",
                   "\"" + *b +
                       "\" tables are not supported by this sink yet (local paths and file:// "
                       "URIs only; see the connector's README)");
    };
    return s;
}

}  // namespace trib::connectors
