// The null sink's spec: its prose and options are data (spec.toml).

#include "config/spec_data.h"
#include "connectors/null/null.h"
#include "embedded/null_spec.h"

namespace trib::connectors {

config::spec null_sink_spec() {
    return config::builtin_spec(embedded::null_spec, embedded::null_spec_file, "sink");
}

}  // namespace trib::connectors
