// The file source's and sink's specs: their prose and options are data (spec.toml); the rule one
// option cannot express is here.

#include "config/spec_data.h"
#include "connectors/file/file.h"
#include "embedded/file_spec.h"

namespace trib::connectors {

config::spec file_source_spec() {
    return config::builtin_spec(embedded::file_spec, embedded::file_spec_file, "source");
}

config::spec file_sink_spec() {
    auto s = config::builtin_spec(embedded::file_spec, embedded::file_spec_file, "sink");
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.boolean("idempotent") && v.str("format") != "json") {
            report("idempotent", "needs format = \"json\" (lines carry their offsets)");
        }
    };
    return s;
}

}  // namespace trib::connectors
