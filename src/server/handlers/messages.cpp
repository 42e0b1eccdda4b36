// Messages: send, poll, flush.

#include "server/handlers/request_ops.h"

#include <spdlog/spdlog.h>

namespace trib::server::handlers {

// ---- messages ----

void request_ops::poll(bytes_view body) {
    auto r = poll_messages_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    auto empty_head = [&](std::uint32_t partition_id, std::uint64_t current) {
        payload_ok([&](writer& w) {
            w.u32(partition_id);
            w.u64(current);
            w.u32(0);
        });
    };
    std::shared_ptr<topic> tp;
    std::shared_ptr<partition> part;
    offset_key key;
    {
        std::shared_lock l(m.mu);
        stream* s = find_stream(r->stream);
        if (r->who.kind == consumer::kind_t::group) {
            auto t = s ? find_topic_ptr(*s, r->topic) : nullptr;
            consumer_group* g = t ? find_group(*t, r->who.id) : nullptr;
            group_member* mb = g ? member_of(*g) : nullptr;
            if (!mb)
                return empty_head(resync_partition_id, 0);
            if (!who().poll(s->id, t->id))
                return status_reply(code::unauthorized);
            if (!r->partition)
                return empty_head(0, 0);
            if (std::find(mb->partitions.begin(), mb->partitions.end(), *r->partition) ==
                    mb->partitions.end() ||
                *r->partition >= t->partitions.size())
                return empty_head(resync_partition_id, 0);
            tp = t;
            part = t->partitions[*r->partition];
            key = {2, g->id, *r->partition};
        } else {
            if (!s)
                return status_reply(code::stream_id_not_found);
            auto t = find_topic_ptr(*s, r->topic);
            if (!t)
                return status_reply(code::topic_id_not_found);
            if (!who().poll(s->id, t->id))
                return status_reply(code::unauthorized);
            std::uint32_t pid = r->partition.value_or(0);
            if (pid >= t->partitions.size())
                return status_reply(code::partition_not_found);
            tp = t;
            part = t->partitions[pid];
            key = {1, consumer_key(r->who.id), pid};
        }
    }
    auto& log = *part->log;
    if (r->count == 0)
        return empty_head(part->id, log.current_offset());
    result<storage::read_result> rr = storage::read_result{};
    switch (r->strategy.kind) {
        case polling_strategy::kind_t::offset:
            rr = log.read(r->strategy.value, r->count, k_poll_max_bytes);
            break;
        case polling_strategy::kind_t::timestamp:
            rr = log.read_from_timestamp(r->strategy.value, r->count, k_poll_max_bytes);
            break;
        case polling_strategy::kind_t::first:
            rr = log.read_first(r->count, k_poll_max_bytes);
            break;
        case polling_strategy::kind_t::last:
            rr = log.read_last(r->count, k_poll_max_bytes);
            break;
        case polling_strategy::kind_t::next: {
            std::optional<std::uint64_t> stored;
            {
                std::lock_guard ol(tp->offsets_mu);
                auto it = tp->offsets.find(key);
                if (it != tp->offsets.end())
                    stored = it->second;
            }
            rr = log.read_next(stored, r->count, k_poll_max_bytes);
            break;
        }
    }
    if (!rr) {
        if (!tp->deleted.load())
            spdlog::warn("embedded server: poll of {}/{} failed: {}", tp->name, part->id,
                         rr.error().message());
        return empty_head(part->id, log.current_offset());
    }
    auto& res = *rr;
    if (r->auto_commit && !res.batches.empty()) {
        const auto& last = res.batches.back();
        std::uint64_t last_offset = last.first_offset + last.message_count - 1;
        std::lock_guard ol(tp->offsets_mu);
        tp->offsets[key] = last_offset;
        ++tp->offsets_version;
    }
    begin();
    writer w = wr();
    w.u32(part->id);
    w.u64(res.current_offset);
    w.u32(static_cast<std::uint32_t>(res.message_count));
    for (auto& b : res.batches) {
        out.tail.push_back(b.data);
        out.owners.push_back(b.owner);
    }
    finish(0);
}

void request_ops::flush(bytes_view body) {
    auto r = flush_unsaved_buffer_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::shared_ptr<partition> part;
    {
        std::shared_lock l(m.mu);
        stream* s = find_stream(r->stream);
        topic* t = s ? find_topic(*s, r->topic) : nullptr;
        if (!s)
            return status_reply(code::stream_id_not_found);
        if (!t)
            return status_reply(code::topic_id_not_found);
        if (!who().send(s->id, t->id))
            return status_reply(code::unauthorized);
        if (r->partition_id >= t->partitions.size())
            return status_reply(code::partition_not_found);
        part = t->partitions[r->partition_id];
    }
    // Appends are written at once (there is no unsaved buffer); with fsync the data is synced.
    if (r->fsync) {
        auto st = part->log->sync();
        if (!st)
            return status_reply(code::error);
    }
    empty_ok();
}

void request_ops::send(std::span<std::uint8_t> body) {
    bytes_view b(body.data(), body.size());
    auto r = send_messages_request::decode(b, true);
    if (!r) {
        // A malformed batch (checksums, counts, reserved bytes, trailing bytes) is dropped
        // without a reply, as Iggy 0.9 does (iggy-protocol.md 5.1).
        spdlog::debug("embedded server: dropping send from client {}: {}", c.id,
                      r.error().message());
        return drop();
    }
    std::shared_ptr<topic> tp;
    std::shared_ptr<partition> part;
    std::uint32_t stream_id = 0;
    {
        std::shared_lock l(m.mu);
        stream* s = find_stream(r->stream);
        auto t = s ? find_topic_ptr(*s, r->topic) : nullptr;
        if (!t)
            return status_reply(code::resource_not_found);
        if (!who().send(s->id, t->id))
            return status_reply(code::unauthorized);
        const auto n = t->partitions.size();
        if (n == 0)
            return status_reply(code::resource_not_found);
        std::size_t pid = 0;
        switch (r->part.kind) {
            case partitioning::kind_t::balanced:
                pid = t->round_robin.fetch_add(1, std::memory_order_relaxed) % n;
                break;
            case partitioning::kind_t::partition_id:
                pid = r->part.partition;
                if (pid >= n)
                    return status_reply(code::resource_not_found);
                break;
            case partitioning::kind_t::messages_key:
                pid = XXH32(r->part.key.data(), r->part.key.size(), 0) % n;
                break;
        }
        tp = t;
        part = t->partitions[pid];
        stream_id = s->id;
    }
    const std::size_t off = static_cast<std::size_t>(r->batch.data() - body.data());
    auto batch = body.subspan(off, r->batch.size());
    const auto sync = tp->settings.durability_persisted ? storage::append_sync::durable
                                                        : storage::append_sync::policy;
    auto ar = body_owner ? part->log->append_shared(body_owner, batch, sync, body_owner_bytes)
                         : part->log->append(batch, sync);
    if (!ar) {
        if (tp->deleted.load())
            return status_reply(code::resource_not_found);
        spdlog::error("embedded server: append to {}/{} failed: {}", tp->name, part->id,
                      ar.error().message());
        return status_reply(code::error);
    }
    ctr.messages_appended.fetch_add(ar->message_count, std::memory_order_relaxed);
    if (ar->duplicates > 0) {
        // Dropped without an error, as Iggy does: the producer's retry has succeeded.
        spdlog::debug("embedded server: {}/{}: dropped {} duplicate message(s) from client {}",
                      tp->name, part->id, ar->duplicates, c.id);
    }
    if (ar->message_count == 0) {
        // Nothing new was stored: no offset to report ("accepted, no offsets", section 5.1).
        return payload_ok([&](writer& w) { w.u32(0); });
    }
    payload_ok([&](writer& w) {
        w.u32(1);
        w.u32(stream_id);
        w.u32(tp->id);
        w.u32(part->id);
        w.u64(ar->base_offset);
    });
}

}  // namespace trib::server::handlers
