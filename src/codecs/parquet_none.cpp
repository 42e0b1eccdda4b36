// The Parquet library of a build without Apache Arrow (cmake/TributaryArrow.cmake found no
// pyarrow): every call fails with the reason, so an option asking for Parquet is refused clearly.

#include "codecs/parquet.h"

namespace trib::codecs::parquet {
namespace {
error absent() {
    return error(errc::unimplemented, retry_class::fatal,
                 "parquet: built without Apache Arrow (scripts/setup.sh installs pyarrow into "
                 ".venv; configure the build again after it)");
}
}  // namespace

bool available() {
    return false;
}

result<std::string> write_file(const std::vector<column>&, const std::vector<value>&,
                               const std::vector<std::uint64_t>&, const write_options&) {
    return absent();
}

result<std::unique_ptr<file_reader>> file_reader::open(std::uint64_t, range_reader,
                                                       const read_limits&) {
    return absent();
}

}  // namespace trib::codecs::parquet
