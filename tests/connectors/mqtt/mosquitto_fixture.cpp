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
