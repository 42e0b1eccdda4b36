// Issue 12, "Done when": 300 connections that never log in keep the embedded server under
// 100 MiB. Half of them send nothing; the other half send a request header that announces a
// 64 MiB body and then only 1 KiB of it (before the fix the server zero-filled a 64 MiB buffer
// per such socket: 20 sockets took it from 15 to 1,295 MiB). Meanwhile a real client can still
// log in. The connections are opened one at a time and the server's peak RSS is checked after
// each, so that a server without the limits stops the test near 100 MiB instead of exhausting
// the machine's memory.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "harness/peer.h"
#include "iggy/wire/codes.h"
#include "iggy/wire/header.h"
#include "iggy/wire/requests.h"
#include "server/raw_client.h"
#include "server/serve_peer.h"

namespace trib::test {
namespace {

using namespace std::chrono_literals;

/// A field of /proc/<pid>/status in KiB (VmRSS, VmHWM), or -1.
long proc_status_kb(pid_t pid, const std::string& field) {
    std::ifstream f("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind(field + ":", 0) == 0)
            return std::stol(line.substr(field.size() + 1));
    }
    return -1;
}

int connect_loopback(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

/// A SEND_MESSAGES request header announcing a whole 64 MiB frame, and 1 KiB of its body.
iggy::bytes big_frame_start() {
    iggy::request_header h;
    h.client = iggy::random_u128();
    h.size = iggy::max_frame_size;
    auto op = iggy::operation_for_command(iggy::cmd::send_messages);
    h.operation = static_cast<std::uint8_t>(op ? *op : iggy::operation::non_replicated);
    iggy::bytes out(iggy::header_size + 1024, 0);
    h.encode(out.data());
    return out;
}

TEST(idle_connections, three_hundred_that_never_log_in_keep_the_server_under_100_mib) {
    if (!std::filesystem::exists(server::test::tributary_binary())) {
        if (in_ci())
            FAIL() << "tributary binary missing: " << server::test::tributary_binary();
        GTEST_SKIP() << "tributary binary missing: " << server::test::tributary_binary();
    }
    TRIB_START_PEER(srv, server::test::serve_spec());
    // The bound is 100 MiB for the whole process (release build: about 15 MiB at start).
    // A sanitizer build starts far higher (ASan's shadow memory), so the growth is bounded too:
    // at most 85 MiB more than at start, less than two of the 64 MiB buffers of the bug.
    const long start_kb = proc_status_kb(srv->pid(), "VmHWM");
#if defined(__SANITIZE_ADDRESS__)
    const long limit_kb = start_kb + 85 * 1024;
#else
    const long limit_kb = std::min(100L * 1024, start_kb + 85 * 1024);
#endif
    const iggy::bytes hostile = big_frame_start();
    // A logged-in control connection: a ping answered after each hostile send means the server
    // went round its loop, so the memory read next includes what that send made it allocate.
    server::test::raw_client control;
    ASSERT_TRUE(control.connect(srv->port(), 10s));
    ASSERT_TRUE(control.login("iggy", "iggy"));
    std::vector<int> fds;
    std::size_t refused = 0;
    bool control_ok = true;
    long peak_kb = proc_status_kb(srv->pid(), "VmHWM");
    for (int i = 0; i < 300 && peak_kb < limit_kb; ++i) {
        const int fd = connect_loopback(srv->port());
        if (fd < 0) {
            ++refused;  // a connection cap may refuse some: allowed, the point is memory
            continue;
        }
        fds.push_back(fd);
        if (i % 2 == 1)
            (void)::send(fd, hostile.data(), hostile.size(), MSG_NOSIGNAL);
        if (control_ok)
            control_ok = control.request(iggy::ping_request{}).has_value();
        peak_kb =
            std::max(proc_status_kb(srv->pid(), "VmHWM"), proc_status_kb(srv->pid(), "VmRSS"));
    }
    EXPECT_TRUE(control_ok) << "the logged-in control connection stopped answering pings";
    // A real client logs in and pings while they are open (and so the server has read what
    // the idle sockets sent before this).
    bool served = false;
    std::string last_error = "not tried: the memory bound was passed first";
    if (peak_kb < limit_kb) {
        served = wait_until(
            [&] {
                server::test::raw_client c;
                auto st = c.connect(srv->port(), 5s);
                if (st)
                    st = c.login("iggy", "iggy");
                if (st) {
                    auto r = c.request(iggy::ping_request{});
                    if (!r)
                        st = unexpected(r.error());
                }
                if (!st)
                    last_error = st.error().to_string();
                return st.has_value();
            },
            30s);
    }
    peak_kb = std::max(peak_kb, proc_status_kb(srv->pid(), "VmHWM"));
    const long now_kb = proc_status_kb(srv->pid(), "VmRSS");
    std::cout << "[ idle ] " << fds.size() << " connections open (" << refused
              << " refused); server RSS " << start_kb / 1024 << " MiB at start, " << now_kb / 1024
              << " MiB now, peak " << peak_kb / 1024 << " MiB\n";
    EXPECT_TRUE(srv->alive()) << srv->log();
    EXPECT_LT(peak_kb, limit_kb) << "the server's peak RSS with " << fds.size()
                                 << " connections that never logged in (limit " << limit_kb / 1024
                                 << " MiB)";
    EXPECT_TRUE(served) << "a real client could not log in and ping: " << last_error;
    for (int fd : fds)
        ::close(fd);
}

}  // namespace
}  // namespace trib::test
