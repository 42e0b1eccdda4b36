// Crash tests: `tributary run` as a child process against `tributary serve` (both real
// processes), killed with SIGKILL at 10 random points of a 200,000-message run and restarted each
// time. Every message must arrive at least once; duplicates are counted and reported; with the
// file sink's idempotent mode there must be none.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>

#include "harness/kill_rounds.h"
#include "harness/peer.h"
#include "iggy/client.h"
#include "iggy/consumer.h"
#include "runtime/iggy_port.h"

namespace trib::runtime {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;
using test::wait_until;

constexpr std::uint32_t k_messages = 200'000;
constexpr int k_kills = 10;

fs::path tributary_binary() {
    const char* b = std::getenv("TRIB_BINARY_DIR");
    return fs::path(b != nullptr ? b : ".") / "src" / "app" / "tributary";
}

test::peer_spec serve_spec() {
    test::peer_spec s;
    s.name = "tributary-serve";
    s.program = tributary_binary().string();
    s.args = {"serve",     "--data-dir",       "{dir}/data",
              "--address", "127.0.0.1:{port}", "--with-default-root-credentials"};
    return s;
}

/// `tributary run CONFIG` with the runtime config written by `write`. Ready as soon as it runs.
test::peer_spec run_spec(std::function<void(const fs::path&)> write) {
    test::peer_spec s;
    s.name = "tributary-run";
    s.program = tributary_binary().string();
    s.args = {"run", "{dir}/runtime.toml"};
    s.prepare = [write](const test::peer& p) { write(p.dir()); };
    s.ready = [](const test::peer&) { return true; };
    s.attempts = 1;
    return s;
}

iggy::client_options client_for(std::uint16_t port) {
    iggy::client_options o;
    o.conn.address.host = "127.0.0.1";
    o.conn.address.port = port;
    o.conn.username = "iggy";
    o.conn.password = "iggy";
    return o;
}

std::string runtime_toml(std::uint16_t iggy_port, const char* level = "warn") {
    return "[iggy]\naddress = \"127.0.0.1:" + std::to_string(iggy_port) +
           "\"\nusername = \"iggy\"\npassword = \"iggy\"\n"
           "[state]\npath = \"{dir}/state\"\n"
           "[connectors]\nconfig_type = \"local\"\nconfig_dir = \"{dir}/connectors\"\n"
           "[http]\nenabled = false\n[logging]\nlevel = \"" +
           std::string(level) + "\"\n";
}

void write_text(const fs::path& p, std::string text, const fs::path& dir) {
    for (std::size_t at; (at = text.find("{dir}")) != std::string::npos;) {
        text.replace(at, 5, dir.string());
    }
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

/// Reads the `"n":<number>` of every complete line appended to events.jsonl and its rotations
/// since the last call, following renames (by inode).
class line_counter {
  public:
    line_counter(fs::path dir, std::uint32_t n) : dir_(std::move(dir)), counts_(n, 0) {}
    void scan() {
        std::error_code ec;
        for (const auto& e : fs::directory_iterator(dir_, ec)) {
            // The sink's file and its rotations (events.jsonl.N) only: not events.jsonl.offsets
            // nor the temporary files it is atomically replaced through.
            const auto name = e.path().filename().string();
            const bool rotated = name.starts_with("events.jsonl.") &&
                                 name.find_first_not_of("0123456789", 13) == std::string::npos;
            if (!e.is_regular_file() || (name != "events.jsonl" && !rotated))
                continue;
            struct stat st {};
            if (::stat(e.path().c_str(), &st) != 0)
                continue;
            auto& consumed = consumed_[st.st_ino];
            if (static_cast<std::uint64_t>(st.st_size) <= consumed)
                continue;
            std::ifstream f(e.path(), std::ios::binary);
            f.seekg(static_cast<std::streamoff>(consumed));
            std::string chunk(static_cast<std::size_t>(st.st_size) - consumed, '\0');
            f.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
            chunk.resize(static_cast<std::size_t>(f.gcount()));
            const auto last_nl = chunk.rfind('\n');
            if (last_nl == std::string::npos)
                continue;
            std::size_t pos = 0;
            while (pos <= last_nl) {
                const auto nl = chunk.find('\n', pos);
                count_line(std::string_view(chunk).substr(pos, nl - pos));
                pos = nl + 1;
            }
            consumed += last_nl + 1;
        }
    }
    std::uint64_t lines() const { return lines_; }
    std::uint64_t distinct() const { return distinct_; }
    std::uint64_t duplicates() const { return lines_ - distinct_; }
    std::uint64_t bad() const { return bad_; }

  private:
    void count_line(std::string_view l) {
        const auto at = l.find("\"n\":");
        if (at == std::string_view::npos) {
            ++bad_;
            return;
        }
        const auto n = std::strtoul(l.data() + at + 4, nullptr, 10);
        if (n >= counts_.size()) {
            ++bad_;
            return;
        }
        ++lines_;
        if (counts_[n]++ == 0)
            ++distinct_;
    }
    fs::path dir_;
    std::vector<std::uint32_t> counts_;
    std::map<ino_t, std::uint64_t> consumed_;
    std::uint64_t lines_ = 0;
    std::uint64_t distinct_ = 0;
    std::uint64_t bad_ = 0;
};

std::size_t count_of(const std::string& s, std::string_view what) {
    std::size_t n = 0;
    for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + what.size()))
        ++n;
    return n;
}

