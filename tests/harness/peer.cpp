#include "harness/peer.h"

#include <string>

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>
#include <thread>

extern char** environ;

namespace trib::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool in_ci() {
    const char* ci = std::getenv("CI");
    return ci != nullptr && (std::string(ci) == "true" || std::string(ci) == "1");
}

fs::path find_program(const std::string& name, const std::vector<std::string>& extra_dirs) {
    if (name.find('/') != std::string::npos) {
        return ::access(name.c_str(), X_OK) == 0 ? fs::path(name) : fs::path();
    }
    std::vector<std::string> dirs = extra_dirs;
    if (const char* p = std::getenv("PATH")) {
        std::stringstream ss(p);
        std::string d;
        while (std::getline(ss, d, ':'))
            dirs.push_back(d);
    }
    for (const char* d : {"/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/lib/postgresql/15/bin"}) {
        dirs.emplace_back(d);
    }
    for (const auto& d : dirs) {
        if (d.empty())
            continue;
        fs::path p = fs::path(d) / name;
        if (::access(p.c_str(), X_OK) == 0)
            return p;
    }
    return {};
}

std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    std::uint16_t port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        socklen_t len = sizeof a;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
            port = ntohs(a.sin_port);
    }
    ::close(fd);
    return port;
}

bool tcp_connectable(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    return ok;
}

std::uint64_t proc_status_kib(pid_t pid, const std::string& field) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(field + ":", 0) == 0)
            return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
    }
    return 0;
}

bool wait_until(const std::function<bool()>& cond, std::chrono::milliseconds deadline) {
    auto end = std::chrono::steady_clock::now() + deadline;
    auto step = 2ms;
    while (true) {
        if (cond())
            return true;
        if (std::chrono::steady_clock::now() >= end)
            return false;
        std::this_thread::sleep_for(step);
        step = std::min(step * 2, std::chrono::milliseconds(50));
    }
}

temp_dir::temp_dir(const std::string& prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    if (::mkdtemp(buf.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed: " + std::string(std::strerror(errno)));
    }
    path_ = buf.data();
    // Peers that drop privileges (postgres, mosquitto) must be able to enter and write it.
    fs::permissions(path_, fs::perms::all);
}

temp_dir::~temp_dir() {
    if (std::getenv("TRIB_KEEP_TMP") != nullptr)
        return;
    std::error_code ec;
    fs::remove_all(path_, ec);
}

peer::peer(peer_spec spec) : spec_(std::move(spec)), dir_("trib-" + spec_.name) {}

peer::~peer() {
    if (::testing::Test::HasFailure() && pid_ > 0) {
        std::cerr << "---- log of peer " << spec_.name << " (pid " << pid_ << ") ----\n"
                  << log() << "---- end of log ----\n";
    }
    (void)stop();
}

std::string peer::expand(const std::string& s) const {
    std::string out = s;
    auto replace_all = [&](const std::string& from, const std::string& to) {
        for (std::size_t pos = 0; (pos = out.find(from, pos)) != std::string::npos;) {
            out.replace(pos, from.size(), to);
            pos += to.size();
        }
    };
    replace_all("{dir}", dir_.path().string());
    replace_all("{port}", std::to_string(ports_.at(0)));
    for (std::size_t i = 1; i < ports_.size(); ++i) {
        replace_all("{port" + std::to_string(i) + "}", std::to_string(ports_[i]));
    }
    return out;
}

std::string peer::log() const {
    std::ifstream in(dir_.path() / (spec_.name + ".log"));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

status peer::spawn() {
    std::vector<std::string> args{program_.string()};
    for (const auto& a : spec_.args)
        args.push_back(expand(a));
    std::vector<std::string> env_store;
    for (char** e = environ; *e != nullptr; ++e)
        env_store.emplace_back(*e);
    for (const auto& [k, v] : spec_.env)
        env_store.push_back(k + "=" + expand(v));

    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& e : env_store)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    fs::path log_path = dir_.path() / (spec_.name + ".log");
    int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0)
        return fail(errc::io_error, "cannot open " + log_path.string());

    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(log_fd);
        return fail(errc::io_error, std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        // Child: own process group so that stop() can signal helpers the peer forks too.
        ::setpgid(0, 0);
        ::dup2(log_fd, 1);
        ::dup2(log_fd, 2);
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0)
            ::dup2(devnull, 0);
        if (::chdir(dir_.path().c_str()) != 0)
            _exit(126);
        ::execve(argv[0], argv.data(), envp.data());
        _exit(127);
    }
    ::close(log_fd);
    pid_ = pid;
    return ok();
}

result<std::unique_ptr<peer>> peer::start(peer_spec spec) {
    std::unique_ptr<peer> p(new peer(std::move(spec)));
    p->program_ = find_program(p->spec_.program);
    if (p->program_.empty()) {
        return fail(errc::not_found, "program '" + p->spec_.program + "' for peer '" +
                                         p->spec_.name +
                                         "' is not installed (run scripts/setup.sh)");
    }
    std::string last_error;
    for (int attempt = 0; attempt < std::max(1, p->spec_.attempts); ++attempt) {
        p->ports_.clear();
        for (int i = 0; i <= p->spec_.extra_ports; ++i)
            p->ports_.push_back(free_port());
        if (p->spec_.prepare)
            p->spec_.prepare(*p);
        TRIB_TRY(p->spawn());
        auto ready = p->spec_.ready ? p->spec_.ready
                                    : [](const peer& q) { return tcp_connectable(q.port()); };
        bool ok =
            wait_until([&] { return !p->alive() ? true : ready(*p); }, p->spec_.ready_timeout);
        if (ok && p->alive())
            return p;
        std::string tail = p->log();
        if (tail.size() > 2000)
            tail = tail.substr(tail.size() - 2000);
        last_error = p->spec_.name +
                     (p->alive() ? " not ready within " +
                                       std::to_string(p->spec_.ready_timeout.count()) + " ms"
                                 : " exited during start-up") +
                     "; log tail:\n" + tail;
        (void)p->stop(1000ms);
    }
    return fail(errc::unavailable, last_error);
}

bool peer::alive() {
    if (pid_ <= 0)
        return false;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
        pid_ = -pid_;  // reaped; remember it was ours
        return false;
    }
    return r == 0;
}

status peer::stop(std::chrono::milliseconds grace) {
    if (pid_ <= 0 || !alive())
        return ok();
    pid_t pid = pid_;
    ::kill(pid, SIGTERM);
    bool gone = wait_until([&] { return !alive(); }, grace);
    if (!gone) {
        ::kill(-pid, SIGKILL);
        ::kill(pid, SIGKILL);
        wait_until([&] { return !alive(); }, 5000ms);
    }
    ::kill(-pid, SIGKILL);  // leftover children in the peer's process group
    return ok();
}

status peer::kill9() {
    if (pid_ <= 0)
        return ok();
    pid_t pid = pid_;
    ::kill(pid, SIGKILL);
    wait_until([&] { return !alive(); }, 5000ms);
    ::kill(-pid, SIGKILL);
    return ok();
}

status peer::restart() {
    TRIB_TRY(stop());
    TRIB_TRY(spawn());
    auto ready =
        spec_.ready ? spec_.ready : [](const peer& q) { return tcp_connectable(q.port()); };
    if (!wait_until([&] { return alive() && ready(*this); }, spec_.ready_timeout)) {
        return fail(errc::unavailable, spec_.name + " did not become ready after restart");
    }
    return ok();
}

}  // namespace trib::test
