// Consumer groups and consumer offsets.

#include "server/handlers/request_ops.h"

#include <spdlog/spdlog.h>

namespace trib::server::handlers {

void persist_offsets(topic& t, bool durable, bool force) {
    std::lock_guard wl(t.offsets_write_mu);
    std::string text;
    std::uint64_t version = 0;
    {
        std::lock_guard l(t.offsets_mu);
        if (!force && t.offsets_version == t.offsets_saved)
            return;
        text = serialize_offsets(t.offsets);
        version = t.offsets_version;
    }
    if (t.deleted.load())
        return;
    auto st =
        write_file_atomic(t.dir / "offsets", text, durable ? file_sync::durable : file_sync::none);
    if (!st) {
        if (!t.deleted.load())
            spdlog::warn("embedded server: writing offsets of topic {} failed: {}", t.name,
                         st.error().message());
        return;
    }
    t.offsets_saved = version;
}

/// An explicit offset store or delete: the offsets file is written with the change first, and
/// the in-memory offsets change only once that write succeeded, so a client is never told OK
/// (nor does a poll see the offset) for a store the next start would not find. `change` edits a
/// map and returns false when it does not apply (a delete of an offset that is not there).
/// Returns not_found for that, or the write's error.
status change_offsets(topic& t, bool durable,
                      const std::function<bool(std::map<offset_key, std::uint64_t>&)>& change) {
    std::lock_guard wl(t.offsets_write_mu);
    std::string text;
    std::uint64_t version = 0;
    {
        std::lock_guard l(t.offsets_mu);
        auto next = t.offsets;
        if (!change(next))
            return fail(errc::not_found, "no such offset");
        if (t.deleted.load()) {
            t.offsets = std::move(next);
            ++t.offsets_version;
            return ok();
        }
        text = serialize_offsets(next);
        version = t.offsets_version;
    }
    TRIB_TRY(
        write_file_atomic(t.dir / "offsets", text, durable ? file_sync::durable : file_sync::none));
    std::lock_guard l(t.offsets_mu);
    (void)change(t.offsets);
    ++t.offsets_version;
    // What was written holds this change and every earlier one, unless a poll's auto-commit
    // changed the map between (then the timer writes it again).
    if (t.offsets_version == version + 1)
        t.offsets_saved = t.offsets_version;
    return ok();
}

void rebalance(consumer_group& g, std::size_t partitions) {
    ++g.generation;
    const std::size_t n = g.members.size();
    for (auto& mb : g.members)
        mb.partitions.clear();
    if (n == 0)
        return;
    // Even, contiguous split in member order (what Iggy 0.9 answered in the captures: 3
    // partitions over 2 members gave [0, 1] and [2]).
    const std::size_t base = partitions / n, extra = partitions % n;
    std::uint32_t next = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::size_t cnt = base + (i < extra ? 1 : 0);
        for (std::size_t k = 0; k < cnt; ++k)
            g.members[i].partitions.push_back(next++);
    }
}

// ---- consumer groups (reads) ----

void request_ops::get_group(bytes_view body) {
    auto r = get_consumer_group_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::shared_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return status_reply(code::stream_id_not_found);
    topic* t = find_topic(*s, r->topic);
    if (!t)
        return status_reply(code::topic_id_not_found);
    if (!who().read_topic(s->id, t->id))
        return status_reply(code::unauthorized);
    consumer_group* g = find_group(*t, r->group);
    if (!g)
        return empty_ok();
    auto d = make_group_details(*t, *g);
    payload_ok([&](writer& w) { d.encode(w); });
}

void request_ops::get_groups(bytes_view body) {
    auto r = get_consumer_groups_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::shared_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return status_reply(code::stream_id_not_found);
    topic* t = find_topic(*s, r->topic);
    if (!t)
        return status_reply(code::topic_id_not_found);
    if (!who().read_topic(s->id, t->id))
        return status_reply(code::unauthorized);
    consumer_groups_reply gr;
    for (const auto& [gid, g] : t->groups)
        gr.groups.push_back(make_group_details(*t, g).group);
    payload_ok([&](writer& w) { gr.encode(w); });
}

