// The Iceberg sink's readers of catalog answers and manifest lists: the first byte picks the
// reader, the rest is its input. Nothing may crash, hang or allocate without bound; what reads
// is walked as the sink walks it (offsets through parent snapshots).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "connectors/iceberg/catalog.h"
#include "connectors/iceberg/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace trib::connectors::iceberg;
    if (size == 0)
        return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0: {
            auto t = parse_load_table(in);
            if (t) {
                (void)committed_offset(*t, offset_property("k", "s", "t", 1));
                for (const auto& s : t->snapshots)
                    (void)s.summary_value("total-records");
            }
            break;
        }
        case 1:
            (void)parse_config_prefix(in);
            break;
        case 2:
            (void)error_message(in);
            break;
        default: {
            auto list = read_manifest_list(in);
            if (list)
                (void)write_manifest_list(1, std::nullopt, 1, *list);
            break;
        }
    }
    return 0;
}
