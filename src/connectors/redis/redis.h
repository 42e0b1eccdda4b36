#pragma once
// The Redis source (Streams with consumer groups, lists as a reliable queue, pub/sub -> Iggy) and
// sink (Iggy -> streams, lists, pub/sub, hashes, sets, sorted sets, string keys), on hiredis.
// See README.md for the options and the delivery guarantees.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(redis, source);
TRIB_CONNECTOR_FACE(redis, sink);
