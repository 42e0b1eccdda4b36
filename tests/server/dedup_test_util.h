#pragma once
// Batches with chosen message ids (0 included, which batch_builder would replace) for the
// de-duplication tests.

#include <cstdint>
#include <string>
#include <vector>

#include "iggy/wire/batch.h"

namespace trib::server::test {

/// The id with low half `n` (0 gives id 0, "no id").
inline iggy::u128 id_of(std::uint64_t n) {
    return iggy::u128{n, 0};
}

/// A valid client batch (both checksums right) whose message k has id `ids[k]` and payload
/// `"<tag>:<k>"`.
inline iggy::bytes batch_with_ids(const std::vector<std::uint64_t>& ids,
                                  const std::string& tag = "p") {
    iggy::batch_builder b;
    std::vector<std::string> payloads;
    for (std::size_t k = 0; k < ids.size(); ++k)
        payloads.push_back(tag + ":" + std::to_string(k));
    for (std::size_t k = 0; k < ids.size(); ++k)
        b.add({iggy::u128{1, 1}, 0, iggy::as_bytes(payloads[k]), {}});
    iggy::bytes out = b.finish();
    // Put the wanted ids in and recompute the frame checksums, then the batch checksum.
    std::size_t pos = iggy::batch_header_size;
    for (std::size_t k = 0; k < ids.size(); ++k) {
        std::uint8_t* f = out.data() + pos;
        const std::size_t len =
            iggy::frame_header_size + std::size_t(iggy::load_u32(f + 32)) + iggy::load_u32(f + 36);
        iggy::store_u64(f + 8, ids[k]);
        iggy::store_u64(f + 16, 0);
        iggy::store_u64(f, iggy::frame_checksum(iggy::bytes_view(f, len)));
        pos += len;
    }
    auto h = iggy::read_batch_header(out);
    h.batch_checksum =
        iggy::compute_batch_checksum(h, iggy::bytes_view(out).subspan(iggy::batch_header_size));
    iggy::write_batch_header(out.data(), h);
    return out;
}

}  // namespace trib::server::test
