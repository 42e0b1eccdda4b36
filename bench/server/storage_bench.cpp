// Storage benchmark: partition_log append and read throughput for 1 KiB messages, with a raw
// sequential write()/pread() of the same bytes to a plain file as the baseline, measured in the
// same run on the same disk. Prints one JSON object per case.
//
//   storage_bench [--dir DIR] [--seconds S] [--max-mib M]
//
// Each append case runs until M MiB were written or S seconds passed; the baseline writes
// exactly the bytes the log wrote, with the same sync rule (none / every interval / every batch).

#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/bench_util.h"
#include "iggy/wire/batch.h"
#include "server/storage/partition_log.h"

namespace {

using namespace trib::bench;

namespace fs = std::filesystem;
using namespace trib::server::storage;
using clock_type = std::chrono::steady_clock;

constexpr std::size_t message_bytes = 1024;

struct config {
    fs::path dir = fs::temp_directory_path();
    double seconds = 4.0;
    std::uint64_t max_bytes = std::uint64_t{1024} << 20;
};

// Flushes the file system's dirty pages so that each measured phase starts from the same state
// (otherwise the writeback of one phase slows the next one down).
void settle(const fs::path& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::syncfs(fd);
        ::close(fd);
    }
}

double secs(clock_type::duration d) {
    return std::chrono::duration<double>(d).count();
}

struct latencies {
    std::vector<double> us;
    double pct(double p) {
        if (us.empty())
            return 0;
        std::size_t k = static_cast<std::size_t>(p * static_cast<double>(us.size() - 1));
        std::nth_element(us.begin(), us.begin() + static_cast<std::ptrdiff_t>(k), us.end());
        return us[k];
    }
};

// A few distinct batches of `count` 1 KiB messages, reused round-robin (append stamps in place).
std::vector<trib::iggy::bytes> make_batches(std::uint32_t count, int variants) {
    std::vector<trib::iggy::bytes> out;
    std::string payload(message_bytes, 'x');
    for (int v = 0; v < variants; ++v) {
        trib::iggy::batch_builder b;
        for (std::uint32_t i = 0; i < count; ++i) {
            for (std::size_t k = 0; k < 16; ++k)
                payload[k] = static_cast<char>('a' + (v * 7 + i + k) % 26);
            trib::iggy::outgoing_message m{};
            m.payload = trib::iggy::as_bytes(payload);
            b.add(m);
        }
        out.push_back(b.finish());
    }
    return out;
}

struct run_result {
    std::uint64_t batches = 0;
    std::uint64_t bytes = 0;
    double seconds = 0;
    double p50 = 0, p99 = 0;
};

// The baseline: the same bytes appended to a plain file with write(), synced by the same rule.
run_result raw_write(const fs::path& path, const std::vector<trib::iggy::bytes>& batches,
                     std::uint64_t n, fsync_policy policy, std::chrono::milliseconds interval,
                     double max_seconds = 1e9) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::perror("open");
        std::exit(1);
    }
    latencies lat;
    lat.us.reserve(n);
    run_result r;
    auto start = clock_type::now();
    auto last_sync = start;
    std::uint64_t i = 0;
    for (; i < n && secs(clock_type::now() - start) < max_seconds; ++i) {
        const auto& b = batches[i % batches.size()];
        auto t0 = clock_type::now();
        if (::write(fd, b.data(), b.size()) != static_cast<ssize_t>(b.size())) {
            std::perror("write");
            std::exit(1);
        }
        if (policy == fsync_policy::always ||
            (policy == fsync_policy::interval && t0 - last_sync >= interval)) {
            ::fdatasync(fd);
            last_sync = clock_type::now();
        }
        lat.us.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
        r.bytes += b.size();
    }
    r.seconds = secs(clock_type::now() - start);
    r.batches = i;
    r.p50 = lat.pct(0.50);
    r.p99 = lat.pct(0.99);
    ::close(fd);
    return r;
}

