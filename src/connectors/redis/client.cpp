#include "connectors/redis/client.h"

#include <poll.h>

#include <cerrno>
#include <optional>

#include "connectors/redis/errors.h"
#include "core/hex.h"
#include "core/parse_number.h"

namespace trib::connectors::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds d) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(d.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((d.count() % 1000) * 1000);
    return tv;
}

}  // namespace

result<endpoint> parse_url(std::string_view url) {
    endpoint ep;
    auto bad = [&](std::string_view why) {
        return fail(errc::invalid_argument, "connection_url: " + std::string(why) +
                                                " (expected redis://[user:password@]host[:port]"
                                                "[/db], rediss://... or unix:///path)");
    };
    std::string_view rest;
    if (url.rfind("redis://", 0) == 0) {
        rest = url.substr(8);
    } else if (url.rfind("rediss://", 0) == 0) {
        rest = url.substr(9);
        ep.tls = true;
    } else if (url.rfind("unix://", 0) == 0 || url.rfind("redis+unix://", 0) == 0) {
        rest = url.substr(url.find("://") + 3);
        auto q = rest.find('?');
        ep.unix_path = std::string(rest.substr(0, q));
        if (ep.unix_path.empty() || ep.unix_path.front() != '/')
            return bad("a unix socket URL needs an absolute path");
        if (q != std::string_view::npos) {
            auto query = rest.substr(q + 1);
            if (query.rfind("db=", 0) != 0)
                return bad("the only query parameter is db=N");
            auto db = parse_i64(query.substr(3));
            if (!db || *db < 0 || *db > 1'000'000)
                return bad("db must be a number >= 0");
            ep.database = static_cast<int>(*db);
        }
        return ep;
    } else {
        return bad("unknown scheme");
    }
    // userinfo@ (the last '@': passwords may hold one, escaped or not)
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        auto info = rest.substr(0, at);
        rest = rest.substr(at + 1);
        auto colon = info.find(':');
        auto user = percent_decode(info.substr(0, colon));
        if (!user)
            return bad("bad percent-escape in the user name");
        ep.username = *user;
        if (colon != std::string_view::npos) {
            auto pw = percent_decode(info.substr(colon + 1));
            if (!pw)
                return bad("bad percent-escape in the password");
            ep.password = *pw;
        }
    }
    auto slash = rest.find('/');
    auto hostport = rest.substr(0, slash);
    if (slash != std::string_view::npos && slash + 1 < rest.size()) {
        auto db = parse_i64(rest.substr(slash + 1));
        if (!db || *db < 0 || *db > 1'000'000)
            return bad("the path must be a database number >= 0");
        ep.database = static_cast<int>(*db);
    }
    if (hostport.empty())
        return bad("no host");
    std::string_view host = hostport;
    if (hostport.front() == '[') {  // [::1]:6379
        auto close = hostport.find(']');
        if (close == std::string_view::npos)
            return bad("unclosed [ in the host");
        host = hostport.substr(1, close - 1);
        hostport = hostport.substr(close + 1);
        if (!hostport.empty() && hostport.front() != ':')
            return bad("junk after ]");
        if (!hostport.empty()) {
            auto p = parse_i64(hostport.substr(1));
            if (!p || *p < 1 || *p > 65535)
                return bad("port out of range");
            ep.port = static_cast<int>(*p);
        }
    } else if (auto colon = hostport.rfind(':'); colon != std::string_view::npos) {
        host = hostport.substr(0, colon);
        auto p = parse_i64(hostport.substr(colon + 1));
        if (!p || *p < 1 || *p > 65535)
            return bad("port out of range");
        ep.port = static_cast<int>(*p);
    }
    if (host.empty())
        return bad("no host");
    ep.host = std::string(host);
    return ep;
}

std::optional<error> reply_error(const redisReply* r, std::string_view context) {
    if (r == nullptr || r->type != REDIS_REPLY_ERROR)
        return std::nullopt;
    return from_reply_error(text_of(r), context);
}

