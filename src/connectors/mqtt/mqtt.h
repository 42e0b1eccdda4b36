#pragma once
// The MQTT source (broker -> Iggy) and sink (Iggy -> broker), on Tributary's own MQTT client
// (client.h). See README.md for the options and the delivery guarantees.

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"
#include "core/message.h"

namespace trib::connectors {

config::spec mqtt_source_spec();
result<std::unique_ptr<source>> make_mqtt_source(const config::values& v);
/// The id of a QoS 1/2 message with `message_ids = "packet"`: ("mqtt", client id, topic, packet
/// identifier, payload). A broker redelivery of the same message has the same id.
message_id packet_message_id(std::string_view client_id, std::string_view topic,
                             std::uint16_t packet_id, std::string_view payload);

config::spec mqtt_sink_spec();
result<std::unique_ptr<sink>> make_mqtt_sink(const config::values& v);

}  // namespace trib::connectors
