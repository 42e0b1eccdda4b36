#pragma once
// The NATS connector: a source (NATS -> Iggy: a JetStream durable pull consumer acknowledged
// after Iggy, or core subscriptions) and a sink (Iggy -> NATS: JetStream publish with
// Nats-Msg-Id de-duplication and awaited acks, or core publish), on cnats. See README.md for the
// options and the delivery guarantees.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(nats, source);
TRIB_CONNECTOR_FACE(nats, sink);
