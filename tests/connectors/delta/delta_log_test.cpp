// The Delta log's pure parts, without a table on disk: Iggy's schema entries, the schema
// string, reading commits (protocol, metaData, txn), writing the next commit, names.

#include <gtest/gtest.h>

#include "connectors/delta/delta_log.h"

namespace trib::connectors::delta {
namespace {

namespace pq = codecs::parquet;

TEST(delta_log, given_iggy_schema_entries_should_map_every_documented_type) {
    auto f = parse_schema_entries({"id long", "name  string", "count integer", "amount double",
                                   "active boolean", "created_at timestamp", "b byte", "s short",
                                   "f float", "bin binary", "d date", "ntz timestampNtz"});
    ASSERT_TRUE(f) << f.error().message();
    ASSERT_EQ(f->size(), 12u);
    EXPECT_EQ((*f)[1].name, "name");
    EXPECT_EQ(*column_type_of((*f)[0]), pq::column_type::int64);
    EXPECT_EQ(*column_type_of((*f)[2]), pq::column_type::int32);
    EXPECT_EQ(*column_type_of((*f)[6]), pq::column_type::int8);
    EXPECT_EQ(*column_type_of((*f)[7]), pq::column_type::int16);
    EXPECT_EQ(*column_type_of((*f)[8]), pq::column_type::float32);
    EXPECT_EQ(*column_type_of((*f)[11]), pq::column_type::timestamp_ntz);
}

TEST(delta_log, given_bad_schema_entries_should_name_the_entry) {
    for (std::vector<std::string> bad : {std::vector<std::string>{"id"},
                                         {"id long extra"},
                                         {"ok long", "x varchar"},
                                         {"id long", "id string"},
                                         {""},
                                         {"id INT"}}) {
        auto f = parse_schema_entries(bad);
        ASSERT_FALSE(f) << bad.back();
        EXPECT_NE(f.error().message().find("entry " + std::to_string(bad.size() - 1)),
                  std::string::npos)
            << f.error().message();
    }
}

TEST(delta_log, given_a_schema_should_write_a_schema_string_that_reads_back) {
    auto f = parse_schema_entries({"id long", "name string", "t \"quoted\"x string"});
    ASSERT_FALSE(f);  // three parts
    auto g = parse_schema_entries({"id long", "na\"me string"});
    ASSERT_TRUE(g);
    const auto text = schema_string(*g);
    auto back = parse_schema_string(text);
    ASSERT_TRUE(back) << back.error().message() << " in " << text;
    EXPECT_EQ(*back, *g);
}

TEST(delta_log, given_a_created_table_commit_should_read_protocol_schema_and_txn) {
    auto fields = parse_schema_entries({"id long", "name string"});
    ASSERT_TRUE(fields);
    table_state created;
    protocol_for(*fields, created);
    created.has_metadata = true;
    created.table_id = "5b1c3a70-0000-4000-8000-000000000000";
    created.schema = *fields;
    created.schema_text = schema_string(*fields);
    added_file add{"part-a.parquet", 1234, 1700000000000, 10};
    const auto v0 = commit_text(created, true, "app-1", 41, add, 1700000000000);
    table_state st;
    ASSERT_TRUE(apply_commit(st, 0, v0));
    EXPECT_EQ(st.version, 0);
    EXPECT_EQ(st.min_reader_version, 1);
    EXPECT_EQ(st.min_writer_version, 2);
    EXPECT_EQ(st.table_id, created.table_id);
    EXPECT_EQ(st.schema, *fields);
    EXPECT_EQ(st.txns.at("app-1"), 41);
    EXPECT_EQ(st.files_added, 1u);
    EXPECT_EQ(st.records_added, 10u);
    EXPECT_TRUE(check_writable(st));
    // The next commit: no protocol or metaData, a later txn version wins.
    const auto v1 = commit_text(st, false, "app-1", 99, add, 1700000000001);
    EXPECT_EQ(v1.find("metaData"), std::string::npos);
    ASSERT_TRUE(apply_commit(st, 1, v1));
    EXPECT_EQ(st.txns.at("app-1"), 99);
    EXPECT_EQ(st.version, 1);
}

TEST(delta_log, given_a_creation_without_txn_should_hold_no_add_or_txn) {
    auto fields = parse_schema_entries({"id long"});
    table_state created;
    protocol_for(*fields, created);
    created.has_metadata = true;
    created.table_id = "x";
    created.schema = *fields;
    created.schema_text = schema_string(*fields);
    const auto text = commit_text(created, true, {}, 0, {}, 1);
    EXPECT_EQ(text.find("\"txn\""), std::string::npos);
    EXPECT_EQ(text.find("\"add\""), std::string::npos);
    table_state st;
    ASSERT_TRUE(apply_commit(st, 0, text));
    EXPECT_TRUE(st.txns.empty());
    EXPECT_TRUE(check_writable(st));
}

TEST(delta_log, given_timestamp_ntz_should_ask_for_table_features) {
    auto fields = parse_schema_entries({"t timestampNtz"});
    table_state st;
    protocol_for(*fields, st);
    EXPECT_EQ(st.min_reader_version, 3);
    EXPECT_EQ(st.min_writer_version, 7);
    EXPECT_EQ(st.writer_features, std::vector<std::string>{"timestampNtz"});
}

TEST(delta_log, given_what_other_writers_commit_should_read_it) {
    // As delta-rs writes them (abridged): unknown actions and fields are skipped.
    const std::string text =
        R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})"
        "\n"
        R"({"metaData":{"id":"abc","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":[],"configuration":{"delta.appendOnly":"true"},"createdTime":1}})"
        "\n\n"
        R"({"domainMetadata":{"domain":"x","configuration":"{}","removed":false}})"
        "\n"
        R"({"txn":{"appId":"other","version":7}})"
        "\r\n";
    table_state st;
    ASSERT_TRUE(apply_commit(st, 0, text));
    EXPECT_EQ(st.configuration.at("delta.appendOnly"), "true");
    EXPECT_EQ(st.txns.at("other"), 7);
}

