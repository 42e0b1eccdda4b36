// The stdout sink's spec: its prose and options are data (spec.toml).

#include "config/spec_data.h"
#include "connectors/stdout/stdout.h"
#include "embedded/stdout_spec.h"

namespace trib::connectors {

config::spec stdout_sink_spec() {
    return config::builtin_spec(embedded::stdout_spec, embedded::stdout_spec_file, "sink");
}

}  // namespace trib::connectors
