#pragma once
// The MQTT source (broker -> Iggy) and sink (Iggy -> broker), on Tributary's own MQTT client
// (client.h). See README.md for the options and the delivery guarantees.

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

config::spec mqtt_source_spec();
result<std::unique_ptr<source>> make_mqtt_source(const config::values& v);

config::spec mqtt_sink_spec();
result<std::unique_ptr<sink>> make_mqtt_sink(const config::values& v);

}  // namespace trib::connectors
