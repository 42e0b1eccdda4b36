// Issue 12, the runtime's part, tested on `tributary run` as a child process (real embedded
// server, real management API, real connectors):
// - a sink that always fails: SIGTERM during its retries ends the process promptly;
// - a message the sink refuses (invalid JSON) under the default error policy: the connector
//   stops in a clear failed state (API, metrics, one log line), no runaway, no restart loop;
// - credentials in connector URLs and conninfo strings never reach the API or the log;
// - the API refuses foreign Host headers (DNS rebinding) and cross-site state changes;
// - configuration problems that used to start a useless runtime or exit 1 without a name
//   (missing config_dir, ports out of range or in use) exit 2 naming file and key.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "config/connector_config.h"
#include "harness/peer.h"
#include "runtime/api_access.h"
#include "runtime/host.h"
#include "runtime/iggy_port.h"

namespace trib::runtime {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test::wait_until;

fs::path tributary_binary() {
    const char* b = std::getenv("TRIB_BINARY_DIR");
    return fs::path(b != nullptr ? b : ".") / "src" / "app" / "tributary";
}

void write_text(const fs::path& p, std::string text, const fs::path& dir) {
    for (std::size_t at; (at = text.find("{dir}")) != std::string::npos;)
        text.replace(at, 5, dir.string());
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

/// The runtime file: embedded server on `server_port`, API on `api_port`.
std::string runtime_toml(std::uint16_t server_port, std::uint16_t api_port,
                         const std::string& http_extra = "") {
    return "[server]\naddress = \"127.0.0.1:" + std::to_string(server_port) +
           "\"\n[state]\npath = \"{dir}/state\"\n"
           "[connectors]\nconfig_type = \"local\"\nconfig_dir = \"{dir}/connectors\"\n"
           "[http]\nenabled = true\naddress = \"127.0.0.1:" +
           std::to_string(api_port) + "\"\n" + http_extra +
           "[http.metrics]\nenabled = true\n[logging]\nlevel = \"info\"\n";
}

/// `tributary run {dir}/runtime.toml` with files written by `write`; ready when the API answers.
test::peer_spec run_spec(std::function<void(const test::peer&)> write) {
    test::peer_spec s;
    s.name = "tributary-run";
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/runtime.toml"};
    s.extra_ports = 1;  // {port}: embedded server, {port1}: API
    s.prepare = std::move(write);
    s.ready = [](const test::peer& p) { return test::tcp_connectable(p.port(1)); };
    s.ready_timeout = 30000ms;
    s.attempts = 1;
    return s;
}

struct http_answer {
    int status = 0;
    std::string body;
};

/// One HTTP/1.1 request to 127.0.0.1:port with exactly these headers (Host included).
http_answer http_call(std::uint16_t port, const std::string& method, const std::string& path,
                      const std::vector<std::string>& headers) {
    http_answer a;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
        ::close(fd);
        return a;
    }
    std::string req = method + " " + path + " HTTP/1.1\r\n";
    for (const auto& h : headers)
        req += h + "\r\n";
    req += "Content-Length: 0\r\nConnection: close\r\n\r\n";
    (void)::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
    std::string in;
    char buf[8192];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
        in.append(buf, static_cast<std::size_t>(n));
    ::close(fd);
    if (in.size() > 12)
        a.status = std::atoi(in.c_str() + 9);
    if (auto at = in.find("\r\n\r\n"); at != std::string::npos)
        a.body = in.substr(at + 4);
    return a;
}

http_answer api_get(std::uint16_t port, const std::string& path) {
    return http_call(port, "GET", path, {"Host: 127.0.0.1:" + std::to_string(port)});
}

/// Sends `payloads` to stream/topic of the embedded server.
void produce(std::uint16_t port, const std::string& stream, const std::string& topic,
             const std::vector<std::string>& payloads) {
    iggy::client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    o.conn.username = "iggy";
    o.conn.password = "iggy";
    auto iggy = iggy_client_port::connect(o);
    ASSERT_TRUE(iggy) << iggy.error().to_string();
    ASSERT_TRUE((*iggy)->ensure_topic(stream, topic, 1));
    auto p = (*iggy)->open_producer(producer_options{stream, topic, 1000, 1ms});
    ASSERT_TRUE(p);
    auto b = std::make_shared<message_batch>();
    for (const auto& s : payloads) {
        message m;
        m.payload = b->own(s);
        b->messages.push_back(std::move(m));
    }
    ASSERT_TRUE((*p)->send_sync(b));
    (*p)->close();
}

std::size_t count_of(const std::string& s, std::string_view what) {
    std::size_t n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size()))
        ++n;
    return n;
}

