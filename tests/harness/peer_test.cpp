// Shows the harness working with a real peer: a Redis server on a free loopback port.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "harness/peer.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;

// Sends one inline command to Redis and returns the first reply line.
std::string redis_command(std::uint16_t port, const std::string& cmd) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return "<connect failed>";
    }
    std::string line = cmd + "\r\n";
    if (::write(fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
        ::close(fd);
        return "<write failed>";
    }
    std::string reply;
    char c = 0;
    while (::read(fd, &c, 1) == 1 && c != '\n')
        reply += c;
    ::close(fd);
    if (!reply.empty() && reply.back() == '\r')
        reply.pop_back();
    return reply;
}

peer_spec redis_spec() {
    peer_spec s;
    s.name = "redis";
    s.program = "redis-server";
    s.args = {"--bind", "127.0.0.1", "--port",       "{port}", "--daemonize", "no",
              "--save", "",          "--appendonly", "no",     "--dir",       "{dir}"};
    s.ready = [](const peer& p) { return redis_command(p.port(), "PING") == "+PONG"; };
    return s;
}

TEST(peer_harness, starts_redis_talks_to_it_and_stops_it_by_pid) {
    TRIB_START_PEER(redis, redis_spec());
    EXPECT_NE(redis->port(), 0);
    EXPECT_EQ(redis_command(redis->port(), "SET harness works"), "+OK");
    // A bulk reply: "$5" then the value on the next line; the first line tells the length.
    EXPECT_EQ(redis_command(redis->port(), "STRLEN harness"), ":5");
    pid_t pid = redis->pid();
    ASSERT_TRUE(redis->stop().has_value());
    EXPECT_FALSE(redis->alive());
    EXPECT_NE(::kill(pid, 0), 0) << "process " << pid << " still exists after stop";
    EXPECT_FALSE(tcp_connectable(redis->port()));
}

TEST(peer_harness, restart_keeps_port_and_directory) {
    TRIB_START_PEER(redis, redis_spec());
    auto port = redis->port();
    auto pid = redis->pid();
    ASSERT_TRUE(redis->restart().has_value());
    EXPECT_EQ(redis->port(), port);
    EXPECT_NE(redis->pid(), pid);
    EXPECT_EQ(redis_command(redis->port(), "PING"), "+PONG");
}

TEST(peer_harness, missing_program_is_a_clear_error) {
    peer_spec s;
    s.name = "nothing";
    s.program = "no-such-server-binary-xyz";
    auto r = peer::start(s);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), errc::not_found);
    EXPECT_NE(r.error().message().find("no-such-server-binary-xyz"), std::string::npos);
}

TEST(peer_harness, a_peer_that_exits_reports_its_log) {
    peer_spec s;
    s.name = "failing";
    s.program = "sh";
    s.args = {"-c", "echo 'bad option on port {port}' >&2; exit 3"};
    s.attempts = 1;
    auto r = peer::start(s);
    ASSERT_FALSE(r.has_value());
    EXPECT_NE(r.error().message().find("exited during start-up"), std::string::npos);
    EXPECT_NE(r.error().message().find("bad option on port"), std::string::npos);
}

}  // namespace
}  // namespace trib::test
