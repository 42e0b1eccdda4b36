// Memory of the embedded server under connections that never log in (issue 12: "300 connections
// that never log in keep the embedded server under 100 MiB").
//
// The server runs in a forked process (forked before this process has a thread), so its VmHWM is
// the server's alone. Cases, each on a fresh server:
//   - baseline: the server with one logged-in client and no other connection;
//   - silent: N connections that connect and send nothing;
//   - oversized: N connections that each send a request header declaring a 64 MiB login frame
//     (the largest the protocol allows) followed by `--trickle` KiB of body, then wait.
// After the hostile connections are open, a legitimate client must still log in and ping
// (`login_ok`), and the line reports how many hostile connections the server had closed
// (`closed_by_server`) when measured.
//
// Usage: idle_connections_bench [--connections N] [--trickle KIB] [--dir PATH]
// Prints one JSON line per case.

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "iggy/client.h"
#include "iggy/wire/header.h"
#include "iggy/wire/requests.h"
#include "server/server.h"

namespace {

using namespace trib;
using clk = std::chrono::steady_clock;

struct args_t {
    int connections = 300;
    int trickle_kib = 60;
    std::filesystem::path dir = std::filesystem::temp_directory_path() / "trib-idle-bench";
};

int run_server_child(const std::filesystem::path& dir, int ready_fd, int stop_fd) {
    server::server_options o;
    o.data_dir = dir;
    o.address = "127.0.0.1:0";
    o.default_root_credentials = true;
    auto s = server::embedded_server::start(o);
    if (!s)
        return 1;
    std::uint16_t port = (*s)->port();
    if (::write(ready_fd, &port, sizeof(port)) != sizeof(port))
        return 1;
    char b;
    (void)::read(stop_fd, &b, 1);  // returns when the parent closes its end
    return 0;
}

struct child_server {
    pid_t pid = -1;
    int ready_fd = -1;
    int stop_fd = -1;
    std::uint16_t port = 0;
    void stop() {
        if (pid < 0)
            return;
        ::close(stop_fd);
        ::close(ready_fd);
        int st = 0;
        ::waitpid(pid, &st, 0);
        pid = -1;
    }
};

std::vector<int> g_parent_fds;

child_server fork_server(const std::filesystem::path& dir) {
    child_server c;
    int ready[2], stop[2];
    if (::pipe(ready) != 0 || ::pipe(stop) != 0)
        return c;
    c.pid = ::fork();
    if (c.pid == 0) {
        ::close(ready[0]);
        ::close(stop[1]);
        for (int fd : g_parent_fds)
            ::close(fd);
        ::dup2(STDERR_FILENO, STDOUT_FILENO);  // the server's log stays off the JSON lines
        ::_exit(run_server_child(dir, ready[1], stop[0]));
    }
    ::close(ready[1]);
    ::close(stop[0]);
    c.ready_fd = ready[0];
    c.stop_fd = stop[1];
    g_parent_fds.push_back(ready[0]);
    g_parent_fds.push_back(stop[1]);
    return c;
}

long rss_kb(pid_t pid, const char* field) {
    std::string path = fmt::format("/proc/{}/status", pid);
    FILE* f = std::fopen(path.c_str(), "r");
    if (f == nullptr)
        return 0;
    char line[256];
    long v = 0;
    std::size_t n = std::strlen(field);
    while (std::fgets(line, sizeof line, f) != nullptr) {
        if (std::strncmp(line, field, n) == 0) {
            v = std::strtol(line + n, nullptr, 10);
            break;
        }
    }
    std::fclose(f);
    return v;
}

int connect_to(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// A login frame whose header declares the largest frame the protocol allows; only the header and
// `trickle` bytes of body are sent.
std::vector<std::uint8_t> oversized_login(std::size_t trickle) {
    iggy::bytes buf;
    iggy::login_register_request req;
    req.username = "iggy";
    req.password = "iggy";
    iggy::request_header h;
    h.client = iggy::u128{1, 7};
    (void)iggy::encode_request_frame(buf, req, h);
    std::vector<std::uint8_t> out(buf.begin(), buf.begin() + iggy::header_size);
    const std::uint32_t size = iggy::max_frame_size;
    std::memcpy(out.data() + 48, &size, 4);  // little-endian on every machine we build for
    out.resize(out.size() + trickle, 'x');
    return out;
}

// Writes what the socket takes without blocking for long (a server that stopped reading must not
// hang the benchmark).
void send_some(int fd, const std::vector<std::uint8_t>& data) {
    std::size_t off = 0;
    auto deadline = clk::now() + std::chrono::seconds(2);
    while (off < data.size() && clk::now() < deadline) {
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, 100) <= 0)
            continue;
        ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0)
            return;
        off += static_cast<std::size_t>(n);
    }
}