void print_line(const std::string& bench, std::uint32_t batch_messages, std::string_view fsync,
                const run_result& r, const run_result& base, const std::string& extra = "") {
    const double msgs = static_cast<double>(r.batches) * batch_messages;
    const double bmsgs = static_cast<double>(base.batches) * batch_messages;
    std::printf(
        "{\"bench\":\"%s\",\"message_bytes\":%zu,\"batch_messages\":%u,\"fsync\":\"%.*s\","
        "\"messages\":%.0f,\"bytes\":%llu,\"seconds\":%.3f,\"msgs_per_s\":%.0f,\"mb_per_s\":%.1f,"
        "\"p50_us\":%.1f,\"p99_us\":%.1f,\"peak_rss_kb\":%ld%s,"
        "\"baseline\":{\"kind\":\"raw %s\",\"msgs_per_s\":%.0f,\"mb_per_s\":%.1f,"
        "\"p50_us\":%.1f,\"p99_us\":%.1f},\"vs_baseline\":%.2f}\n",
        bench.c_str(), message_bytes, batch_messages, static_cast<int>(fsync.size()), fsync.data(),
        msgs, static_cast<unsigned long long>(r.bytes), r.seconds, msgs / r.seconds,
        static_cast<double>(r.bytes) / r.seconds / 1e6, r.p50, r.p99, peak_rss_kb(), extra.c_str(),
        bench == "storage_append" ? "write" : "pread", bmsgs / base.seconds,
        static_cast<double>(base.bytes) / base.seconds / 1e6, base.p50, base.p99,
        (msgs / r.seconds) / (bmsgs / base.seconds));
    std::fflush(stdout);
}

