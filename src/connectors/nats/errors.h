#pragma once
// cnats statuses and JetStream error codes mapped to errc and a retry class, in one place.
// Internal to the connector.

#include <nats/nats.h>

#include <string_view>

#include "core/error.h"

namespace trib::connectors::nats {

/// The error of a failed cnats call: `what` says which call; cnats's last error text is added
/// when it has one. A JetStream error code (`js`, 0 if none) refines the class.
error from_status(natsStatus s, std::string_view what, jsErrCode js = static_cast<jsErrCode>(0));

/// True when a JetStream publish error is the message's own fault (too large, a subject the
/// stream refuses) and will fail again on every retry: the error policy takes the message.
bool is_message_fault(natsStatus s, jsErrCode js);

}  // namespace trib::connectors::nats
