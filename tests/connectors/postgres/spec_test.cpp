// The PostgreSQL connector's specs (Iggy's option names, defaults, cross-option checks) and the
// pgoutput decoder on hand-built messages. No server needed.

#include <gtest/gtest.h>

#include "config/node.h"
#include "config/validate.h"
#include "connectors/postgres/json.h"
#include "connectors/postgres/pg.h"
#include "connectors/postgres/pgoutput.h"
#include "connectors/postgres/postgres.h"
#include "connectors/postgres/state.h"
#include "harness/hostile.h"

namespace trib::connectors {
namespace {

config::values validate(const config::spec& s, const std::string& toml, config::problems& pr) {
    auto n = config::parse_toml(toml, "test.toml");
    EXPECT_TRUE(n.has_value()) << n.error().to_string();
    return config::validate(s, *n, "test.toml", "plugin_config", pr);
}

TEST(postgres_spec, specs_are_sound) {
    EXPECT_EQ(config::check_spec(postgres_sink_spec()), std::vector<std::string>{});
    EXPECT_EQ(config::check_spec(postgres_source_spec()), std::vector<std::string>{});
}

TEST(postgres_spec, iggy_sink_config_runs_unchanged) {
    // The [plugin_config] of Iggy's postgres_sink README.
    config::problems pr;
    auto v = validate(postgres_sink_spec(), R"(
connection_string = "postgresql://user:pass@localhost:5432/database"
target_table = "iggy_messages"
batch_size = 100
max_connections = 10
auto_create_table = true
include_metadata = true
include_checksum = true
include_origin_timestamp = true
payload_format = "bytea"
verbose_logging = false
max_retries = 3
retry_delay = "1s"
)",
                      pr);
    ASSERT_FALSE(pr.has_errors()) << pr.to_string();
    auto o = postgres::sink_options_from(v);
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->target_table, "iggy_messages");
    EXPECT_EQ(o->batch_size, 100u);
    EXPECT_TRUE(o->auto_create_table);
    EXPECT_EQ(o->payload, postgres::payload_format::bytea);
    EXPECT_EQ(o->mode, postgres::sink_mode::append);
    EXPECT_EQ(o->method, postgres::write_method::copy);
    EXPECT_EQ(o->conn.connection_string, "postgresql://user:pass@localhost:5432/database");
    // The secret is not in the redacted form.
    EXPECT_EQ(v.to_redacted_json().find("user:pass"), std::string::npos);
}

TEST(postgres_spec, sink_cross_option_rules) {
    config::problems pr;
    (void)validate(postgres_sink_spec(), R"(
connection_string = "x"
target_table = "t"
upsert = "key"
)",
                   pr);
    EXPECT_TRUE(pr.has_errors());
    EXPECT_NE(pr.to_string().find("upsert"), std::string::npos) << pr.to_string();
    config::problems pr2;
    auto v = validate(postgres_sink_spec(), R"(
connection_string = "x"
target_table = "s.t"
mode = "mapped"
upsert = "key"
upsert_key = ["a", "b"]
envelope = "debezium"
write_method = "insert"
sslmode = "verify-full"
sslrootcert = "/ca.pem"
[field_mapping]
a = "x.y"
)",
                      pr2);
    ASSERT_FALSE(pr2.has_errors()) << pr2.to_string();
    auto o = postgres::sink_options_from(v);
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->upsert_key, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(o->envelope, postgres::envelope_kind::debezium);
    EXPECT_EQ(o->conn.tls.sslmode, "verify-full");
    EXPECT_EQ(o->field_mapping.at("a"), "x.y");
}

