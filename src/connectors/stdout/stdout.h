#pragma once
// The stdout sink: prints what it receives (Iggy's stdout sink, same option names).

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(stdout, sink);
