// Exactly-once effect end to end (issue 27): sources with deterministic message ids, an Iggy
// server that de-duplicates by id (`[system.message_deduplication]`, here through Iggy's
// IGGY_SYSTEM_MESSAGE_DEDUPLICATION_ENABLED, which both servers read), and sinks that are
// idempotent. `tributary run` is killed with kill -9 while messages flow and restarted.
//
// - file source -> topic -> PostgreSQL append sink (+ an idempotent file sink), 10 kills: the
//   table holds each line once; the file sink (idempotent by Iggy offset, so it holds what the
//   topic holds) has each line once too, which needs the server's de-duplication.
// - PostgreSQL polling source -> topic -> append sink, 5 kills: each row once.
// - webhook with a delivery-id header, callers that drop the connection before the answer and
//   retry: each delivery once.
// - file source against the real Iggy server (../shared/iggy-reference): that build (0.9.0-edge.5,
//   "server-ng") exits with Config(InvalidConfigurationValue) when de-duplication is enabled
//   (not supported there; it is in Iggy's previous server), so it runs with de-duplication off:
//   the table still holds each line once (the ids are the same on a re-send and the append
//   sink's primary key is the id), while the topic may hold the re-sends (counted, reported).
//
// Sizes: TRIB_EXACTLY_ONCE_LINES (default 20,000 lines and rows; deliveries a 1/100 of it).

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>

#include "pg_fixture.h"

namespace trib::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path tributary_binary() {
    const char* bin = std::getenv("TRIB_BINARY_DIR");
    return fs::path(bin != nullptr ? bin : "build/dev") / "src" / "app" / "tributary";
}

fs::path iggy_server_binary() {
    if (const char* p = std::getenv("TRIB_IGGY_SERVER"))
        return p;
    return fs::path(TRIB_TEST_SOURCE_DIR) / ".." / "shared" / "iggy-reference" / "iggy-server";
}

int size_from_env() {
    if (const char* v = std::getenv("TRIB_EXACTLY_ONCE_LINES")) {
        const int n = std::atoi(v);
        if (n >= 100)
            return n;
    }
    // Enough flow at each kill that the source re-sends some lines without the server's
    // de-duplication (30,000 lines: 827 re-sent over 10 kills; 3,000: none).
    return 20000;
}