TEST(postgres_spec, iggy_source_configs_run_unchanged) {
    config::problems pr;
    auto v = validate(postgres_source_spec(), R"(
connection_string = "postgresql://user:pass@localhost:5432/database"
mode = "polling"
tables = ["users", "orders"]
poll_interval = "1s"
batch_size = 1000
tracking_column = "id"
initial_offset = "0"
max_connections = 10
snake_case_columns = false
include_metadata = true
payload_column = "payload"
payload_format = "bytea"
delete_after_read = false
processed_column = "is_processed"
primary_key_column = "id"
custom_query = "SELECT * FROM $table WHERE id > $offset ORDER BY id LIMIT $limit"
replication_slot = "iggy_slot"
capture_operations = ["INSERT", "UPDATE", "DELETE"]
cdc_backend = "builtin"
)",
                      pr);
    ASSERT_FALSE(pr.has_errors()) << pr.to_string();
    auto o = postgres::source_options_from(v);
    ASSERT_TRUE(o.has_value());
    EXPECT_EQ(o->tables, (std::vector<std::string>{"users", "orders"}));
    EXPECT_EQ(o->poll_interval, std::chrono::milliseconds(1000));
    EXPECT_TRUE(o->has_initial_offset);
    EXPECT_EQ(o->payload, postgres::source_payload::bytea);
    EXPECT_EQ(o->processed_column, "is_processed");

    config::problems pr2;
    auto cdc = validate(postgres_source_spec(), R"(
connection_string = "x"
mode = "cdc"
tables = ["users"]
capture_operations = ["INSERT", "UPDATE"]
)",
                        pr2);
    ASSERT_FALSE(pr2.has_errors()) << pr2.to_string();
    auto c = postgres::source_options_from(cdc);
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->mode, postgres::source_mode::cdc);
    EXPECT_EQ(c->plugin, postgres::cdc_plugin::pgoutput);
    EXPECT_EQ(c->replication_slot, "iggy_slot");
    EXPECT_EQ(c->poll_interval, std::chrono::milliseconds(10000));  // Iggy's default

    config::problems pr3;
    auto bad = validate(postgres_source_spec(), R"(
connection_string = "x"
mode = "cdc"
tables = []
capture_operations = ["UPSERT"]
)",
                        pr3);
    EXPECT_TRUE(pr3.has_errors());
    EXPECT_NE(pr3.to_string().find("UPSERT"), std::string::npos) << pr3.to_string();
    EXPECT_FALSE(postgres::source_options_from(bad).has_value());

    config::problems pr4;
    (void)validate(postgres_source_spec(), R"(
connection_string = "x"
mode = "polling"
tables = ["t"]
tracking_column = "updated_at"
tracking_mode = "timestamp"
)",
                   pr4);
    EXPECT_NE(pr4.to_string().find("primary_key_column"), std::string::npos) << pr4.to_string();
}

TEST(postgres_names, qualified_names_quote_and_fold_like_postgres) {
    auto a = postgres::parse_qualified_name("Public.Events");
    ASSERT_TRUE(a.has_value());
    EXPECT_EQ(a->sql(), "\"public\".\"events\"");
    auto b = postgres::parse_qualified_name("\"My Schema\".\"T\"\"x\"");
    ASSERT_TRUE(b.has_value());
    EXPECT_EQ(b->schema, "My Schema");
    EXPECT_EQ(b->name, "T\"x");
    EXPECT_FALSE(postgres::parse_qualified_name("a.b.c").has_value());
    EXPECT_FALSE(postgres::parse_qualified_name("t; drop table x").has_value());
    EXPECT_FALSE(postgres::parse_qualified_name("").has_value());
    EXPECT_EQ(postgres::format_lsn(*postgres::parse_lsn("16/B374D848")), "16/B374D848");
    EXPECT_FALSE(postgres::parse_lsn("nope").has_value());
    EXPECT_EQ(postgres::u128_to_decimal(~0ULL, ~0ULL), "340282366920938463463374607431768211455");
}

TEST(postgres_json, pg_values_to_json) {
    auto conv = [](std::uint32_t oid, std::string_view text) {
        std::string s;
        postgres::json::append_pg_value(s, oid, text);
        return s;
    };
    EXPECT_EQ(conv(16, "t"), "true");
    EXPECT_EQ(conv(1700, "123.4500"), "123.4500");
    EXPECT_EQ(conv(1700, "NaN"), "\"NaN\"");
    EXPECT_EQ(conv(701, "-Infinity"), "\"-Infinity\"");
    EXPECT_EQ(conv(17, "\\x00ff"), "\"AP8=\"");
    EXPECT_EQ(conv(1184, "2024-01-02 03:04:05+00"), "\"2024-01-02T03:04:05+00:00\"");
    EXPECT_EQ(conv(1009, "{a,\"b,c\",NULL,\"q\\\"\"}"), "[\"a\",\"b,c\",null,\"q\\\"\"]");
    EXPECT_EQ(conv(1007, "{{1,2},{3,4}}"), "\"{{1,2},{3,4}}\"");  // nested: left as text
    EXPECT_EQ(conv(25, "tab\there"), "\"tab\\there\"");
}

// ---- pgoutput --------------------------------------------------------------------------------

struct builder {
    std::string s;
    builder& c(char v) {
        s += v;
        return *this;
    }
    builder& u16(std::uint16_t v) {
        s += static_cast<char>(v >> 8);
        s += static_cast<char>(v);
        return *this;
    }
    builder& u32(std::uint32_t v) {
        for (int i = 3; i >= 0; --i)
            s += static_cast<char>(v >> (8 * i));
        return *this;
    }
    builder& u64(std::uint64_t v) {
        for (int i = 7; i >= 0; --i)
            s += static_cast<char>(v >> (8 * i));
        return *this;
    }
    builder& str(std::string_view v) {
        s.append(v);
        s += '\0';
        return *this;
    }
    builder& text(std::string_view v) {
        c('t');
        u32(static_cast<std::uint32_t>(v.size()));
        s.append(v);
        return *this;
    }
};

