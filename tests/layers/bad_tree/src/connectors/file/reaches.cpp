// Fixture of layers_check_catches_upward_include: a connector may not reach into another one,
// nor into the embedded server.
#include "connectors/file/spec.h"
#include "connectors/mqtt/client.h"
#include "server/broker.h"