/// A loopback port nothing listens on (bound and closed again).
std::uint16_t closed_port() {
    return test::free_port();
}

// ---- error policy --------------------------------------------------------------------------

TEST(faults, sigterm_during_the_retries_of_a_sink_that_always_fails_exits_promptly) {
    const auto dead = closed_port();
    auto spec = run_spec([dead](const test::peer& p) {
        write_text(p.dir() / "runtime.toml", runtime_toml(p.port(0), p.port(1)), p.dir());
        // Connection refused every time (retryable): the pipeline retries for ever, waiting 20 s
        // between attempts, with a drain deadline of 120 s. A shutdown must not wait for either.
        write_text(p.dir() / "connectors" / "out.toml",
                   "type = \"sink\"\nkey = \"out\"\nname = \"out\"\nplugin = \"http\"\n"
                   "[[streams]]\nstream = \"f\"\ntopics = [\"in\"]\nschema = \"json\"\n"
                   "poll_interval = \"5ms\"\n"
                   "[plugin_config]\nurl = \"http://127.0.0.1:" +
                       std::to_string(dead) +
                       "/x\"\nmax_retries = 0\n"
                       "[error_policy]\nbackoff_initial = \"20s\"\nbackoff_max = \"20s\"\n"
                       "[delivery]\nshutdown_timeout = \"120s\"\n",
                   p.dir());
    });
    TRIB_START_PEER(rt, spec);
    produce(rt->port(0), "f", "in", {"{\"n\":1}", "{\"n\":2}"});
    // The first write failed: the pipeline now waits for its retry.
    ASSERT_TRUE(wait_until(
        [&] {
            auto s = api_get(rt->port(1), "/stats");
            return s.body.find("\"retries\":1") != std::string::npos;
        },
        30s))
        << rt->log();
    ASSERT_EQ(::kill(rt->pid(), SIGTERM), 0);
    // Prompt: well before the 20 s retry delay and the 120 s drain deadline.
    EXPECT_TRUE(wait_until([&] { return !rt->alive(); }, 15s)) << rt->log();
    const std::string log = rt->log();
    EXPECT_NE(log.find("stopped"), std::string::npos) << log;
}

