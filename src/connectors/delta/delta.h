#pragma once
// The Delta Lake sink (Iggy's delta_sink): Parquet data files and `_delta_log` commits with
// optimistic concurrency and a txn action per batch. See README.md.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(delta, sink);
