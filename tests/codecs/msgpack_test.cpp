// The msgpack codec: exact bytes both ways (the forms msgpack-python writes), typed values,
// bad payloads, limits. Python cross-checks are in python_interop_test.cpp.

#include <gtest/gtest.h>

#include "codecs/codec.h"
#include "codecs/value.h"

namespace trib::codecs {
namespace {

std::unique_ptr<codec> msgpack() {
    return std::move(make_msgpack_codec({})).value();
}

std::string bytes(std::initializer_list<int> b) {
    std::string s;
    for (int c : b)
        s.push_back(static_cast<char>(c));
    return s;
}

// Decode, check, re-encode: the same bytes come back.
value decode_and_back(std::string_view payload, arena& a) {
    auto c = msgpack();
    record r;
    status s = c->decode(payload, a, r);
    EXPECT_TRUE(s) << (s ? "" : s.error().to_string());
    if (!s)
        return value();
    record changed = r;
    changed.modified = true;
    std::string out;
    EXPECT_TRUE(c->encode(changed, a, out));
    EXPECT_EQ(out, payload);
    return typed_of(r);
}

TEST(msgpack_codec, integers_in_every_width_round_trip_exactly) {
    arena a;
    EXPECT_EQ(decode_and_back(bytes({0x7f}), a).i, 127);
    EXPECT_EQ(decode_and_back(bytes({0xe0}), a).i, -32);
    EXPECT_EQ(decode_and_back(bytes({0xcc, 0x80}), a).i, 128);
    EXPECT_EQ(decode_and_back(bytes({0xcd, 0x01, 0x00}), a).i, 256);
    EXPECT_EQ(decode_and_back(bytes({0xce, 0x00, 0x01, 0x00, 0x00}), a).i, 65536);
    value big = decode_and_back(bytes({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), a);
    EXPECT_EQ(big.type, value_type::uint64);
    EXPECT_EQ(big.u, 18446744073709551615u);
    EXPECT_EQ(decode_and_back(bytes({0xd0, 0x80}), a).i, -128);
    EXPECT_EQ(decode_and_back(bytes({0xd1, 0x80, 0x00}), a).i, -32768);
    EXPECT_EQ(decode_and_back(bytes({0xd2, 0x80, 0x00, 0x00, 0x00}), a).i, -2147483648LL);
    EXPECT_EQ(decode_and_back(bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}), a).i,
              std::numeric_limits<std::int64_t>::min());
}

TEST(msgpack_codec, maps_strings_bytes_floats_and_timestamps) {
    arena a;
    // {"a": [nil, true, 1.5], "b": bin(01 02), "t": timestamp(1, 0), 5: "é"}
    std::string p = bytes({0x84, 0xa1, 'a',  0x93, 0xc0, 0xc3, 0xcb, 0x3f, 0xf8, 0,    0,
                           0,    0,    0,    0,    0xa1, 'b',  0xc4, 0x02, 0x01, 0x02, 0xa1,
                           't',  0xd6, 0xff, 0,    0,    0,    1,    0x05, 0xa2, 0xc3, 0xa9});
    value v = decode_and_back(p, a);
    ASSERT_EQ(v.type, value_type::map);  // one key is an integer
    EXPECT_EQ(debug_string(v),
              "map{\"a\":[null,true,1.5f],\"b\":bytes(AQI=),\"t\":timestamp(1s+0ns),5:\"é\"}");
    // Timestamp 64 and 96 forms.
    value t64 = decode_and_back(bytes({0xd7, 0xff, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 1}), a);
    EXPECT_EQ(t64.type, value_type::timestamp);
    EXPECT_EQ(t64.n, 1u);
    EXPECT_EQ(t64.i, 1);
    value t96 = decode_and_back(
        bytes({0xc7, 12, 0xff, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}), a);
    EXPECT_EQ(t96.i, -1);
    EXPECT_EQ(t96.n, 5u);
    // float32 widens to float64 (re-encoded as float 64).
    auto c = msgpack();
    record r;
    ASSERT_TRUE(c->decode(bytes({0xca, 0x3f, 0xc0, 0, 0}), a, r));
    EXPECT_EQ(typed_of(r).d, 1.5);
}

TEST(msgpack_codec, json_records_encode_and_typed_records_become_json) {
    arena a;
    auto json = std::move(make_json_codec({})).value();
    auto c = msgpack();
    record j;
    ASSERT_TRUE(json->decode(R"({"id":7,"tags":["x"],"ok":false,"v":-0.25})", a, j));
    std::string packed;
    ASSERT_TRUE(c->encode(j, a, packed));
    record back;
    ASSERT_TRUE(c->decode(packed, a, back));
    std::string text;
    ASSERT_TRUE(json->encode(back, a, text));
    EXPECT_EQ(text, R"({"id":7,"tags":["x"],"ok":false,"v":-0.25})");
}

TEST(msgpack_codec, bad_payloads_are_refused_without_allocating_their_claims) {
    arena a;
    auto c = msgpack();
    struct bad {
        std::string payload;
        std::string_view why;
    };
    std::vector<bad> cases = {
        {"", "truncated"},
        {bytes({0xc1}), "0xc1"},
        {bytes({0xdd, 0xff, 0xff, 0xff, 0xff}), "array of 4294967295 elements"},
        {bytes({0xdf, 0xff, 0xff, 0xff, 0xff, 0xc0}), "map of 4294967295 entries"},
        {bytes({0xdb, 0xff, 0xff, 0xff, 0xff}), "runs past the end"},
        {bytes({0xc6, 0x00, 0x00, 0x10, 0x00, 0x01}), "runs past the end"},
        {bytes({0xa2, 0xc3, 0x28}), "UTF-8"},
        {bytes({0xc0, 0xc0}), "after the first object"},
        {bytes({0xd6, 0xff, 0, 0}), "runs past the end"},
        {bytes({0xd5, 0xff, 0, 0}), "timestamp extension of 2 bytes"},
        {bytes({0xd7, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}), "nanoseconds"},
        {bytes({0xcb, 0, 0}), "truncated"},
        // Nested arrays that each claim the rest of the payload: refused at the second level.
        {bytes({0xdc, 0x00, 0x08, 0xdc, 0x00, 0x08, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0}),
         "array of 8 elements"},
    };
    cases.push_back({std::string(200, '\x91') + bytes({0xc0}), "nested deeper than 128"});
    for (const auto& b : cases) {
        record r;
        status s = c->decode(b.payload, a, r);
        ASSERT_FALSE(s) << b.why;
        EXPECT_EQ(s.error().code(), errc::invalid_argument);
        EXPECT_EQ(s.error().retry(), retry_class::fatal);
        EXPECT_NE(s.error().message().find(b.why), std::string::npos) << s.error().message();
    }
}

TEST(msgpack_codec, memory_stays_proportional_to_the_payload) {
    // 64 KiB of one-byte elements inside nested containers: the arena grows by at most 16
    // bytes per payload byte (plus its block), not by what the headers claim.
    arena a;
    auto c = msgpack();
    std::string p = bytes({0xdd, 0x00, 0x00, 0x00, 0x02, 0xdd, 0x00, 0x00, 0xff, 0xf0});
    p += std::string(0xfff0, '\x01');
    p += bytes({0x01});
    record r;
    ASSERT_TRUE(c->decode(p, a, r));
    EXPECT_LT(a.capacity(), 16 * p.size() + 256 * 1024);
}

}  // namespace
}  // namespace trib::codecs