/// Kill points: 10 increasing random counts inside (2%, 95%) of the run.
std::vector<std::uint64_t> kill_points(std::uint64_t seed) {
    return test::kill_points(seed, k_kills, k_messages / 50, k_messages * 95 / 100 + 1);
}

std::uint64_t seed() {
    const char* s = std::getenv("TRIB_CRASH_SEED");
    return s != nullptr ? std::strtoull(s, nullptr, 10) : std::random_device{}();
}

void produce_numbers(std::uint16_t port, const std::string& topic) {
    auto iggy = iggy_client_port::connect(client_for(port));
    ASSERT_TRUE(iggy) << iggy.error().to_string();
    ASSERT_TRUE((*iggy)->ensure_topic("crash", topic, 2));
    auto p = (*iggy)->open_producer(producer_options{"crash", topic, 1000, 1ms});
    ASSERT_TRUE(p);
    for (std::uint32_t first = 0; first < k_messages; first += 5000) {
        auto b = std::make_shared<message_batch>();
        for (std::uint32_t n = first; n < first + 5000; ++n) {
            message m;
            m.payload = b->own("{\"n\":" + std::to_string(n) + "}");
            b->messages.push_back(std::move(m));
        }
        ASSERT_TRUE((*p)->send_sync(b));
    }
    (*p)->close();
}

void topic_to_file_sink(bool idempotent) {
    TRIB_START_PEER(server, serve_spec());
    produce_numbers(server->port(), "in");
    const auto port = server->port();
    auto spec = run_spec([port, idempotent](const fs::path& dir) {
        write_text(dir / "runtime.toml", runtime_toml(port), dir);
        write_text(dir / "connectors" / "file_sink.toml",
                   "type = \"sink\"\nkey = \"out\"\nname = \"file\"\nplugin = \"file\"\n"
                   "[[streams]]\nstream = \"crash\"\ntopics = [\"in\"]\nschema = \"json\"\n"
                   "batch_length = 1000\npoll_interval = \"2ms\"\n"
                   "[plugin_config]\npath = \"{dir}/out/events.jsonl\"\ninclude_metadata = true\n"
                   "max_file_size = \"4MiB\"\nidempotent = " +
                       std::string(idempotent ? "true" : "false") + "\n",
                   dir);
    });
    TRIB_START_PEER(rt, spec);
    line_counter out(rt->dir() / "out", k_messages);
    const auto s = seed();
    const auto points = kill_points(s);
    std::fprintf(stderr, "crash seed %llu, kill points:", static_cast<unsigned long long>(s));
    for (auto p : points)
        std::fprintf(stderr, " %llu", static_cast<unsigned long long>(p));
    std::fprintf(stderr, "\n");
    ASSERT_TRUE(test::kill_rounds(*rt, {.points = points,
                                        .progress =
                                            [&] {
                                                out.scan();
                                                return out.lines();
                                            },
                                        .total = k_messages,
                                        .what = "lines written"}));
    ASSERT_TRUE(wait_until(
        [&] {
            out.scan();
            return out.distinct() == k_messages || !rt->alive();
        },
        300s))
        << out.distinct() << " of " << k_messages << "\n"
        << rt->log();
    ASSERT_TRUE(rt->stop());
    out.scan();
    EXPECT_EQ(out.bad(), 0u);
    EXPECT_EQ(out.distinct(), k_messages);  // at least once
    std::fprintf(stderr,
                 "topic -> file sink (idempotent=%d): %llu lines, %llu duplicates after %d kills\n",
                 idempotent ? 1 : 0, static_cast<unsigned long long>(out.lines()),
                 static_cast<unsigned long long>(out.duplicates()), k_kills);
    ::testing::Test::RecordProperty("duplicates", std::to_string(out.duplicates()));
    if (idempotent) {
        EXPECT_EQ(out.duplicates(), 0u);
    }
}