TEST(pgoutput, decodes_relation_and_changes) {
    using namespace postgres::pgoutput;
    builder rel;
    rel.c('R').u32(16384).str("public").str("acct").c('f').u16(2);
    rel.c(1).str("id").u32(23).u32(0xffffffff);
    rel.c(0).str("owner").u32(25).u32(0xffffffff);
    auto r = decode(rel.s);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    EXPECT_EQ(r->relation.oid, 16384u);
    EXPECT_EQ(r->relation.name, "acct");
    ASSERT_EQ(r->relation.columns.size(), 2u);
    EXPECT_TRUE(r->relation.columns[0].key);
    EXPECT_EQ(r->relation.columns[1].type_oid, 25u);

    builder up;
    up.c('U').u32(16384).c('O').u16(2).text("1").text("ann");
    up.c('N').u16(2).text("1").c('u');
    auto u = decode(up.s);
    ASSERT_TRUE(u.has_value()) << u.error().to_string();
    EXPECT_EQ(u->change.old_kind, 'O');
    EXPECT_EQ(u->change.old_tuple.values[1].data, "ann");
    EXPECT_EQ(u->change.new_tuple.values[1].kind, 'u');

    builder b;
    b.c('B').u64(0x1234).u64(5).u32(77);
    auto bm = decode(b.s);
    ASSERT_TRUE(bm.has_value());
    EXPECT_EQ(bm->begin.final_lsn, 0x1234u);
    EXPECT_EQ(bm->begin.xid, 77u);

    builder t;
    t.c('T').u32(2).c(1).u32(10).u32(11);
    auto tm = decode(t.s);
    ASSERT_TRUE(tm.has_value());
    EXPECT_EQ(tm->truncate.relation_oids, (std::vector<std::uint32_t>{10, 11}));
}

TEST(pgoutput, malformed_messages_are_errors) {
    using namespace postgres::pgoutput;
    EXPECT_FALSE(decode("").has_value());
    EXPECT_FALSE(decode("Z").has_value());
    EXPECT_FALSE(decode(std::string("B\0\0", 3)).has_value());
    builder huge;  // a column count far beyond the bytes that follow
    huge.c('I').u32(1).c('N').u16(60000).text("x");
    EXPECT_FALSE(decode(huge.s).has_value());
    builder len;  // a value length beyond the message
    len.c('I').u32(1).c('N').u16(1).c('t').u32(1000).c('x');
    EXPECT_FALSE(decode(len.s).has_value());
    builder unterminated;
    unterminated.c('R').u32(1).s += "public";
    EXPECT_FALSE(decode(unterminated.s).has_value());
    EXPECT_FALSE(decode_frame("w123").has_value());
    std::string st = status_update(1, 2, 3, 4, true);
    ASSERT_EQ(st.size(), 34u);
    EXPECT_EQ(st[0], 'r');
    EXPECT_EQ(st[16], 2);
    EXPECT_EQ(st[33], 1);
}

TEST(postgres_state, loads_what_the_sources_save) {
    auto c = postgres::parse_cdc_state(
        R"({"lsn":"0/16B3748","commit_lsn":"1/0","snapshot_done":true,"slot":"s"})");
    ASSERT_TRUE(c) << c.error().to_string();
    EXPECT_EQ(c->lsn, 0x16B3748u);
    EXPECT_EQ(c->commit_lsn, 1ull << 32);
    EXPECT_TRUE(c->snapshot_done);
    EXPECT_EQ(c->slot, "s");
    auto p = postgres::parse_polling_state(
        R"({"tracking_offsets":{"a":"2024-01-01","b":123456789012345678901234567890,"c":null},)"
        R"("tie_breakers":{"a":"7"},"processed_rows":18446744073709551615})");
    ASSERT_TRUE(p) << p.error().to_string();
    EXPECT_EQ(p->offsets.at("a"), "2024-01-01");
    EXPECT_EQ(p->offsets.at("b"), "123456789012345678901234567890");  // as written
    EXPECT_FALSE(p->offsets.contains("c"));
    EXPECT_EQ(p->ties.at("a"), "7");
    EXPECT_EQ(p->processed_rows, UINT64_MAX);
}

TEST(postgres_state, every_hostile_state_is_refused_with_a_clear_error) {
    const std::string deep(1u << 20, '[');
    for (const char* area : {"state/postgres_cdc", "state/postgres_polling"}) {
        const bool cdc = std::string_view(area).ends_with("cdc");
        auto cases = test::hostile_inputs(area);
        ASSERT_GE(cases.size(), 8u) << area;
        cases.emplace_back("one_mib_of_brackets", deep);
        for (const auto& [name, state] : cases) {
            std::optional<error> err;
            if (cdc) {
                if (auto r = postgres::parse_cdc_state(state); !r)
                    err = r.error();
            } else if (auto r = postgres::parse_polling_state(state); !r) {
                err = r.error();
            }
            ASSERT_TRUE(err) << area << "/" << name << " was accepted";
            EXPECT_EQ(err->code(), errc::data_loss) << area << "/" << name;
            EXPECT_NE(err->message().find(cdc ? "postgres cdc state" : "postgres source state"),
                      std::string::npos)
                << err->message();
        }
    }
}

}  // namespace
}  // namespace trib::connectors
