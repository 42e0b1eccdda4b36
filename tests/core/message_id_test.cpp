// The shared deterministic-id helper: its byte layout (pinned, so ids stay the same across
// versions and restarts), distinctness, and the zero rule.

#include "core/message_id.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <set>
#include <string>

namespace trib {
namespace {

TEST(message_id, layout_is_length_prefixed_big_endian) {
    message_id_builder b("file");
    b.add_u32(0x01020304).add_u64(0x0a0b0c0d0e0f1011ull).add("");
    const std::string want = std::string("\0\0\0\4file", 8) + "\x01\x02\x03\x04" +
                             "\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11" + std::string(4, '\0');
    EXPECT_EQ(b.bytes(), want);
    // XXH3-128 of those bytes, computed here independently.
    const XXH128_hash_t h = XXH3_128bits(want.data(), want.size());
    EXPECT_EQ(b.finish(), (message_id{h.low64, h.high64}));
}

TEST(message_id, golden_values_do_not_change) {
    // Pinned: a change here changes every id a source has ever sent, so a server's
    // de-duplication window would no longer recognise a re-send across the upgrade.
    // (Computed once with a separate C program over libxxhash's XXH3_128bits.)
    EXPECT_EQ(to_hex(message_id_of("webhook", "72d3162e-cc78-11e3-81ab-4c9367dc0958")),
              "bfda4417260c35a7f5cada118fc487bf");
}

TEST(message_id, distinct_parts_give_distinct_ids) {
    EXPECT_NE(message_id_builder().add("ab").add("c").finish(),
              message_id_builder().add("a").add("bc").finish());
    EXPECT_NE(message_id_of("file", "x"), message_id_of("http_poll", "x"));
    std::set<std::string> seen;
    for (std::uint64_t ino = 0; ino < 20; ++ino) {
        for (std::uint64_t off = 0; off < 500; ++off)
            seen.insert(to_hex(message_id_builder("file").add_u64(ino).add_u64(off).finish()));
    }
    EXPECT_EQ(seen.size(), 20u * 500u);
}

TEST(message_id, never_zero_and_reusable) {
    message_id_builder b("x");
    const auto first = b.finish();
    EXPECT_FALSE(first.is_zero());
    b.clear();
    b.add("x");
    EXPECT_EQ(b.finish(), first);
}

}  // namespace
}  // namespace trib
