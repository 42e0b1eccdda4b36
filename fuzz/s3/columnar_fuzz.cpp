// The S3 source's Parquet and Avro readers on arbitrary object bytes: the first byte picks one.
// Parquet goes through codecs/parquet.h's ranged reader (footer, then each row group) with small
// limits, so a hostile footer or row group must be refused, not allocated; Avro container files
// through the avro codec. Arrow itself is not instrumented (the pyarrow wheel's libraries): the
// fuzzer steers by our code, and a crash or an allocation above -rss_limit_mb inside Arrow still
// fails it.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "codecs/parquet.h"
#include "connectors/s3/format.h"

using namespace trib;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    const std::string file(reinterpret_cast<const char*>(data + 1), size - 1);
    if (data[0] & 1) {
        (void)connectors::s3_detail::avro_container_rows_json(file);
        return 0;
    }
    codecs::parquet::read_limits lim;
    lim.max_footer_bytes = 1 << 20;
    lim.max_row_group_bytes = 4 << 20;
    auto rd = codecs::parquet::file_reader::open(
        file.size(),
        [&](std::uint64_t off, std::uint64_t len) -> result<std::string> {
            if (off > file.size() || len > file.size() - off)
                return fail(errc::invalid_argument, "out of the file");
            return file.substr(off, len);
        },
        lim);
    if (!rd)
        return 0;
    std::vector<std::string> rows;
    for (int g = 0; g < (*rd)->num_row_groups() && g < 16; ++g)
        (void)(*rd)->read_row_group_json(g, rows);
    return 0;
}
