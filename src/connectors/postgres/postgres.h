#pragma once
// The PostgreSQL connector: a sink (Iggy -> PostgreSQL, COPY or INSERT, append or mapped, upserts)
// and a source (PostgreSQL -> Iggy, table polling or CDC through logical replication). Option
// names follow Iggy's postgres_sink and postgres_source where both have the option.

#include "config/connector_face.h"
#include "connectors/postgres/options.h"

TRIB_CONNECTOR_FACE(postgres, sink);
TRIB_CONNECTOR_FACE(postgres, source);

namespace trib::connectors::postgres {
/// Validated config values to option structs (also checks cross-option rules).
result<sink_options> sink_options_from(const config::values& v);
result<source_options> source_options_from(const config::values& v);
}  // namespace trib::connectors::postgres
