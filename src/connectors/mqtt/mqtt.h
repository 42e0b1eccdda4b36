#pragma once
// The MQTT source (broker -> Iggy) and sink (Iggy -> broker), on Tributary's own MQTT client
// (client.h). See README.md for the options and the delivery guarantees.

#include "config/connector_face.h"

TRIB_SOURCE_FACE(mqtt);
TRIB_SINK_FACE(mqtt);
