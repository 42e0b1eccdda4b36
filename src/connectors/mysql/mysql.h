#pragma once
// The MySQL/MariaDB connector: a sink (Iggy -> MySQL, multi-row INSERT or LOAD DATA, append or
// mapped, upserts) and a source (MySQL -> Iggy, table polling; option names of Iggy's
// mysql_source). libmariadb (Connector/C) speaks to both servers.

#include "config/connector_face.h"
#include "connectors/mysql/options.h"

TRIB_CONNECTOR_FACE(mysql, sink);
TRIB_CONNECTOR_FACE(mysql, source);

namespace trib::connectors::mysql {
/// Validated config values to option structs.
result<sink_options> sink_options_from(const config::values& v);
result<source_options> source_options_from(const config::values& v);
}  // namespace trib::connectors::mysql
