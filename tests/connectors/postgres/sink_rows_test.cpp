// The PostgreSQL sink's pure parts without a database: append-mode cells (binary and text COPY),
// mapped-mode rows from JSON and Debezium envelopes, the SQL builders, and the COPY streams.
// The real-server tests (sink_test.cpp) cover the I/O.

#include <gtest/gtest.h>

#include <cstring>

#include "connectors/postgres/pg.h"
#include "connectors/postgres/sink_encoder.h"
#include "connectors/postgres/sink_rows.h"

namespace trib::connectors::postgres {
namespace {

message_batch make_batch(const std::vector<std::string>& payloads) {
    message_batch b;
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        message m;
        m.payload = b.own(payloads[i]);
        m.offset = 100 + i;
        m.id = {i + 1, 0x1234};
        m.timestamp_us = 1700000000000000ULL + i;
        m.origin_timestamp_us = 0;
        b.messages.push_back(std::move(m));
    }
    return b;
}

sink_batch view(const message_batch& b) {
    sink_batch sb;
    sb.stream = "orders";
    sb.topic = "created";
    sb.partition = 3;
    sb.messages = &b;
    return sb;
}

std::uint32_t be32(std::string_view s, std::size_t at) {
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v = (v << 8) | static_cast<unsigned char>(s[at + i]);
    return v;
}

// A table description as open() would read it from the catalog.
void add_column(sink_table& t, std::string name, std::uint32_t oid, std::string type_sql) {
    t.column_by_name.emplace(name, t.columns.size());
    t.columns.push_back({std::move(name), oid, std::move(type_sql), false, false});
}

TEST(postgres_rows, given_append_text_copy_should_write_escaped_tab_separated_rows) {
    sink_options o;
    o.copy = copy_format::text;
    o.include_headers = true;
    row_encoder e(o);
    e.append_cols = {{acol::id, "id", oid_numeric},
                     {acol::offset, "iggy_offset", oid_int8},
                     {acol::timestamp, "iggy_timestamp", oid_timestamptz},
                     {acol::origin_ts, "iggy_origin_timestamp", oid_timestamptz},
                     {acol::stream, "iggy_stream", oid_text},
                     {acol::partition, "iggy_partition_id", oid_int4},
                     {acol::headers, "iggy_headers", oid_jsonb},
                     {acol::payload, "payload", oid_bytea}};
    auto b = make_batch({"a\tb", std::string("\0\xff", 2)});
    b.messages[0].headers.push_back({"k", value_kind::float64, std::string(8, '\xff')});  // NaN
    batch_plan plan;
    e.encode(view(b), plan);
    ASSERT_EQ(plan.groups.size(), 1u);
    EXPECT_TRUE(plan.rejected.empty());
    const row_group& g = plan.groups[0];
    EXPECT_FALSE(g.binary);
    ASSERT_EQ(g.rows(), 2u);
    std::string s = copy_stream(g, {0, 1});
    EXPECT_EQ(s,
              // id = 0x1234 * 2^64 + 1
              "85961827383486510530561\t100\t2023-11-14 22:13:20.000000+00\t\\N\torders\t3\t"
              "{\"k\":null}\t\\\\x610962\n"
              "85961827383486510530562\t101\t2023-11-14 22:13:20.000001+00\t\\N\torders\t3\t"
              "\\N\t\\\\x00ff\n");
    // Only the rows asked for, in the order asked for.
    EXPECT_EQ(copy_stream(g, {1}).substr(0, 24), "85961827383486510530562\t");
}

TEST(postgres_rows, given_append_binary_copy_should_frame_every_field_with_its_length) {
    sink_options o;  // binary COPY by default
    o.include_headers = true;
    row_encoder e(o);
    e.append_cols = {{acol::offset, "iggy_offset", oid_int8},
                     {acol::origin_ts, "iggy_origin_timestamp", oid_timestamptz},
                     {acol::headers, "iggy_headers", oid_jsonb},
                     {acol::payload, "payload", oid_jsonb}};
    auto b = make_batch({"{\"x\":1}"});
    b.messages[0].headers.push_back({"n", value_kind::uint32, std::string("\x07\0\0\0", 4)});
    batch_plan plan;
    e.encode(view(b), plan);
    ASSERT_EQ(plan.groups.size(), 1u);
    const row_group& g = plan.groups[0];
    EXPECT_TRUE(g.binary);
    std::string s = copy_stream(g, {0});
    ASSERT_EQ(s.substr(0, binary::copy_header.size()), binary::copy_header);
    std::size_t p = binary::copy_header.size();
    EXPECT_EQ(static_cast<unsigned char>(s[p]) * 256 + static_cast<unsigned char>(s[p + 1]), 4);
    p += 2;
    ASSERT_EQ(be32(s, p), 8u);  // int8 offset
    EXPECT_EQ(be32(s, p + 8), 100u);
    p += 12;
    EXPECT_EQ(be32(s, p), 0xffffffffu);  // NULL origin timestamp (0 = unset)
    p += 4;
    std::string headers = std::string("\1") + "{\"n\":7}";  // jsonb version byte + text
    ASSERT_EQ(be32(s, p), headers.size());
    EXPECT_EQ(s.substr(p + 4, headers.size()), headers);
    p += 4 + headers.size();
    std::string payload = std::string("\1") + "{\"x\":1}";
    ASSERT_EQ(be32(s, p), payload.size());
    EXPECT_EQ(s.substr(p + 4, payload.size()), payload);
    p += 4 + payload.size();
    EXPECT_EQ(s.substr(p), std::string("\xff\xff", 2));  // trailer
}

TEST(postgres_rows, given_mapped_json_should_group_rows_by_their_columns_and_reject_bad_ones) {
    sink_options o;
    o.mode = sink_mode::mapped;
    o.strict_fields = true;
    row_encoder e(o);
    e.table = {"public", "t"};
    add_column(e, "id", oid_int4, "integer");
    add_column(e, "name", oid_text, "text");
    add_column(e, "blob", oid_bytea, "bytea");
    auto b = make_batch({R"({"id":1,"name":"a"})", R"({"id":2})", R"({"id":3,"name":"c"})",
                         R"({"id":4,"extra":1})", R"([1,2])", R"({"id":5,"blob":"AP8="})",
                         R"({"id":6,"blob":"!!"})", "not json"});
    batch_plan plan;
    e.encode(view(b), plan);
    // {id,name}: messages 0 and 2; {id}: 1; {blob,id}: 5.
    ASSERT_EQ(plan.groups.size(), 3u);
    EXPECT_EQ(plan.groups[0].msg, (std::vector<std::uint32_t>{0, 2}));
    EXPECT_EQ(plan.groups[0].value(1, 1), "c");
    EXPECT_EQ(plan.groups[1].msg, (std::vector<std::uint32_t>{1}));
    EXPECT_EQ(plan.groups[2].value(0, 1), "\\x00ff");  // base64 in JSON -> bytea hex input
    std::vector<std::size_t> rejected;
    for (const auto& r : plan.rejected)
        rejected.push_back(r.index);
    std::sort(rejected.begin(), rejected.end());
    EXPECT_EQ(rejected, (std::vector<std::size_t>{3, 4, 6, 7}));
    EXPECT_EQ(e.column_list(plan.groups[0]), "\"id\", \"name\"");
    EXPECT_EQ(e.conflict_clause(plan.groups[0], false), "");  // no upsert
}

TEST(postgres_rows, given_debezium_changes_should_keep_only_the_last_change_of_a_key) {
    sink_options o;
    o.mode = sink_mode::mapped;
    o.envelope = envelope_kind::debezium;
    row_encoder e(o);
    e.table = {"", "t"};
    add_column(e, "id", oid_int4, "integer");
    add_column(e, "v", oid_text, "text");
    e.key_cols = {0};
    auto b = make_batch({
        R"({"op":"c","after":{"id":1,"v":"a"}})",
        R"({"op":"u","before":{"id":1},"after":{"id":1,"v":"b"}})",
        R"({"op":"d","before":{"id":2}})",
        R"({"op":"u","before":{"id":3},"after":{"id":4,"v":"moved"}})",
        R"({"op":"x"})",
        R"({"op":"d"})",
    });
    batch_plan plan;
    e.encode(view(b), plan);
    std::size_t alive_upserts = 0, alive_removes = 0;
    std::vector<std::string> upserted;
    for (const auto& g : plan.groups) {
        for (std::size_t r = 0; r < g.rows(); ++r) {
            if (!g.alive[r])
                continue;
            if (g.k == row_group::kind::upsert) {
                ++alive_upserts;
                upserted.emplace_back(g.value(r, g.width() - 1));
            } else {
                ++alive_removes;
            }
        }
    }
    EXPECT_EQ(alive_upserts, 2u);  // id 1 (the "u" superseded the "c") and id 4
    EXPECT_EQ(upserted, (std::vector<std::string>{"b", "moved"}));
    EXPECT_EQ(alive_removes, 2u);         // id 2 and the old key 3 of the moved row
    EXPECT_EQ(plan.rejected.size(), 2u);  // unknown op, delete without before image
    // Keyed groups upsert on the key and update the other columns.
    for (const auto& g : plan.groups) {
        if (g.k == row_group::kind::upsert && g.width() == 2) {
            EXPECT_EQ(e.conflict_clause(g, false),
                      " ON CONFLICT (\"id\") DO UPDATE SET \"v\" = EXCLUDED.\"v\"");
        }
    }
}

TEST(postgres_rows, timestamps_and_array_literals) {
    EXPECT_EQ(iso_timestamp(0), "1970-01-01 00:00:00.000000+00");
    EXPECT_EQ(iso_timestamp(1700000000123456ULL), "2023-11-14 22:13:20.123456+00");
    json::document d;
    ASSERT_TRUE(d.parse(R"(["a","b c",null,[1,2],"q\"",true])").has_value());
    std::string out;
    json_array_literal(d, d.root(), out);
    EXPECT_EQ(out, "{\"a\",\"b c\",NULL,{1,2},\"q\\\"\",true}");
}

}  // namespace
}  // namespace trib::connectors::postgres