TEST(crash, topic_to_file_sink_loses_nothing_across_kill9) {
    topic_to_file_sink(false);
}

TEST(crash, topic_to_idempotent_file_sink_has_no_duplicates_across_kill9) {
    topic_to_file_sink(true);
}

TEST(crash, file_source_to_topic_loses_nothing_across_kill9) {
    TRIB_START_PEER(server, serve_spec());
    const auto port = server->port();
    test::temp_dir input("trib-crash-in");
    const auto in = input.path() / "in.jsonl";
    {
        std::ofstream f(in);
        for (std::uint32_t n = 0; n < k_messages; ++n)
            f << "{\"n\":" << n << "}\n";
    }
    auto spec = run_spec([port, in](const fs::path& dir) {
        write_text(dir / "runtime.toml", runtime_toml(port), dir);
        write_text(dir / "connectors" / "tail.toml",
                   "type = \"source\"\nkey = \"tail\"\nname = \"tail\"\nplugin = \"file\"\n"
                   "[[streams]]\nstream = \"crash\"\ntopic = \"lines\"\nschema = \"json\"\n"
                   "batch_length = 1000\nlinger_time = \"2ms\"\n"
                   "[plugin_config]\npath = \"" +
                       in.string() +
                       "\"\npoll_interval = \"5ms\"\n"
                       "max_batch_lines = 1000\n",
                   dir);
    });
    TRIB_START_PEER(rt, spec);
    auto admin = iggy::client::connect(client_for(port));
    ASSERT_TRUE(admin);
    auto topic_count = [&]() -> std::uint64_t {
        auto t =
            (*admin)->get_topic(iggy::identifier::named("crash"), iggy::identifier::named("lines"));
        if (!t || !t->has_value())
            return 0;
        return (*t)->topic.messages_count;
    };
    const auto s = seed();
    std::fprintf(stderr, "crash seed %llu\n", static_cast<unsigned long long>(s));
    ASSERT_TRUE(test::kill_rounds(*rt, {.points = kill_points(s),
                                        .progress = topic_count,
                                        .total = k_messages,
                                        .what = "messages in the topic"}));
    // Done when every line is in the topic; then read it all back.
    iggy::consumer_options co;
    co.client = client_for(port);
    co.stream = iggy::identifier::named("crash");
    co.topic = iggy::identifier::named("lines");
    co.group = "";
    co.consumer_id = iggy::identifier::named("checker");
    co.batch_size = 5000;
    auto c = iggy::consumer_client::create(co);
    ASSERT_TRUE(c) << c.error().to_string();
    std::vector<std::uint32_t> counts(k_messages, 0);
    std::uint64_t lines = 0;
    std::uint64_t distinct = 0;
    std::uint64_t bad = 0;
    ASSERT_TRUE(wait_until(
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
                                       ? k_messages
                                       : std::strtoul(p.c_str() + at + 4, nullptr, 10);
                    if (n >= k_messages) {
                        ++bad;
                        continue;
                    }
                    ++lines;
                    if (counts[n]++ == 0)
                        ++distinct;
                }
            }
            return distinct == k_messages || !rt->alive();
        },
        300s))
        << distinct << " of " << k_messages << "\n"
        << rt->log();
    ASSERT_TRUE(rt->stop());
    EXPECT_EQ(bad, 0u);
    EXPECT_EQ(distinct, k_messages);
    std::fprintf(stderr, "file source -> topic: %llu messages, %llu duplicates after %d kills\n",
                 static_cast<unsigned long long>(lines),
                 static_cast<unsigned long long>(lines - distinct), k_kills);
    ::testing::Test::RecordProperty("duplicates", std::to_string(lines - distinct));
    (void)(*c)->close();
}

