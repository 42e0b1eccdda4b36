#pragma once
// The PostgreSQL connector: a sink (Iggy -> PostgreSQL, COPY or INSERT, append or mapped, upserts)
// and a source (PostgreSQL -> Iggy, table polling or CDC through logical replication). Option
// names follow Iggy's postgres_sink and postgres_source where both have the option.

#include <memory>

#include "config/spec.h"
#include "connectors/postgres/options.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

config::spec postgres_sink_spec();
config::spec postgres_source_spec();
/// `v` validated against postgres_sink_spec().
result<std::unique_ptr<sink>> make_postgres_sink(const config::values& v);
/// `v` validated against postgres_source_spec().
result<std::unique_ptr<source>> make_postgres_source(const config::values& v);

namespace postgres {
/// Validated config values to option structs (also checks cross-option rules).
result<sink_options> sink_options_from(const config::values& v);
result<source_options> source_options_from(const config::values& v);
}  // namespace postgres

}  // namespace trib::connectors
