#pragma once
// What the object-store end-to-end tests (s3 and the other stores) share: the `tributary`
// binary and its `serve` peer, a client of it, producing numbered messages, and reading back
// what a source sent: every payload carries `"n": <number>`; the census counts the payloads, the
// distinct n of [0, total) and the ones without a usable n.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/message.h"
#include "harness/peer.h"
#include "iggy/client.h"
#include "iggy/consumer.h"
#include "runtime/iggy_port.h"

namespace trib::test {

/// A count from the environment (TRIB_*_MESSAGES, _KILLS, _SEED), else `def`.
inline std::uint64_t env_or(const char* name, std::uint64_t def) {
    const char* v = std::getenv(name);
    return v != nullptr ? std::strtoull(v, nullptr, 10) : def;
}

/// The app binary beside the test binaries (or under TRIB_BINARY_DIR).
inline std::filesystem::path tributary_binary() {
    if (const char* b = std::getenv("TRIB_BINARY_DIR"))
        return std::filesystem::path(b) / "src/app/tributary";
    return std::filesystem::read_symlink("/proc/self/exe").parent_path() /
           "../../../src/app/tributary";
}

/// `tributary serve` on a free port with the development credentials.
inline peer_spec serve_spec() {
    peer_spec s;
    s.name = "tributary-serve";
    s.program = tributary_binary().string();
    s.args = {"serve",     "--data-dir",       "{dir}/data",
              "--address", "127.0.0.1:{port}", "--with-default-root-credentials"};
    return s;
}

/// `tributary run` against the server on `iggy_port`, with one connector file.
inline peer_spec tributary_run_spec(std::uint16_t iggy_port, std::string connector_file,
                                    std::string file_body) {
    peer_spec s;
    s.name = "tributary-run";
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/runtime.toml"};
    s.prepare = [iggy_port, connector_file, file_body](const peer& p) {
        const std::filesystem::path dir = p.dir();
        std::filesystem::create_directories(dir / "connectors");
        std::ofstream(dir / "runtime.toml")
            << "[iggy]\naddress = \"127.0.0.1:" << iggy_port
            << "\"\nusername = \"iggy\"\npassword = \"iggy\"\n[state]\npath = \""
            << (dir / "state").string() << "\"\n[connectors]\nconfig_type = \"local\"\n"
            << "config_dir = \"" << (dir / "connectors").string()
            << "\"\n[http]\nenabled = false\n[logging]\nlevel = \"info\"\n";
        std::ofstream(dir / "connectors" / connector_file) << file_body;
    };
    s.ready = [](const peer&) { return true; };
    s.attempts = 1;
    return s;
}

/// A client of that server (iggy/iggy).
inline iggy::client_options client_for(std::uint16_t port) {
    iggy::client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    o.conn.username = "iggy";
    o.conn.password = "iggy";
    return o;
}

/// Sends messages `{"n": i, ...}` for i in [from, n) to application_logs/`topic` (2 partitions).
inline void produce(std::uint16_t port, const std::string& topic, std::uint64_t n,
                    std::uint64_t from = 0) {
    auto iggy = runtime::iggy_client_port::connect(client_for(port));
    ASSERT_TRUE(iggy) << iggy.error().to_string();
    ASSERT_TRUE((*iggy)->ensure_topic("application_logs", topic, 2));
    auto p = (*iggy)->open_producer(
        runtime::producer_options{"application_logs", topic, 1000, std::chrono::milliseconds(1)});
    ASSERT_TRUE(p);
    for (std::uint64_t first = from; first < n; first += 5000) {
        auto b = std::make_shared<message_batch>();
        for (std::uint64_t i = first; i < std::min(n, first + 5000); ++i) {
            message m;
            m.payload = b->own("{\"n\":" + std::to_string(i) + ",\"method\":\"GET\"}");
            b->messages.push_back(std::move(m));
        }
        ASSERT_TRUE((*p)->send_sync(b));
    }
    (*p)->close();
}

struct topic_census {
    std::uint64_t lines = 0;
    std::uint64_t distinct = 0;
    std::uint64_t bad = 0;
};

/// Polls stream `test_stream`, topic `test_topic` from its start (consumer "checker") until
/// every n of [0, total) arrived or `alive` turns false (300 s at most), counting into `out`.
inline ::testing::AssertionResult read_topic_census(const iggy::client_options& client,
                                                    std::uint64_t total,
                                                    const std::function<bool()>& alive,
                                                    topic_census& out) {
    iggy::consumer_options co;
    co.client = client;
    co.stream = iggy::identifier::named("test_stream");
    co.topic = iggy::identifier::named("test_topic");
    co.group = "";
    co.consumer_id = iggy::identifier::named("checker");
    co.batch_size = 5000;
    auto c = iggy::consumer_client::create(co);
    if (!c)
        return ::testing::AssertionFailure() << c.error().to_string();
    std::vector<std::uint32_t> counts(total, 0);
    const bool complete = wait_until(
        [&] {
            for (int i = 0; i < 50; ++i) {
                auto b = (*c)->poll();
                if (!b || b->messages.empty())
                    break;
                for (const auto& m : b->messages) {
                    std::string p(reinterpret_cast<const char*>(m.payload.data()),
                                  m.payload.size());
                    const auto at = p.find("\"n\":");
                    const auto n = at == std::string::npos
                                       ? total
                                       : std::strtoull(p.c_str() + at + 4, nullptr, 10);
                    if (n >= total) {
                        ++out.bad;
                        continue;
                    }
                    ++out.lines;
                    if (counts[n]++ == 0)
                        ++out.distinct;
                }
            }
            return out.distinct == total || !alive();
        },
        std::chrono::seconds(300));
    (void)(*c)->close();
    if (!complete)
        return ::testing::AssertionFailure() << out.distinct << " of " << total << " arrived";
    return ::testing::AssertionSuccess();
}

}  // namespace trib::test
