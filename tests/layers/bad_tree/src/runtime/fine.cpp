// Fixture of layers_check_catches_upward_include: allowed includes (no report expected).
#include "connectors/registry.h"
#include "core/error.h"
#include "runtime/host.h"
