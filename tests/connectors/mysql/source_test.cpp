// The MySQL polling source against a real MariaDB 10.11: positions, JSON of column types,
// deterministic ids, nack replays, delete-after-read and marks only after ack, payload columns.

#include "connectors/mysql/source.h"

#include <gtest/gtest.h>

#include "mariadb_fixture.h"

namespace trib::connectors::mysql {
namespace {

using namespace std::chrono_literals;

class source_test : public test::mariadb_test {
  protected:
    source_options base_options(std::vector<std::string> tables) const {
        source_options o;
        o.conn.connection_string = url();
        o.conn.tls.mode = ssl_mode::disabled;
        o.tables = std::move(tables);
        o.poll_interval = 0ms;
        return o;
    }
    // Polls until a batch with messages comes (or the deadline passes).
    static source_batch next(polling_source& s) {
        source_batch out;
        test::wait_until(
            [&] {
                auto r = s.poll(50ms);
                EXPECT_TRUE(r.has_value()) << r.error().to_string();
                if (!r || r->batch.empty())
                    return false;
                out = std::move(*r);
                return true;
            },
            10s);
        return out;
    }
    static std::vector<std::string> payloads(const source_batch& b) {
        std::vector<std::string> out;
        for (const auto& m : b.batch.messages)
            out.emplace_back(m.payload);
        return out;
    }
    connector_context ctx_;
};

TEST_F(source_test, reads_rows_in_pages_and_resumes_from_the_persisted_state) {
    ASSERT_EQ(sql().exec("CREATE TABLE t (id BIGINT PRIMARY KEY, v VARCHAR(10))"), "");
    for (int i = 1; i <= 25; ++i)
        ASSERT_EQ(sql().exec("INSERT INTO t VALUES (" + std::to_string(i) + ", 'v" +
                             std::to_string(i) + "')"),
                  "");
    auto o = base_options({"t"});
    o.batch_size = 10;
    o.include_metadata = false;
    std::string state;
    {
        polling_source s(o);
        ASSERT_TRUE(s.open(ctx_, "").has_value());
        std::size_t seen = 0;
        for (int page = 1; page <= 3; ++page) {
            auto b = next(s);
            seen += b.batch.size();
            ASSERT_TRUE(b.has_state);
            state = b.state;
            s.ack(static_cast<std::uint64_t>(page));
        }
        EXPECT_EQ(seen, 25u);
        EXPECT_EQ(state,
                  "{\"tracking_offsets\":{\"t\":\"25\"},\"tie_breakers\":{},"
                  "\"processed_rows\":25}");
        s.close();
    }
    ASSERT_EQ(sql().exec("INSERT INTO t VALUES (26, 'new')"), "");
    polling_source s2(o);
    ASSERT_TRUE(s2.open(ctx_, state).has_value());
    auto b = next(s2);
    EXPECT_EQ(payloads(b), (std::vector<std::string>{R"({"id":26,"v":"new"})"}));
}

TEST_F(source_test, renders_column_types_as_iggy_does_and_wraps_in_database_record) {
    ASSERT_EQ(sql().exec("CREATE TABLE typed (id INT PRIMARY KEY, d DECIMAL(30,10), f DOUBLE, "
                         "b VARBINARY(8), t TEXT, dt DATETIME(3), n INT NULL, bits BIT(12), "
                         "u BIGINT UNSIGNED, e ENUM('x','y'))"),
              "");
    ASSERT_EQ(sql().exec("INSERT INTO typed VALUES (1, 12345678901234567890.0123456789, 2.5, "
                         "X'00FF', 'h\"i\\n', '2024-01-02 03:04:05.678', NULL, b'101', "
                         "18446744073709551615, 'y')"),
              "");
    auto o = base_options({"typed"});
    polling_source s(o);
    ASSERT_TRUE(s.open(ctx_, "").has_value());
    auto b = next(s);
    ASSERT_EQ(b.batch.size(), 1u);
    std::string p(b.batch.messages[0].payload);
    EXPECT_NE(p.find(R"("table_name":"typed","operation_type":"SELECT")"), std::string::npos) << p;
    EXPECT_NE(p.find(R"("data":{"id":1,"d":12345678901234567890.0123456789,"f":2.5,"b":"AP8=",)"
                     R"("t":"h\"i\n","dt":"2024-01-02 03:04:05.678","n":null,"bits":5,)"
                     R"("u":18446744073709551615,"e":"y"},"old_data":null})"),
              std::string::npos)
        << p;
}

TEST_F(source_test, ids_are_deterministic_and_a_nack_reads_the_rows_again) {
    ASSERT_EQ(sql().exec("CREATE TABLE t (id INT PRIMARY KEY, v INT)"), "");
    ASSERT_EQ(sql().exec("INSERT INTO t VALUES (1, 10), (2, 20)"), "");
    auto o = base_options({"t"});
    polling_source s(o);
    ASSERT_TRUE(s.open(ctx_, "").has_value());
    auto b1 = next(s);
    ASSERT_EQ(b1.batch.size(), 2u);
    EXPECT_NE(b1.batch.messages[0].id, b1.batch.messages[1].id);
    s.nack(1);
    auto b2 = next(s);
    ASSERT_EQ(b2.batch.size(), 2u);
    EXPECT_EQ(b2.batch.messages[0].id, b1.batch.messages[0].id);
    EXPECT_EQ(b2.batch.messages[1].id, b1.batch.messages[1].id);
    // A second source over the same table (a restart without saved state): the same ids.
    polling_source again(o);
    ASSERT_TRUE(again.open(ctx_, "").has_value());
    auto b3 = next(again);
    ASSERT_EQ(b3.batch.size(), 2u);
    EXPECT_EQ(b3.batch.messages[1].id, b1.batch.messages[1].id);
}

TEST_F(source_test, delete_after_read_and_marks_happen_only_after_the_ack) {
    ASSERT_EQ(sql().exec("CREATE TABLE q (id INT PRIMARY KEY, body BLOB)"), "");
    ASSERT_EQ(sql().exec("INSERT INTO q VALUES (1, X'0102'), (2, X'03')"), "");
    auto o = base_options({"q"});
    o.delete_after_read = true;
    o.payload_column = "body";
    o.payload = source_payload::blob;
    polling_source s(o);
    ASSERT_TRUE(s.open(ctx_, "").has_value());
    auto b = next(s);
    EXPECT_EQ(payloads(b), (std::vector<std::string>{"\x01\x02", "\x03"}));
    auto empty = s.poll(10ms);
    ASSERT_TRUE(empty.has_value());
    EXPECT_EQ(sql().value("SELECT count(*) FROM q"), "2");  // not acknowledged yet
    s.ack(1);
    ASSERT_TRUE(s.poll(10ms).has_value());  // runs the acknowledged delete
    EXPECT_EQ(sql().value("SELECT count(*) FROM q"), "0");

    ASSERT_EQ(sql().exec("CREATE TABLE m (id INT PRIMARY KEY, done BOOLEAN NOT NULL DEFAULT "
                         "FALSE)"),
              "");
    ASSERT_EQ(sql().exec("INSERT INTO m (id) VALUES (1), (2), (3)"), "");
    auto o2 = base_options({"m"});
    o2.processed_column = "done";
    polling_source s2(o2);
    ASSERT_TRUE(s2.open(ctx_, "").has_value());
    ASSERT_EQ(next(s2).batch.size(), 3u);
    EXPECT_EQ(sql().value("SELECT count(*) FROM m WHERE done"), "0");
    s2.ack(1);
    s2.close();
    EXPECT_EQ(sql().value("SELECT count(*) FROM m WHERE done"), "3");
}

TEST_F(source_test, missing_columns_fail_at_open_and_bad_state_is_data_loss) {
    ASSERT_EQ(sql().exec("CREATE TABLE t (id INT PRIMARY KEY)"), "");
    auto o = base_options({"t"});
    o.tracking_column = "nope";
    polling_source s(o);
    auto st = s.open(ctx_, "");
    ASSERT_FALSE(st.has_value());
    EXPECT_NE(st.error().message().find("nope"), std::string::npos);
    polling_source s2(base_options({"t"}));
    auto st2 = s2.open(ctx_, "{\"tracking_offsets\":[1]}");
    ASSERT_FALSE(st2.has_value());
    EXPECT_EQ(st2.error().code(), errc::data_loss);
}

}  // namespace
}  // namespace trib::connectors::mysql
