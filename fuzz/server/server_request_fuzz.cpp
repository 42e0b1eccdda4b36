// Fuzzes the embedded server's request handling on a connection that is already logged in, so
// that the fuzzer reaches every handler (sends with batches, polls, metadata changes, groups,
// offsets, users). Input: byte 0 picks the first frame's operation (even) or NR code (odd) so that
// mutations start from a valid request shape; bytes 1..2 (u16 LE) are the length of that frame's
// body, which follows; whatever remains is cut into frames exactly as the network layer cuts a
// byte stream (256-byte header, size at offset 48, then the body). A later frame whose request
// checksum is set gets it recomputed, so that mutated bodies reach the handlers instead of
// stopping at the checksum check. Invariants: no crash (ASan/UBSan), every reply is a well-formed
// frame whose size field matches its length, and a drop or close is a clean outcome.
// Seeds: fuzz/server/make_corpus.py (frames of the real-server captures).

#include <spdlog/spdlog.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <span>
#include <string>

#include "iggy/wire/codes.h"
#include "iggy/wire/header.h"
#include "iggy/wire/requests.h"
#include "server/broker.h"

namespace {

using namespace trib;
using namespace trib::iggy;

struct fixture {
    std::filesystem::path dir;
    std::unique_ptr<server::broker> brk;
    std::shared_ptr<server::connection_state> conn;
    u128 client{1, 2};
    std::uint64_t session = 0;
    int runs = 0;

    void reset() {
        conn.reset();
        brk.reset();
        std::error_code ec;
        if (!dir.empty())
            std::filesystem::remove_all(dir, ec);
        dir = std::filesystem::temp_directory_path() /
              ("trib-fuzz-server-" + std::to_string(::getpid()));
        std::filesystem::remove_all(dir, ec);
        server::server_options o;
        o.data_dir = dir;
        o.default_root_credentials = true;
        o.fsync = server::fsync_policy::never;
        o.segment_size = 64 * 1024;
        // Fuzzed logins fail often: lockouts would keep the fixture's own login out, and a
        // log line per failure would slow every run.
        o.login_max_failures = 0;
        spdlog::set_level(spdlog::level::off);
        auto b = server::broker::open(o);
        if (!b)
            std::abort();
        brk = std::move(b).value();
        conn = brk->connect("127.0.0.1:1");
        // Log in, then create a stream and a topic so that data-plane requests resolve.
        login_register_request lr;
        lr.username = "iggy";
        lr.password = "iggy";
        request_header h;
        h.client = client;
        server::reply rep;
        bytes frame;
        encode_request_frame(frame, lr, h);
        handle(frame, rep);
        session = conn->session;
        h.session = session;
        h.request = 1;
        encode_request_frame(frame, create_stream_request{"s", {}}, h);
        handle(frame, rep);
        create_topic_request ct;
        ct.stream = identifier::numeric(0);
        ct.partitions_count = 2;
        ct.name = "t";
        h.request = 2;
        encode_request_frame(frame, ct, h);
        handle(frame, rep);
        runs = 0;
    }

    /// A fuzzed LOGOUT unbinds the connection: log in again so that later inputs reach the
    /// authenticated handlers.
    void ensure_logged_in() {
        if (conn->user_id && conn->session != 0)
            return;
        login_register_request lr;
        lr.username = "iggy";
        lr.password = "iggy";
        request_header h;
        h.client = client;
        server::reply rep;
        bytes frame;
        encode_request_frame(frame, lr, h);
        handle(frame, rep);
        session = conn->session;
    }

    void handle(bytes& frame, server::reply& rep) {
        std::span<std::uint8_t> body(frame.data() + header_size, frame.size() - header_size);
        brk->handle(*conn, bytes_view(frame).first(header_size), body, rep);
        check(rep);
    }

