#pragma once
// Private to src/server: what every request handler shares (the per-request `request_ops`, the
// lookups and payload builders, permissions, limits, the offset helpers). One .cpp per area
// defines the handlers, as Redpanda keeps one file per Kafka API:
//   dispatch.cpp        routing of a frame to its handler (register, NR, metadata, partition ops)
//   sessions_users.cpp  login/logout, clients, users and personal access tokens
//   streams_topics.cpp  streams, topics and partitions
//   messages.cpp        send, poll, flush
//   groups_offsets.cpp  consumer groups, consumer offsets (one resolver for store and delete)
//   system.cpp          stats, cluster metadata, option descriptions
// broker.cpp keeps the broker's lifecycle (open, load, connections, sweeps, maintenance).

#include <spdlog/spdlog.h>
#include <xxhash.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/atomic_file.h"
#include "iggy/wire/batch.h"
#include "iggy/wire/codes.h"
#include "iggy/wire/requests.h"
#include "iggy/wire/responses.h"
#include "server/broker.h"
#include "server/model.h"

namespace trib::server::handlers {

using namespace iggy;
namespace fs = std::filesystem;

// The server version and protocol this broker claims (Iggy server 0.9.0, protocol 0.11.0).
constexpr std::string_view k_server_version = "0.9.0";
constexpr std::uint32_t k_server_semver = 9000;
inline const std::uint32_t k_protocol = packed_version(protocol_version::v0_11);

constexpr std::uint32_t k_max_streams = 1u << 20;
constexpr std::uint32_t k_max_topics = 4096;
constexpr std::uint32_t k_max_partitions_per_request = 1000;
constexpr std::uint32_t k_max_partitions = 1'000'000;
constexpr std::uint32_t k_max_tokens_per_user = 100;
// A poll reply stays well under the 64 MiB frame limit (at least one batch is always returned).
constexpr std::size_t k_poll_max_bytes = 16u << 20;

inline std::uint64_t now_us() {
    return now_micros();
}

inline u128 conn_u128(std::uint32_t id) {
    return {id, 0};
}

inline std::uint32_t consumer_key(const identifier& id) {
    if (id.is_numeric())
        return id.number;
    return XXH32(id.name.data(), id.name.size(), 0);
}

template <class Map>
inline std::optional<std::uint32_t> lowest_free(const Map& m, std::uint32_t limit) {
    std::uint32_t want = 0;
    for (const auto& [k, v] : m) {
        if (k != want)
            break;
        ++want;
    }
    if (want >= limit)
        return std::nullopt;
    return want;
}

// ---- permissions (Iggy's Permissioner, simplified to its global and per-stream/topic flags) ----

inline const stream_permissions* stream_perms(const permissions& p, std::uint32_t stream_id) {
    for (const auto& s : p.streams)
        if (s.stream_id == stream_id)
            return &s;
    return nullptr;
}

inline const topic_permissions* topic_perms(const stream_permissions* s, std::uint32_t topic_id) {
    if (!s)
        return nullptr;
    for (const auto& t : s->topics)
        if (t.topic_id == topic_id)
            return &t;
    return nullptr;
}

struct access {
    const user* u = nullptr;
    bool root() const { return u && u->id == 0; }
    const permissions* p() const { return u && u->perms ? &*u->perms : nullptr; }

    bool manage_servers() const { return root() || (p() && p()->manage_servers); }
    bool read_servers() const { return manage_servers() || (p() && p()->read_servers); }
    bool manage_users() const { return root() || (p() && p()->manage_users); }
    bool read_users() const { return manage_users() || (p() && p()->read_users); }
    bool manage_streams() const { return root() || (p() && p()->manage_streams); }
    bool read_streams() const { return manage_streams() || (p() && p()->read_streams); }

