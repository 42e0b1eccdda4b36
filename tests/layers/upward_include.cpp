// Probe of include_roots_refuse_upward_include: compiled with only trib_core's include root, the
// runtime's header is not there (core may not see the layers above it).
#include "core/error.h"
#include "runtime/host.h"
