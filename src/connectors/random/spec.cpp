// The random source's spec: its prose and options are data (spec.toml); the rule one option
// cannot express is here.

#include "config/spec_data.h"
#include "connectors/random/random.h"
#include "embedded/random_spec.h"

namespace trib::connectors {

config::spec random_source_spec() {
    auto s = config::builtin_spec(embedded::random_spec, embedded::random_spec_file, "source");
    s.check = [](const config::values& v, const config::check_report& report) {
        const auto r = v.integers("messages_range");
        if (r.size() != 2) {
            report("messages_range", "must have exactly two numbers: [min, max]");
        } else if (r[0] < 1 || r[1] < r[0]) {
            report("messages_range", "needs 1 <= min <= max");
        }
    };
    return s;
}

}  // namespace trib::connectors