    bool manage_stream(std::uint32_t s) const {
        if (manage_streams())
            return true;
        auto* sp = p() ? stream_perms(*p(), s) : nullptr;
        return sp && sp->manage_stream;
    }
    bool read_stream(std::uint32_t s) const {
        if (read_streams() || manage_stream(s))
            return true;
        auto* sp = p() ? stream_perms(*p(), s) : nullptr;
        return sp && sp->read_stream;
    }
    bool manage_topic(std::uint32_t s, std::optional<std::uint32_t> t) const {
        if (manage_stream(s) || (p() && p()->manage_topics))
            return true;
        auto* sp = p() ? stream_perms(*p(), s) : nullptr;
        if (sp && sp->manage_topics)
            return true;
        auto* tp = t ? topic_perms(sp, *t) : nullptr;
        return tp && tp->manage_topic;
    }
    bool read_topic(std::uint32_t s, std::uint32_t t) const {
        if (manage_topic(s, t) || read_stream(s) || (p() && p()->read_topics))
            return true;
        auto* sp = p() ? stream_perms(*p(), s) : nullptr;
        if (sp && sp->read_topics)
            return true;
        auto* tp = topic_perms(sp, t);
        return tp && tp->read_topic;
    }
    bool send(std::uint32_t s, std::uint32_t t) const {
        if (manage_topic(s, t) || (p() && p()->send_messages))
            return true;
        auto* sp = p() ? stream_perms(*p(), s) : nullptr;
        if (sp && sp->send_messages)
            return true;
        auto* tp = topic_perms(sp, t);
        return tp && tp->send_messages;
    }
    bool poll(std::uint32_t s, std::uint32_t t) const {
        if (read_topic(s, t) || (p() && p()->poll_messages))
            return true;
        auto* sp = p() ? stream_perms(*p(), s) : nullptr;
        if (sp && sp->poll_messages)
            return true;
        auto* tp = topic_perms(sp, t);
        return tp && tp->poll_messages;
    }
};

inline bool valid_username(std::string_view s) {
    return s.size() >= 3 && s.size() <= 50;
}
inline bool valid_password(std::string_view s) {
    return s.size() >= 3 && s.size() <= 100;
}

// ---- persistence of offsets and group assignment (groups_offsets.cpp) ----

/// Writes a topic's offsets file when polls' auto-commits changed it since the last write (or
/// always with `force`).
void persist_offsets(topic& t, bool durable, bool force = false);

/// An explicit offset store or delete: the offsets file is written with the change first, and
/// the in-memory offsets change only once that write succeeded, so a client is never told OK
/// (nor does a poll see the offset) for a store the next start would not find. `change` edits a
/// map and returns false when it does not apply (a delete of an offset that is not there).
/// Returns not_found for that, or the write's error.
status change_offsets(topic& t, bool durable,
                      const std::function<bool(std::map<offset_key, std::uint64_t>&)>& change);

/// New generation of `g`: its members' partitions split evenly over `partitions`.
void rebalance(consumer_group& g, std::size_t partitions);

/// The log options of partition `partition_id` of `t` (streams_topics.cpp).
storage::log_options log_options_for(const server_options& opt, const topic& t,
                                     std::uint32_t partition_id);

// ---- one request ----

/// Everything one request's handling needs; a short-lived object per frame.
struct request_ops {
    broker::model& m;
    const server_options& opt;
    broker_counters& ctr;
    connection_state& c;
    const request_header& h;
    reply& out;

    // -- replies --

    void begin() {
        out.clear();
        out.frame.resize(header_size);
    }
    writer wr() { return writer(out.frame); }
    void finish(std::uint32_t status = 0, std::optional<operation> op_override = std::nullopt) {
        reply_header rh = reply_header::for_request(h);
        if (op_override)
            rh.operation = static_cast<std::uint8_t>(*op_override);
        rh.status = status;
        rh.op = c.session;
        rh.commit = m.commit.load(std::memory_order_relaxed);
        std::size_t total = out.frame.size();
        for (const auto& t : out.tail)
            total += t.size();
        rh.size = static_cast<std::uint32_t>(total);
        rh.encode(out.frame.data());
    }
    void status_reply(std::uint32_t code) {
        begin();
        finish(code);
    }
    void empty_ok() {
        begin();
        finish(0);
    }
    template <class F>
    void payload_ok(F&& fill) {
        begin();
        writer w = wr();
        fill(w);
        finish(0);
    }
    template <class F>
    void result_ok(F&& fill, std::optional<operation> op = std::nullopt) {
        begin();
        writer w = wr();
        w.u32(0);
        fill(w);
        finish(0, op);
    }
    void result_ok_empty(std::optional<operation> op = std::nullopt) {
        result_ok([](writer&) {}, op);
    }
    void result_err(std::uint32_t code, std::optional<operation> op = std::nullopt) {
        begin();
        writer w = wr();
        w.u32(1);
        w.u32(0);
        w.u32(code);
        finish(0, op);
    }
    void evict(eviction_reason reason, u128 client, std::uint32_t ver = 0,
               std::uint32_t ver_min = 0) {
        out.clear();
        eviction_header e;
        e.client = client.is_zero() ? conn_u128(c.id) : client;
        e.reason = static_cast<std::uint8_t>(reason);
        e.server_protocol_version = ver;
        e.server_protocol_version_min = ver_min;
        out.frame = encode_eviction(e);
    }
    void drop() {
        out.clear();
        out.action = reply_action::drop;
    }