TEST(faults, a_refused_message_under_the_default_policy_stops_the_connector_cleanly) {
    auto spec = run_spec([](const test::peer& p) {
        write_text(p.dir() / "runtime.toml", runtime_toml(p.port(0), p.port(1)), p.dir());
        // No [error_policy]: the default, without a dead-letter topic, is stop.
        write_text(p.dir() / "connectors" / "out.toml",
                   "type = \"sink\"\nkey = \"out\"\nname = \"out\"\nplugin = \"file\"\n"
                   "[[streams]]\nstream = \"f\"\ntopics = [\"in\"]\nschema = \"json\"\n"
                   "batch_length = 1\npoll_interval = \"5ms\"\n"
                   "[plugin_config]\npath = \"{dir}/out/events.jsonl\"\n",
                   p.dir());
    });
    TRIB_START_PEER(rt, spec);
    produce(rt->port(0), "f", "in", {"{\"n\":1}", "{\"n\":2}", "{not json", "{\"n\":4}"});
    ASSERT_TRUE(wait_until(
        [&] {
            return api_get(rt->port(1), "/sinks/out").body.find("\"status\":\"error\"") !=
                   std::string::npos;
        },
        30s))
        << rt->log();
    const auto info = api_get(rt->port(1), "/sinks/out").body;
    EXPECT_NE(info.find("f/in partition 0 offset 2"), std::string::npos) << info;
    EXPECT_NE(info.find("\"halted\":true"), std::string::npos) << info;
    const auto metrics = api_get(rt->port(1), "/metrics").body;
    EXPECT_NE(
        metrics.find("tributary_connector_up{connector=\"out\",kind=\"sink\",plugin=\"file\"} 0"),
        std::string::npos)
        << metrics;
    // The good messages before it were written; nothing after it.
    std::ifstream f(rt->dir() / "out" / "events.jsonl");
    std::string written((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    EXPECT_EQ(count_of(written, "\"n\":"), 2u) << written;
    EXPECT_EQ(written.find("\"n\":4"), std::string::npos);
    ASSERT_TRUE(rt->stop());
    const std::string log = rt->log();
    // One line says what stopped where and why, and the connector was not restarted.
    EXPECT_EQ(count_of(log, "the connector stops here"), 1u) << log;
    EXPECT_NE(log.find("sink out: write of message f/in partition 0 offset 2 failed"),
              std::string::npos)
        << log;
    EXPECT_EQ(log.find("restarting in"), std::string::npos) << log;
    EXPECT_LT(count_of(log, "\n"), 100u) << log;
}

// ---- secrets -------------------------------------------------------------------------------

TEST(faults, credentials_never_reach_the_api_or_the_log) {
    const auto dead = closed_port();
    auto spec = run_spec([dead](const test::peer& p) {
        write_text(p.dir() / "runtime.toml", runtime_toml(p.port(0), p.port(1)), p.dir());
        const std::string at = "127.0.0.1:" + std::to_string(dead);
        auto sink = [&](const std::string& key, const std::string& plugin,
                        const std::string& options) {
            write_text(p.dir() / "connectors" / (key + ".toml"),
                       "type = \"sink\"\nkey = \"" + key + "\"\nname = \"" + key +
                           "\"\nplugin = \"" + plugin +
                           "\"\n[[streams]]\nstream = \"f\"\ntopics = [\"in\"]\n"
                           "schema = \"json\"\n[plugin_config]\n" +
                           options,
                       p.dir());
        };
        sink("web", "http",
             "url = \"http://webuser:HttpSecret123@" + at + "/x\"\nmax_retries = 0\n");
        sink("broker", "mqtt",
             "urls = [\"mqtt://mqttuser:MqttSecret456@" + at + "\"]\ntopic = \"t\"\n");
        // A conninfo libpq cannot parse: its error quotes the piece after the password.
        sink("db", "postgres",
             "connection_string = \"host=127.0.0.1 port=" + std::to_string(dead) +
                 " user=app password=PgSecret789 PgSecretTail\"\ntarget_table = \"t\"\n");
    });
    TRIB_START_PEER(rt, spec);
    produce(rt->port(0), "f", "in", {"{\"n\":1}"});
    // The MQTT and PostgreSQL sinks failed to start (last_error set), the HTTP sink's writes
    // failed (logged, retried).
    ASSERT_TRUE(wait_until(
        [&] {
            const auto s = api_get(rt->port(1), "/stats").body;
            return count_of(s, "\"last_error\"") >= 2 &&
                   s.find("\"retries\":0,\"restarts\":0") == std::string::npos;
        },
        60s))
        << api_get(rt->port(1), "/stats").body << rt->log();
    std::string answers;
    for (const std::string path :
         {"/stats", "/sinks", "/sinks/web", "/sinks/broker", "/sinks/db", "/sinks/web/configs",
          "/sinks/broker/configs", "/sinks/db/configs", "/sinks/web/configs/plugin",
          "/sinks/broker/configs/active", "/sinks/db/configs/plugin"}) {
        const auto a = api_get(rt->port(1), path);
        EXPECT_EQ(a.status, 200) << path;
        answers += path + ": " + a.body + "\n";
    }
    ASSERT_TRUE(rt->stop());
    const std::string log = rt->log();
    for (const char* secret : {"HttpSecret123", "MqttSecret456", "PgSecret789", "PgSecretTail"}) {
        EXPECT_EQ(answers.find(secret), std::string::npos) << secret << " in\n" << answers;
        EXPECT_EQ(log.find(secret), std::string::npos) << secret << " in\n" << log;
    }
    // What is left is still useful: the user and host are shown.
    EXPECT_NE(answers.find("http://webuser:***@127.0.0.1"), std::string::npos) << answers;
    EXPECT_NE(answers.find("mqtt://mqttuser:***@127.0.0.1"), std::string::npos) << answers;
}

// ---- management API ------------------------------------------------------------------------

TEST(faults, the_api_refuses_foreign_hosts_and_cross_site_state_changes) {
    auto spec = run_spec([](const test::peer& p) {
        write_text(p.dir() / "runtime.toml",
                   runtime_toml(p.port(0), p.port(1), "allowed_hosts = [\"tributary.internal\"]\n"),
                   p.dir());
        fs::create_directories(p.dir() / "connectors");
    });
    TRIB_START_PEER(rt, spec);
    const auto port = rt->port(1);
    const std::string self = "127.0.0.1:" + std::to_string(port);
    auto call = [&](const std::string& method, const std::string& path,
                    std::vector<std::string> headers) {
        return http_call(port, method, path, headers).status;
    };
    // DNS rebinding: a name that is not ours.
    EXPECT_EQ(call("GET", "/stats", {"Host: attacker.example:" + std::to_string(port)}), 403);
    EXPECT_EQ(call("GET", "/health", {"Host: attacker.example"}), 403);
    // Addresses, localhost and configured names are ours.
    EXPECT_EQ(call("GET", "/stats", {"Host: " + self}), 200);
    EXPECT_EQ(call("GET", "/stats", {"Host: localhost:" + std::to_string(port)}), 200);
    EXPECT_EQ(call("GET", "/stats", {"Host: [::1]:" + std::to_string(port)}), 200);
    EXPECT_EQ(call("GET", "/stats", {"Host: Tributary.Internal:" + std::to_string(port)}), 200);
    // Cross-site POST (a form on any page): refused before the handler runs.
    EXPECT_EQ(call("POST", "/sinks/x/restart", {"Host: " + self, "Origin: https://evil.example"}),
              403);
    EXPECT_EQ(call("POST", "/sinks/x/restart", {"Host: " + self, "Origin: null"}), 403);
    // Same origin and no Origin (curl, scripts) reach the handler (404: no such sink).
    EXPECT_EQ(call("POST", "/sinks/x/restart", {"Host: " + self, "Origin: http://" + self}), 404);
    EXPECT_EQ(call("POST", "/sinks/x/restart", {"Host: " + self}), 404);
    // A GET with a foreign Origin reads nothing a browser would show it (no CORS headers), so
    // it is not refused.
    EXPECT_EQ(call("GET", "/health", {"Host: " + self, "Origin: https://evil.example"}), 200);
    ASSERT_TRUE(rt->stop());
    EXPECT_NE(rt->log().find("refused"), std::string::npos);
}

TEST(api_access, decisions) {
    api_access a({.bind_host = "0.0.0.0",
                  .allowed_hosts = {"ops.example.com"},
                  .allowed_origins = {"https://ui.example.com"},
                  .api_key_set = false,
                  .tls = false});
    EXPECT_FALSE(a.check("GET", "10.1.2.3:8081", ""));
    EXPECT_FALSE(a.check("GET", "", ""));  // HTTP/1.0
    EXPECT_FALSE(a.check("GET", "ops.example.com", ""));
    EXPECT_FALSE(a.check("GET", "app.localhost:8081", ""));
    EXPECT_TRUE(a.check("GET", "rebind.attacker.example:8081", ""));
    EXPECT_FALSE(a.check("POST", "10.1.2.3:8081", "https://ui.example.com"));
    EXPECT_FALSE(a.check("POST", "10.1.2.3:8081", "http://10.1.2.3:8081"));
    EXPECT_TRUE(a.check("DELETE", "10.1.2.3:8081", "http://10.1.2.3:9999"));
    EXPECT_TRUE(a.check("PUT", "10.1.2.3:8081", "https://evil.example"));
    // With an api_key the Host check is off (a page cannot send the key without a preflight),
    // and "*" origins count.
    api_access k({.bind_host = "0.0.0.0", .allowed_origins = {"*"}, .api_key_set = true});
    EXPECT_FALSE(k.check("GET", "any.name.example", ""));
    EXPECT_FALSE(k.check("POST", "any.name.example", "https://elsewhere.example"));
    api_access star({.bind_host = "127.0.0.1", .allowed_origins = {"*"}});
    EXPECT_TRUE(star.check("POST", "127.0.0.1:8081", "https://elsewhere.example"));
}

// ---- configuration problems ----------------------------------------------------------------

struct run_result {
    int exit_code = -1;
    std::string output;
};

/// Runs `tributary ARGS` through the shell, stdout and stderr together.
run_result tributary(const std::string& args, std::chrono::seconds timeout = 60s) {
    run_result r;
    const std::string cmd = "timeout " + std::to_string(timeout.count()) + " " +
                            tributary_binary().string() + " " + args + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr)
        return r;
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;)
        r.output.append(buf, n);
    const int st = ::pclose(p);
    r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

struct listening_socket {
    int fd = -1;
    std::uint16_t port = 0;
    listening_socket() {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in sa{};
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        (void)::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
        (void)::listen(fd, 1);
        socklen_t len = sizeof sa;
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
        port = ntohs(sa.sin_port);
    }
    ~listening_socket() { ::close(fd); }
};

TEST(config_problems, a_missing_config_dir_exits_2_naming_file_and_key) {
    test::temp_dir dir("trib-faults");
    const auto file = dir.path() / "runtime.toml";
    write_text(file,
               "[connectors]\nconfig_dir = \"{dir}/no-such-dir\"\n[http]\nenabled = false\n"
               "[server]\naddress = \"127.0.0.1:0\"\n",
               dir.path());
    for (const char* cmd : {"run", "validate"}) {
        auto r = tributary(std::string(cmd) + " " + file.string());
        EXPECT_EQ(r.exit_code, 2) << cmd << ": " << r.output;
        EXPECT_NE(r.output.find(file.string() + ": connectors.config_dir: the connector directory"),
                  std::string::npos)
            << cmd << ": " << r.output;
    }
}

TEST(config_problems, bad_listening_addresses_fail_validate_with_exit_2) {
    test::temp_dir dir("trib-faults");
    fs::create_directories(dir.path() / "connectors");
    const auto file = dir.path() / "runtime.toml";
    write_text(file,
               "[connectors]\nconfig_dir = \"{dir}/connectors\"\n"
               "[http]\naddress = \"127.0.0.1:99999\"\n[server]\naddress = \"localhost\"\n",
               dir.path());
    for (const char* cmd : {"validate", "run"}) {
        auto r = tributary(std::string(cmd) + " " + file.string());
        EXPECT_EQ(r.exit_code, 2) << r.output;
        EXPECT_NE(
            r.output.find(file.string() + ": http.address: port 99999 is out of range 0..65535"),
            std::string::npos)
            << r.output;
        EXPECT_NE(r.output.find(file.string() + ": server.address: expected host:port"),
                  std::string::npos)
            << r.output;
    }
}

TEST(config_problems, an_address_in_use_exits_2_naming_file_and_key) {
    listening_socket taken;
    test::temp_dir dir("trib-faults");
    const std::string in_use = "127.0.0.1:" + std::to_string(taken.port);
    struct variant {
        std::string runtime_extra;
        std::string connector;  // a webhook source file, or empty
        std::string where;      // "file: key"
    };
    const auto rt = dir.path() / "runtime.toml";
    const auto hook = dir.path() / "connectors" / "hook.toml";
    std::vector<variant> variants = {
        {"[http]\naddress = \"" + in_use + "\"\n[server]\naddress = \"127.0.0.1:0\"\n", "",
         rt.string() + ": http.address"},
        {"[http]\nenabled = false\n[server]\naddress = \"" + in_use + "\"\n", "",
         rt.string() + ": server.address"},
        {"[http]\nenabled = false\n[server]\naddress = \"127.0.0.1:0\"\n",
         "type = \"source\"\nkey = \"hook\"\nname = \"hook\"\nplugin = \"webhook\"\n"
         "[[streams]]\nstream = \"w\"\ntopic = \"t\"\n[plugin_config]\naddress = \"127.0.0.1\"\n"
         "port = " +
             std::to_string(taken.port) + "\n",
         hook.string() + ": plugin_config.port"},
    };
    for (const auto& v : variants) {
        fs::remove_all(dir.path() / "connectors");
        fs::create_directories(dir.path() / "connectors");
        write_text(rt, "[connectors]\nconfig_dir = \"{dir}/connectors\"\n" + v.runtime_extra,
                   dir.path());
        if (!v.connector.empty())
            write_text(hook, v.connector, dir.path());
        auto r = tributary("run " + rt.string());
        EXPECT_EQ(r.exit_code, 2) << r.output;
        EXPECT_NE(r.output.find(v.where + ": address in use (" + in_use + ")"), std::string::npos)
            << v.where << "\n"
            << r.output;
    }
}

}  // namespace
}  // namespace trib::runtime
