#pragma once
// The RabbitMQ source (queue -> Iggy) and sink (Iggy -> exchange), AMQP 0-9-1 on rabbitmq-c.
// See README.md for the options and the delivery guarantees.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(rabbitmq, source);
TRIB_CONNECTOR_FACE(rabbitmq, sink);
