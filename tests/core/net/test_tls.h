#pragma once
// Test certificates made by the `openssl` command at test time (nothing secret is checked in),
// and an nginx peer with a temporary configuration. Shared by the HTTP client and server tests.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>

#include "core/error.h"
#include "harness/peer.h"

namespace trib::test {

struct cert_pair {
    std::filesystem::path cert;  // PEM; self-signed, so it is also its own CA file
    std::filesystem::path key;   // PEM, unencrypted
};

/// A self-signed RSA-2048 certificate for `cn` with subjectAltName localhost and 127.0.0.1.
inline result<cert_pair> make_test_cert(const std::filesystem::path& dir, const std::string& name,
                                        const std::string& cn = "localhost") {
    if (find_program("openssl").empty())
        return fail(errc::not_found, "the openssl command is not installed");
    cert_pair p{dir / (name + ".crt"), dir / (name + ".key")};
    auto log = dir / (name + ".openssl.log");
    std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=" + cn +
                      "' -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout '" +
                      p.key.string() + "' -out '" + p.cert.string() + "' > '" + log.string() +
                      "' 2>&1";
    if (std::system(cmd.c_str()) != 0 || !std::filesystem::exists(p.cert)) {
        std::ifstream in(log);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        return fail(errc::unavailable, "openssl req failed: " + text);
    }
    return p;
}

/// nginx in the foreground, one process, everything in its temp dir. `servers` is the body of
/// the http{} block (server blocks) and may use {port}, {port1}, ... and {dir}.
inline peer_spec nginx_spec(std::string servers, int extra_ports = 0,
                            std::function<void(const peer&)> prepare_more = {}) {
    peer_spec s;
    s.name = "nginx";
    s.program = "nginx";
    s.args = {"-p", "{dir}", "-e", "{dir}/error.log", "-c", "{dir}/nginx.conf"};
    s.extra_ports = extra_ports;
    s.prepare = [servers = std::move(servers), extra_ports, prepare_more](const peer& p) {
        std::string conf = R"(daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    keepalive_requests 100000;
)" + servers + "\n}\n";
        // The same placeholders as the peer's arguments.
        auto replace_all = [&](const std::string& from, const std::string& to) {
            for (std::size_t pos = 0; (pos = conf.find(from, pos)) != std::string::npos;) {
                conf.replace(pos, from.size(), to);
                pos += to.size();
            }
        };
        replace_all("{dir}", p.dir().string());
        replace_all("{port}", std::to_string(p.port(0)));
        for (int i = 1; i <= extra_ports; ++i) {
            replace_all("{port" + std::to_string(i) + "}",
                        std::to_string(p.port(static_cast<std::size_t>(i))));
        }
        std::ofstream(p.dir() / "nginx.conf") << conf;
        if (prepare_more)
            prepare_more(p);
    };
    return s;
}

}  // namespace trib::test

/// Makes a test certificate into `var` (a cert_pair) or fails (CI) / skips (elsewhere).
#define TRIB_MAKE_CERT(var, dir, name)                                                          \
    ::trib::test::cert_pair var;                                                                \
    do {                                                                                        \
        auto trib_cert_r_ = ::trib::test::make_test_cert(dir, name);                            \
        if (!trib_cert_r_) {                                                                    \
            if (::trib::test::in_ci()) {                                                        \
                FAIL() << "cannot make a test certificate: " << trib_cert_r_.error().message(); \
            } else {                                                                            \
                GTEST_SKIP() << "cannot make a test certificate: "                              \
                             << trib_cert_r_.error().message();                                 \
            }                                                                                   \
        }                                                                                       \
        var = *trib_cert_r_;                                                                    \
    } while (0)
