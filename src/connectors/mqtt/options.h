#pragma once
// Reading the connection options shared by the MQTT source and sink (internal to the folder).

#include <string>
#include <string_view>

#include "config/spec.h"
#include "connectors/mqtt/client.h"
#include "core/error.h"

namespace trib::connectors::mqtt_detail {

/// The client options from the validated values. `key` is the connector's key and `role`
/// "source" or "sink": they fill the client_id template ({key}, {role}, {hostname}).
result<mqtt::client_options> client_options_from(const config::values& v, std::string_view key,
                                                 std::string_view role);

}  // namespace trib::connectors::mqtt_detail