// Graceful stops: SIGTERM and SIGINT at 4 random points of the same run. The runtime must exit
// by itself (no SIGKILL from the test) after draining, and since everything written was committed
// before exit, a plain (not idempotent) file sink ends with every message exactly once.
TEST(crash, sigterm_and_sigint_drain_and_commit_so_restarts_write_no_duplicates) {
    TRIB_START_PEER(server, serve_spec());
    produce_numbers(server->port(), "in");
    const auto port = server->port();
    auto spec = run_spec([port](const fs::path& dir) {
        write_text(dir / "runtime.toml", runtime_toml(port, "info"), dir);
        write_text(dir / "connectors" / "file_sink.toml",
                   "type = \"sink\"\nkey = \"out\"\nname = \"file\"\nplugin = \"file\"\n"
                   "[[streams]]\nstream = \"crash\"\ntopics = [\"in\"]\nschema = \"json\"\n"
                   "batch_length = 1000\npoll_interval = \"2ms\"\n"
                   "[plugin_config]\npath = \"{dir}/out/events.jsonl\"\ninclude_metadata = true\n"
                   "max_file_size = \"4MiB\"\n",
                   dir);
    });
    TRIB_START_PEER(rt, spec);
    line_counter out(rt->dir() / "out", k_messages);
    const auto s = seed();
    std::fprintf(stderr, "seed %llu\n", static_cast<unsigned long long>(s));
    auto points = kill_points(s);
    points.resize(4);
    std::uint64_t at_restart = 0;
    int i = 0;
    for (const auto point : points) {
        ASSERT_TRUE(wait_until(
            [&] {
                out.scan();
                return (out.lines() >= point && out.lines() > at_restart) || !rt->alive();
            },
            300s))
            << rt->log();
        ASSERT_TRUE(rt->alive()) << rt->log();
        const int sig = i++ % 2 == 0 ? SIGTERM : SIGINT;
        ASSERT_EQ(::kill(rt->pid(), sig), 0);
        // It must end by itself: the drain deadline (delivery.shutdown_timeout) is well below this.
        ASSERT_TRUE(wait_until([&] { return !rt->alive(); }, 120s))
            << "still running after " << (sig == SIGTERM ? "SIGTERM" : "SIGINT") << "\n"
            << rt->log();
        // The log (appended across restarts) holds one drain and one clean end per stop so far.
        const auto log = rt->log();
        EXPECT_EQ(count_of(log, sig == SIGTERM ? "stopping (SIGTERM)" : "stopping (SIGINT)"),
                  static_cast<std::size_t>((i + 1) / 2))
            << log;
        EXPECT_EQ(count_of(log, " info stopped\n"), static_cast<std::size_t>(i)) << log;
        out.scan();
        std::fprintf(stderr, "  %s at %llu lines written, exited by itself\n",
                     sig == SIGTERM ? "SIGTERM" : "SIGINT",
                     static_cast<unsigned long long>(out.lines()));
        at_restart = out.lines();
        ASSERT_TRUE(rt->restart()) << rt->log();
        if (at_restart >= k_messages) {
            // As in the file-source test: later kill points are below the count, and the sink
            // may have nothing new to write after the restart.
            std::fprintf(stderr, "  (the output passed %llu lines: no more kills)\n",
                         static_cast<unsigned long long>(k_messages));
            break;
        }
    }
    ASSERT_TRUE(wait_until(
        [&] {
            out.scan();
            return out.distinct() == k_messages || !rt->alive();
        },
        300s))
        << out.distinct() << " of " << k_messages << "\n"
        << rt->log();
    ASSERT_TRUE(rt->stop());
    out.scan();
    EXPECT_EQ(out.bad(), 0u);
    EXPECT_EQ(out.distinct(), k_messages);
    EXPECT_EQ(out.duplicates(), 0u);
    std::fprintf(stderr, "graceful stops: %llu lines, %llu duplicates after 4 stops\n",
                 static_cast<unsigned long long>(out.lines()),
                 static_cast<unsigned long long>(out.duplicates()));
}

}  // namespace
}  // namespace trib::runtime