result<std::unique_ptr<connection>> connection::connect(const connection_options& o) {
    if (o.ep.tls)
        return unexpected(error(errc::unimplemented, retry_class::fatal,
                                o.context + ": rediss:// (TLS) needs hiredis_ssl, which the "
                                            "hiredis 0.14 of this build does not have"));
    redisContext* c =
        o.ep.unix_path.empty()
            ? redisConnectWithTimeout(o.ep.host.c_str(), o.ep.port, to_timeval(o.connect_timeout))
            : redisConnectUnixWithTimeout(o.ep.unix_path.c_str(), to_timeval(o.connect_timeout));
    if (c == nullptr)
        return fail(errc::resource_exhausted, o.context + ": cannot allocate a hiredis context");
    const std::string where =
        o.ep.unix_path.empty() ? o.ep.host + ":" + std::to_string(o.ep.port) : o.ep.unix_path;
    if (c->err != 0) {
        error e = from_context_error(c->err, c->errstr, o.context + ": connecting to " + where);
        redisFree(c);
        return unexpected(std::move(e));
    }
    std::unique_ptr<connection> conn(new connection(c, o.context));
    TRIB_TRY(conn->set_timeout(o.command_timeout));
    if (!o.ep.password.empty()) {
        std::vector<std::string_view> auth{"AUTH"};
        if (!o.ep.username.empty())
            auth.push_back(o.ep.username);
        auth.push_back(o.ep.password);
        TRIB_ASSIGN_OR_RETURN(auto r, conn->command(auth));
        if (auto e = reply_error(r.get(), o.context + ": AUTH"))
            return unexpected(*e);
    }
    if (o.ep.database != 0) {
        const std::string db = std::to_string(o.ep.database);
        TRIB_ASSIGN_OR_RETURN(auto r, conn->command({"SELECT", db}));
        if (auto e = reply_error(r.get(), o.context + ": SELECT " + db))
            return unexpected(*e);
    }
    // PING checks the server answers commands (and that no AUTH is missing).
    TRIB_ASSIGN_OR_RETURN(auto r, conn->command({"PING"}));
    if (auto e = reply_error(r.get(), o.context + ": PING " + where))
        return unexpected(*e);
    return conn;
}

connection::~connection() {
    if (c_ != nullptr)
        redisFree(c_);
}

error connection::broken_error() {
    broken_ = true;
    return from_context_error(c_->err, c_->errstr, context_);
}

status connection::set_timeout(std::chrono::milliseconds t) {
    if (redisSetTimeout(c_, to_timeval(t)) != REDIS_OK)
        return unexpected(broken_error());
    return ok();
}

void connection::append(const std::vector<std::string_view>& argv) {
    std::vector<const char*> p;
    std::vector<std::size_t> n;
    p.reserve(argv.size());
    n.reserve(argv.size());
    for (auto a : argv) {
        p.push_back(a.data());
        n.push_back(a.size());
    }
    if (redisAppendCommandArgv(c_, static_cast<int>(argv.size()), p.data(), n.data()) != REDIS_OK)
        broken_ = true;
}

result<reply_ptr> connection::read() {
    if (broken_)
        return unexpected(
            error(errc::unavailable, retry_class::retryable, context_ + ": connection lost"));
    void* r = nullptr;
    if (redisGetReply(c_, &r) != REDIS_OK)
        return unexpected(broken_error());
    return reply_ptr(static_cast<redisReply*>(r));
}

result<reply_ptr> connection::command(const std::vector<std::string_view>& argv) {
    append(argv);
    return read();
}

result<reply_ptr> connection::read_within(std::chrono::milliseconds within) {
    if (broken_)
        return unexpected(
            error(errc::unavailable, retry_class::retryable, context_ + ": connection lost"));
    void* r = nullptr;
    if (redisGetReplyFromReader(c_, &r) != REDIS_OK)
        return unexpected(broken_error());
    if (r != nullptr)
        return reply_ptr(static_cast<redisReply*>(r));
    pollfd pfd{c_->fd, POLLIN, 0};
    int n = ::poll(&pfd, 1, static_cast<int>(within.count()));
    if (n < 0 && errno != EINTR)
        return unexpected(error(errc::io_error, retry_class::retryable, context_ + ": poll"));
    if (n <= 0)
        return reply_ptr{};
    if (redisBufferRead(c_) != REDIS_OK)
        return unexpected(broken_error());
    if (redisGetReplyFromReader(c_, &r) != REDIS_OK)
        return unexpected(broken_error());
    return reply_ptr(static_cast<redisReply*>(r));
}

}  // namespace trib::connectors::redis
