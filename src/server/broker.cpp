// The embedded server's broker: opening the data dir, connections, the heartbeat sweep,
// maintenance, and the entry point of every request (iggy-protocol.md sections 1, 4, 5 and 10).
// The request handlers are in handlers/, one file per area (handlers/request_ops.h).

#include "server/broker.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "core/atomic_file.h"
#include "server/auth.h"
#include "server/handlers/request_ops.h"
#include "server/model.h"

namespace trib::server {

using namespace iggy;
using namespace handlers;
namespace fs = std::filesystem;

// ---- broker ----

broker::broker(const server_options& options) : options_(options), m_(std::make_unique<model>()) {}

broker::~broker() {
    maintenance(true);
}

std::int64_t broker::now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

void broker::set_endpoint(std::string host, std::uint16_t port) {
    m_->host = std::move(host);
    m_->port = port;
}

result<std::unique_ptr<broker>> broker::open(const server_options& options) {
    if (options.data_dir.empty())
        return fail(errc::invalid_argument, "embedded server: data_dir is required");
    std::unique_ptr<broker> b(new broker(options));
    TRIB_TRY(b->load());
    return b;
}

status broker::load() {
    std::error_code ec;
    fs::create_directories(options_.data_dir, ec);
    if (ec)
        return fail(errc::io_error, "embedded server: cannot create data dir " +
                                        options_.data_dir.string() + ": " + ec.message());
    // One process per data dir: a second one would hand out the same offsets and ids.
    auto lock = dir_lock::acquire(options_.data_dir);
    if (!lock)
        return unexpected(lock.error().wrap("embedded server: data dir"));
    lock_ = std::move(*lock);
    fs::create_directories(topics_root(options_.data_dir), ec);
    if (ec)
        return fail(errc::io_error, "embedded server: cannot create " +
                                        topics_root(options_.data_dir).string() + ": " +
                                        ec.message());
    m_->start_time_us = now_us();
    login_limits ll;
    ll.free_failures = options_.login_max_failures;
    ll.max_lockout = options_.login_lockout_max;
    ll.first_lockout = std::min(ll.first_lockout, ll.max_lockout);
    m_->logins = std::make_unique<login_limiter>(ll);
    m_->dummy_hash = auth::hash_password(auth::random_password());
    if (options_.fsync == fsync_policy::interval)
        m_->flusher = std::make_unique<storage::flusher>(options_.fsync_interval);

    auto text = read_file(metadata_path(options_.data_dir));
    bool fresh = false;
    if (!text) {
        if (text.error().code() != errc::not_found)
            return unexpected(text.error().wrap("embedded server"));
        fresh = true;
    } else {
        TRIB_TRY(parse_metadata(*text, *m_));
    }

    // Open every partition log; remove directories of deleted topics and partitions (a crash
    // between the metadata write and the removal leaves them behind).
    std::map<std::uint64_t, topic*> by_uid;
    for (auto& [sid, s] : m_->streams) {
        for (auto& [tid, t] : s.topics) {
            t->dir = topics_root(options_.data_dir) / std::to_string(t->uid);
            by_uid[t->uid] = t.get();
            fs::create_directories(t->dir, ec);
            for (auto& p : t->partitions) {
                auto log = storage::partition_log::open(t->dir / std::to_string(p->id),
                                                        log_options_for(options_, *t, p->id));
                if (!log)
                    return unexpected(log.error().wrap("embedded server: partition " +
                                                       std::to_string(p->id) + " of topic " +
                                                       t->name));
                p->log = std::shared_ptr<storage::partition_log>(std::move(log).value());
                if (m_->flusher)
                    m_->flusher->add(p->log);
            }
            auto off = read_file(t->dir / "offsets");
            if (off) {
                TRIB_TRY(parse_offsets(*off, t->offsets));
            } else if (off.error().code() != errc::not_found) {
                return unexpected(off.error().wrap("embedded server: offsets of " + t->name));
            }
            for (const auto& entry : fs::directory_iterator(t->dir, ec)) {
                if (!entry.is_directory())
                    continue;
                auto name = entry.path().filename().string();
                std::uint32_t id = 0;
                auto r = std::from_chars(name.data(), name.data() + name.size(), id);
                if (r.ec != std::errc() || id >= t->partitions.size())
                    fs::remove_all(entry.path(), ec);
            }
        }
    }
    for (const auto& entry : fs::directory_iterator(topics_root(options_.data_dir), ec)) {
        std::uint64_t uid = 0;
        auto name = entry.path().filename().string();
        auto r = std::from_chars(name.data(), name.data() + name.size(), uid);
        if (r.ec != std::errc() || r.ptr != name.data() + name.size() || !by_uid.count(uid))
            fs::remove_all(entry.path(), ec);
    }

    // The root user.
    if (fresh || m_->users.empty()) {
        std::string username = options_.root_username;
        std::string password = options_.root_password;
        bool generated = false;
        if (options_.default_root_credentials) {
            username = "iggy";
            password = "iggy";
        }
        if (username.empty())
            username = "iggy";
        if (password.empty()) {
            password = auth::random_password();
            generated = true;
        }
        if (!valid_username(username))
            return fail(errc::invalid_argument,
                        "embedded server: root username must be 3..50 bytes");
        if (!valid_password(password))
            return fail(errc::invalid_argument,
                        "embedded server: root password must be 3..100 bytes");
        user root;
        root.id = 0;
        root.username = username;
        root.password_hash = auth::hash_password(password);
        root.created_at = now_us();
        m_->users[0] = root;
        creds_ = {username, password};
        if (generated || options_.default_root_credentials) {
            spdlog::warn("embedded server: root user '{}' created with password '{}'{}", username,
                         password,
                         options_.default_root_credentials ? " (default root credentials)" : "");
        } else {
            spdlog::info("embedded server: root user '{}' created", username);
        }
    } else {
        auto it = m_->users.find(0);
        creds_ = {it != m_->users.end() ? it->second.username : std::string(), {}};
        bool asked = options_.default_root_credentials || !options_.root_password.empty();
        if (asked && it != m_->users.end()) {
            std::string want = options_.default_root_credentials ? "iggy" : options_.root_password;
            if (auth::verify_password(want, it->second.password_hash))
                creds_.password = want;
            else
                spdlog::warn(
                    "embedded server: the data dir already has a root user; its password is "
                    "unchanged (the configured root credentials apply only to a new data dir)");
        }
    }
    m_->commit.store(1);
    auto st = write_file_atomic(metadata_path(options_.data_dir), serialize_metadata(*m_));
    if (!st)
        return unexpected(st.error().wrap("embedded server: writing metadata"));
    return ok();
}

std::shared_ptr<connection_state> broker::connect(std::string address, std::uint8_t transport) {
    auto c = std::make_shared<connection_state>();
    c->id = m_->next_conn_id.fetch_add(1);
    c->address = std::move(address);
    c->transport = transport;
    c->last_activity_ms = now_ms();
    std::lock_guard l(m_->conn_mu);
    m_->connections[c->id] = c.get();
    return c;
}

void broker::disconnect(connection_state& c) {
    {
        std::unique_lock l(m_->mu);
        for (auto& [sid, s] : m_->streams) {
            for (auto& [tid, t] : s.topics) {
                for (auto& [gid, g] : t->groups) {
                    auto it =
                        std::find_if(g.members.begin(), g.members.end(),
                                     [&](const group_member& mb) { return mb.conn_id == c.id; });
                    if (it != g.members.end()) {
                        g.members.erase(it);
                        rebalance(g, t->partitions.size());
                    }
                }
            }
        }
    }
    std::lock_guard l(m_->conn_mu);
    m_->connections.erase(c.id);
}

bool broker::may_block(bytes_view header) const {
    if (header.size() < header_size)
        return false;
    const std::uint8_t op = header[176];
    if (is_metadata_operation(op) || op == static_cast<std::uint8_t>(operation::register_session))
        return true;  // metadata writes fsync; logins hash passwords
    if (is_partition_operation(op))
        return options_.fsync == fsync_policy::always || op != 160;
    return false;
}

std::vector<std::uint32_t> broker::sweep_stale(std::chrono::milliseconds limit) {
    std::vector<std::uint32_t> stale_ids;
    const auto now = now_ms();
    {
        std::unique_lock l(m_->mu);
        std::set<std::uint32_t> members;
        for (auto& [sid, s] : m_->streams)
            for (auto& [tid, t] : s.topics)
                for (auto& [gid, g] : t->groups)
                    for (auto& mb : g.members)
                        members.insert(mb.conn_id);
        {
            std::lock_guard cl(m_->conn_mu);
            for (auto id : members) {
                auto it = m_->connections.find(id);
                if (it == m_->connections.end())
                    continue;
                if (now - it->second->last_activity_ms.load() > limit.count()) {
                    stale_ids.push_back(id);
                    it->second->evict_stale = true;
                }
            }
        }
        if (stale_ids.empty())
            return {};
        for (auto& [sid, s] : m_->streams) {
            for (auto& [tid, t] : s.topics) {
                for (auto& [gid, g] : t->groups) {
                    auto before = g.members.size();
                    std::erase_if(g.members, [&](const group_member& mb) {
                        return std::find(stale_ids.begin(), stale_ids.end(), mb.conn_id) !=
                               stale_ids.end();
                    });
                    if (g.members.size() != before)
                        rebalance(g, t->partitions.size());
                }
            }
        }
    }
    return stale_ids;
}

void broker::maintenance(bool final_flush) {
    std::vector<std::shared_ptr<topic>> topics;
    {
        std::shared_lock l(m_->mu);
        for (auto& [sid, s] : m_->streams)
            for (auto& [tid, t] : s.topics)
                topics.push_back(t);
    }
    const auto now = now_us();
    for (auto& t : topics) {
        persist_offsets(*t, final_flush || options_.fsync == fsync_policy::always);
        if (final_flush)
            continue;
        storage::retention_policy rp;
        rp.message_expiry_us =
            t->settings.message_expiry == UINT64_MAX ? 0 : t->settings.message_expiry;
        std::vector<std::shared_ptr<partition>> parts;
        {
            std::shared_lock l(m_->mu);
            parts = t->partitions;
        }
        rp.max_bytes = storage::partition_share_of_topic_size(
            t->settings.max_topic_size == UINT64_MAX ? 0 : t->settings.max_topic_size,
            static_cast<std::uint32_t>(std::max<std::size_t>(parts.size(), 1)));
        if (rp.message_expiry_us == 0 && rp.max_bytes == 0)
            continue;
        for (auto& p : parts) {
            auto r = p->log->apply_retention(rp, now);
            if (!r && !t->deleted.load())
                spdlog::warn("embedded server: retention of {}/{} failed: {}", t->name, p->id,
                             r.error().message());
        }
    }
    if (final_flush) {
        for (auto& t : topics) {
            std::vector<std::shared_ptr<partition>> parts;
            {
                std::shared_lock l(m_->mu);
                parts = t->partitions;
            }
            for (auto& p : parts)
                (void)p->log->sync();
        }
    }
}

void broker::handle(connection_state& c, bytes_view header, std::span<std::uint8_t> body,
                    reply& out, std::shared_ptr<const void> body_owner,
                    std::size_t body_owner_bytes) {
    out.clear();
    c.last_activity_ms = now_ms();
    counters_.bytes_received.fetch_add(header.size() + body.size(), std::memory_order_relaxed);
    auto hr = request_header::decode(header);
    if (!hr || !hr->validate()) {
        out.action = reply_action::drop;
        return;
    }
    const request_header& h = *hr;
    request_ops o{*m_, options_, counters_, c, h, out, std::move(body_owner), body_owner_bytes};
    if (!h.request_checksum.is_zero() && h.request_checksum != body_checksum(body)) {
        o.status_reply(code::invalid_format);
        return;
    }
    const auto op = h.operation;
    if (op == static_cast<std::uint8_t>(operation::register_session))
        o.do_register(body);
    else if (op == static_cast<std::uint8_t>(operation::logout))
        o.do_logout();
    else if (op == static_cast<std::uint8_t>(operation::non_replicated))
        o.do_nr(body);
    else if (is_metadata_operation(op))
        o.do_metadata(body);
    else if (is_partition_operation(op))
        o.do_partition_op(body);
    else
        o.drop();
    if (out.action == reply_action::send) {
        std::size_t n = out.frame.size();
        for (const auto& t : out.tail)
            n += t.size();
        counters_.bytes_sent.fetch_add(n, std::memory_order_relaxed);
    }
}

}  // namespace trib::server