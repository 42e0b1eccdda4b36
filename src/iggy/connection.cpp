#include "iggy/connection.h"

#include <fmt/format.h>

#include <cstring>
#include <thread>

#include "iggy/wire/responses.h"

namespace trib::iggy {

using clock = std::chrono::steady_clock;

result<connection_options> connection_options_from(std::string_view address) {
    TRIB_ASSIGN_OR_RETURN(auto a, server_address::parse(address));
    connection_options o;
    o.address = a;
    o.tls.enabled = a.tls;
    return o;
}

connection::connection(connection_options options)
    : opts_(std::move(options)), backoff_(opts_.reconnect_base, opts_.reconnect_max) {
    if (opts_.username.empty())
        opts_.username = opts_.address.username.empty() ? "iggy" : opts_.address.username;
    if (opts_.password.empty())
        opts_.password = opts_.address.password.empty() ? "iggy" : opts_.address.password;
    if (opts_.address.tls)
        opts_.tls.enabled = true;
    head_.reserve(header_size + 512);
}

connection::~connection() {
    close();
}

void connection::close() {
    sock_.close();
    spill_.clear();
    session_ = 0;
}

error connection::io_failure(std::string_view what, const error& cause) {
    close();
    if (cause.code() == errc::timeout) {
        return error(errc::timeout, retry_class::retryable,
                     fmt::format("{}: no answer from {} in time", what, opts_.address.to_string()));
    }
    return connection_lost(
        fmt::format("{}: {} ({})", what, cause.message(), opts_.address.to_string()));
}

status connection::open_socket() {
    // One deadline for resolving, connecting and the TLS handshake.
    auto deadline = clock::now() + opts_.connect_timeout;
    auto s = net::stream_socket::connect(opts_.address.host, opts_.address.port, deadline, -1,
                                         opts_.tcp_nodelay);
    if (!s)
        return unexpected(s.error());
    if (opts_.tls.enabled) {
        if (!tls_ctx_) {
            net::ignore_sigpipe_once();
            net::tls_client_config c;
            c.ca_file = opts_.tls.ca_file;
            c.verify = opts_.tls.verify;
            TRIB_ASSIGN_OR_RETURN(tls_ctx_, net::tls_context::create(c));
        }
        const std::string& name = opts_.tls.domain.empty() ? opts_.address.host : opts_.tls.domain;
        auto st = s->start_tls(tls_ctx_, name, opts_.tls.verify, deadline);
        if (!st)
            return unexpected(st.error().wrap("TLS with " + opts_.address.to_string()));
    }
    sock_ = std::move(*s);
    return ok();
}

result<bytes_view> connection::read_reply(std::uint64_t request, std::uint8_t op,
                                          clock::time_point deadline) {
    // The header and a small body usually arrive together: wait, then read whatever is there
    // into the buffer (size kept at its high-water mark, never shrunk: resize() would
    // zero-fill), then the rest of a large reply. Bytes past the frame (a frame the server sent
    // right after, e.g. an eviction) are kept in `spill_` for the next read, since a caller may
    // take `reply_` away (reply_buffer()).
    if (reply_.size() < std::max(min_read_size, spill_.size()))
        reply_.resize(std::max(min_read_size, spill_.size()));
    std::size_t have = spill_.size();
    if (have > 0) {
        std::memcpy(reply_.data(), spill_.data(), have);
        spill_.clear();
    }
    const bool had_spill = have > 0;
    while (have < header_size) {
        auto n = sock_.read_some(reply_.data() + have, reply_.size() - have, deadline, -1,
                                 have == 0 && !had_spill);
        if (!n)
            return unexpected(io_failure("read", n.error()));
        have += *n;
    }
    auto prefix = read_frame_prefix(bytes_view(reply_.data(), header_size));
    if (!prefix) {
        close();
        return unexpected(prefix.error());
    }
    if (reply_.size() < prefix->size)
        reply_.resize(prefix->size);
    if (have < prefix->size) {
        auto st = sock_.read_exact(reply_.data() + have, prefix->size - have, deadline);
        if (!st)
            return unexpected(io_failure("read", st.error()));
    } else if (have > prefix->size) {
        spill_.assign(reply_.begin() + static_cast<std::ptrdiff_t>(prefix->size),
                      reply_.begin() + static_cast<std::ptrdiff_t>(have));
    }
    last_activity_ = clock::now();
    bytes_view frame(reply_.data(), prefix->size);
    auto f = decode_server_frame(frame);
    if (!f) {
        close();
        return unexpected(f.error());
    }
    if (f->kind == frame_command::eviction) {
        close();
        return f->eviction.to_error();
    }
    // The operation is not compared: some replies carry an internal op (CreateTopic answers
    // with 64, CreatePartitions with 65). The request number is echoed; lockstep makes a
    // mismatch impossible unless the stream lost its framing.
    if (f->reply.request != request) {
        close();
        return fail(errc::protocol_error,
                    fmt::format("reply for request {} while waiting for {} (op {})",
                                f->reply.request, request, op));
    }
    return reply_payload(f->reply, f->body);
}

result<bytes_view> connection::exchange(std::span<const iovec> parts, std::uint32_t code) {
    // `head_` holds the header; parts[0] points at it. Transient rejections resend the identical
    // frame (same request number) until the budget is spent.
    const std::uint64_t request = load_u64(head_.data() + 168);
    const std::uint8_t op = head_[176];
    auto budget_end = clock::now() + opts_.transient_retry_budget;
    for (;;) {
        auto deadline = clock::now() + opts_.request_timeout;
        if (auto st = sock_.write_all(parts, deadline); !st)
            return unexpected(io_failure("write", st.error()));
        auto r = read_reply(request, op, deadline);
        if (r)
            return r;
        auto vc = r.error().vendor_code();
        bool transient = vc == code::transient_not_committed || vc == code::transient_not_accepted;
        if (!transient || !connected() ||
            clock::now() + std::chrono::milliseconds(50) > budget_end) {
            return unexpected(std::move(r).error().wrap(command_name(code)));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
}

status connection::login() {
    client_id_ = random_u128();
    session_ = 0;
    counter_ = 1;
    scratch_.clear();
    writer w(scratch_);
    std::uint32_t code;
    if (!opts_.token.empty()) {
        login_register_pat_request l;
        l.token = opts_.token;
        l.encode(w);
        code = cmd::login_register_with_pat;
    } else {
        login_register_request l;
        l.username = opts_.username;
        l.password = opts_.password;
        l.encode(w);
        code = cmd::login_register;
    }
    request_header h;
    h.client = client_id_;
    h.operation = static_cast<std::uint8_t>(operation::register_session);
    h.size = static_cast<std::uint32_t>(header_size + scratch_.size());
    if (opts_.stamp_requests)
        h.request_checksum = body_checksum(scratch_);
    head_.resize(header_size);
    h.encode(head_.data());
    iovec parts[2] = {{head_.data(), header_size}, {scratch_.data(), scratch_.size()}};
    auto payload = exchange(parts, code);
    if (!payload)
        return unexpected(std::move(payload).error());
    auto l = login_reply::decode(*payload);
    if (!l) {
        close();
        return unexpected(l.error());
    }
    session_ = l->session;
    user_id_ = l->user_id;
    server_version_ = l->server_version;
    if (session_ == 0) {
        close();
        return fail(errc::protocol_error, "login: server returned session 0");
    }
    return ok();
}

status connection::connect() {
    close();
    TRIB_TRY(open_socket());
    auto st = login();
    if (!st) {
        close();
        return st;
    }
    ever_connected_ = true;
    last_activity_ = clock::now();
    return ok();
}

status connection::ensure_connected() {
    if (connected())
        return ok();
    const bool was_connected = ever_connected_;
    if (!was_connected || !opts_.reconnect) {
        auto st = connect();
        if (!st || !was_connected)
            return st;
    } else {
        auto give_up = clock::now() + opts_.reconnect_timeout;
        unsigned attempts = 0;
        backoff_.reset();
        for (;;) {
            auto st = connect();
            if (st)
                break;
            ++attempts;
            // Wrong credentials or a refused TLS certificate do not heal by waiting.
            if (st.error().retry() == retry_class::fatal)
                return st;
            if ((opts_.reconnect_attempts && attempts >= opts_.reconnect_attempts) ||
                clock::now() >= give_up) {
                return unexpected(
                    st.error().wrap(fmt::format("reconnect gave up after {} attempts", attempts)));
            }
            auto wait = backoff_.next();
            auto left = give_up - clock::now();
            std::this_thread::sleep_for(std::min<clock::duration>(wait, left));
        }
    }
    ++reconnects_;
    if (on_reconnect) {
        auto st = on_reconnect(*this);
        if (!st)
            return st;
    }
    return ok();
}

result<bytes_view> connection::call(std::uint32_t code, std::span<const bytes_view> body) {
    TRIB_TRY(ensure_connected());
    auto op = operation_for_command(code);
    if (!op)
        return fail(errc::invalid_argument, fmt::format("unknown command code {}", code));
    std::size_t body_size = 0;
    for (auto b : body)
        body_size += b.size();
    if (header_size + body_size > max_frame_size)
        return fail(errc::invalid_argument, "request larger than the 64 MiB frame limit");
    request_header h;
    h.client = client_id_;
    h.session = session_;
    h.operation = static_cast<std::uint8_t>(*op);
    h.size = static_cast<std::uint32_t>(header_size + body_size);
    h.request = counter_;
    if (*op == operation::non_replicated)
        h.code = code;
    // Metadata ops and logout consume a number; partition and NR ops reuse the current one.
    const auto opb = static_cast<std::uint8_t>(*op);
    if (is_metadata_operation(opb) || *op == operation::logout)
        ++counter_;
    if (opts_.stamp_requests && (is_metadata_operation(opb) || *op == operation::logout)) {
        bytes joined;
        for (auto b : body)
            joined.insert(joined.end(), b.begin(), b.end());
        h.request_checksum = body_checksum(joined);
    }
    head_.resize(header_size);
    h.encode(head_.data());
    iovec parts[8];
    std::size_t n = 0;
    parts[n++] = {head_.data(), header_size};
    // More than 7 body parts are joined into one (callers pass one to three).
    if (body.size() <= 7) {
        for (auto b : body) {
            if (!b.empty())
                parts[n++] = {const_cast<std::uint8_t*>(b.data()), b.size()};
        }
    } else {
        for (auto b : body)
            head_.insert(head_.end(), b.begin(), b.end());
        parts[0].iov_base = head_.data();
        parts[0].iov_len = head_.size();
    }
    return exchange(std::span<const iovec>(parts, n), code);
}

status connection::logout() {
    if (!connected())
        return ok();
    auto r = call(logout_request{});
    close();
    if (!r)
        return unexpected(r.error());
    return ok();
}

}  // namespace trib::iggy