    bool bound() const { return c.session != 0 && c.user_id.has_value(); }

    // -- model lookups (callers hold m.mu) --

    stream* find_stream(const identifier& id) {
        if (id.is_numeric()) {
            auto it = m.streams.find(id.number);
            return it == m.streams.end() ? nullptr : &it->second;
        }
        for (auto& [k, s] : m.streams)
            if (s.name == id.name)
                return &s;
        return nullptr;
    }
    static topic* find_topic(stream& s, const identifier& id) {
        if (id.is_numeric()) {
            auto it = s.topics.find(id.number);
            return it == s.topics.end() ? nullptr : it->second.get();
        }
        for (auto& [k, t] : s.topics)
            if (t->name == id.name)
                return t.get();
        return nullptr;
    }
    static std::shared_ptr<topic> find_topic_ptr(stream& s, const identifier& id) {
        if (id.is_numeric()) {
            auto it = s.topics.find(id.number);
            return it == s.topics.end() ? nullptr : it->second;
        }
        for (auto& [k, t] : s.topics)
            if (t->name == id.name)
                return t;
        return nullptr;
    }
    static consumer_group* find_group(topic& t, const identifier& id) {
        if (id.is_numeric()) {
            auto it = t.groups.find(id.number);
            return it == t.groups.end() ? nullptr : &it->second;
        }
        for (auto& [k, g] : t.groups)
            if (g.name == id.name)
                return &g;
        return nullptr;
    }
    user* find_user(const identifier& id) {
        if (id.is_numeric()) {
            auto it = m.users.find(id.number);
            return it == m.users.end() ? nullptr : &it->second;
        }
        for (auto& [k, u] : m.users)
            if (u.username == id.name)
                return &u;
        return nullptr;
    }
    access who() {
        access a;
        if (c.user_id) {
            auto it = m.users.find(*c.user_id);
            if (it != m.users.end())
                a.u = &it->second;
        }
        return a;
    }
    group_member* member_of(consumer_group& g) {
        for (auto& mb : g.members)
            if (mb.conn_id == c.id)
                return &mb;
        return nullptr;
    }

    // -- payload builders (callers hold m.mu) --

    static stream_info make_stream_info(const stream& s) {
        stream_info si;
        si.id = s.id;
        si.created_at = s.created_at;
        si.topics_count = static_cast<std::uint32_t>(s.topics.size());
        si.name = s.name;
        for (const auto& [k, t] : s.topics) {
            for (const auto& p : t->partitions) {
                auto st = p->log->stats();
                si.size_bytes += st.size_bytes;
                si.messages_count += st.message_count;
            }
        }
        return si;
    }
    static topic_info make_topic_info(const topic& t) {
        topic_info ti;
        ti.id = t.id;
        ti.created_at = t.created_at;
        ti.partitions_count = static_cast<std::uint32_t>(t.partitions.size());
        ti.message_expiry = t.settings.message_expiry;
        ti.compression = t.settings.compression;
        ti.max_topic_size = t.settings.max_topic_size;
        ti.name = t.name;
        for (const auto& p : t.partitions) {
            auto st = p->log->stats();
            ti.size_bytes += st.size_bytes;
            ti.messages_count += st.message_count;
        }
        ti.explicit_opts = t.explicit_opts;
        ti.derived_opts = derived_topic_options(t.settings, t.explicit_opts);
        return ti;
    }
    static partition_info make_partition_info(const partition& p) {
        partition_info pi;
        auto st = p.log->stats();
        pi.id = p.id;
        pi.created_at = p.created_at;
        pi.segments_count = st.segment_count;
        pi.current_offset = st.current_offset();
        pi.size_bytes = st.size_bytes;
        pi.messages_count = st.message_count;
        return pi;
    }
    static topic_details make_topic_details(const topic& t) {
        topic_details d;
        d.topic = make_topic_info(t);
        for (const auto& p : t.partitions)
            d.partitions.push_back(make_partition_info(*p));
        return d;
    }
    static consumer_group_details make_group_details(const topic& t, const consumer_group& g) {
        consumer_group_details d;
        d.group.id = g.id;
        d.group.partitions_count = static_cast<std::uint32_t>(t.partitions.size());
        d.group.members_count = static_cast<std::uint32_t>(g.members.size());
        d.group.name = g.name;
        for (const auto& mb : g.members)
            d.members.push_back({mb.id, mb.partitions});
        return d;
    }
    static user_details make_user_details(const user& u) {
        user_details d;
        d.user = {u.id, u.created_at, u.status, u.username, {}};
        d.perms = u.perms;
        return d;
    }