void write_file(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

void append_file(const fs::path& p, const std::string& text) {
    std::ofstream f(p, std::ios::app | std::ios::binary);
    f << text;
    f.flush();
}

std::size_t line_count(const fs::path& p) {
    std::ifstream f(p);
    std::size_t n = 0;
    std::string l;
    while (std::getline(f, l))
        n += l.empty() ? 0 : 1;
    return n;
}

using connector_files = std::vector<std::pair<std::string, std::string>>;

const char* const k_dedup_env = "IGGY_SYSTEM_MESSAGE_DEDUPLICATION_ENABLED";

class exactly_once_test : public pg_test {
  protected:
    void SetUp() override {
        pg_test::SetUp();
        if (HasFatalFailure() || IsSkipped())
            return;
        if (!fs::exists(tributary_binary())) {
            if (in_ci())
                FAIL() << "tributary binary missing: " << tributary_binary();
            GTEST_SKIP() << "tributary binary not built: " << tributary_binary();
        }
    }
    void TearDown() override {
        runtime_.reset();
        iggy_.reset();
        pg_test::TearDown();
    }

    /// `tributary run` with its embedded server (de-duplication on), or connected to the Iggy
    /// server on `iggy_port` when it is not 0. Port 1 is the management API; port 2 is free for
    /// a webhook.
    peer_spec runtime_spec(connector_files connectors, std::uint16_t iggy_port = 0) {
        peer_spec s;
        s.name = "tributary";
        s.program = tributary_binary().string();
        s.args = {"run", "{dir}/config.toml"};
        s.extra_ports = 2;
        s.env = {{"TRIB_PG", conninfo()}, {k_dedup_env, "true"}};
        s.prepare = [connectors, iggy_port](const peer& p) {
            std::string cfg =
                "[state]\npath = \"" + (p.dir() / "state").string() +
                "\"\n\n[connectors]\nconfig_type = \"local\"\nconfig_dir = \"" +
                (p.dir() / "connectors").string() +
                "\"\n\n[http]\nenabled = true\naddress = \"127.0.0.1:" + std::to_string(p.port(1)) +
                "\"\n\n[logging]\nformat = \"text\"\nlevel = \"info\"\n\n";
            if (iggy_port != 0) {
                cfg += "[iggy]\naddress = \"127.0.0.1:" + std::to_string(iggy_port) +
                       "\"\nusername = \"iggy\"\npassword = \"iggy\"\n";
            } else {
                cfg += "[server]\naddress = \"127.0.0.1:" + std::to_string(p.port()) +
                       "\"\ndata_dir = \"" + (p.dir() / "state" / "server").string() +
                       "\"\nfsync = \"interval\"\n";
            }
            write_file(p.dir() / "config.toml", cfg);
            for (const auto& [name, toml] : connectors) {
                std::string t = toml;
                for (std::size_t at; (at = t.find("{webhook_port}")) != std::string::npos;)
                    t.replace(at, 14, std::to_string(p.port(2)));
                write_file(p.dir() / "connectors" / name, t);
            }
        };
        s.ready = [](const peer& p) { return tcp_connectable(p.port(1)); };
        s.ready_timeout = 60s;
        s.attempts = 2;
        return s;
    }

    /// The real Iggy server (de-duplication off: this build refuses to start with it on).
    peer_spec iggy_spec() {
        peer_spec s;
        s.name = "iggy-server";
        s.program = iggy_server_binary().string();
        s.env = {{"IGGY_ROOT_USERNAME", "iggy"},     {"IGGY_ROOT_PASSWORD", "iggy"},
                 {"IGGY_SYSTEM_PATH", "{dir}/data"}, {"IGGY_TCP_ADDRESS", "127.0.0.1:{port}"},
                 {"IGGY_HTTP_ENABLED", "false"},     {"IGGY_QUIC_ENABLED", "false"},
                 {"IGGY_WEBSOCKET_ENABLED", "false"}};
        s.ready = [](const peer& p) { return tcp_connectable(p.port()); };
        s.ready_timeout = 60s;
        return s;
    }

    long number(const std::string& q) {
        const std::string v = sql().value(q);
        return v.empty() || v.rfind("ERROR", 0) == 0 ? 0L : std::atol(v.c_str());
    }
    long landed() { return number("SELECT count(*) FROM landing"); }
    long landed_distinct() { return number("SELECT count(DISTINCT payload) FROM landing"); }

    static std::string append_sink_toml(const std::string& stream, const std::string& topic) {
        return R"(type = "sink"
key = "pg_append"
enabled = true
version = 0
name = "Append"
path = "target/release/libiggy_connector_postgres_sink"

[[streams]]
stream = ")" + stream +
               R"("
topics = [")" + topic +
               R"("]
schema = "json"
batch_length = 200
poll_interval = "5ms"
consumer_group = "pg_append"

[plugin_config]
connection_string = "${env:TRIB_PG}"
target_table = "landing"
auto_create_table = true
payload_format = "json"
)";
    }

    static std::string file_source_toml(const fs::path& input) {
        return R"(type = "source"
key = "lines"
enabled = true
version = 0
name = "Lines"
plugin = "file"

[[streams]]
stream = "files"
topic = "lines"
schema = "json"
batch_length = 100
linger_time = "5ms"

[plugin_config]
path = ")" + input.string() +
               R"("
poll_interval = "10ms"
max_batch_lines = 100
)";
    }

    /// A file sink idempotent by Iggy offset: it writes each message of the topic once, so its
    /// line count is the topic's message count.
    static std::string file_sink_toml(const fs::path& out, const std::string& stream = "files",
                                      const std::string& topic = "lines") {
        return R"(type = "sink"
key = "copy"
enabled = true
version = 0
name = "Copy"
plugin = "file"

[[streams]]
stream = ")" + stream +
               R"("
topics = [")" + topic +
               R"("]
schema = "json"
batch_length = 150
poll_interval = "5ms"
consumer_group = "copy"

[plugin_config]
path = ")" + out.string() +
               R"("
format = "json"
include_metadata = true
idempotent = true
)";
    }

    /// Appends `n` JSON lines numbered from `from` to `input`.
    static void write_lines(const fs::path& input, int from, int n) {
        std::string text;
        for (int i = from; i < from + n; ++i)
            text += "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(40, 'x') + "\"}\n";
        append_file(input, text);
    }

    /// The file source test: lines written in kills + 1 chunks; after the first rows of each
    /// chunk landed, kill -9 and restart. Then every line is in the table once.
    /// `server_dedups`: the Iggy server drops re-sent ids, so the topic holds each line once.
    void file_to_postgres(std::uint16_t iggy_port, int kills, const fs::path& work,
                          bool server_dedups) {
        const int total = size_from_env();
        const fs::path input = work / "in.jsonl";
        const fs::path copy = work / "copy.jsonl";
        write_file(input, "");
        auto r = peer::start(runtime_spec({{"lines.toml", file_source_toml(input)},
                                           {"append.toml", append_sink_toml("files", "lines")},
                                           {"copy.toml", file_sink_toml(copy)}},
                                          iggy_port));
        ASSERT_TRUE(r.has_value()) << r.error().message();
        runtime_ = std::move(r).value();
        const int chunk = total / (kills + 1);
        int written = 0;
        for (int k = 0; k <= kills; ++k) {
            const int n = k == kills ? total - written : chunk;
            write_lines(input, written, n);
            written += n;
            if (k == kills)
                break;
            // Some of this chunk is in the table, the rest on its way: kill -9.
            const long want = written - n + 1;
            ASSERT_TRUE(wait_until([&] { return landed() >= want; }, 120s))
                << "kill " << k << ": " << landed() << " rows\n"
                << runtime_->log().substr(0, 4000);
            ASSERT_TRUE(runtime_->kill9().has_value());
            ASSERT_TRUE(runtime_->restart().has_value()) << runtime_->log();
        }
        ASSERT_TRUE(wait_until([&] { return landed_distinct() >= total; }, 300s))
            << landed_distinct() << " of " << total << " lines\n"
            << runtime_->log().substr(0, 4000);
        ASSERT_TRUE(wait_until([&] { return line_count(copy) >= std::size_t(total); }, 120s))
            << line_count(copy) << " of " << total;
        // A graceful stop drains what is in flight; nothing more may appear.
        ASSERT_TRUE(runtime_->stop().has_value());
        EXPECT_EQ(landed(), total);
        EXPECT_EQ(landed_distinct(), total);
        // The file sink writes each Iggy message once (by offset): its line count is the
        // topic's message count, so it equals the lines only if the server dropped the source's
        // re-sends.
        if (server_dedups)
            EXPECT_EQ(line_count(copy), std::size_t(total));
        else
            EXPECT_GE(line_count(copy), std::size_t(total));
        std::fprintf(stderr,
                     "exactly-once: %d lines, %d kills, server de-duplication %s: table %ld rows "
                     "(%ld distinct), topic %zu messages\n",
                     total, kills, server_dedups ? "on" : "off", landed(), landed_distinct(),
                     line_count(copy));
    }

    std::unique_ptr<peer> runtime_;
    std::unique_ptr<peer> iggy_;
};

