#include "iggy/wire/batch.h"

#include <gtest/gtest.h>

#include <string>

namespace trib::iggy {
namespace {

bytes from_hex(const std::string& hex) {
    bytes out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
        out.push_back(static_cast<std::uint8_t>(std::stoi(hex.substr(i, 2), nullptr, 16)));
    }
    return out;
}

// iggy-protocol.md section 8.3: one "hello" message, id 1, origin 1,700,000,000,000,000 µs.
TEST(batch, reproduces_the_protocol_doc_golden_batch) {
    batch_builder b;
    b.add({u128{1, 0}, 1'700'000'000'000'000ULL, as_bytes("hello"), {}});
    bytes batch = b.finish();
    std::string expected_hex =
        std::string(48, '0') + "00401e18240a0600" + "3501000000000000" + "c30f947c3dc33789" +
        "01000000" + std::string(408, '0') + "8e5ca59edbbdbfb9" + "01" + std::string(30, '0') +
        std::string(24, '0') + "05000000" + std::string(16, '0') + "68656c6c6f";
    EXPECT_EQ(batch, from_hex(expected_hex));
    auto h = read_batch_header(batch);
    EXPECT_EQ(h.batch_checksum, 0x8937c33d7c940fc3ULL);
    EXPECT_EQ(h.batch_length, 309u);
    EXPECT_TRUE(validate_batch(batch).has_value());
}

TEST(batch, detects_corruption_of_payload_and_header) {
    batch_builder b;
    b.add({{}, 0, as_bytes("one"), {}});
    b.add({{}, 0, as_bytes("two"), {}});
    bytes batch = b.finish();
    ASSERT_TRUE(validate_batch(batch).has_value());
    bytes bad_payload = batch;
    bad_payload.back() ^= 1;
    auto r = validate_batch(bad_payload);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().vendor_code(), 4027);
    bytes bad_header = batch;
    bad_header[24] ^= 1;  // origin timestamp
    r = validate_batch(bad_header);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().vendor_code(), 4039);
    bytes truncated(batch.begin(), batch.end() - 1);
    EXPECT_FALSE(validate_batch(truncated));
}

TEST(batch, stamp_and_cut_keep_it_valid) {
    batch_builder b;
    std::vector<std::string> payloads{"a", "bb", "ccc", "dddd"};
    auto hdrs = encode_user_headers({user_header::str("k", "v"), user_header::u64("n", 7)});
    for (auto& p : payloads)
        b.add({{}, 0, as_bytes(p), hdrs});
    bytes batch = b.finish();
    stamp_batch(batch.data(), batch.size(), 2, 100, 555);
    ASSERT_TRUE(validate_batch(batch).has_value());
    bytes part = cut_batch(batch, 1, 2);
    ASSERT_TRUE(validate_batch(part).has_value());
    auto h = read_batch_header(part);
    EXPECT_EQ(h.base_offset, 100u);
    EXPECT_EQ(h.message_count, 2u);
    std::vector<std::string> seen;
    std::vector<std::uint32_t> deltas;
    ASSERT_TRUE(for_each_frame(part, [&](const frame_view& f) {
                    seen.emplace_back(as_string(f.payload));
                    deltas.push_back(f.offset_delta);
                    auto decoded = decode_user_headers(f.user_headers);
                    ASSERT_TRUE(decoded);
                    ASSERT_EQ(decoded->size(), 2u);
                    EXPECT_EQ(header_value_to_string((*decoded)[1]), "7");
                }).has_value());
    EXPECT_EQ(seen, (std::vector<std::string>{"bb", "ccc"}));
    EXPECT_EQ(deltas, (std::vector<std::uint32_t>{1, 2}));
}

TEST(user_headers, rejects_bad_kinds_and_sizes) {
    bytes good = encode_user_headers({user_header::u64("n", 1)});
    EXPECT_TRUE(decode_user_headers(good));
    bytes bad_kind = good;
    bad_kind[0] = 0;
    EXPECT_FALSE(decode_user_headers(bad_kind));
    bytes wrong_size =
        encode_user_headers({{header_kind::string, "n", header_kind::uint64, "123"}});
    EXPECT_FALSE(decode_user_headers(wrong_size));
    bytes truncated(good.begin(), good.end() - 1);
    EXPECT_FALSE(decode_user_headers(truncated));
}

}  // namespace
}  // namespace trib::iggy
