// Probe of include_roots_allow_own_module: the same compile as upward_include.cpp sees core's own
// headers (so the failure above is the missing root, not a broken command).
#include "core/error.h"

int probe() {
    return trib::ok() ? 0 : 1;
}