TEST_F(exactly_once_test, file_source_with_10_kill_9_lands_each_line_once) {
    temp_dir work("trib-eo-file");
    file_to_postgres(0, 10, work.path(), true);
}

TEST_F(exactly_once_test, file_source_against_the_real_iggy_server_lands_each_line_once) {
    if (!fs::exists(iggy_server_binary())) {
        if (in_ci())
            FAIL() << "Iggy's server missing: " << iggy_server_binary();
        GTEST_SKIP() << "Iggy's server not found: " << iggy_server_binary();
    }
    auto r = peer::start(iggy_spec());
    ASSERT_TRUE(r.has_value()) << r.error().message();
    iggy_ = std::move(r).value();
    temp_dir work("trib-eo-iggy");
    file_to_postgres(iggy_->port(), 5, work.path(), false);
}

TEST_F(exactly_once_test, postgres_polling_source_with_5_kill_9_lands_each_row_once) {
    const int total = size_from_env();
    temp_dir work("trib-eo-poll");
    const fs::path copy = work.path() / "copy.jsonl";
    ASSERT_EQ(sql().exec("CREATE TABLE src (id bigserial PRIMARY KEY, body text)"), "");
    auto r = peer::start(runtime_spec({{"poll.toml", R"(type = "source"
key = "pg_poll"
enabled = true
version = 0
name = "Polling"
path = "target/release/libiggy_connector_postgres_source"

[[streams]]
stream = "poll"
topic = "rows"
schema = "json"
batch_length = 200

[plugin_config]
connection_string = "${env:TRIB_PG}"
mode = "polling"
tables = ["src"]
tracking_column = "id"
poll_interval = "20ms"
batch_size = 200
include_metadata = false
)"},
                                       {"append.toml", append_sink_toml("poll", "rows")},
                                       {"copy.toml", file_sink_toml(copy, "poll", "rows")}}));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    runtime_ = std::move(r).value();
    const int kills = 5;
    const int chunk = total / (kills + 1);
    int written = 0;
    for (int k = 0; k <= kills; ++k) {
        const int n = k == kills ? total - written : chunk;
        ASSERT_EQ(
            sql().exec("INSERT INTO src (body) SELECT 'row-' || g FROM generate_series(" +
                       std::to_string(written) + ", " + std::to_string(written + n - 1) + ") g"),
            "");
        written += n;
        if (k == kills)
            break;
        const long want = written - n + 1;
        ASSERT_TRUE(wait_until([&] { return landed() >= want; }, 120s))
            << "kill " << k << ": " << landed() << " rows\n"
            << runtime_->log().substr(0, 4000);
        ASSERT_TRUE(runtime_->kill9().has_value());
        ASSERT_TRUE(runtime_->restart().has_value()) << runtime_->log();
    }
    ASSERT_TRUE(wait_until([&] { return landed_distinct() >= total; }, 300s))
        << landed_distinct() << " of " << total << "\n"
        << runtime_->log().substr(0, 4000);
    ASSERT_TRUE(wait_until([&] { return line_count(copy) >= std::size_t(total); }, 120s))
        << line_count(copy) << " of " << total;
    ASSERT_TRUE(runtime_->stop().has_value());
    EXPECT_EQ(landed(), total);
    EXPECT_EQ(landed_distinct(), total);
    EXPECT_EQ(line_count(copy), std::size_t(total));  // the topic: re-sends dropped by the server
    std::fprintf(stderr, "exactly-once polling: %d rows, %d kills: table %ld rows, topic %zu\n",
                 total, kills, landed(), line_count(copy));
}

