// Feeds arbitrary bytes to the binlog row-image decoder as a replica would get them from a
// server: the first bytes choose the column types, then the table map's metadata and optional
// metadata, the column bitmap and the row images. A value or a protocol error, never a crash,
// an over-read or an unbounded allocation.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "connectors/mysql/row_image.h"

using namespace trib::connectors::mysql;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    if (in.size() < 4)
        return 0;
    // [n][n types][meta len][meta][opt len][opt][bitmap][rows...]
    std::size_t n = static_cast<unsigned char>(in[0]) % 32 + 1;
    std::size_t p = 1;
    auto take = [&](std::size_t k) {
        auto s = in.substr(std::min(p, in.size()), k);
        p += s.size();
        return s;
    };
    table_map t;
    for (char c : take(n))
        t.types.push_back(static_cast<std::uint8_t>(c));
    auto meta_len = take(1);
    auto meta = take(meta_len.empty() ? 0 : static_cast<unsigned char>(meta_len[0]));
    if (!parse_column_meta(t, meta))
        t.meta.assign(t.types.size(), 2);  // decode anyway with some metadata
    auto opt_len = take(1);
    (void)parse_optional_meta(t,
                              take(opt_len.empty() ? 0 : static_cast<unsigned char>(opt_len[0])));
    t.is_unsigned.resize(t.types.size(), false);
    auto bitmap = take((t.types.size() + 7) / 8);
    std::string_view rows = in.substr(std::min(p, in.size()));
    std::size_t pos = 0;
    for (int i = 0; i < 64 && pos < rows.size(); ++i) {
        auto img = decode_row_image(t, rows, pos, bitmap);
        if (!img)
            break;
    }
    return 0;
}
