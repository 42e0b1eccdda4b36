// The official Iggy Python SDK (PyPI apache-iggy 0.9.0, a wrapper over the Rust SDK 0.11) runs
// tests/server/python_sdk_scenario.py against the embedded server started in-process: streams,
// topics, 10,000 messages with user headers, every polling strategy, consumer offsets, a
// consumer group with two members, personal access tokens, users, purge and delete.
// The venv is $TRIB_SOURCE_DIR/.venv (scripts/setup.sh installs the SDK there). With CI=true a
// missing venv or SDK fails the test; elsewhere it is skipped.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "harness/peer.h"
#include "server/process_util.h"
#include "server/server.h"

namespace trib::server {
namespace {

std::filesystem::path venv_python() {
    return test::source_dir() / ".venv" / "bin" / "python";
}

#define TRIB_REQUIRE_PEER(cond, what)                         \
    do {                                                      \
        if (!(cond)) {                                        \
            if (::trib::test::in_ci())                        \
                FAIL() << what << " (required with CI=true)"; \
            GTEST_SKIP() << what;                             \
        }                                                     \
    } while (0)

TEST(python_sdk, scenario_against_embedded_server) {
    auto python = venv_python();
    TRIB_REQUIRE_PEER(std::filesystem::exists(python),
                      "no Python venv at " + python.string() + " (run scripts/setup.sh)");
    auto probe =
        test::run_process({python.string(), "-c", "import apache_iggy"}, std::chrono::seconds(60));
    TRIB_REQUIRE_PEER(probe.exit_code == 0,
                      "apache-iggy is not installed in the venv: " + probe.output);

    trib::test::temp_dir dir("trib-pysdk");
    server_options o;
    o.data_dir = dir.path() / "data";
    o.address = "127.0.0.1:0";
    o.root_username = "pyroot";
    o.root_password = "py-root-secret";
    auto srv = embedded_server::start(o);
    ASSERT_TRUE(srv.has_value()) << srv.error().message();

    auto script = test::source_dir() / "tests" / "server" / "python_sdk_scenario.py";
    auto r = test::run_process(
        {python.string(), script.string(), (*srv)->address(), "pyroot", "py-root-secret"},
        std::chrono::seconds(240));
    EXPECT_FALSE(r.timed_out) << r.output;
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("ALL CHECKS PASSED"), std::string::npos) << r.output;
    // Every check line the script prints, so that a silently shortened run is noticed.
    std::size_t checks = 0;
    for (std::size_t p = 0; (p = r.output.find("ok ", p)) != std::string::npos; ++p)
        if (p == 0 || r.output[p - 1] == '\n')
            ++checks;
    EXPECT_GE(checks, 30u) << r.output;
}

// De-duplication on (issue 27): the SDK resends the same two messages three times; the server
// drops the resends (answering them with no confirmation) and the SDK takes that as success.
TEST(python_sdk, resends_are_stored_once_with_deduplication_on) {
    auto python = venv_python();
    TRIB_REQUIRE_PEER(std::filesystem::exists(python),
                      "no Python venv at " + python.string() + " (run scripts/setup.sh)");
    trib::test::temp_dir dir("trib-pysdk-dedup");
    server_options o;
    o.data_dir = dir.path() / "data";
    o.address = "127.0.0.1:0";
    o.root_username = "pyroot";
    o.root_password = "py-root-secret";
    o.message_deduplication.enabled = true;
    auto srv = embedded_server::start(o);
    ASSERT_TRUE(srv.has_value()) << srv.error().message();
    const std::string script = R"(
import asyncio, sys
from apache_iggy import (AutoLogin, Consumer, IggyClient, PollingStrategy, SendMessage,
                         TcpConfig)
async def main():
    c = IggyClient(TcpConfig(server_address=sys.argv[1],
                             auto_login=AutoLogin.username_password("pyroot", "py-root-secret")))
    await c.connect()
    await c.create_stream("s")
    await c.create_topic("s", "t", 1)
    for attempt in range(3):
        await c.send_messages("s", "t", 0, [SendMessage(b"a", id=42), SendMessage(b"b", id=43)])
        print("sent", attempt, flush=True)
    got = await c.poll_messages("s", "t", consumer=Consumer.Single("r"),
                                polling_strategy=PollingStrategy.Offset(0), count=100,
                                auto_commit=False, partition_id=0)
    print("stored", [(m.offset(), m.id(), m.payload().decode()) for m in got], flush=True)
asyncio.run(main())
)";
    auto r = test::run_process({python.string(), "-c", script, (*srv)->address()},
                               std::chrono::seconds(120));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("sent 2"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find("stored [(0, 42, 'a'), (1, 43, 'b')]"), std::string::npos) << r.output;
}

