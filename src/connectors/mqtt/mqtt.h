#pragma once
// The MQTT source (broker -> Iggy) and sink (Iggy -> broker), on Tributary's own MQTT client
// (client.h). See README.md for the options and the delivery guarantees.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(mqtt, source);
TRIB_CONNECTOR_FACE(mqtt, sink);