void request_ops::sync_group(bytes_view body) {
    auto r = sync_consumer_group_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::shared_lock l(m.mu);
    stream* s = find_stream(r->stream);
    topic* t = s ? find_topic(*s, r->topic) : nullptr;
    consumer_group* g = t ? find_group(*t, r->group) : nullptr;
    group_member* mb = g ? member_of(*g) : nullptr;
    if (!mb)
        return empty_ok();
    sync_consumer_group_reply sr{g->generation, mb->partitions};
    payload_ok([&](writer& w) { sr.encode(w); });
}

// ---- consumer groups (writes) ----

void request_ops::create_group(bytes_view body) {
    auto r = create_consumer_group_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    topic* t = find_topic(*s, r->topic);
    if (!t)
        return result_err(code::topic_id_not_found);
    if (!who().read_topic(s->id, t->id))
        return status_reply(code::unauthorized);
    for (const auto& [gid, g] : t->groups)
        if (g.name == r->name)
            return result_err(code::consumer_group_name_already_exists);
    consumer_group g;
    g.id = t->next_group_id++;
    g.name = r->name;
    auto gid = g.id;
    auto& ref = t->groups[gid] = std::move(g);
    auto st = save_locked();
    if (!st) {
        t->groups.erase(gid);
        return saved_or_error(st, [] {});
    }
    auto d = make_group_details(*t, ref);
    result_ok([&](writer& w) { d.encode(w); });
}

void request_ops::delete_group(bytes_view body) {
    auto r = delete_consumer_group_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    topic* t = find_topic(*s, r->topic);
    if (!t)
        return result_err(code::topic_id_not_found);
    if (!who().read_topic(s->id, t->id))
        return status_reply(code::unauthorized);
    consumer_group* g = find_group(*t, r->group);
    if (!g)
        return result_err(code::consumer_group_id_not_found);
    auto gid = g->id;
    consumer_group removed = std::move(*g);
    t->groups.erase(gid);
    auto st = save_locked();
    if (!st) {
        t->groups.emplace(gid, std::move(removed));
        return saved_or_error(st, [] {});
    }
    {
        std::lock_guard ol(t->offsets_mu);
        std::erase_if(t->offsets,
                      [&](const auto& kv) { return kv.first.kind == 2 && kv.first.key == gid; });
        ++t->offsets_version;
    }
    persist_offsets(*t, opt.fsync == fsync_policy::always || t->settings.offsets_persisted);
    result_ok_empty();
}

void request_ops::join_group(bytes_view body) {
    auto r = join_consumer_group_request::decode(body);
    if (!r)
        return drop();  // Iggy drops a JOIN whose body does not decode
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    topic* t = find_topic(*s, r->topic);
    if (!t)
        return result_err(code::topic_id_not_found);
    if (!who().poll(s->id, t->id))
        return status_reply(code::unauthorized);
    consumer_group* g = find_group(*t, r->group);
    if (!g)
        return result_err(code::consumer_group_id_not_found);
    if (!member_of(*g)) {
        std::uint32_t id = 0;
        for (const auto& mb : g->members) {
            if (mb.id != id)
                break;
            ++id;
        }
        group_member mb;
        mb.id = id;
        mb.conn_id = c.id;
        mb.client = c.client;
        auto pos = std::find_if(g->members.begin(), g->members.end(),
                                [&](const group_member& x) { return x.id > id; });
        g->members.insert(pos, std::move(mb));
        rebalance(*g, t->partitions.size());
    }
    m.commit.fetch_add(1);
    result_ok_empty();
}

void request_ops::leave_group(bytes_view body) {
    auto r = leave_consumer_group_request::decode(body);
    if (!r)
        return drop();  // as JOIN
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    topic* t = find_topic(*s, r->topic);
    if (!t)
        return result_err(code::topic_id_not_found);
    consumer_group* g = find_group(*t, r->group);
    if (!g)
        return result_err(code::consumer_group_id_not_found);
    auto it = std::find_if(g->members.begin(), g->members.end(),
                           [&](const group_member& mb) { return mb.conn_id == c.id; });
    if (it == g->members.end())
        return result_err(code::consumer_group_member_not_found);
    g->members.erase(it);
    rebalance(*g, t->partitions.size());
    m.commit.fetch_add(1);
    result_ok_empty();
}

