// Confluent wire framing, subject naming and path escaping: pure functions, no registry. The byte
// layouts are the ones confluent-kafka's serializers write (registry_test.cpp checks against
// their real output).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codecs/registry/client.h"
#include "codecs/registry/framing.h"

namespace trib::codecs::registry {
namespace {

using namespace std::string_literals;

TEST(framing, header_is_magic_zero_and_big_endian_id) {
    std::string out;
    write_frame_header(0x01020304u, out);
    EXPECT_EQ(out, "\x00\x01\x02\x03\x04"s);
    out += "body";
    auto f = read_frame(out);
    ASSERT_TRUE(f) << f.error().to_string();
    EXPECT_EQ(f->schema_id, 0x01020304u);
    EXPECT_EQ(f->body, "body");
    std::string big;
    write_frame_header(0xfffffffeu, big);
    auto g = read_frame(big);
    ASSERT_TRUE(g);
    EXPECT_EQ(g->schema_id, 0xfffffffeu);
    EXPECT_TRUE(g->body.empty());
}

TEST(framing, short_or_unframed_payloads_are_bad_payloads) {
    for (std::string p : {""s, "\x00"s, "\x00\x00\x00\x01"s}) {
        auto f = read_frame(p);
        ASSERT_FALSE(f);
        EXPECT_EQ(f.error().code(), errc::invalid_argument);
        EXPECT_FALSE(f.error().retryable());
        EXPECT_NE(f.error().message().find("shorter than the 5-byte header"), std::string::npos);
    }
    auto f = read_frame("{\"a\":1}");
    ASSERT_FALSE(f);
    EXPECT_NE(f.error().message().find("magic byte 123"), std::string::npos);
}

TEST(framing, message_indexes_as_confluent_writes_them) {
    struct tc {
        std::vector<std::int32_t> idx;
        std::string bytes;
    };
    // [0] is the single byte 0; otherwise zigzag count then zigzag indexes.
    const std::vector<tc> cases = {
        {{0}, "\x00"s},
        {{1}, "\x02\x02"s},
        {{0, 0}, "\x04\x00\x00"s},
        {{2, 5, 1}, "\x06\x04\x0a\x02"s},
        {{64}, "\x02\x80\x01"s},
    };
    for (const auto& c : cases) {
        std::string out;
        write_message_indexes(c.idx, out);
        EXPECT_EQ(out, c.bytes);
        std::string_view in = out + "rest";
        std::string buf = out + "rest";
        in = buf;
        auto r = read_message_indexes(in);
        ASSERT_TRUE(r) << r.error().to_string();
        EXPECT_EQ(*r, c.idx);
        EXPECT_EQ(in, "rest");
    }
}

TEST(framing, zigzag_varints_round_trip_at_the_int32_edges) {
    for (std::int32_t v : {0, -1, 1, 63, -64, 64, 1000000, INT32_MAX, INT32_MIN}) {
        std::string out;
        write_zigzag_varint(v, out);
        EXPECT_LE(out.size(), 5u);
        std::string_view in = out;
        std::int32_t back = 7;
        ASSERT_TRUE(read_zigzag_varint(in, back)) << v;
        EXPECT_EQ(back, v);
        EXPECT_TRUE(in.empty());
    }
    std::string_view six = "\x80\x80\x80\x80\x80\x01";
    std::int32_t v = 0;
    EXPECT_FALSE(read_zigzag_varint(six, v));  // longer than 5 bytes
    std::string_view over = "\xff\xff\xff\xff\x7f";
    EXPECT_FALSE(read_zigzag_varint(over, v));  // above 32 bits
    std::string_view cut = "\x80";
    EXPECT_FALSE(read_zigzag_varint(cut, v));
}

TEST(framing, hostile_message_indexes_are_refused_before_allocating) {
    const std::vector<std::string> bad = {
        ""s,                                    // no count
        "\x80"s,                                // truncated count
        "\x01"s,                                // count -1
        "\xfe\xff\xff\xff\x0f"s,                // count 2^31-1, far above the bytes left
        "\x82\x01"s + std::string(64, '\x02'),  // count 65 > max_message_indexes
        "\x04\x02"s,                            // count 2, one index
        "\x02\x01"s,                            // index -1
    };
    for (const auto& b : bad) {
        std::string_view in = b;
        auto r = read_message_indexes(in);
        ASSERT_FALSE(r) << "accepted " << testing::PrintToString(b);
        EXPECT_EQ(r.error().code(), errc::invalid_argument);
        EXPECT_EQ(in, std::string_view(b));  // not advanced on failure
    }
}

TEST(subjects, strategies_name_subjects_as_confluent_does) {
    EXPECT_EQ(*subject_name(subject_strategy::topic, "orders", "", false), "orders-value");
    EXPECT_EQ(*subject_name(subject_strategy::topic, "orders", "x.Y", true), "orders-key");
    EXPECT_EQ(*subject_name(subject_strategy::record, "", "acme.Order", false), "acme.Order");
    EXPECT_EQ(*subject_name(subject_strategy::topic_record, "orders", "acme.Order", false),
              "orders-acme.Order");
    EXPECT_FALSE(subject_name(subject_strategy::topic, "", "acme.Order", false));
    EXPECT_FALSE(subject_name(subject_strategy::record, "orders", "", false));
    EXPECT_EQ(parse_subject_strategy("io.confluent.kafka.serializers.subject.RecordNameStrategy"),
              subject_strategy::record);
    EXPECT_EQ(parse_subject_strategy("TopicRecordNameStrategy"), subject_strategy::topic_record);
    EXPECT_EQ(parse_subject_strategy("topic"), subject_strategy::topic);
    EXPECT_FALSE(parse_subject_strategy("Topic"));
}

TEST(subjects, path_segments_are_escaped) {
    EXPECT_EQ(escape_path_segment("orders-value"), "orders-value");
    EXPECT_EQ(escape_path_segment("a/b c%"), "a%2Fb%20c%25");
    EXPECT_EQ(escape_path_segment("\xc3\xa9"), "%C3%A9");
}

}  // namespace
}  // namespace trib::codecs::registry
