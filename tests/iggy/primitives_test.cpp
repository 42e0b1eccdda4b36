#include "iggy/wire/primitives.h"

#include <gtest/gtest.h>

#include "iggy/test_util.h"

namespace trib::iggy {
namespace {

using test::from_hex;

template <class T>
bytes enc(const T& v) {
    bytes out;
    writer w(out);
    v.encode(w);
    return out;
}

TEST(primitives, identifiers_match_the_doc) {
    EXPECT_EQ(enc(identifier::numeric(1)), from_hex("01 04 01000000"));
    EXPECT_EQ(enc(identifier::named("orders")), from_hex("02 06 6f7264657273"));
    for (auto id : {identifier::numeric(0), identifier::numeric(0xffffffff), identifier::named("x"),
                    identifier::named(std::string(255, 'a'))}) {
        bytes b = enc(id);
        reader r(b);
        auto back = identifier::decode(r);
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, id);
        EXPECT_TRUE(r.at_end());
    }
    for (const char* bad :
         {"", "01", "01 03 010000", "01 04 0100", "02 00", "02 05 6161", "03 01 00"}) {
        bytes b = from_hex(bad);
        reader r(b);
        EXPECT_FALSE(identifier::decode(r)) << bad;
    }
}

TEST(primitives, consumer_partition_partitioning_strategy) {
    EXPECT_EQ(enc(consumer::plain(identifier::numeric(1))), from_hex("01 0104 01000000"));
    EXPECT_EQ(enc(partitioning::balanced()), from_hex("01 00"));
    EXPECT_EQ(enc(partitioning::partition_id(2)), from_hex("02 04 02000000"));
    EXPECT_EQ(enc(partitioning::messages_key("k1")), from_hex("03 02 6b31"));
    EXPECT_EQ(enc(polling_strategy::next()), from_hex("05 0000000000000000"));
    EXPECT_EQ(enc(polling_strategy::offset(41)), from_hex("01 2900000000000000"));
    bytes b;
    writer w(b);
    encode_optional_partition(w, std::nullopt);
    encode_optional_partition(w, 3u);
    EXPECT_EQ(b, from_hex("00 00000000 01 03000000"));
    reader r(b);
    auto a = decode_optional_partition(r);
    auto c = decode_optional_partition(r);
    ASSERT_TRUE(a && c);
    EXPECT_FALSE(a->has_value());
    EXPECT_EQ(c->value_or(0), 3u);
    for (auto p : {partitioning::balanced(), partitioning::partition_id(9),
                   partitioning::messages_key("key")}) {
        bytes e = enc(p);
        EXPECT_EQ(e.size(), p.encoded_size());
        reader pr(e);
        auto back = partitioning::decode(pr);
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, p);
    }
    bytes bad_kind = from_hex("06 0000000000000000");
    reader br(bad_kind);
    EXPECT_FALSE(polling_strategy::decode(br));
}

TEST(primitives, options_block_golden_and_rules) {
    options o{user_header::boolean("enforce_fsync", true),
              user_header::u64("segment_size", 1ULL << 30)};
    bytes b;
    writer w(b);
    encode_options(w, o);
    EXPECT_EQ(b, from_hex("02 0d000000 656e666f7263655f6673796e63 03 01000000 01"
                          "02 0c000000 7365676d656e745f73697a65 0c 08000000 0000004000000000"));
    auto back = decode_options(b);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, o);
    // The doc's message_expiry entry.
    bytes e;
    writer we(e);
    encode_options(we, {user_header::u64("message_expiry", 3'600'000'000ULL)});
    EXPECT_EQ(e, from_hex("02 0e000000 6d6573736167655f657870697279 0c 08000000 00a493d600000000"));
    // Response form with its u32 prefix.
    bytes p;
    writer wp(p);
    encode_prefixed_options(wp, o);
    EXPECT_EQ(load_u32(p.data()), b.size());
    reader rp(p);
    auto pb = decode_prefixed_options(rp);
    ASSERT_TRUE(pb);
    EXPECT_EQ(*pb, o);
    EXPECT_TRUE(rp.at_end());
    // Duplicate keys and non-string keys are refused.
    EXPECT_FALSE(validate_options({user_header::u64("a", 1), user_header::u64("a", 2)}));
    user_header raw_key = user_header::u64("a", 1);
    raw_key.key_kind = header_kind::raw;
    EXPECT_FALSE(validate_options({raw_key}));
    EXPECT_TRUE(decode_options({}));
}

TEST(primitives, permissions_round_trip_and_truncation) {
    permissions p;
    p.manage_servers = true;
    p.read_users = true;
    stream_permissions s;
    s.stream_id = 3;
    s.read_stream = true;
    s.topics.push_back({7, true, false, true, false});
    s.topics.push_back({8, false, true, false, true});
    p.streams.push_back(s);
    p.streams.push_back({4, true, true, true, true, true, true, {}});
    bytes b = enc(p);
    reader r(b);
    auto back = permissions::decode(r);
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, p);
    EXPECT_TRUE(r.at_end());
    for (std::size_t i = 0; i < b.size(); ++i) {
        reader t(bytes_view(b).first(i));
        EXPECT_FALSE(permissions::decode(t)) << i;
    }
    EXPECT_EQ(enc(permissions{}).size(), 11u);
}

}  // namespace
}  // namespace trib::iggy
