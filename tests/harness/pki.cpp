#include "harness/pki.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "harness/peer.h"

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

}  // namespace trib::test
