// The Iceberg sink's pure parts without a catalog: load-table answers, the offsets in snapshot
// summaries, manifest lists written and read back, rows checked against a schema, statistics.

#include <gtest/gtest.h>

#include <filesystem>

#include "codecs/value.h"
#include "connectors/iceberg/catalog.h"
#include "connectors/iceberg/manifest.h"
#include "connectors/iceberg/rows.h"
#include "core/atomic_file.h"

namespace trib::connectors::iceberg {
namespace {

namespace pq = codecs::parquet;

std::string load_answer(const std::string& snapshots, const std::string& main) {
    return R"({"metadata-location":"file:/w/t/metadata/1.json","metadata":{"format-version":2,)"
           R"("table-uuid":"u-1","location":"file:///w/t","last-sequence-number":3,)"
           R"("current-schema-id":1,"schemas":[{"schema-id":0,"fields":[]},{"type":"struct",)"
           R"("schema-id":1,"fields":[{"id":1,"name":"id","required":true,"type":"long"},)"
           R"({"id":2,"name":"name","required":false,"type":"string"}]}],)"
           R"("default-spec-id":0,"partition-specs":[{"spec-id":0,"fields":[]}],)"
           R"("refs":{"main":{"snapshot-id":)" +
           main + R"(,"type":"branch"}},"snapshots":[)" + snapshots + "]}}";
}

std::string snap(std::int64_t id, std::string parent, std::string summary) {
    return R"({"snapshot-id":)" + std::to_string(id) +
           (parent.empty() ? "" : R"(,"parent-snapshot-id":)" + parent) +
           R"(,"sequence-number":1,"manifest-list":"file:///w/t/m.avro","summary":{"operation":"append")" +
           summary + "}}";
}

TEST(iceberg_catalog, given_a_load_table_answer_should_read_schema_location_and_main) {
    auto t = parse_load_table(load_answer(snap(7, "", ""), "7"));
    ASSERT_TRUE(t) << t.error().message();
    EXPECT_EQ(t->uuid, "u-1");
    EXPECT_EQ(t->location, "file:///w/t");
    EXPECT_EQ(t->schema_id, 1);
    ASSERT_EQ(t->fields.size(), 2u);
    EXPECT_EQ(t->fields[0].name, "id");
    EXPECT_TRUE(t->fields[0].required);
    EXPECT_EQ(t->fields[1].type, "string");
    EXPECT_EQ(t->last_sequence, 3);
    ASSERT_TRUE(t->main);
    EXPECT_EQ(*t->main, 7);
    EXPECT_FALSE(t->partitioned);
}

TEST(iceberg_catalog, given_hostile_answers_should_fail_naming_the_member) {
    EXPECT_FALSE(parse_load_table(""));
    EXPECT_FALSE(parse_load_table("[]"));
    EXPECT_FALSE(parse_load_table(R"({"metadata":{}})"));
    auto missing = parse_load_table(load_answer(snap(7, "", ""), "8"));
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message().find("snapshot 8"), std::string::npos);
    auto bad_type = parse_load_table(R"({"metadata":{"format-version":"2"}})");
    ASSERT_FALSE(bad_type);
    EXPECT_NE(bad_type.error().message().find("format-version"), std::string::npos);
}

TEST(iceberg_catalog, given_other_writers_in_between_should_find_the_offset_in_an_ancestor) {
    const std::string prop = offset_property("k", "s", "t", 1);
    auto t = parse_load_table(
        load_answer(snap(1, "", R"(,")" + prop + R"(":"41")") + "," + snap(2, "1", "") + "," +
                        snap(3, "2", R"(,")" + offset_property("k", "s", "t", 2) + R"(":"9")"),
                    "3"));
    ASSERT_TRUE(t) << t.error().message();
    auto off = committed_offset(*t, prop);
    ASSERT_TRUE(off);
    EXPECT_EQ(*off, 41u);
    EXPECT_EQ(*committed_offset(*t, offset_property("k", "s", "t", 2)), 9u);
    EXPECT_FALSE(committed_offset(*t, offset_property("other", "s", "t", 1)));
}

TEST(iceberg_catalog, given_a_cycle_of_parents_should_stop) {
    auto t = parse_load_table(load_answer(snap(1, "2", "") + "," + snap(2, "1", ""), "1"));
    ASSERT_TRUE(t);
    EXPECT_FALSE(committed_offset(*t, "x"));
}

TEST(iceberg_catalog, given_dotted_names_should_split_namespace_and_table) {
    auto t = parse_table_ident("a.b.c");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->ns, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(t->name, "c");
    EXPECT_EQ(namespace_path(t->ns), "a%1Fb");
    EXPECT_FALSE(parse_table_ident("solo"));
    EXPECT_FALSE(parse_table_ident("a..b"));
    EXPECT_FALSE(parse_table_ident(".a"));
}

TEST(iceberg_catalog, given_a_commit_should_assert_uuid_and_parent) {
    new_snapshot s;
    s.id = 5;
    s.parent = 4;
    s.sequence = 2;
    s.manifest_list = "file:///l.avro";
    s.summary = {{"p", "v"}};
    auto body = commit_body(*parse_table_ident("n.t"), "u-1", s);
    EXPECT_NE(body.find(R"({"type":"assert-table-uuid","uuid":"u-1"})"), std::string::npos);
    EXPECT_NE(body.find(R"("ref":"main","snapshot-id":4)"), std::string::npos);
    EXPECT_NE(body.find(R"("parent-snapshot-id":4)"), std::string::npos);
    EXPECT_NE(body.find(R"("p":"v")"), std::string::npos);
    s.parent.reset();
    body = commit_body(*parse_table_ident("n.t"), "u-1", s);
    EXPECT_NE(body.find(R"("ref":"main","snapshot-id":null)"), std::string::npos);
}

TEST(iceberg_manifest, given_entries_should_read_back_what_was_written) {
    manifest_entry a;
    a.path = "file:///w/m1.avro";
    a.length = 1234;
    a.sequence = 3;
    a.min_sequence = 2;
    a.added_snapshot_id = 99;
    a.added_files = 2;
    a.added_rows = 1000;
    a.partitions = std::vector<partition_summary>{{true, false, std::string("\x01"), std::nullopt}};
    manifest_entry b;
    b.path = "file:///w/m2.avro";
    b.length = 77;
    b.added_snapshot_id = -5;
    b.key_metadata = std::string("k\0m", 3);
    auto file = write_manifest_list(100, 99, 4, {a, b});
    auto back = read_manifest_list(file);
    ASSERT_TRUE(back) << back.error().message();
    ASSERT_EQ(back->size(), 2u);
    EXPECT_EQ((*back)[0].path, a.path);
    EXPECT_EQ((*back)[0].length, 1234);
    EXPECT_EQ((*back)[0].sequence, 3);
    EXPECT_EQ((*back)[0].min_sequence, 2);
    EXPECT_EQ((*back)[0].added_files, 2);
    EXPECT_EQ((*back)[0].added_rows, 1000);
    ASSERT_TRUE((*back)[0].partitions);
    ASSERT_EQ((*back)[0].partitions->size(), 1u);
    EXPECT_TRUE((*back)[0].partitions->at(0).contains_null);
    EXPECT_EQ((*back)[0].partitions->at(0).lower, std::string("\x01"));
    EXPECT_EQ((*back)[1].added_snapshot_id, -5);
    EXPECT_FALSE((*back)[1].partitions);
    EXPECT_EQ((*back)[1].key_metadata, std::string("k\0m", 3));
}

TEST(iceberg_manifest, given_a_list_pyiceberg_wrote_should_read_its_entries) {
    // The fuzz seed: selector byte 3, then a manifest list pyiceberg 0.12 wrote for one append.
    auto f = read_file(std::filesystem::path(TRIB_TEST_SOURCE_DIR) /
                       "fuzz/corpus/fuzz_iceberg_catalog/manifest_list_pyiceberg");
    ASSERT_TRUE(f) << f.error().message();
    auto list = read_manifest_list(std::string_view(*f).substr(1));
    ASSERT_TRUE(list) << list.error().message();
    ASSERT_EQ(list->size(), 1u);
    EXPECT_TRUE((*list)[0].path.ends_with(".avro")) << (*list)[0].path;
    EXPECT_EQ((*list)[0].added_files, 1);
    EXPECT_EQ((*list)[0].added_rows, 2);
    EXPECT_EQ((*list)[0].sequence, 1);
    EXPECT_GT((*list)[0].length, 0);
    // Written again by us, it reads back the same.
    auto again = read_manifest_list(write_manifest_list(2, (*list)[0].added_snapshot_id, 2, *list));
    ASSERT_TRUE(again);
    EXPECT_EQ((*again)[0].path, (*list)[0].path);
    EXPECT_EQ((*again)[0].added_snapshot_id, (*list)[0].added_snapshot_id);
}

TEST(iceberg_manifest, given_garbage_should_fail_not_crash) {
    EXPECT_FALSE(read_manifest_list(""));
    EXPECT_FALSE(read_manifest_list("Obj\x01"));
    auto file = write_manifest_list(1, std::nullopt, 1, {manifest_entry{}});
    EXPECT_FALSE(read_manifest_list(file.substr(0, file.size() - 5)));
}

TEST(iceberg_rows, given_a_schema_should_map_types_and_refuse_unsupported_ones) {
    std::vector<field> fs = {{1, "a", "long", false}, {2, "b", "timestamptz", false}};
    auto cols = parquet_columns(fs);
    ASSERT_TRUE(cols);
    EXPECT_EQ((*cols)[0].type, pq::column_type::int64);
    EXPECT_EQ((*cols)[1].field_id, 2);
    auto bad = parquet_columns({{1, "x", "decimal(9,2)", false}});
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message().find("\"x\""), std::string::npos);
}