    static void check(const server::reply& rep) {
        if (rep.action != server::reply_action::send)
            return;
        std::size_t total = rep.frame.size();
        for (auto t : rep.tail)
            total += t.size();
        if (rep.frame.size() < header_size)
            std::abort();
        auto p = read_frame_prefix(rep.frame);
        if (!p || p->size != total)
            std::abort();
        if (rep.frame[60] == static_cast<std::uint8_t>(frame_command::reply)) {
            if (!reply_header::decode(rep.frame))
                std::abort();
        } else if (rep.frame[60] != static_cast<std::uint8_t>(frame_command::eviction)) {
            std::abort();
        }
    }
};

fixture& fx() {
    static fixture f = [] {
        fixture x;
        x.reset();
        return x;
    }();
    return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto& f = fx();
    // Partition logs and metadata accumulate on disk: start over now and then.
    if (++f.runs > 2000)
        f.reset();
    if (size == 0)
        return 0;
    f.ensure_logged_in();
    // The first byte picks a valid operation/code for the first frame; the fuzzer mutates the rest.
    static constexpr std::uint8_t ops[] = {1,   2,   3,   128, 129, 130, 131, 132, 133, 134,
                                           135, 136, 137, 138, 139, 140, 141, 142, 143, 144,
                                           145, 146, 147, 148, 149, 160, 161, 162};
    static constexpr std::uint32_t nr_codes[] = {1,   10,  12,  13,  20,  21,  22,  31,
                                                 32,  38,  41,  44,  100, 102, 120, 200,
                                                 201, 300, 301, 600, 601, 606, 9999};
    const std::uint8_t selector = data[0];
    std::size_t first_body = size - 1;
    if (size >= 3) {
        first_body = std::min<std::size_t>(data[1] | (std::size_t{data[2]} << 8), size - 3);
        data += 3;
        size -= 3;
    } else {
        ++data;
        --size;
    }
    server::reply rep;
    bool first = true;
    while (first || size > 0) {
        bytes frame;
        if (first) {
            // A valid header around the fuzzer's body.
            request_header h;
            h.client = f.client;
            h.session = f.session;
            h.request = 1000 + static_cast<std::uint64_t>(f.runs);
            const auto n_ops = sizeof(ops) / sizeof(ops[0]);
            if (selector % 2 == 0) {
                h.operation = ops[(selector / 2) % n_ops];
            } else {
                h.operation = static_cast<std::uint8_t>(operation::non_replicated);
                h.code = nr_codes[(selector / 2) % (sizeof(nr_codes) / sizeof(nr_codes[0]))];
            }
            if (h.operation == static_cast<std::uint8_t>(operation::register_session)) {
                h.session = 0;
                h.request = 0;
            }
            const std::size_t body = first_body;
            frame.resize(header_size);
            frame.insert(frame.end(), data, data + body);
            h.size = static_cast<std::uint32_t>(frame.size());
            h.encode(frame.data());
            data += body;
            size -= body;
            first = false;
        } else {
            // Later frames: raw bytes, cut as the network layer would.
            if (size < header_size)
                break;
            frame.assign(data, data + header_size);
            auto p = read_frame_prefix(frame, 1 << 20);
            if (!p || p->command > max_frame_command)
                break;  // the server would close the connection
            const std::size_t body = std::min<std::size_t>(p->body_size, size - header_size);
            frame.insert(frame.end(), data + header_size, data + header_size + body);
            store_u32(frame.data() + 48, static_cast<std::uint32_t>(frame.size()));
            auto rh = request_header::decode(bytes_view(frame).first(header_size));
            if (rh && !rh->request_checksum.is_zero()) {
                rh->request_checksum = body_checksum(bytes_view(frame).subspan(header_size));
                rh->encode(frame.data());
            }
            data += header_size + body;
            size -= header_size + body;
            if (frame[60] != static_cast<std::uint8_t>(frame_command::request))
                continue;
        }
        f.handle(frame, rep);
        if (rep.action == server::reply_action::close)
            break;
    }
    return 0;
}
