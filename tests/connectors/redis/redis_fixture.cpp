#include "redis_fixture.h"

#include <gtest/gtest.h>

#include <fstream>

namespace trib::test {

peer_spec redis_spec(const redis_options& o) {
    peer_spec s;
    s.name = "redis-server";
    s.program = "redis-server";
    s.args = {"{dir}/redis.conf"};
    s.prepare = [o](const peer& p) {
        std::ofstream conf(p.dir() / "redis.conf");
        conf << "bind 127.0.0.1\nport " << p.port() << "\ndir " << p.dir().string()
             << "\ndaemonize no\nsave \"\"\nprotected-mode no\n"
             << "appendonly " << (o.appendonly ? "yes" : "no") << "\nappendfsync always\n";
        if (!o.requirepass.empty())
            conf << "requirepass " << o.requirepass << "\n";
        for (const auto& [user, pass] : o.users)
            conf << "user " << user << " on >" << pass << " ~* &* +@all\n";
    };
    // Accepting connections is not enough: while it loads the append-only file, Redis answers
    // LOADING. Ready means PING answers PONG (or NOAUTH: a password is set).
    s.ready = [](const peer& p) {
        timeval tv{1, 0};
        redisContext* c = redisConnectWithTimeout("127.0.0.1", p.port(), tv);
        if (c == nullptr)
            return false;
        bool ready = false;
        if (c->err == 0) {
            auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
            if (r != nullptr) {
                std::string t(r->str != nullptr ? r->str : "", r->len);
                ready = t == "PONG" || t.rfind("NOAUTH", 0) == 0;
                freeReplyObject(r);
            }
        }
        redisFree(c);
        return ready;
    };
    return s;
}

redis_client::redis_client(std::uint16_t port, const std::string& password) {
    timeval tv{10, 0};
    c_ = redisConnectWithTimeout("127.0.0.1", port, tv);
    if (c_ == nullptr || c_->err != 0) {
        ADD_FAILURE() << "redis_client: cannot connect to port " << port;
        return;
    }
    redisSetTimeout(c_, tv);
    if (!password.empty()) {
        auto r = cmd({"AUTH", password});
        EXPECT_TRUE(r && r->type != REDIS_REPLY_ERROR);
    }
}

redis_client::~redis_client() {
    if (c_ != nullptr)
        redisFree(c_);
}

redis_client::reply redis_client::cmd(const std::vector<std::string>& argv) {
    if (c_ == nullptr)
        return nullptr;
    std::vector<const char*> p;
    std::vector<std::size_t> n;
    for (const auto& a : argv) {
        p.push_back(a.data());
        n.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(argv.size()), p.data(), n.data()));
    if (r == nullptr)
        ADD_FAILURE() << "redis_client: " << argv.front() << ": " << c_->errstr;
    return reply(r);
}

long long redis_client::integer(const std::vector<std::string>& argv) {
    auto r = cmd(argv);
    return r && r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
}

std::string redis_client::str(const std::vector<std::string>& argv) {
    auto r = cmd(argv);
    if (!r || r->str == nullptr)
        return "";
    return std::string(r->str, r->len);
}

std::vector<std::string> redis_client::strings(const std::vector<std::string>& argv) {
    std::vector<std::string> out;
    auto r = cmd(argv);
    if (!r || r->type != REDIS_REPLY_ARRAY)
        return out;
    for (std::size_t i = 0; i < r->elements; ++i) {
        const redisReply* e = r->element[i];
        out.emplace_back(e->str != nullptr ? std::string(e->str, e->len) : std::string());
    }
    return out;
}

std::size_t redis_client::pipeline(const std::vector<std::vector<std::string>>& cmds) {
    if (c_ == nullptr)
        return cmds.size();
    for (const auto& argv : cmds) {
        std::vector<const char*> p;
        std::vector<std::size_t> n;
        for (const auto& a : argv) {
            p.push_back(a.data());
            n.push_back(a.size());
        }
        redisAppendCommandArgv(c_, static_cast<int>(argv.size()), p.data(), n.data());
    }
    std::size_t errors = 0;
    for (std::size_t i = 0; i < cmds.size(); ++i) {
        void* r = nullptr;
        if (redisGetReply(c_, &r) != REDIS_OK) {
            ADD_FAILURE() << "redis_client: pipeline: " << c_->errstr;
            return cmds.size();
        }
        auto* rep = static_cast<redisReply*>(r);
        if (rep->type == REDIS_REPLY_ERROR)
            ++errors;
        freeReplyObject(rep);
    }
    return errors;
}

}  // namespace trib::test