TEST(iceberg_rows, given_rows_should_check_types_and_compute_bounds) {
    std::vector<field> fs = {{1, "id", "long", true}, {2, "name", "string", false}};
    auto cols = *parquet_columns(fs);
    codecs::arena a;
    auto row = [&](std::int64_t id, const char* name) {
        auto* es = codecs::new_entries(a, name ? 2 : 1);
        es[0].key = codecs::value::string_value("id");
        es[0].val = codecs::value::int_value(id);
        if (name) {
            es[1].key = codecs::value::string_value("name");
            es[1].val = codecs::value::string_value(name);
        }
        codecs::value v;
        v.type = codecs::value_type::record;
        v.n = name ? 2 : 1;
        v.entries = es;
        return v;
    };
    std::vector<codecs::value> rows = {row(5, "b"), row(-3, "c"), row(9, nullptr)};
    for (const auto& r : rows)
        EXPECT_TRUE(check_row(fs, cols, r));
    auto* es = codecs::new_entries(a, 1);
    es[0].key = codecs::value::string_value("id");
    es[0].val = codecs::value::string_value("not a number");
    codecs::value bad;
    bad.type = codecs::value_type::record;
    bad.n = 1;
    bad.entries = es;
    auto st = check_row(fs, cols, bad);
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message().find("\"id\""), std::string::npos);
    codecs::value empty;
    empty.type = codecs::value_type::record;
    EXPECT_FALSE(check_row(fs, cols, empty));  // id is required

    auto stats = compute_stats(cols, rows);
    ASSERT_EQ(stats.size(), 2u);
    EXPECT_EQ(stats[0].values, 3);
    EXPECT_EQ(stats[0].nulls, 0);
    EXPECT_EQ(stats[0].lower, bound_long(-3));
    EXPECT_EQ(stats[0].upper, bound_long(9));
    EXPECT_EQ(stats[1].nulls, 1);
    EXPECT_EQ(stats[1].lower, std::string("b"));
    EXPECT_EQ(stats[1].upper, std::string("c"));
}

TEST(iceberg_rows, given_the_same_messages_should_name_the_same_file) {
    EXPECT_EQ(data_file_name("k", "s", "t", 1, 10, 20), data_file_name("k", "s", "t", 1, 10, 20));
    EXPECT_NE(data_file_name("k", "s", "t", 1, 10, 20), data_file_name("k", "s", "t", 2, 10, 20));
    EXPECT_EQ(data_file_name("k/x", "s s", "t", 0, 1, 2).find('/'), std::string::npos);
}

}  // namespace
}  // namespace trib::connectors::iceberg
