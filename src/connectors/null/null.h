#pragma once
// The null sink: accepts and discards everything, counting it (benchmarks, pipeline tests).

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(null, sink);
