// The PostgreSQL test fixture itself: a private cluster starts, speaks SQL and logical decoding
// (pgoutput and wal2json), restarts on the same port, and stops by PID.

#include <gtest/gtest.h>
#include <signal.h>

#include "pg_fixture.h"

namespace trib::test {
namespace {

TEST(postgres_fixture, starts_with_logical_decoding_and_stops_by_pid) {
    TRIB_START_PEER(pg, postgres_spec());
    pg_client c(pg_conninfo(*pg));
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c.value("SHOW wal_level"), "logical");
    EXPECT_EQ(c.value("SHOW server_version_num").substr(0, 2), "15");
    ASSERT_EQ(c.exec("CREATE TABLE t(id int primary key, v text)"), "");
    ASSERT_EQ(c.exec("SELECT pg_create_logical_replication_slot('w2j', 'wal2json')"), "");
    ASSERT_EQ(c.exec("SELECT pg_create_logical_replication_slot('po', 'pgoutput')"), "");
    ASSERT_EQ(c.exec("CREATE PUBLICATION pub FOR TABLE t"), "");
    ASSERT_EQ(c.exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')"), "");
    std::string change = c.value(
        "SELECT data FROM pg_logical_slot_peek_changes('w2j', NULL, NULL, 'format-version', '2') "
        "WHERE data LIKE '%\"I\"%' LIMIT 1");
    EXPECT_NE(change.find("\"table\":\"t\""), std::string::npos) << change;
    EXPECT_EQ(c.value("SELECT count(*) FROM pg_logical_slot_peek_binary_changes('po', NULL, NULL, "
                      "'proto_version', '1', 'publication_names', 'pub')"),
              "5");  // Begin, Relation, Insert, Insert, Commit

    pid_t pid = pg->pid();
    ASSERT_TRUE(pg_stop_fast(*pg).has_value());
    EXPECT_FALSE(pg->alive());
    EXPECT_NE(::kill(pid, 0), 0);
    EXPECT_FALSE(tcp_connectable(pg->port()));
}

TEST(postgres_fixture, restart_keeps_data_and_port) {
    TRIB_START_PEER(pg, postgres_spec());
    {
        pg_client c(pg_conninfo(*pg));
        ASSERT_EQ(c.exec("CREATE TABLE kept(x int); INSERT INTO kept VALUES (42)"), "");
    }
    auto port = pg->port();
    ASSERT_TRUE(pg_restart(*pg).has_value());
    EXPECT_EQ(pg->port(), port);
    pg_client c(pg_conninfo(*pg));
    EXPECT_EQ(c.value("SELECT x FROM kept"), "42");
}

}  // namespace
}  // namespace trib::test
