// Streams, topics and partitions: reads and writes.

#include "server/handlers/request_ops.h"

#include <spdlog/spdlog.h>

namespace trib::server::handlers {

storage::log_options log_options_for(const server_options& opt, const topic& t,
                                     std::uint32_t partition_id) {
    storage::log_options lo;
    lo.partition_id = partition_id;
    lo.segment_size = t.settings.segment_size ? t.settings.segment_size : opt.segment_size;
    lo.fsync = opt.fsync;
    lo.fsync_interval = opt.fsync_interval;
    lo.dedup = opt.message_deduplication;
    return lo;
}

// ---- streams and topics (reads) ----

void request_ops::get_stream(bytes_view body) {
    auto r = get_stream_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::shared_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return empty_ok();
    if (!who().read_stream(s->id))
        return status_reply(code::unauthorized);
    stream_details d;
    d.stream = make_stream_info(*s);
    for (const auto& [tid, t] : s->topics)
        d.topics.push_back(make_topic_info(*t));
    payload_ok([&](writer& w) { d.encode(w); });
}

void request_ops::get_streams() {
    std::shared_lock l(m.mu);
    auto a = who();
    streams_reply r;
    for (const auto& [sid, s] : m.streams)
        if (a.read_stream(sid))
            r.streams.push_back(make_stream_info(s));
    payload_ok([&](writer& w) { r.encode(w); });
}

void request_ops::get_topic(bytes_view body) {
    auto r = get_topic_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::shared_lock l(m.mu);
    stream* s = find_stream(r->stream);
    topic* t = s ? find_topic(*s, r->topic) : nullptr;
    if (!t)
        return empty_ok();
    if (!who().read_topic(s->id, t->id))
        return status_reply(code::unauthorized);
    auto d = make_topic_details(*t);
    payload_ok([&](writer& w) { d.encode(w); });
}

void request_ops::get_topics(bytes_view body) {
    auto r = get_topics_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::shared_lock l(m.mu);
    stream* s = find_stream(r->stream);
    topics_reply tr;
    if (s) {
        auto a = who();
        for (const auto& [tid, t] : s->topics)
            if (a.read_topic(s->id, tid))
                tr.topics.push_back(make_topic_info(*t));
    }
    payload_ok([&](writer& w) { tr.encode(w); });
}

// ---- streams (writes) ----

void request_ops::create_stream(bytes_view body) {
    auto r = create_stream_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    if (!who().manage_streams())
        return status_reply(code::unauthorized);
    if (!r->opts.empty())
        return result_err(code::unsupported_option_key);
    for (const auto& [id, s] : m.streams)
        if (s.name == r->name)
            return result_err(code::stream_name_already_exists);
    auto id = lowest_free(m.streams, k_max_streams);
    if (!id)
        return result_err(code::too_many_streams);
    stream s;
    s.id = *id;
    s.name = r->name;
    s.created_at = now_us();
    auto& ref = m.streams[*id] = std::move(s);
    auto st = save_locked();
    if (!st) {
        m.streams.erase(*id);
        return saved_or_error(st, [] {});
    }
    create_stream_reply cr{make_stream_info(ref)};
    result_ok([&](writer& w) { cr.encode(w); });
}

void request_ops::update_stream(bytes_view body) {
    auto r = update_stream_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    if (!who().manage_stream(s->id))
        return status_reply(code::unauthorized);
    if (!r->opts.empty())
        return result_err(code::unsupported_option_key);
    for (const auto& [id, other] : m.streams)
        if (id != s->id && other.name == r->name)
            return result_err(code::stream_name_already_exists);
    s->name = r->name;
    saved_or_error(save_locked(), [&] { result_ok_empty(); });
}

void request_ops::destroy_topic_storage(topic& t) {
    t.deleted = true;
    for (auto& p : t.partitions) {
        auto st = p->log->destroy();
        if (!st)
            spdlog::warn("embedded server: removing partition {} of {}: {}", p->id, t.name,
                         st.error().message());
    }
    std::error_code ec;
    fs::remove_all(t.dir, ec);
}

void request_ops::delete_stream(bytes_view body) {
    auto r = delete_stream_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    if (!who().manage_stream(s->id))
        return status_reply(code::unauthorized);
    stream removed = std::move(*s);
    m.streams.erase(removed.id);
    auto st = save_locked();
    if (!st) {
        auto id = removed.id;
        m.streams.emplace(id, std::move(removed));
        return saved_or_error(st, [] {});
    }
    for (auto& [tid, t] : removed.topics)
        destroy_topic_storage(*t);
    result_ok_empty();
}

namespace {
status purge_topic_data(topic& t) {
    for (auto& p : t.partitions)
        TRIB_TRY(p->log->purge());
    {
        std::lock_guard ol(t.offsets_mu);
        t.offsets.clear();
        ++t.offsets_version;
    }
    persist_offsets(t, true);
    return ok();
}
}  // namespace

void request_ops::purge_stream(bytes_view body) {
    auto r = purge_stream_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    if (!who().manage_stream(s->id))
        return status_reply(code::unauthorized);
    for (auto& [tid, t] : s->topics) {
        auto st = purge_topic_data(*t);
        if (!st) {
            spdlog::error("embedded server: purge of {} failed: {}", t->name, st.error().message());
            return result_err(code::error);
        }
    }
    m.commit.fetch_add(1);
    result_ok_empty();
}

// ---- topics (writes) ----

result<std::shared_ptr<partition>> request_ops::open_partition(topic& t, std::uint32_t id) {
    auto dir = t.dir / std::to_string(id);
    std::error_code ec;
    fs::remove_all(dir, ec);  // leftovers of a deleted partition with the same id
    TRIB_ASSIGN_OR_RETURN(auto log, storage::partition_log::open(dir, log_options_for(opt, t, id)));
    auto p = std::make_shared<partition>();
    p->id = id;
    p->created_at = now_us();
    p->log = std::shared_ptr<storage::partition_log>(std::move(log));
    if (m.flusher)
        m.flusher->add(p->log);
    return p;
}

void request_ops::create_topic(bytes_view body) {
    auto r = create_topic_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    if (!who().manage_topic(s->id, std::nullopt))
        return status_reply(code::unauthorized);
    if (r->partitions_count > k_max_partitions_per_request)
        return result_err(code::too_many_partitions);
    for (const auto& [id, t] : s->topics)
        if (t->name == r->name)
            return result_err(code::topic_name_already_exists);
    topic_settings settings;
    settings.segment_size = opt.segment_size;
    if (auto err = apply_topic_options(r->opts, true, settings))
        return result_err(err);
    auto id = lowest_free(s->topics, k_max_topics);
    if (!id)
        return result_err(code::too_many_topics);
    auto t = std::make_shared<topic>();
    t->id = *id;
    t->stream_id = s->id;
    t->uid = m.next_uid++;
    t->name = r->name;
    t->created_at = now_us();
    t->settings = settings;
    t->explicit_opts = canonical_options(r->opts);
    t->dir = topics_root(opt.data_dir) / std::to_string(t->uid);
    std::error_code ec;
    fs::create_directories(t->dir, ec);
    for (std::uint32_t i = 0; i < r->partitions_count; ++i) {
        auto p = open_partition(*t, i);
        if (!p) {
            spdlog::error("embedded server: creating partition {} of {}: {}", i, r->name,
                          p.error().message());
            destroy_topic_storage(*t);
            return result_err(code::error);
        }
        t->partitions.push_back(std::move(p).value());
    }
    s->topics[*id] = t;
    auto st = save_locked();
    if (!st) {
        s->topics.erase(*id);
        destroy_topic_storage(*t);
        return saved_or_error(st, [] {});
    }
    auto d = make_topic_details(*t);
    // Iggy builds this reply before its partition plane has opened the first segments: the
    // captured reply says 0 segments where GET_TOPIC later says 1.
    for (auto& p : d.partitions)
        p.segments_count = 0;
    // Iggy answers a created topic with its internal op 64 (captured), result-framed.
    result_ok([&](writer& w) { d.encode(w); }, operation::internal_64);
}

void request_ops::update_topic(bytes_view body) {
    auto r = update_topic_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    topic* t = find_topic(*s, r->topic);
    if (!t)
        return result_err(code::topic_id_not_found);
    if (!who().manage_topic(s->id, t->id))
        return status_reply(code::unauthorized);
    for (const auto& [id, other] : s->topics)
        if (id != t->id && other->name == r->name)
            return result_err(code::topic_name_already_exists);
    topic_settings settings = t->settings;
    if (auto err = apply_topic_options(r->opts, false, settings))
        return result_err(err);
    t->settings = settings;
    t->name = r->name;
    for (const auto& o : r->opts) {
        auto it = std::find_if(t->explicit_opts.begin(), t->explicit_opts.end(),
                               [&](const user_header& e) { return e.key == o.key; });
        if (it != t->explicit_opts.end())
            *it = o;
        else
            t->explicit_opts.push_back(o);
    }
    t->explicit_opts = canonical_options(t->explicit_opts);
    saved_or_error(save_locked(), [&] { result_ok_empty(); });
}

void request_ops::delete_topic(bytes_view body) {
    auto r = delete_topic_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    auto t = find_topic_ptr(*s, r->topic);
    if (!t)
        return result_err(code::topic_id_not_found);
    if (!who().manage_topic(s->id, t->id))
        return status_reply(code::unauthorized);
    s->topics.erase(t->id);
    auto st = save_locked();
    if (!st) {
        s->topics[t->id] = t;
        return saved_or_error(st, [] {});
    }
    destroy_topic_storage(*t);
    result_ok_empty();
}

void request_ops::purge_topic(bytes_view body) {
    auto r = purge_topic_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    topic* t = find_topic(*s, r->topic);
    if (!t)
        return result_err(code::topic_id_not_found);
    if (!who().manage_topic(s->id, t->id))
        return status_reply(code::unauthorized);
    auto st = purge_topic_data(*t);
    if (!st) {
        spdlog::error("embedded server: purge of {} failed: {}", t->name, st.error().message());
        return result_err(code::error);
    }
    m.commit.fetch_add(1);
    result_ok_empty();
}

void request_ops::create_partitions(bytes_view body) {
    auto r = create_partitions_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    topic* t = find_topic(*s, r->topic);
    if (!t)
        return result_err(code::topic_id_not_found);
    if (!who().manage_topic(s->id, t->id))
        return status_reply(code::unauthorized);
    if (r->partitions_count == 0 || r->partitions_count > k_max_partitions_per_request)
        return result_err(code::too_many_partitions);
    if (t->partitions.size() + r->partitions_count > k_max_partitions)
        return result_err(code::partition_id_space_exhausted);
    const auto first = static_cast<std::uint32_t>(t->partitions.size());
    for (std::uint32_t i = 0; i < r->partitions_count; ++i) {
        auto p = open_partition(*t, first + i);
        if (!p) {
            spdlog::error("embedded server: creating partition {} of {}: {}", first + i, t->name,
                          p.error().message());
            while (t->partitions.size() > first) {
                (void)t->partitions.back()->log->destroy();
                t->partitions.pop_back();
            }
            return result_err(code::error);
        }
        t->partitions.push_back(std::move(p).value());
    }
    for (auto& [gid, g] : t->groups)
        rebalance(g, t->partitions.size());
    // Iggy answers with its internal op 65 ("CreatePartitions applied"), result-framed.
    saved_or_error(save_locked(), [&] { result_ok_empty(operation::internal_65); });
}

void request_ops::delete_partitions(bytes_view body) {
    auto r = delete_partitions_request::decode(body);
    if (!r)
        return status_reply(code::invalid_command);
    std::unique_lock l(m.mu);
    stream* s = find_stream(r->stream);
    if (!s)
        return result_err(code::stream_id_not_found);
    topic* t = find_topic(*s, r->topic);
    if (!t)
        return result_err(code::topic_id_not_found);
    if (!who().manage_topic(s->id, t->id))
        return status_reply(code::unauthorized);
    if (r->partitions_count == 0 || r->partitions_count > k_max_partitions_per_request)
        return result_err(code::too_many_partitions);
    if (r->partitions_count > t->partitions.size())
        return result_err(code::invalid_partitions_count);
    std::vector<std::shared_ptr<partition>> removed;
    for (std::uint32_t i = 0; i < r->partitions_count; ++i) {
        removed.push_back(t->partitions.back());
        t->partitions.pop_back();
    }
    const auto remaining = static_cast<std::uint32_t>(t->partitions.size());
    for (auto& [gid, g] : t->groups)
        rebalance(g, remaining);
    auto st = save_locked();
    for (auto& p : removed)
        (void)p->log->destroy();
    {
        std::lock_guard ol(t->offsets_mu);
        std::erase_if(t->offsets, [&](const auto& kv) { return kv.first.partition >= remaining; });
        ++t->offsets_version;
    }
    persist_offsets(*t, true);
    saved_or_error(st, [&] { result_ok_empty(); });
}

}  // namespace trib::server::handlers
