#pragma once
// A blocking Redis connection on hiredis (its synchronous API): connect, AUTH (password or ACL
// user), SELECT, single commands and pipelines, and replies read with a deadline for pub/sub.
// Not thread-safe: one owner thread per connection (the source keeps a second one for XACK).

#include <hiredis/hiredis.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trib::connectors::redis {

/// Where and how to connect, read from `connection_url` and the separate options.
struct endpoint {
    std::string host = "127.0.0.1";
    int port = 6379;
    std::string unix_path;  // redis+unix:// or unix://: a socket file instead of host:port
    std::string username;   // ACL user (Redis 6+); empty: the default user
    std::string password;
    int database = 0;
    bool tls = false;  // rediss://
};

/// Reads `redis://[[user]:password@]host[:port][/db]`, `rediss://...` and
/// `unix:///path/to.sock[?db=N]`. Percent-escapes in the user and password are decoded.
result<endpoint> parse_url(std::string_view url);

struct connection_options {
    endpoint ep;
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds command_timeout{10000};
    std::string context;  // "redis sink KEY": in front of every error message
};

struct reply_deleter {
    void operator()(redisReply* r) const {
        if (r != nullptr)
            freeReplyObject(r);
    }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

inline std::string_view text_of(const redisReply* r) {
    return r == nullptr || r->str == nullptr ? std::string_view{}
                                             : std::string_view(r->str, r->len);
}

class connection {
  public:
    /// Connects, authenticates and selects the database. Refused credentials are fatal errors;
    /// an unreachable server is retryable.
    static result<std::unique_ptr<connection>> connect(const connection_options& o);
    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    /// Sends one command and reads its reply. An error reply is returned as a reply (type
    /// REDIS_REPLY_ERROR); a broken connection is an error (and broken() turns true).
    result<reply_ptr> command(const std::vector<std::string_view>& argv);
    /// Queues a command in the output buffer (sent by the next read).
    void append(const std::vector<std::string_view>& argv);
    /// Reads the next reply (flushing queued commands first).
    result<reply_ptr> read();
    /// Waits up to `within` for a reply on a subscribed connection; a null reply when none came.
    result<reply_ptr> read_within(std::chrono::milliseconds within);
    /// Sets the socket timeout of blocking reads (a blocking command waits longer than the
    /// command timeout).
    status set_timeout(std::chrono::milliseconds t);
    bool broken() const { return broken_; }
    const std::string& context() const { return context_; }

  private:
    explicit connection(redisContext* c, std::string context)
        : c_(c), context_(std::move(context)) {}
    error broken_error();

    redisContext* c_ = nullptr;
    std::string context_;
    bool broken_ = false;
};

/// An error reply as an error (nullopt for any other reply).
std::optional<error> reply_error(const redisReply* r, std::string_view context);

}  // namespace trib::connectors::redis