// TLS: a test CA and a server certificate for localhost/127.0.0.1 (openssl CLI); the Python SDK
// connects with certificate validation against that CA, logs in, sends and polls.
TEST(python_sdk, tls_with_a_verified_certificate) {
    auto python = venv_python();
    TRIB_REQUIRE_PEER(std::filesystem::exists(python),
                      "no Python venv at " + python.string() + " (run scripts/setup.sh)");
    auto openssl = trib::test::find_program("openssl");
    TRIB_REQUIRE_PEER(!openssl.empty(), "openssl not installed");
    trib::test::temp_dir dir("trib-pytls");
    auto p = [&](const char* f) { return (dir.path() / f).string(); };
    {
        std::ofstream ext(p("ext.cnf"));
        ext << "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
               "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n";
    }
    const std::vector<std::vector<std::string>> steps = {
        {openssl.string(),
         "req",
         "-x509",
         "-newkey",
         "ec",
         "-pkeyopt",
         "ec_paramgen_curve:prime256v1",
         "-nodes",
         "-keyout",
         p("ca.key"),
         "-out",
         p("ca.pem"),
         "-days",
         "2",
         "-subj",
         "/CN=trib-test-ca",
         "-addext",
         "basicConstraints=critical,CA:TRUE",
         "-addext",
         "keyUsage=critical,keyCertSign,cRLSign"},
        {openssl.string(), "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", p("server.key"), "-out", p("server.csr"), "-subj", "/CN=localhost"},
        {openssl.string(), "x509", "-req", "-in", p("server.csr"), "-CA", p("ca.pem"), "-CAkey",
         p("ca.key"), "-CAcreateserial", "-out", p("server.pem"), "-days", "2", "-extfile",
         p("ext.cnf")},
    };
    for (const auto& argv : steps) {
        auto r = test::run_process(argv, std::chrono::seconds(60));
        ASSERT_EQ(r.exit_code, 0) << r.output;
    }
    server_options o;
    o.data_dir = dir.path() / "data";
    o.address = "127.0.0.1:0";
    o.default_root_credentials = true;
    o.tls_cert = p("server.pem");
    o.tls_key = p("server.key");
    auto srv = embedded_server::start(o);
    ASSERT_TRUE(srv.has_value()) << srv.error().message();
    EXPECT_TRUE((*srv)->tls());

    const std::string script = R"(
import asyncio, sys
from apache_iggy import *
async def main():
    c = IggyClient(TcpConfig(server_address=sys.argv[1], tls_enabled=True, tls_domain="localhost",
                             tls_ca_file=sys.argv[2], tls_validate_certificate=True,
                             auto_login=AutoLogin.username_password("iggy", "iggy")))
    await c.connect()
    await c.create_stream("tls")
    await c.create_topic("tls", "t", 1)
    await c.send_messages("tls", "t", 0, [SendMessage("over tls")])
    got = await c.poll_messages("tls", "t", consumer=Consumer.Single(1),
                                polling_strategy=PollingStrategy.First(), count=5,
                                auto_commit=False, partition_id=0)
    assert [m.payload() for m in got] == [b"over tls"], got
    print("TLS OK", flush=True)
    # The client is dropped while the event loop still runs: left to interpreter teardown, the
    # SDK 0.9.0 with a TLS connection ended the process with SIGABRT after all of the above
    # succeeded (about 1 run in 6 here; 0 in 25 with this).
    del c
    import gc; gc.collect()
    await asyncio.sleep(0.3)
asyncio.run(main())
)";
    auto r = test::run_process({python.string(), "-c", script, (*srv)->address(), p("ca.pem")},
                               std::chrono::seconds(120));
    EXPECT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("TLS OK"), std::string::npos) << r.output;

    // A plain-TCP client gets nowhere on the TLS port.
    auto plain =
        test::run_process({python.string(), "-c",
                           "import asyncio,sys\nfrom apache_iggy import *\n"
                           "async def m():\n    c=IggyClient(TcpConfig(server_address=sys.argv[1],"
                           "reconnection=TcpReconnectionConfig(enabled=False)))\n"
                           "    await asyncio.wait_for(c.connect(), 20)\n    await "
                           "asyncio.wait_for(c.login_user('iggy','iggy'), 20)\n"
                           "asyncio.run(m())\n",
                           (*srv)->address()},
                          std::chrono::seconds(90));
    EXPECT_NE(plain.exit_code, 0) << plain.output;
}

}  // namespace
}  // namespace trib::server