TEST(delta_log, given_hostile_commits_should_refuse_with_the_line) {
    for (std::string bad :
         {std::string("{\"txn\":{\"appId\":1,\"version\":2}}"), std::string("not json"),
          std::string("[1,2]"), std::string("{\"protocol\":{\"minReaderVersion\":\"1\"}}"),
          std::string("{\"metaData\":{\"id\":\"a\",\"schemaString\":\"{]\"}}"),
          std::string("{\"metaData\":{\"id\":\"a\",\"schemaString\":\"{\\\"type\\\":1}\"}}"),
          std::string(200, '[')}) {
        table_state st;
        auto r = apply_commit(st, 3, "\n" + bad);
        ASSERT_FALSE(r) << bad;
        EXPECT_NE(r.error().message().find("commit 3 line 2"), std::string::npos)
            << r.error().message();
        EXPECT_EQ(st.version, -1);
    }
}

TEST(delta_log, given_tables_this_writer_cannot_honour_should_refuse) {
    auto base = [] {
        table_state st;
        EXPECT_TRUE(apply_commit(
            st, 0,
            R"({"protocol":{"minReaderVersion":1,"minWriterVersion":2}})"
            "\n"
            R"({"metaData":{"id":"a","schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"id\",\"type\":\"long\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":[]}})"));
        return st;
    };
    auto st = base();
    EXPECT_TRUE(check_writable(st));
    st.partition_columns = {"day"};
    EXPECT_FALSE(check_writable(st));
    st = base();
    st.min_writer_version = 4;
    EXPECT_FALSE(check_writable(st));
    st = base();
    st.min_writer_version = 7;
    st.writer_features = {"deletionVectors"};
    EXPECT_FALSE(check_writable(st));
    st = base();
    st.schema.push_back({"s", R"({"type":"struct","fields":[]})", true, true, true});
    EXPECT_FALSE(check_writable(st));
    st = base();
    st.schema.push_back({"d", "decimal(10,2)", true, true, false});
    EXPECT_FALSE(check_writable(st));
    table_state none;
    EXPECT_FALSE(check_writable(none));
}

TEST(delta_log, given_versions_should_name_log_files_with_twenty_digits) {
    EXPECT_EQ(log_file_name(42), "00000000000000000042.json");
    EXPECT_EQ(parse_log_file_name("00000000000000000042.json"), 42);
    EXPECT_FALSE(parse_log_file_name("00000000000000000042.checkpoint.parquet"));
    EXPECT_FALSE(parse_log_file_name("0000000000000000004x.json"));
    EXPECT_FALSE(parse_log_file_name("-0000000000000000042.json"));
    EXPECT_FALSE(parse_log_file_name(".00000000000000000042.json.tmp.1.2"));
}

TEST(delta_log, given_last_checkpoint_should_name_its_files) {
    auto r = parse_last_checkpoint(R"({"version":10,"size":13,"sizeInBytes":4000})");
    ASSERT_TRUE(r);
    EXPECT_EQ(checkpoint_file_names(*r),
              std::vector<std::string>{"00000000000000000010.checkpoint.parquet"});
    auto m = parse_last_checkpoint(R"({"version":10,"size":13,"parts":2})");
    ASSERT_TRUE(m);
    EXPECT_EQ(checkpoint_file_names(*m)[1],
              "00000000000000000010.checkpoint.0000000002.0000000002.parquet");
    EXPECT_FALSE(parse_last_checkpoint(R"({"version":-1})"));
    EXPECT_FALSE(parse_last_checkpoint(R"({"version":1,"parts":0})"));
    EXPECT_FALSE(parse_last_checkpoint("{"));
}

TEST(delta_log, given_the_same_offsets_should_name_the_same_file_and_distinct_otherwise) {
    const auto a = data_file_name("k", "s", "t", 1, 10, 20);
    EXPECT_EQ(a, data_file_name("k", "s", "t", 1, 10, 20));
    EXPECT_NE(a, data_file_name("k", "s", "t", 1, 10, 21));
    EXPECT_NE(a, data_file_name("k", "s", "t", 2, 10, 20));
    // Separators inside names cannot make two tuples collide, and nothing needs URI escaping.
    EXPECT_NE(data_file_name("k.s", "t", "u", 1, 1, 1), data_file_name("k", "s.t", "u", 1, 1, 1));
    const auto odd = data_file_name("k/../x", "s p%", "ü", 1, 1, 1);
    EXPECT_EQ(odd.find('/'), std::string::npos);
    EXPECT_EQ(odd.find('%'), std::string::npos);
    EXPECT_EQ(odd.find(' '), std::string::npos);
    EXPECT_EQ(app_id("k", "s", "t", 3), "tributary-k.s.t.3");
    EXPECT_NE(app_id("k_2E", "s", "t", 3), app_id("k.", "s", "t", 3));
}

}  // namespace
}  // namespace trib::connectors::delta
