#pragma once
// Fixture of layers_check_catches_upward_include: core may not see the runtime.
#include "core/error.h"
#include "runtime/host.h"
