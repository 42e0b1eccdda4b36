#include "mosquitto_fixture.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

namespace trib::test {

namespace fs = std::filesystem;

result<std::string> run_command(const std::vector<std::string>& args, const fs::path& cwd) {
    if (args.empty())
        return fail(errc::invalid_argument, "run_command: no program");
    fs::path program = find_program(args[0]);
    if (program.empty())
        return fail(errc::not_found, "program '" + args[0] + "' is not installed");
    int pipe_fd[2];
    if (::pipe2(pipe_fd, O_CLOEXEC) != 0)
        return fail(errc::io_error, std::string("pipe: ") + std::strerror(errno));
    std::vector<std::string> store(args);
    store[0] = program.string();
    std::vector<char*> argv;
    for (auto& a : store)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) {
        ::close(pipe_fd[0]);
        ::close(pipe_fd[1]);
        return fail(errc::io_error, std::string("fork: ") + std::strerror(errno));
    }
    if (pid == 0) {
        ::dup2(pipe_fd[1], 1);
        ::dup2(pipe_fd[1], 2);
        if (!cwd.empty() && ::chdir(cwd.c_str()) != 0)
            _exit(126);
        ::execv(argv[0], argv.data());
        _exit(127);
    }
    ::close(pipe_fd[1]);
    std::string out;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(pipe_fd[0], buf, sizeof buf);
        if (n > 0) {
            out.append(buf, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    ::close(pipe_fd[0]);
    int st = 0;
    while (::waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        std::string cmd;
        for (const auto& a : args)
            cmd += (cmd.empty() ? "" : " ") + a;
        return fail(errc::internal,
                    "command failed (status " + std::to_string(st) + "): " + cmd + "\n" + out);
    }
    return out;
}

result<test_pki> make_test_pki(const fs::path& dir, const std::string& prefix) {
    test_pki p;
    p.ca_cert = dir / (prefix + "ca.crt");
    fs::path ca_key = dir / (prefix + "ca.key");
    p.server_cert = dir / (prefix + "server.crt");
    p.server_key = dir / (prefix + "server.key");
    p.client_cert = dir / (prefix + "client.crt");
    p.client_key = dir / (prefix + "client.key");
    const std::vector<std::string> ec = {"-newkey", "ec", "-pkeyopt",
                                         "ec_paramgen_curve:prime256v1", "-nodes"};
    auto with = [&](std::vector<std::string> head, const std::vector<std::string>& tail) {
        head.insert(head.end(), tail.begin(), tail.end());
        return head;
    };
    TRIB_TRY(run_command(
        with(with({"openssl", "req", "-x509"}, ec),
             {"-keyout", ca_key.string(), "-out", p.ca_cert.string(), "-days", "2", "-subj",
              "/CN=tributary-test-ca-" + prefix, "-addext", "basicConstraints=critical,CA:TRUE",
              "-addext", "keyUsage=critical,keyCertSign,cRLSign"})));
    auto leaf = [&](const fs::path& cert, const fs::path& key, const std::string& cn,
                    const std::string& ext) -> status {
        fs::path csr = cert;
        csr.replace_extension(".csr");
        fs::path ext_file = cert;
        ext_file.replace_extension(".ext");
        { std::ofstream(ext_file) << ext << "\n"; }
        TRIB_TRY(
            run_command(with(with({"openssl", "req"}, ec), {"-keyout", key.string(), "-out",
                                                            csr.string(), "-subj", "/CN=" + cn})));
        TRIB_TRY(run_command({"openssl", "x509", "-req", "-in", csr.string(), "-CA",
                              p.ca_cert.string(), "-CAkey", ca_key.string(), "-CAcreateserial",
                              "-out", cert.string(), "-days", "2", "-extfile", ext_file.string()}));
        return ok();
    };
    TRIB_TRY(leaf(p.server_cert, p.server_key, "localhost",
                  "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth"));
    TRIB_TRY(
        leaf(p.client_cert, p.client_key, "tributary-test-client", "extendedKeyUsage=clientAuth"));
    return p;
}

test_pki mosquitto_pki(const peer& broker) {
    test_pki p;
    p.ca_cert = broker.dir() / "ca.crt";
    p.server_cert = broker.dir() / "server.crt";
    p.server_key = broker.dir() / "server.key";
    p.client_cert = broker.dir() / "client.crt";
    p.client_key = broker.dir() / "client.key";
    return p;
}

peer_spec mosquitto_spec(const mosquitto_options& opts) {
    peer_spec s;
    s.name = "mosquitto";
    s.program = "mosquitto";
    s.args = {"-c", "{dir}/mosquitto.conf"};
    s.extra_ports = 2;
    s.prepare = [opts](const peer& p) {
        const fs::path dir = p.dir();
        std::ofstream conf(dir / "mosquitto.conf");
        conf << "per_listener_settings true\n";
        // Started as root, Mosquitto drops to user `mosquitto`, which cannot use the test's
        // folder; stay as the current user instead.
        if (::geteuid() == 0)
            conf << "user root\n";
        conf << "log_dest stderr\nlog_type error\nlog_type warning\nlog_type notice\n"
                "log_type information\nconnection_messages true\n";
        conf << "max_queued_messages 1000000\nmax_inflight_messages 0\n";
        conf << "persistence " << (opts.persistence ? "true" : "false") << "\n";
        if (opts.persistence)
            conf << "persistence_location " << dir.string() << "/\nautosave_interval 0\n";
        for (const auto& line : opts.extra)
            conf << line << "\n";
        conf << "\nlistener " << p.port(0) << " 127.0.0.1\nallow_anonymous true\n";
        if (opts.tls) {
            auto pki = make_test_pki(dir);
            if (!pki)
                std::cerr << "mosquitto fixture: " << pki.error().message() << "\n";
            conf << "\nlistener " << p.port(1) << " 127.0.0.1\nallow_anonymous true\n"
                 << "cafile " << (dir / "ca.crt").string() << "\ncertfile "
                 << (dir / "server.crt").string() << "\nkeyfile " << (dir / "server.key").string()
                 << "\nrequire_certificate " << (opts.require_client_certificate ? "true" : "false")
                 << "\n";
        }
        if (!opts.users.empty()) {
            fs::path pw = dir / "passwd";
            bool first = true;
            for (const auto& [user, pass] : opts.users) {
                std::vector<std::string> cmd{"mosquitto_passwd", "-b"};
                if (first)
                    cmd.insert(cmd.begin() + 1, "-c");
                cmd.insert(cmd.end(), {pw.string(), user, pass});
                auto r = run_command(cmd);
                if (!r)
                    std::cerr << "mosquitto fixture: " << r.error().message() << "\n";
                first = false;
            }
            conf << "\nlistener " << p.port(2) << " 127.0.0.1\nallow_anonymous false\n"
                 << "password_file " << pw.string() << "\n";
        }
    };
    // Every listener must accept connections, not only the first.
    s.ready = [opts](const peer& p) {
        if (!tcp_connectable(p.port(0)))
            return false;
        if (opts.tls && !tcp_connectable(p.port(1)))
            return false;
        if (!opts.users.empty() && !tcp_connectable(p.port(2)))
            return false;
        return true;
    };
    return s;
}

}  // namespace trib::test
