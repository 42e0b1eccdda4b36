#pragma once
// The SQLite sink: messages into a table of a local database file (append: payload and Iggy
// metadata per message; mapped: JSON fields to columns, optionally upserted), one transaction per
// batch, WAL journal. The edge node's local database.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(sqlite, sink);
