// Sessions (register/login, logout, clients) and users and personal access tokens.

#include "server/handlers/request_ops.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "server/auth.h"

namespace trib::server::handlers {

namespace {

/// A user name as it may appear in a log line: printable ASCII only, at most 64 bytes (it comes
/// from an unauthenticated peer).
std::string loggable_name(std::string_view name) {
    std::string out;
    for (char ch : name.substr(0, 64)) {
        const auto u = static_cast<unsigned char>(ch);
        if (u >= 0x20 && u < 0x7f && ch != '\'' && ch != '\\')
            out += ch;
        else
            out += fmt::format("\\x{:02x}", u);
    }
    if (name.size() > 64)
        out += "...";
    return out;
}

}  // namespace

void request_ops::do_register(bytes_view body) {
    auto ver = login_protocol_version(body);
    if (!ver) {
        evict(eviction_reason::malformed_login, h.client);
        return;
    }
    const std::uint32_t min_ver = k_protocol;  // 0.11.0: patch 0 of our own version
    if (*ver < min_ver || (*ver >> 10) > (k_protocol >> 10)) {
        evict(eviction_reason::incompatible_protocol, h.client, k_protocol, min_ver);
        return;
    }
    auto lr = decode_login(body);
    if (!lr) {
        evict(eviction_reason::malformed_login, h.client);
        return;
    }
    const auto* pw = std::get_if<login_register_request>(&*lr);
    const std::string peer = limiter_address(c.address);
    const std::string_view attempted = pw ? std::string_view(pw->username) : std::string_view();
    const auto reject = pw ? eviction_reason::invalid_credentials : eviction_reason::invalid_token;
    const auto now = login_limiter::clock::now();
    // Locked out: refused without checking, so that guessing stays slow. The same answer as a
    // wrong password.
    if (auto wait = m.logins->locked(peer, attempted, now)) {
        spdlog::debug("embedded server: login {}from {} refused unchecked: locked out for {} ms",
                      pw ? "of user '" + loggable_name(attempted) + "' " : std::string(), c.address,
                      wait->count());
        evict(reject, h.client);
        return;
    }
    auto failed = [&](std::string_view why) {
        auto lock = m.logins->failed(peer, attempted, now);
        spdlog::warn("embedded server: login {}from {} failed: {}{}",
                     pw ? "of user '" + loggable_name(attempted) + "' "
                        : std::string("with a personal access token "),
                     c.address, why,
                     lock.count() > 0 ? fmt::format("; further attempts refused for {} ms "
                                                    "(repeated failures)",
                                                    lock.count())
                                      : std::string());
        evict(reject, h.client);
    };
    std::uint32_t user_id = 0;
    {
        std::shared_lock l(m.mu);
        if (pw) {
            const user* found = nullptr;
            for (const auto& [id, u] : m.users)
                if (u.username == pw->username)
                    found = &u;
            // Unknown names are checked against a dummy hash: as slow as a known name, so that
            // the answer's timing does not tell which names exist.
            const bool good = auth::verify_password(
                pw->password, found ? std::string_view(found->password_hash) : m.dummy_hash);
            if (!found || !good)
                return failed("invalid credentials");
            if (found->status != 1) {
                spdlog::warn("embedded server: login of user '{}' from {} refused: user inactive",
                             loggable_name(attempted), c.address);
                evict(eviction_reason::user_inactive, h.client);
                return;
            }
            user_id = found->id;
        } else {
            const auto& pat = std::get<login_register_pat_request>(*lr);
            auto digest = auth::token_digest(pat.token);
            const token* found = nullptr;
            for (const auto& t : m.tokens)
                if (t.digest == digest)
                    found = &t;
            if (!found)
                return failed("unknown token");
            if (found->expiry_at != 0 && found->expiry_at <= now_us())
                return failed("token expired");
            auto it = m.users.find(found->user_id);
            if (it == m.users.end())
                return failed("the token's user no longer exists");
            if (it->second.status != 1) {
                spdlog::warn("embedded server: token login from {} refused: user inactive",
                             c.address);
                evict(eviction_reason::user_inactive, h.client);
                return;
            }
            user_id = found->user_id;
        }
    }
    m.logins->succeeded(peer, attempted);
    if (!bound()) {
        std::lock_guard l(m.conn_mu);
        c.client = h.client;
        c.session = m.next_session.fetch_add(1);
        c.user_id = user_id;
        c.watermark = 0;
        c.last_reply.clear();
        c.last_stamp = {};
        c.authenticated = true;
    }
    login_reply lr_out{user_id, c.session, k_protocol, std::string(k_server_version)};
    result_ok([&](writer& w) { lr_out.encode(w); });
}

void request_ops::leave_all_groups_locked() {
    for (auto& [sid, s] : m.streams) {
        for (auto& [tid, t] : s.topics) {
            for (auto& [gid, g] : t->groups) {
                auto it = std::find_if(g.members.begin(), g.members.end(),
                                       [&](const group_member& mb) { return mb.conn_id == c.id; });
                if (it != g.members.end()) {
                    g.members.erase(it);
                    rebalance(g, t->partitions.size());
                }
            }
        }
    }
}

void request_ops::do_logout() {
    if (!bound()) {
        evict(eviction_reason::no_session, {});
        return;
    }
    {
        std::unique_lock l(m.mu);
        leave_all_groups_locked();
    }
    empty_ok();
    std::lock_guard l(m.conn_mu);
    c.session = 0;
    c.user_id.reset();
    c.client = {};
    c.watermark = 0;
    c.last_reply.clear();
    c.authenticated = false;
}

void request_ops::get_me() {
    client_details d;
    {
        std::shared_lock l(m.mu);
        for (auto& [sid, s] : m.streams)
            for (auto& [tid, t] : s.topics)
                for (auto& [gid, g] : t->groups)
                    if (member_of(g))
                        d.groups.push_back({sid, tid, gid});
    }
    d.client = {c.id, c.user_id.value_or(0), c.transport, c.address,
                static_cast<std::uint32_t>(d.groups.size())};
    payload_ok([&](writer& w) { d.encode(w); });
}

void request_ops::get_client(bytes_view body) {
    auto r = get_client_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::shared_lock l(m.mu);
    if (!who().read_servers())
        return status_reply(code::unauthorized);
    std::lock_guard cl(m.conn_mu);
    auto it = m.connections.find(r->client_id);
    if (it == m.connections.end() || it->second->session == 0)
        return empty_ok();
    const connection_state& other = *it->second;
    client_details d;
    for (auto& [sid, s] : m.streams)
        for (auto& [tid, t] : s.topics)
            for (auto& [gid, g] : t->groups)
                for (auto& mb : g.members)
                    if (mb.conn_id == other.id)
                        d.groups.push_back({sid, tid, gid});
    d.client = {other.id, other.user_id.value_or(0), other.transport, other.address,
                static_cast<std::uint32_t>(d.groups.size())};
    payload_ok([&](writer& w) { d.encode(w); });
}

void request_ops::get_clients() {
    std::shared_lock l(m.mu);
    if (!who().read_servers())
        return status_reply(code::unauthorized);
    std::map<std::uint32_t, std::uint32_t> groups_of;
    for (auto& [sid, s] : m.streams)
        for (auto& [tid, t] : s.topics)
            for (auto& [gid, g] : t->groups)
                for (auto& mb : g.members)
                    ++groups_of[mb.conn_id];
    clients_reply r;
    {
        std::lock_guard cl(m.conn_mu);
        for (const auto& [id, cs] : m.connections) {
            if (cs->session == 0)
                continue;
            r.clients.push_back(
                {cs->id, cs->user_id.value_or(0), cs->transport, cs->address, groups_of[cs->id]});
        }
    }
    payload_ok([&](writer& w) { r.encode(w); });
}

// ---- users and tokens (reads) ----

void request_ops::get_user(bytes_view body) {
    auto r = get_user_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::shared_lock l(m.mu);
    user* u = find_user(r->user);
    if (!u)
        return empty_ok();
    if (!who().read_users() && u->id != c.user_id.value_or(UINT32_MAX))
        return status_reply(code::unauthorized);
    auto d = make_user_details(*u);
    payload_ok([&](writer& w) { d.encode(w); });
}

void request_ops::get_users() {
    std::shared_lock l(m.mu);
    if (!who().read_users())
        return status_reply(code::unauthorized);
    users_reply r;
    for (const auto& [id, u] : m.users)
        r.users.push_back({u.id, u.created_at, u.status, u.username, {}});
    payload_ok([&](writer& w) { r.encode(w); });
}

void request_ops::get_pats() {
    std::shared_lock l(m.mu);
    personal_access_tokens_reply r;
    for (const auto& t : m.tokens)
        if (t.user_id == c.user_id.value_or(UINT32_MAX))
            r.tokens.push_back({t.name, t.expiry_at});
    payload_ok([&](writer& w) { r.encode(w); });
}

// ---- users and tokens (writes) ----

void request_ops::create_user(bytes_view body) {
    auto r = create_user_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    if (!who().manage_users())
        return status_reply(code::unauthorized);
    if (!valid_username(r->username))
        return result_err(code::invalid_username);
    if (!valid_password(r->password))
        return result_err(code::invalid_password);
    for (const auto& [id, u] : m.users)
        if (u.username == r->username)
            return result_err(code::user_already_exists);
    auto id = lowest_free(m.users, UINT32_MAX);
    if (!id)
        return result_err(code::users_limit_reached);
    user u;
    u.id = *id;
    u.username = r->username;
    u.password_hash = auth::hash_password(r->password);
    u.status = static_cast<std::uint8_t>(r->status);
    u.created_at = now_us();
    u.perms = r->perms;
    auto& ref = m.users[*id] = std::move(u);
    auto st = save_locked();
    if (!st) {
        m.users.erase(*id);
        return saved_or_error(st, [] {});
    }
    auto d = make_user_details(ref);
    result_ok([&](writer& w) { d.encode(w); });
}

void request_ops::update_user(bytes_view body) {
    auto r = update_user_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    if (!who().manage_users())
        return status_reply(code::unauthorized);
    user* u = find_user(r->user);
    if (!u)
        return result_err(code::resource_not_found);
    if (r->username) {
        if (!valid_username(*r->username))
            return result_err(code::invalid_username);
        for (const auto& [id, other] : m.users)
            if (id != u->id && other.username == *r->username)
                return result_err(code::user_already_exists);
    }
    if (r->username)
        u->username = *r->username;
    if (r->status)
        u->status = static_cast<std::uint8_t>(*r->status);
    saved_or_error(save_locked(), [&] { result_ok_empty(); });
}

void request_ops::delete_user(bytes_view body) {
    auto r = delete_user_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    if (!who().manage_users())
        return status_reply(code::unauthorized);
    user* u = find_user(r->user);
    if (!u)
        return result_err(code::resource_not_found);
    if (u->id == 0 || u->id == c.user_id.value_or(UINT32_MAX))
        return result_err(code::cannot_delete_user);
    auto id = u->id;
    m.users.erase(id);
    std::erase_if(m.tokens, [&](const token& t) { return t.user_id == id; });
    saved_or_error(save_locked(), [&] { result_ok_empty(); });
}

void request_ops::change_password(bytes_view body) {
    auto r = change_password_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    user* u = find_user(r->user);
    if (!u)
        return result_err(code::resource_not_found);
    if (u->id != c.user_id.value_or(UINT32_MAX) && !who().manage_users())
        return status_reply(code::unauthorized);
    if (!auth::verify_password(r->current_password, u->password_hash))
        return result_err(code::invalid_credentials);
    if (!valid_password(r->new_password))
        return result_err(code::invalid_password);
    u->password_hash = auth::hash_password(r->new_password);
    saved_or_error(save_locked(), [&] { result_ok_empty(); });
}

void request_ops::update_permissions(bytes_view body) {
    auto r = update_permissions_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    if (!who().manage_users())
        return status_reply(code::unauthorized);
    user* u = find_user(r->user);
    if (!u)
        return result_err(code::resource_not_found);
    if (u->id == 0)
        return result_err(code::cannot_change_permissions);
    u->perms = r->perms;
    saved_or_error(save_locked(), [&] { result_ok_empty(); });
}

void request_ops::create_pat(bytes_view body) {
    auto r = create_personal_access_token_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    const std::uint32_t uid = c.user_id.value_or(UINT32_MAX);
    if (r->name.size() < 3 || r->name.size() > 30)
        return result_err(code::invalid_personal_access_token_name);
    std::uint32_t count = 0;
    for (const auto& t : m.tokens) {
        if (t.user_id != uid)
            continue;
        ++count;
        if (t.name == r->name)
            return result_err(code::personal_access_token_already_exists);
    }
    if (count >= k_max_tokens_per_user)
        return result_err(code::personal_access_tokens_limit_reached);
    token t;
    t.user_id = uid;
    t.name = r->name;
    auto raw = auth::generate_token();
    t.digest = auth::token_digest(raw);
    const auto now = now_us();
    t.expiry_at = (r->expiry == 0 || r->expiry == UINT64_MAX || r->expiry > UINT64_MAX - now)
                      ? 0
                      : now + r->expiry;
    m.tokens.push_back(std::move(t));
    auto st = save_locked();
    if (!st) {
        m.tokens.pop_back();
        return saved_or_error(st, [] {});
    }
    raw_personal_access_token rt{raw};
    result_ok([&](writer& w) { rt.encode(w); });
}

void request_ops::delete_pat(bytes_view body) {
    auto r = delete_personal_access_token_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    const std::uint32_t uid = c.user_id.value_or(UINT32_MAX);
    auto before = m.tokens.size();
    std::erase_if(m.tokens, [&](const token& t) { return t.user_id == uid && t.name == r->name; });
    if (m.tokens.size() == before)
        return result_err(code::resource_not_found);
    saved_or_error(save_locked(), [&] { result_ok_empty(); });
}

}  // namespace trib::server::handlers