bool closed_by_peer(int fd) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 0) <= 0)
        return false;
    char b[512];
    ssize_t n = ::recv(fd, b, sizeof b, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

bool login_and_ping(std::uint16_t port) {
    auto c = iggy::client::connect(fmt::format("iggy+tcp://iggy:iggy@127.0.0.1:{}", port));
    return c && (*c)->ping().has_value();
}

void run_case(const char* name, child_server& s, int connections, std::size_t trickle) {
    std::uint16_t port = 0;
    if (::read(s.ready_fd, &port, sizeof port) != sizeof port || port == 0) {
        fmt::print(
            "{{\"bench\":\"idle_connections\",\"case\":\"{}\",\"error\":\"server did not "
            "start\"}}\n",
            name);
        return;
    }
    bool before_ok = login_and_ping(port);
    long rss_before = rss_kb(s.pid, "VmRSS:");
    std::vector<int> fds;
    const auto frame = oversized_login(trickle);
    int refused = 0;
    for (int i = 0; i < connections; ++i) {
        int fd = connect_to(port);
        if (fd < 0) {
            ++refused;
            continue;
        }
        if (trickle != static_cast<std::size_t>(-1))
            send_some(fd, frame);
        fds.push_back(fd);
    }
    // Let the server take what was sent: wait until its RSS stops growing (at most 3 s).
    long last = -1;
    auto deadline = clk::now() + std::chrono::seconds(3);
    while (clk::now() < deadline) {
        long now = rss_kb(s.pid, "VmRSS:");
        if (now == last)
            break;
        last = now;
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    bool after_ok = login_and_ping(port);
    int closed = 0;
    for (int fd : fds)
        closed += closed_by_peer(fd) ? 1 : 0;
    long peak = rss_kb(s.pid, "VmHWM:");
    long rss_now = rss_kb(s.pid, "VmRSS:");
    fmt::print(
        "{{\"bench\":\"idle_connections\",\"case\":\"{}\",\"connections\":{},"
        "\"connect_refused\":{},\"body_bytes_sent_each\":{},\"closed_by_server\":{},"
        "\"rss_before_kb\":{},\"rss_after_kb\":{},\"peak_rss_kb\":{},\"peak_rss_mib\":{:.1f},"
        "\"login_ok_before\":{},\"login_ok_after\":{}}}\n",
        name, connections, refused,
        trickle == static_cast<std::size_t>(-1) ? 0 : static_cast<long>(trickle), closed,
        rss_before, rss_now, peak, peak / 1024.0, before_ok, after_ok);
    std::fflush(stdout);
    for (int fd : fds)
        ::close(fd);
    s.stop();
}

}  // namespace

int main(int argc, char** argv) {
    args_t a;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        if (k == "--connections")
            a.connections = std::atoi(argv[i + 1]);
        else if (k == "--trickle")
            a.trickle_kib = std::atoi(argv[i + 1]);
        else if (k == "--dir")
            a.dir = argv[i + 1];
    }
    std::error_code ec;
    std::filesystem::remove_all(a.dir, ec);
    std::filesystem::create_directories(a.dir);
    // Every server is forked now, before this process starts any thread.
    child_server baseline = fork_server(a.dir / "baseline");
    child_server silent = fork_server(a.dir / "silent");
    child_server oversized = fork_server(a.dir / "oversized");
    run_case("baseline", baseline, 0, 0);
    run_case("silent", silent, a.connections, static_cast<std::size_t>(-1));
    run_case("oversized", oversized, a.connections, static_cast<std::size_t>(a.trickle_kib) * 1024);
    std::filesystem::remove_all(a.dir, ec);
    return 0;
}
