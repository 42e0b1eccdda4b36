// The SQLite sink's spec (prose and options are data in spec.toml; this file keeps the rules one
// option cannot express).

#include "config/spec_data.h"
#include "connectors/sqlite/sqlite.h"
#include "embedded/sqlite_spec.h"

namespace trib::connectors {

config::spec sqlite_sink_spec() {
    auto s = config::builtin_spec(embedded::sqlite_spec, embedded::sqlite_spec_file, "sink");
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.str("mode") == "mapped") {
            if (v.boolean("auto_create_table"))
                report("auto_create_table",
                       "creates the append-mode table only; mapped mode writes to an existing "
                       "table");
            return;
        }
        if (v.str("upsert") != "none")
            report("upsert",
                   "applies to mode = \"mapped\" (append mode is idempotent through the id "
                   "primary key)");
        if (!v.map("field_mapping").empty())
            report("field_mapping", "applies to mode = \"mapped\"");
        if (v.boolean("strict_fields"))
            report("strict_fields", "applies to mode = \"mapped\"");
    };
    return s;
}

}  // namespace trib::connectors