    // -- persistence (callers hold m.mu exclusively) --

    status save_locked() {
        m.commit.fetch_add(1, std::memory_order_relaxed);
        return write_file_atomic(metadata_path(opt.data_dir), serialize_metadata(m));
    }

    /// Metadata changes answer a failed save with a result rejection (generic error 1): the
    /// change stays in memory but the client is told it may not survive a restart.
    void saved_or_error(const status& st, const std::function<void()>& on_ok) {
        if (!st) {
            spdlog::error("embedded server: metadata save failed: {}", st.error().message());
            result_err(code::error);
            return;
        }
        on_ok();
    }

    // -- handlers --
    void do_register(bytes_view body);
    void do_logout();
    void do_nr(std::span<std::uint8_t> body);
    void do_metadata(bytes_view body);
    void do_partition_op(std::span<std::uint8_t> body);
    std::shared_ptr<const void> body_owner;
    std::size_t body_owner_bytes = 0;

    void leave_all_groups_locked();

    // NR
    void get_stats();
    void get_cluster_metadata();
    void describe_options(bytes_view body);
    void get_me();
    void get_client(bytes_view body);
    void get_clients();
    void get_user(bytes_view body);
    void get_users();
    void get_pats();
    void poll(bytes_view body);
    void flush(bytes_view body);
    void get_offset(bytes_view body);
    void get_stream(bytes_view body);
    void get_streams();
    void get_topic(bytes_view body);
    void get_topics(bytes_view body);
    void get_group(bytes_view body);
    void get_groups(bytes_view body);
    void sync_group(bytes_view body);

    // metadata
    void create_stream(bytes_view body);
    void update_stream(bytes_view body);
    void delete_stream(bytes_view body);
    void purge_stream(bytes_view body);
    void create_topic(bytes_view body);
    void update_topic(bytes_view body);
    void delete_topic(bytes_view body);
    void purge_topic(bytes_view body);
    void create_partitions(bytes_view body);
    void delete_partitions(bytes_view body);
    void create_group(bytes_view body);
    void delete_group(bytes_view body);
    void join_group(bytes_view body);
    void leave_group(bytes_view body);
    void create_user(bytes_view body);
    void update_user(bytes_view body);
    void delete_user(bytes_view body);
    void change_password(bytes_view body);
    void update_permissions(bytes_view body);
    void create_pat(bytes_view body);
    void delete_pat(bytes_view body);

    // partition plane
    void send(std::span<std::uint8_t> body);
    void store_offset(bytes_view body);
    void delete_offset(bytes_view body);

    /// The topic and key an explicit offset store or delete applies to (one resolver for both).
    struct offset_target {
        std::shared_ptr<topic> t;
        offset_key key;
    };
    /// The partition must exist and, for a group consumer, be assigned to this connection's
    /// member. On failure the reply is written and nullopt returned.
    std::optional<offset_target> resolve_offset_write(const identifier& stream_id,
                                                      const identifier& topic_id,
                                                      std::uint32_t partition_id,
                                                      const consumer& owner);
    /// Applies `change` through change_offsets and replies: OK, ResourceNotFound when the
    /// change does not apply, TransientNotAccepted when the offsets file was not written.
    void write_offset(const offset_target& target, std::string_view what,
                      const std::function<bool(std::map<offset_key, std::uint64_t>&)>& change);

    // helpers
    result<std::shared_ptr<partition>> open_partition(topic& t, std::uint32_t id);
    void destroy_topic_storage(topic& t);
};

}  // namespace trib::server::handlers
