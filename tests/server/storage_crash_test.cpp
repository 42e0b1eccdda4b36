// kill -9 during sustained writes: a forked child appends with fsync=always and reports every
// acknowledged batch on a pipe; the parent kills it at random points, reopens the log and checks
// that every acknowledged batch is there and intact, and that nothing in the log is garbage.
// The same for core/atomic_file: a killed writer leaves the old or the new file, never a mix.

#include <gtest/gtest.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "core/atomic_file.h"
#include "harness/peer.h"
#include "server/storage/partition_log.h"
#include "storage_test_util.h"

namespace trib::server::storage {
namespace {

namespace fs = std::filesystem;

log_options crash_options() {
    log_options o;
    o.partition_id = 3;
    o.segment_size = 256 << 10;  // several rolls per round
    o.fsync = fsync_policy::always;
    o.cache_bytes = 0;
    return o;
}

// The batch with sequence number `seq` is fully determined by it, so the parent can rebuild it.
test::built_batch batch_for(std::uint64_t seq) {
    std::mt19937_64 rng(seq * 2654435761ULL + 17);
    std::uint32_t count = 1 + static_cast<std::uint32_t>(rng() % 40);
    return test::make_batch(seq, count, 1 + rng() % 2000, rng);
}

[[noreturn]] void writer_child(const fs::path& dir, std::uint64_t first_seq, int out_fd) {
    auto log = partition_log::open(dir, crash_options());
    if (!log) {
        std::fprintf(stderr, "child: %s\n", log.error().to_string().c_str());
        ::_exit(3);
    }
    for (std::uint64_t seq = first_seq;; ++seq) {
        auto b = batch_for(seq);
        auto r = (*log)->append(b.data);
        if (!r) {
            std::fprintf(stderr, "child: %s\n", r.error().to_string().c_str());
            ::_exit(4);
        }
        // Acknowledge: one short line, written atomically to the pipe.
        char line[96];
        int n =
            std::snprintf(line, sizeof line, "%llu %llu %u\n", static_cast<unsigned long long>(seq),
                          static_cast<unsigned long long>(r->base_offset), r->message_count);
        if (::write(out_fd, line, static_cast<std::size_t>(n)) != n)
            ::_exit(5);
    }
}

struct ack {
    std::uint64_t base;
    std::uint32_t count;
};

TEST(StorageCrash, KillDuringSustainedWritesLosesNoAcknowledgedBatch) {
    trib::test::temp_dir dir("storage-crash");
    std::map<std::uint64_t, ack> acked;  // seq -> where it was acknowledged
    std::mt19937_64 rng(std::random_device{}());
    const int rounds = 12;
    for (int round = 0; round < rounds; ++round) {
        SCOPED_TRACE(fmt::format("round {}", round));
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const std::uint64_t first_seq = static_cast<std::uint64_t>(round) * 1'000'000;
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            ::close(fds[0]);
            writer_child(dir.path(), first_seq, fds[1]);
        }
        ::close(fds[1]);

        // Let the child acknowledge a random number of batches, then kill it a random moment
        // later (mid-write, mid-fsync or mid-roll).
        const std::size_t kill_after = 1 + rng() % 120;
        std::string buf;
        std::size_t lines = 0;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
        bool killed = false;
        auto consume = [&] {
            std::size_t nl;
            while ((nl = buf.find('\n')) != std::string::npos) {
                std::istringstream in(buf.substr(0, nl));
                std::uint64_t seq, base;
                std::uint32_t count;
                in >> seq >> base >> count;
                acked[seq] = {base, count};
                buf.erase(0, nl + 1);
                ++lines;
            }
        };
        for (;;) {
            if (!killed && lines >= kill_after) {
                std::this_thread::sleep_for(std::chrono::microseconds(rng() % 3000));
                ::kill(pid, SIGKILL);
                killed = true;
            }
            if (std::chrono::steady_clock::now() > deadline && !killed) {
                ::kill(pid, SIGKILL);
                killed = true;
                ADD_FAILURE() << "child made no progress";
            }
            pollfd p{fds[0], POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0)
                continue;
            char tmp[4096];
            ssize_t n = ::read(fds[0], tmp, sizeof tmp);
            if (n <= 0)
                break;  // EOF: the child is gone and the pipe is drained
            buf.append(tmp, static_cast<std::size_t>(n));
            consume();
        }
        ::close(fds[0]);
        int wstatus = 0;
        ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
        ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
            << "child exited on its own with status " << wstatus;
        // A partial last line was never an acknowledgement; drop it.

        auto opened = partition_log::open(dir.path(), crash_options());
        ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
        auto& log = *opened;
        std::uint64_t acked_end = 0;
        for (const auto& [seq, a] : acked)
            acked_end = std::max(acked_end, a.base + a.count);
        ASSERT_GE(log->next_offset(), acked_end) << "acknowledged messages are missing";

        // Every acknowledged batch, by itself, intact.
        for (const auto& [seq, a] : acked) {
            auto expect = batch_for(seq);
            ASSERT_EQ(expect.payloads.size(), a.count);
            test::expected_log exp;
            exp.record(a.base, expect.payloads);
            auto r = log->read(a.base, a.count);
            ASSERT_TRUE(r.has_value());
            ASSERT_EQ(r->message_count, a.count) << "batch " << seq << " at " << a.base;
            exp.check(*r);
        }
        // And the whole log: contiguous offsets, each batch one a child generated (acknowledged
        // or written just before the kill), no garbage.
        auto all = log->read(0, UINT32_MAX);
        ASSERT_TRUE(all.has_value());
        std::uint64_t expect_off = 0;
        for (const auto& b : all->batches) {
            ASSERT_EQ(b.first_offset, expect_off);
            std::uint64_t seq = 0;
            auto st = iggy::for_each_frame(b.data, [&](const iggy::frame_view& f) {
                if (f.offset_delta == 0)
                    seq = std::stoull(std::string(iggy::as_string(f.payload)));
            });
            ASSERT_TRUE(st.has_value());
            auto expect = batch_for(seq);
            test::expected_log exp;
            exp.record(b.base_offset, expect.payloads);
            read_result one;
            one.batches.push_back(b);
            one.message_count = b.message_count;
            exp.check(one);
            if (auto it = acked.find(seq); it != acked.end()) {
                EXPECT_EQ(it->second.base, b.base_offset);
            }
            expect_off += b.message_count;
        }
        EXPECT_EQ(expect_off, log->next_offset());
        if (HasFailure())
            return;
    }
    EXPECT_GT(acked.size(), static_cast<std::size_t>(rounds));
}

TEST(StorageCrash, AtomicFileIsOldOrNewAfterKill) {
    trib::test::temp_dir dir("atomic-crash");
    const fs::path path = dir.path() / "state.json";
    const std::size_t size = 256 << 10;
    ASSERT_TRUE(write_file_atomic(path, std::string(size, 'a')).has_value());
    std::mt19937_64 rng(std::random_device{}());
    for (int round = 0; round < 10; ++round) {
        pid_t pid = ::fork();
        ASSERT_GE(pid, 0);
        if (pid == 0) {
            for (int i = 0;; ++i) {
                char c = static_cast<char>('a' + i % 26);
                if (!write_file_atomic(path, std::string(size, c)))
                    ::_exit(3);
            }
        }
        std::this_thread::sleep_for(std::chrono::microseconds(rng() % 20000));
        ::kill(pid, SIGKILL);
        int wstatus = 0;
        ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
        ASSERT_TRUE(WIFSIGNALED(wstatus));
        auto content = read_file(path);
        ASSERT_TRUE(content.has_value());
        ASSERT_EQ(content->size(), size);
        EXPECT_EQ(content->find_first_not_of((*content)[0]), std::string::npos)
            << "a mix of two versions";
    }
}

TEST(StorageAtomicFile, WriteReadReplace) {
    trib::test::temp_dir dir("atomic");
    const fs::path p = dir.path() / "meta.bin";
    auto missing = read_file(p);
    ASSERT_FALSE(missing.has_value());
    EXPECT_EQ(missing.error().code(), errc::not_found);
    ASSERT_TRUE(write_file_atomic(p, std::string("one\0two", 7)).has_value());
    EXPECT_EQ(*read_file(p), std::string("one\0two", 7));
    ASSERT_TRUE(write_file_atomic(p, "", file_sync::none).has_value());
    EXPECT_EQ(*read_file(p), "");
    std::string big(3 << 20, 'x');
    big[12345] = 'y';
    ASSERT_TRUE(write_file_atomic(p, big).has_value());
    EXPECT_EQ(*read_file(p), big);
    EXPECT_EQ(fs::status(p).permissions() & fs::perms::all,
              fs::perms::owner_read | fs::perms::owner_write);
    // No temporary files left behind.
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir.path())) {
        (void)e;
        ++files;
    }
    EXPECT_EQ(files, 1);
    // A missing directory is an error and creates nothing.
    auto bad = write_file_atomic(dir.path() / "nope" / "x", "data");
    ASSERT_FALSE(bad.has_value());
    EXPECT_FALSE(fs::exists(dir.path() / "nope"));
    ASSERT_TRUE(fsync_directory(dir.path()).has_value());
    EXPECT_FALSE(fsync_directory(dir.path() / "nope").has_value());
}

}  // namespace
}  // namespace trib::server::storage
