#pragma once
// The Iceberg connector: a sink (Iggy -> Iceberg tables through a REST catalog, Parquet data
// files, exactly-once effect through the Iggy offsets in snapshot summaries). Option names follow
// Iggy's iceberg_sink.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(iceberg, sink);
