#pragma once
// Helpers shared by the storage tests: deterministic batches and a checker that knows what every
// offset must hold.

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "iggy/wire/batch.h"
#include "server/storage/partition_log.h"

namespace trib::server::storage::test {

/// Payload of message `idx` of the batch with sequence number `seq`: self-describing, so a
/// reader can tell which message it got, padded to `len` bytes with a pattern.
inline std::string payload_for(std::uint64_t seq, std::uint32_t idx, std::size_t len) {
    std::string p = fmt::format("{}:{}:", seq, idx);
    for (std::size_t i = p.size(); i < len; ++i)
        p.push_back(static_cast<char>('a' + (seq * 31 + idx * 7 + i) % 26));
    return p;
}

struct built_batch {
    iggy::bytes data;
    std::vector<std::string> payloads;
};

/// A valid client batch (unstamped) of `count` messages with payloads of 8..max_payload bytes.
inline built_batch make_batch(std::uint64_t seq, std::uint32_t count, std::size_t max_payload,
                              std::mt19937_64& rng) {
    built_batch out;
    iggy::batch_builder b;
    std::vector<iggy::bytes> headers;
    for (std::uint32_t i = 0; i < count; ++i) {
        std::size_t len = 8 + rng() % (max_payload > 8 ? max_payload - 8 : 1);
        out.payloads.push_back(payload_for(seq, i, len));
    }
    for (std::uint32_t i = 0; i < count; ++i) {
        iggy::outgoing_message m{};
        m.id = iggy::u128{seq + 1, i};
        m.origin_timestamp = 1'700'000'000'000'000ULL + seq * 1000 + i;
        m.payload = iggy::as_bytes(out.payloads[i]);
        b.add(m);
    }
    out.data = b.finish();
    return out;
}

/// Everything appended so far: offset -> payload.
class expected_log {
  public:
    void record(std::uint64_t base, const std::vector<std::string>& payloads) {
        for (std::size_t i = 0; i < payloads.size(); ++i)
            by_offset_[base + i] = payloads[i];
    }
    void forget_below(std::uint64_t first) {
        by_offset_.erase(by_offset_.begin(), by_offset_.lower_bound(first));
    }
    void clear() { by_offset_.clear(); }
    const std::map<std::uint64_t, std::string>& all() const { return by_offset_; }

    /// Checks a read: batches valid (both checksums), offsets = base + delta, strictly
    /// increasing, each payload as recorded. Returns the offsets seen.
    std::vector<std::uint64_t> check(const read_result& r) const {
        std::vector<std::uint64_t> seen;
        std::uint64_t counted = 0;
        for (const auto& b : r.batches) {
            EXPECT_TRUE(iggy::validate_batch(b.data, true).has_value())
                << "batch at " << b.base_offset << " does not validate";
            auto h = iggy::read_batch_header(b.data);
            EXPECT_EQ(h.base_offset, b.base_offset);
            EXPECT_EQ(h.message_count, b.message_count);
            bool first = true;
            auto st = iggy::for_each_frame(b.data, [&](const iggy::frame_view& f) {
                std::uint64_t off = h.base_offset + f.offset_delta;
                if (first) {
                    EXPECT_EQ(off, b.first_offset);
                    first = false;
                }
                if (!seen.empty()) {
                    EXPECT_GT(off, seen.back());
                }
                seen.push_back(off);
                auto it = by_offset_.find(off);
                if (it == by_offset_.end()) {
                    ADD_FAILURE() << "offset " << off << " was never appended";
                } else {
                    EXPECT_EQ(std::string(iggy::as_string(f.payload)), it->second)
                        << "payload at offset " << off;
                }
            });
            EXPECT_TRUE(st.has_value());
            counted += b.message_count;
        }
        EXPECT_EQ(counted, r.message_count);
        return seen;
    }

  private:
    std::map<std::uint64_t, std::string> by_offset_;
};

}  // namespace trib::server::storage::test