// ---- consumer offsets ----

void request_ops::get_offset(bytes_view body) {
    auto r = get_consumer_offset_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::shared_ptr<topic> tp;
    std::shared_ptr<partition> part;
    offset_key key;
    {
        std::shared_lock l(m.mu);
        stream* s = find_stream(r->stream);
        auto t = s ? find_topic_ptr(*s, r->topic) : nullptr;
        if (!t)
            return empty_ok();
        if (!who().poll(s->id, t->id))
            return status_reply(code::unauthorized);
        std::uint32_t pid = r->partition.value_or(0);
        if (pid >= t->partitions.size())
            return status_reply(code::partition_not_found);
        if (r->who.kind == consumer::kind_t::group) {
            consumer_group* g = find_group(*t, r->who.id);
            if (!g)
                return empty_ok();
            key = {2, g->id, pid};
        } else {
            key = {1, consumer_key(r->who.id), pid};
        }
        tp = t;
        part = t->partitions[pid];
    }
    std::optional<std::uint64_t> stored;
    {
        std::lock_guard ol(tp->offsets_mu);
        auto it = tp->offsets.find(key);
        if (it != tp->offsets.end())
            stored = it->second;
    }
    if (!stored)
        return empty_ok();
    consumer_offset_info info{part->id, part->log->current_offset(), *stored};
    payload_ok([&](writer& w) { info.encode(w); });
}

std::optional<request_ops::offset_target> request_ops::resolve_offset_write(
    const identifier& stream_id, const identifier& topic_id, std::uint32_t partition_id,
    const consumer& owner) {
    std::shared_lock l(m.mu);
    stream* s = find_stream(stream_id);
    auto t = s ? find_topic_ptr(*s, topic_id) : nullptr;
    if (!t || partition_id >= t->partitions.size()) {
        status_reply(code::resource_not_found);
        return std::nullopt;
    }
    if (!who().poll(s->id, t->id)) {
        status_reply(code::unauthorized);
        return std::nullopt;
    }
    if (owner.kind == consumer::kind_t::group) {
        consumer_group* g = find_group(*t, owner.id);
        group_member* mb = g ? member_of(*g) : nullptr;
        if (!mb || std::find(mb->partitions.begin(), mb->partitions.end(), partition_id) ==
                       mb->partitions.end()) {
            status_reply(code::resource_not_found);
            return std::nullopt;
        }
        return offset_target{t, {2, g->id, partition_id}};
    }
    return offset_target{t, {1, consumer_key(owner.id), partition_id}};
}

void request_ops::write_offset(
    const offset_target& target, std::string_view what,
    const std::function<bool(std::map<offset_key, std::uint64_t>&)>& change) {
    topic& t = *target.t;
    auto st = change_offsets(t, opt.fsync == fsync_policy::always || t.settings.offsets_persisted,
                             change);
    if (!st) {
        if (st.error().code() == errc::not_found)
            return status_reply(code::resource_not_found);
        // Not applied, in memory either: TransientNotAccepted ("nothing was applied, resend").
        spdlog::error("embedded server: {} an offset of topic {} failed: {}", what, t.name,
                      st.error().message());
        return result_err(code::transient_not_accepted);
    }
    result_ok_empty();
}

void request_ops::store_offset(bytes_view body) {
    auto r = store_consumer_offset_request::decode(body);
    if (!r || !r->partition)
        return status_reply(code::resource_not_found);
    auto target = resolve_offset_write(r->stream, r->topic, *r->partition, r->who);
    if (!target)
        return;
    write_offset(*target, "storing", [&](std::map<offset_key, std::uint64_t>& offs) {
        offs[target->key] = r->offset;
        return true;
    });
}

void request_ops::delete_offset(bytes_view body) {
    auto r = delete_consumer_offset_request::decode(body);
    if (!r || !r->partition)
        return status_reply(code::resource_not_found);
    auto target = resolve_offset_write(r->stream, r->topic, *r->partition, r->who);
    if (!target)
        return;
    write_offset(*target, "deleting", [&](std::map<offset_key, std::uint64_t>& offs) {
        return offs.erase(target->key) != 0;
    });
}

}  // namespace trib::server::handlers
