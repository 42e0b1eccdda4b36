#pragma once
// A real redis-server (Debian's 7.0) for the Redis connector's tests, on tests/harness/peer.h:
// started on a free loopback port in a temporary folder, append-only file on request (so that a
// restart loses nothing), optionally with a password and an ACL user. `redis_client` is a small
// hiredis client for the tests' own checks (it shares no code with the connector).

#include <hiredis/hiredis.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "harness/peer.h"

namespace trib::test {

struct redis_options {
    bool appendonly = false;
    std::string requirepass;  // the default user's password
    /// ACL users: {name, password}, with every permission on every key.
    std::vector<std::pair<std::string, std::string>> users;
};

peer_spec redis_spec(const redis_options& o = {});

/// A test-side client. Commands abort the test (ADD_FAILURE) on a connection error.
class redis_client {
  public:
    explicit redis_client(std::uint16_t port, const std::string& password = "");
    ~redis_client();
    redis_client(const redis_client&) = delete;
    redis_client& operator=(const redis_client&) = delete;
    bool ok() const { return c_ != nullptr && c_->err == 0; }

    struct reply_deleter {
        void operator()(redisReply* r) const {
            if (r != nullptr)
                freeReplyObject(r);
        }
    };
    using reply = std::unique_ptr<redisReply, reply_deleter>;
    reply cmd(const std::vector<std::string>& argv);
    /// The reply as an integer (0 for a nil or error reply).
    long long integer(const std::vector<std::string>& argv);
    /// A string reply ("" for nil).
    std::string str(const std::vector<std::string>& argv);
    /// The strings of an array reply.
    std::vector<std::string> strings(const std::vector<std::string>& argv);
    /// Pipelined commands; returns how many error replies came back.
    std::size_t pipeline(const std::vector<std::vector<std::string>>& cmds);

  private:
    redisContext* c_ = nullptr;
};

}  // namespace trib::test
