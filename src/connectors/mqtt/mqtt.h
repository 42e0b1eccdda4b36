#pragma once
// The MQTT source (broker -> Iggy) and sink (Iggy -> broker), on Tributary's own MQTT client
// (client.h). See README.md for the options and the delivery guarantees.

#include <cstdint>
#include <string_view>

#include "config/connector_face.h"
#include "core/message.h"

TRIB_CONNECTOR_FACE(mqtt, source);
TRIB_CONNECTOR_FACE(mqtt, sink);

namespace trib::connectors {

/// The id of a QoS 1/2 message with `message_ids = "packet"`: ("mqtt", client id, topic, packet
/// identifier, payload). A broker redelivery of the same message has the same id.
message_id packet_message_id(std::string_view client_id, std::string_view topic,
                             std::uint16_t packet_id, std::string_view payload);

}  // namespace trib::connectors
