// Shows the harness working with a real peer: a Redis server on a free loopback port.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

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

namespace trib::test {
namespace {

/// The local addresses (hex, as /proc/net/tcp{,6} write them) of the sockets listening on `port`.
std::vector<std::string> listening_addresses(std::uint16_t port) {
    std::vector<std::string> out;
    char want[8];
    std::snprintf(want, sizeof want, ":%04X", port);
    for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
        FILE* f = std::fopen(table, "r");
        if (f == nullptr)
            continue;
        char line[512];
        while (std::fgets(line, sizeof line, f) != nullptr) {
            char local[64] = {0};
            char state[8] = {0};
            if (std::sscanf(line, "%*d: %63s %*s %7s", local, state) != 2)
                continue;
            const std::string l(local);
            if (std::string(state) == "0A" && l.size() > 5 && l.ends_with(want))
                out.push_back(l.substr(0, l.size() - 5));
        }
        std::fclose(f);
    }
    return out;
}

TEST(peer_harness, the_loopback_shim_turns_a_wildcard_listener_into_a_loopback_one) {
    for (const char* family : {"AF_INET", "AF_INET6"}) {
        const std::string host = std::string(family) == "AF_INET" ? "0.0.0.0" : "::";
        peer_spec s;
        s.name = "wildcard-listener";
        s.program = "python3";
        s.args = {"-c", "import socket,time\ns=socket.socket(socket." + std::string(family) +
                            ")\ns.bind(('" + host + "',{port}))\ns.listen()\ntime.sleep(600)"};
        s.env = {{"LD_PRELOAD", TRIB_LOOPBACK_BIND_LIB}};
        TRIB_START_PEER(p, s);
        const auto addrs = listening_addresses(p->port());
        ASSERT_EQ(addrs.size(), 1u) << family;
        // 127.0.0.1, or ::ffff:127.0.0.1 for the IPv6 socket; never the wildcard.
        EXPECT_TRUE(addrs[0] == "0100007F" || addrs[0] == "0000000000000000FFFF00000100007F")
            << family << ": " << addrs[0];
    }
}

}  // namespace
}  // namespace trib::test
