#pragma once
// The random source: generates records like Iggy's random source (the same options and the same
// JSON record shape), for demos, tests and benchmarks.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(random, source);