int run(const config& cfg) {
    const fs::path root = cfg.dir / fmt::format("trib-storage-bench-{}", ::getpid());
    fs::create_directories(root);
    const auto interval = std::chrono::milliseconds(200);

    for (std::uint32_t batch_messages : {1000u, 100u}) {
        auto batches = make_batches(batch_messages, 8);
        for (fsync_policy policy :
             {fsync_policy::never, fsync_policy::interval, fsync_policy::always}) {
            const fs::path dir = root / "log";
            fs::remove_all(dir);
            log_options o;
            o.fsync = policy;
            o.fsync_interval = interval;
            o.cache_bytes = std::size_t{4}
                            << 20;  // batches here exceed cache_copy_limit: no copies
            auto opened = partition_log::open(dir, o);
            if (!opened) {
                std::fprintf(stderr, "%s\n", opened.error().to_string().c_str());
                return 1;
            }
            auto log = std::move(opened).value();
            settle(root);
            latencies lat;
            run_result r;
            auto start = clock_type::now();
            while (r.bytes < cfg.max_bytes && secs(clock_type::now() - start) < cfg.seconds) {
                auto& b = batches[r.batches % batches.size()];
                auto t0 = clock_type::now();
                auto a = log->append(b);
                lat.us.push_back(
                    std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
                if (!a) {
                    std::fprintf(stderr, "%s\n", a.error().to_string().c_str());
                    return 1;
                }
                r.bytes += b.size();
                ++r.batches;
            }
            r.seconds = secs(clock_type::now() - start);
            r.p50 = lat.pct(0.50);
            r.p99 = lat.pct(0.99);
            settle(root);
            auto base = raw_write(root / "raw.bin", batches, r.batches, policy, interval);
            print_line("storage_append", batch_messages, to_string(policy), r, base,
                       fmt::format(",\"segments\":{}", log->stats().segment_count));

            if (policy == fsync_policy::never) {
                // Reads of what was just written (page cache warm), `batch_messages` per poll,
                // against pread of the same file in the same chunk sizes.
                log.reset();
                log_options ro;
                ro.cache_bytes = 0;  // the disk path, not the recent-batch cache
                auto open_start = clock_type::now();
                auto reopened = partition_log::open(dir, ro);
                const double open_seconds = secs(clock_type::now() - open_start);
                if (!reopened) {
                    std::fprintf(stderr, "%s\n", reopened.error().to_string().c_str());
                    return 1;
                }
                auto& rlog = *reopened;
                latencies rlat;
                run_result rr;
                const std::uint64_t next = rlog->next_offset();
                auto rstart = clock_type::now();
                for (std::uint64_t off = 0; off < next;) {
                    auto t0 = clock_type::now();
                    auto got = rlog->read(off, batch_messages);
                    rlat.us.push_back(
                        std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
                    if (!got || got->message_count == 0) {
                        std::fprintf(stderr, "read failed at %llu\n",
                                     static_cast<unsigned long long>(off));
                        return 1;
                    }
                    off += got->message_count;
                    rr.bytes += got->size_bytes;
                    ++rr.batches;
                }
                rr.seconds = secs(clock_type::now() - rstart);
                rr.p50 = rlat.pct(0.50);
                rr.p99 = rlat.pct(0.99);

                // Baseline: pread the raw file in the same chunks.
                int fd = ::open((root / "raw.bin").c_str(), O_RDONLY | O_CLOEXEC);
                const std::size_t chunk = batches[0].size();
                std::vector<std::uint8_t> buf(chunk);
                latencies blat;
                run_result br;
                auto bstart = clock_type::now();
                for (std::uint64_t pos = 0; pos < r.bytes; pos += chunk) {
                    auto t0 = clock_type::now();
                    ssize_t n = ::pread(fd, buf.data(), chunk, static_cast<off_t>(pos));
                    blat.us.push_back(
                        std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
                    if (n <= 0)
                        break;
                    br.bytes += static_cast<std::uint64_t>(n);
                    ++br.batches;
                }
                br.seconds = secs(clock_type::now() - bstart);
                br.p50 = blat.pct(0.50);
                br.p99 = blat.pct(0.99);
                ::close(fd);
                // open_seconds: recovery validated every batch of the last segment.
                print_line("storage_read", batch_messages, "n/a", rr, br,
                           fmt::format(",\"open_seconds\":{:.3f}", open_seconds));
            }
        }
    }
    // Several producers on one partition with fsync=always: concurrent appends share one
    // fdatasync (group commit). Baseline: one writer doing write()+fdatasync per batch.
    for (int producers : {4, 16}) {
        const std::uint32_t batch_messages = 100;
        auto batches = make_batches(batch_messages, producers);
        const fs::path dir = root / "log";
        fs::remove_all(dir);
        log_options o;
        o.fsync = fsync_policy::always;
        auto opened = partition_log::open(dir, o);
        if (!opened) {
            std::fprintf(stderr, "%s\n", opened.error().to_string().c_str());
            return 1;
        }
        auto log = std::move(opened).value();
        settle(root);
        std::vector<latencies> lats(static_cast<std::size_t>(producers));
        std::vector<std::uint64_t> counts(static_cast<std::size_t>(producers));
        std::atomic<bool> failed{false};
        auto start = clock_type::now();
        std::vector<std::thread> threads;
        for (int t = 0; t < producers; ++t) {
            threads.emplace_back([&, t] {
                // Each producer owns its batch buffer (append stamps it in place).
                auto buf = batches[static_cast<std::size_t>(t)];
                while (secs(clock_type::now() - start) < cfg.seconds) {
                    auto t0 = clock_type::now();
                    if (!log->append(buf)) {
                        failed = true;
                        return;
                    }
                    lats[static_cast<std::size_t>(t)].us.push_back(
                        std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
                    counts[static_cast<std::size_t>(t)]++;
                }
            });
        }
        for (auto& th : threads)
            th.join();
        if (failed) {
            std::fprintf(stderr, "concurrent append failed\n");
            return 1;
        }
        run_result r;
        r.seconds = secs(clock_type::now() - start);
        latencies all;
        for (std::size_t t = 0; t < lats.size(); ++t) {
            r.batches += counts[t];
            all.us.insert(all.us.end(), lats[t].us.begin(), lats[t].us.end());
        }
        r.bytes = r.batches * batches[0].size();
        r.p50 = all.pct(0.50);
        r.p99 = all.pct(0.99);
        settle(root);
        auto base = raw_write(root / "raw.bin", batches, r.batches, fsync_policy::always,
                              std::chrono::milliseconds(0), cfg.seconds);
        print_line("storage_append", batch_messages, "always", r, base,
                   fmt::format(",\"producers\":{}", producers));
    }
    fs::remove_all(root);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    config cfg;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string a = argv[i];
        if (a == "--dir")
            cfg.dir = argv[i + 1];
        else if (a == "--seconds")
            cfg.seconds = std::atof(argv[i + 1]);
        else if (a == "--max-mib")
            cfg.max_bytes = std::strtoull(argv[i + 1], nullptr, 10) << 20;
        else {
            std::fprintf(stderr, "usage: %s [--dir DIR] [--seconds S] [--max-mib M]\n", argv[0]);
            return 2;
        }
    }
    return run(cfg);
}