/// One HTTP/1.1 POST on a new connection. With `drop_answer` the connection is closed right
/// after the request is written (the caller never learns the outcome); otherwise the status
/// of the answer (0 when none came).
int post_once(std::uint16_t port, const std::string& delivery, const std::string& body,
              bool drop_answer) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return 0;
    }
    const std::string req =
        "POST /hook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
        "application/json\r\nX-Delivery-Id: " +
        delivery + "\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n\r\n" + body;
    std::size_t sent = 0;
    while (sent < req.size()) {
        const auto n = ::send(fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
        if (n <= 0)
            break;
        sent += static_cast<std::size_t>(n);
    }
    if (drop_answer || sent < req.size()) {
        ::close(fd);
        return 0;
    }
    std::string answer;
    char buf[1024];
    for (;;) {
        const auto n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        answer.append(buf, static_cast<std::size_t>(n));
        if (answer.find("\r\n") != std::string::npos && answer.size() >= 12)
            break;
    }
    ::close(fd);
    return answer.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(answer.c_str() + 9) : 0;
}

TEST_F(exactly_once_test, webhook_retries_after_lost_answers_store_each_delivery_once) {
    const int deliveries = std::max(100, size_from_env() / 100);
    temp_dir work("trib-eo-hook");
    const fs::path copy = work.path() / "copy.jsonl";
    auto r = peer::start(runtime_spec({{"hook.toml", R"(type = "source"
key = "hook"
enabled = true
version = 0
name = "Hook"
plugin = "webhook"

[[streams]]
stream = "hooks"
topic = "events"
schema = "json"

[plugin_config]
port = {webhook_port}
delivery_id_header = "X-Delivery-Id"

[[plugin_config.routes]]
path = "/hook"
)"},
                                       {"append.toml", append_sink_toml("hooks", "events")},
                                       {"copy.toml", file_sink_toml(copy, "hooks", "events")}}));
    ASSERT_TRUE(r.has_value()) << r.error().message();
    runtime_ = std::move(r).value();
    const std::uint16_t port = runtime_->port(2);
    ASSERT_TRUE(wait_until([&] { return tcp_connectable(port); }, 60s)) << runtime_->log();
    int retried = 0;
    for (int i = 0; i < deliveries; ++i) {
        const std::string id = "delivery-" + std::to_string(i);
        const std::string body = "{\"delivery\":" + std::to_string(i) + "}";
        // Every third caller loses the answer (the connection drops after the request went
        // out) and sends again, as GitHub and Stripe do; so does one that gets no 2xx.
        if (i % 3 == 0) {
            (void)post_once(port, id, body, true);
            ++retried;
        }
        int status = 0;
        ASSERT_TRUE(wait_until(
            [&] {
                status = post_once(port, id, body, false);
                return status >= 200 && status < 300;
            },
            60s))
            << "delivery " << i << ": status " << status << "\n"
            << runtime_->log().substr(0, 4000);
    }
    ASSERT_TRUE(wait_until([&] { return landed_distinct() >= deliveries; }, 120s))
        << landed_distinct() << " of " << deliveries;
    ASSERT_TRUE(wait_until([&] { return line_count(copy) >= std::size_t(deliveries); }, 120s))
        << line_count(copy) << " of " << deliveries;
    ASSERT_TRUE(runtime_->stop().has_value());
    EXPECT_EQ(landed(), deliveries);
    EXPECT_EQ(landed_distinct(), deliveries);
    EXPECT_EQ(line_count(copy), std::size_t(deliveries));
    std::fprintf(stderr,
                 "exactly-once webhook: %d deliveries (%d sent twice): table %ld rows, topic %zu\n",
                 deliveries, retried, landed(), line_count(copy));
}

}  // namespace
}  // namespace trib::test
