#include "iggy/wire/responses.h"

#include <fmt/format.h>

namespace trib::iggy {

namespace {

status finish(const reader& r, std::string_view what) {
    if (!r.ok())
        return decode_error(what, "truncated");
    if (!r.at_end())
        return decode_error(what, fmt::format("{} trailing bytes", r.remaining()));
    return ok();
}

result<std::string> read_str32(reader& r, std::string_view what) {
    auto n = r.u32();
    if (!r.ok() || n > r.remaining())
        return decode_error(what, "truncated");
    return std::string(as_string(r.raw(n)));
}

// Lists packed to the end of the body: decode until the input is used up.
template <class T, class Fn>
result<std::vector<T>> packed_list(bytes_view body, std::string_view what, Fn decode_one) {
    reader r(body);
    std::vector<T> out;
    while (!r.at_end()) {
        TRIB_ASSIGN_OR_RETURN(auto v, decode_one(r));
        out.push_back(std::move(v));
    }
    TRIB_TRY(finish(r, what));
    return out;
}

// A count read from the wire must fit into what is left (each entry has at least `min_size`
// bytes), so a hostile count cannot make us reserve gigabytes.
bool count_fits(const reader& r, std::uint64_t count, std::size_t min_size) {
    return r.ok() && count <= r.remaining() / min_size;
}

}  // namespace

// ---- login ----

void login_reply::encode(writer& w) const {
    w.u32(user_id);
    w.u64(session);
    w.u32(server_protocol_version);
    w.str8(server_version);
}
result<login_reply> login_reply::decode(bytes_view body) {
    reader r(body);
    login_reply out;
    out.user_id = r.u32();
    out.session = r.u64();
    out.server_protocol_version = r.u32();
    auto n = r.u8();
    out.server_version = std::string(as_string(r.raw(n)));
    TRIB_TRY(finish(r, "login reply"));
    return out;
}

// ---- streams ----

void stream_info::encode(writer& w) const {
    w.u32(id);
    w.u64(created_at);
    w.u32(topics_count);
    w.u64(size_bytes);
    w.u64(messages_count);
    w.str8(name);
    encode_prefixed_options(w, opts);
}
result<stream_info> stream_info::decode(reader& r) {
    stream_info s;
    s.id = r.u32();
    s.created_at = r.u64();
    s.topics_count = r.u32();
    s.size_bytes = r.u64();
    s.messages_count = r.u64();
    TRIB_ASSIGN_OR_RETURN(s.name, decode_name(r, "stream name"));
    TRIB_ASSIGN_OR_RETURN(s.opts, decode_prefixed_options(r));
    return s;
}

void stream_details::encode(writer& w) const {
    stream.encode(w);
    for (const auto& t : topics)
        t.encode(w);
}
result<stream_details> stream_details::decode(bytes_view body) {
    reader r(body);
    stream_details out;
    TRIB_ASSIGN_OR_RETURN(out.stream, stream_info::decode(r));
    if (!count_fits(r, out.stream.topics_count, 58))
        return decode_error("stream details", "topics_count larger than the body");
    for (std::uint32_t i = 0; i < out.stream.topics_count; ++i) {
        TRIB_ASSIGN_OR_RETURN(auto t, topic_info::decode(r));
        out.topics.push_back(std::move(t));
    }
    TRIB_TRY(finish(r, "stream details"));
    return out;
}

void create_stream_reply::encode(writer& w) const {
    stream.encode(w);
}
result<create_stream_reply> create_stream_reply::decode(bytes_view body) {
    reader r(body);
    create_stream_reply out;
    TRIB_ASSIGN_OR_RETURN(out.stream, stream_info::decode(r));
    TRIB_TRY(finish(r, "create stream reply"));
    return out;
}

void streams_reply::encode(writer& w) const {
    for (const auto& s : streams)
        s.encode(w);
}
result<streams_reply> streams_reply::decode(bytes_view body) {
    TRIB_ASSIGN_OR_RETURN(auto list, packed_list<stream_info>(body, "streams", [](reader& r) {
                              return stream_info::decode(r);
                          }));
    return streams_reply{std::move(list)};
}

// ---- topics ----

void topic_info::encode(writer& w) const {
    w.u32(id);
    w.u64(created_at);
    w.u32(partitions_count);
    w.u64(message_expiry);
    w.u8(compression);
    w.u64(max_topic_size);
    w.u64(size_bytes);
    w.u64(messages_count);
    w.str8(name);
    encode_prefixed_options(w, explicit_opts);
    encode_prefixed_options(w, derived_opts);
}
result<topic_info> topic_info::decode(reader& r) {
    topic_info t;
    t.id = r.u32();
    t.created_at = r.u64();
    t.partitions_count = r.u32();
    t.message_expiry = r.u64();
    t.compression = r.u8();
    t.max_topic_size = r.u64();
    t.size_bytes = r.u64();
    t.messages_count = r.u64();
    TRIB_ASSIGN_OR_RETURN(t.name, decode_name(r, "topic name"));
    TRIB_ASSIGN_OR_RETURN(t.explicit_opts, decode_prefixed_options(r));
    TRIB_ASSIGN_OR_RETURN(t.derived_opts, decode_prefixed_options(r));
    return t;
}

void partition_info::encode(writer& w) const {
    w.u32(id);
    w.u64(created_at);
    w.u32(segments_count);
    w.u64(current_offset);
    w.u64(size_bytes);
    w.u64(messages_count);
}
result<partition_info> partition_info::decode(reader& r) {
    partition_info p;
    p.id = r.u32();
    p.created_at = r.u64();
    p.segments_count = r.u32();
    p.current_offset = r.u64();
    p.size_bytes = r.u64();
    p.messages_count = r.u64();
    if (!r.ok())
        return decode_error("partition", "truncated");
    return p;
}

void topic_details::encode(writer& w) const {
    topic.encode(w);
    for (const auto& p : partitions)
        p.encode(w);
}
result<topic_details> topic_details::decode(bytes_view body) {
    reader r(body);
    topic_details out;
    TRIB_ASSIGN_OR_RETURN(out.topic, topic_info::decode(r));
    if (!count_fits(r, out.topic.partitions_count, 40))
        return decode_error("topic details", "partitions_count larger than the body");
    out.partitions.reserve(out.topic.partitions_count);
    for (std::uint32_t i = 0; i < out.topic.partitions_count; ++i) {
        TRIB_ASSIGN_OR_RETURN(auto p, partition_info::decode(r));
        out.partitions.push_back(p);
    }
    TRIB_TRY(finish(r, "topic details"));
    return out;
}

void topics_reply::encode(writer& w) const {
    w.u32(static_cast<std::uint32_t>(topics.size()));
    for (const auto& t : topics)
        t.encode(w);
}
result<topics_reply> topics_reply::decode(bytes_view body) {
    reader r(body);
    auto n = r.u32();
    if (!count_fits(r, n, 58))
        return decode_error("topics", "count larger than the body");
    topics_reply out;
    for (std::uint32_t i = 0; i < n; ++i) {
        TRIB_ASSIGN_OR_RETURN(auto t, topic_info::decode(r));
        out.topics.push_back(std::move(t));
    }
    TRIB_TRY(finish(r, "topics"));
    return out;
}

// ---- consumer groups ----

void consumer_group_info::encode(writer& w) const {
    w.u32(id);
    w.u32(partitions_count);
    w.u32(members_count);
    w.str8(name);
}
result<consumer_group_info> consumer_group_info::decode(reader& r) {
    consumer_group_info g;
    g.id = r.u32();
    g.partitions_count = r.u32();
    g.members_count = r.u32();
    TRIB_ASSIGN_OR_RETURN(g.name, decode_name(r, "consumer group name"));
    return g;
}

namespace {
result<std::vector<std::uint32_t>> read_u32_list(reader& r, std::uint32_t n,
                                                 std::string_view what) {
    if (!count_fits(r, n, 4) && n != 0)
        return decode_error(what, "count larger than the body");
    std::vector<std::uint32_t> out(n);
    for (auto& v : out)
        v = r.u32();
    if (!r.ok())
        return decode_error(what, "truncated");
    return out;
}
}  // namespace

void consumer_group_details::encode(writer& w) const {
    group.encode(w);
    for (const auto& m : members) {
        w.u32(m.id);
        w.u32(static_cast<std::uint32_t>(m.partitions.size()));
        for (auto p : m.partitions)
            w.u32(p);
    }
}
result<consumer_group_details> consumer_group_details::decode(bytes_view body) {
    reader r(body);
    consumer_group_details out;
    TRIB_ASSIGN_OR_RETURN(out.group, consumer_group_info::decode(r));
    if (!count_fits(r, out.group.members_count, 8) && out.group.members_count != 0)
        return decode_error("consumer group", "members_count larger than the body");
    for (std::uint32_t i = 0; i < out.group.members_count; ++i) {
        consumer_group_member m;
        m.id = r.u32();
        auto n = r.u32();
        TRIB_ASSIGN_OR_RETURN(m.partitions, read_u32_list(r, n, "consumer group member"));
        out.members.push_back(std::move(m));
    }
    TRIB_TRY(finish(r, "consumer group"));
    return out;
}

void consumer_groups_reply::encode(writer& w) const {
    for (const auto& g : groups)
        g.encode(w);
}
result<consumer_groups_reply> consumer_groups_reply::decode(bytes_view body) {
    TRIB_ASSIGN_OR_RETURN(auto list,
                          packed_list<consumer_group_info>(body, "consumer groups", [](reader& r) {
                              return consumer_group_info::decode(r);
                          }));
    return consumer_groups_reply{std::move(list)};
}

void sync_consumer_group_reply::encode(writer& w) const {
    w.u64(generation);
    w.u32(static_cast<std::uint32_t>(partitions.size()));
    for (auto p : partitions)
        w.u32(p);
}
result<sync_consumer_group_reply> sync_consumer_group_reply::decode(bytes_view body) {
    reader r(body);
    sync_consumer_group_reply out;
    out.generation = r.u64();
    auto n = r.u32();
    TRIB_ASSIGN_OR_RETURN(out.partitions, read_u32_list(r, n, "sync consumer group"));
    TRIB_TRY(finish(r, "sync consumer group"));
    return out;
}

void consumer_offset_info::encode(writer& w) const {
    w.u32(partition_id);
    w.u64(current_offset);
    w.u64(stored_offset);
}
result<consumer_offset_info> consumer_offset_info::decode(bytes_view body) {
    reader r(body);
    consumer_offset_info out;
    out.partition_id = r.u32();
    out.current_offset = r.u64();
    out.stored_offset = r.u64();
    TRIB_TRY(finish(r, "consumer offset"));
    return out;
}

// ---- messages ----

void send_messages_reply::encode(writer& w) const {
    w.u32(static_cast<std::uint32_t>(confirmations.size()));
    for (const auto& c : confirmations) {
        w.u32(c.stream_id);
        w.u32(c.topic_id);
        w.u32(c.partition_id);
        w.u64(c.base_offset);
    }
}
result<send_messages_reply> send_messages_reply::decode(bytes_view body) {
    send_messages_reply out;
    if (body.empty())
        return out;
    reader r(body);
    auto n = r.u32();
    if (!count_fits(r, n, 20) && n != 0)
        return decode_error("send reply", "count larger than the body");
    for (std::uint32_t i = 0; i < n; ++i) {
        send_confirmation c;
        c.stream_id = r.u32();
        c.topic_id = r.u32();
        c.partition_id = r.u32();
        c.base_offset = r.u64();
        out.confirmations.push_back(c);
    }
    TRIB_TRY(finish(r, "send reply"));
    return out;
}

void poll_reply::encode(writer& w) const {
    w.u32(partition_id);
    w.u64(current_offset);
    w.u32(count);
    for (auto b : batches)
        w.raw(b);
}

status poll_reply::decode_into(bytes_view body, poll_reply& out, protocol_version) {
    out.batches.clear();
    out.messages.clear();
    if (body.size() < 16)
        return decode_error("poll reply", "shorter than its 16-byte head");
    out.partition_id = load_u32(body.data());
    out.current_offset = load_u64(body.data() + 4);
    out.count = load_u32(body.data() + 12);
    std::size_t pos = 16;
    while (pos < body.size()) {
        if (body.size() - pos < batch_header_size)
            return decode_error("poll reply", "truncated batch header");
        batch_header h = read_batch_header(body.subspan(pos, batch_header_size));
        if (h.batch_length < batch_header_size || h.batch_length > body.size() - pos)
            return decode_error("poll reply", "batch_length outside the body");
        if (!reserved_header_bytes_zero(body.data() + pos))
            return decode_error("poll reply", "batch reserved bytes set");
        bytes_view batch = body.subspan(pos, static_cast<std::size_t>(h.batch_length));
        out.batches.push_back(batch);
        // Walk the frames in place: this is the consumer's hot loop, so no std::function.
        std::size_t fpos = batch_header_size;
        std::uint32_t n = 0;
        while (fpos < batch.size()) {
            if (batch.size() - fpos < frame_header_size)
                return decode_error("poll reply", "truncated frame header");
            const std::uint8_t* f = batch.data() + fpos;
            std::uint32_t hlen = load_u32(f + 32);
            std::uint32_t plen = load_u32(f + 36);
            if (load_u64(f + 40) != 0)
                return decode_error("poll reply", "frame reserved bytes set");
            std::size_t rest = batch.size() - fpos - frame_header_size;
            if (std::size_t(plen) > rest || std::size_t(hlen) > rest - plen)
                return decode_error("poll reply", "frame runs past its batch");
            polled_message m;
            m.checksum = load_u64(f);
            m.id = {load_u64(f + 8), load_u64(f + 16)};
            m.offset = h.base_offset + load_u32(f + 24);
            m.timestamp = h.base_timestamp;
            m.origin_timestamp = h.origin_timestamp + load_u32(f + 28);
            m.payload = batch.subspan(fpos + frame_header_size, plen);
            m.user_headers = batch.subspan(fpos + frame_header_size + plen, hlen);
            out.messages.push_back(m);
            fpos += frame_header_size + plen + hlen;
            ++n;
        }
        if (n != h.message_count)
            return decode_error("poll reply", "batch message_count differs from its frames");
        pos += batch.size();
    }
    if (out.messages.size() != out.count)
        return decode_error("poll reply", fmt::format("head says {} messages, batches hold {}",
                                                      out.count, out.messages.size()));
    return ok();
}

result<poll_reply> poll_reply::decode(bytes_view body, protocol_version v) {
    poll_reply out;
    TRIB_TRY(decode_into(body, out, v));
    return out;
}

// ---- system ----

void stats::encode(writer& w) const {
    w.u32(process_id);
    w.f32(cpu_usage);
    w.f32(total_cpu_usage);
    for (auto v : {memory_usage, total_memory, available_memory, run_time, start_time, read_bytes,
                   written_bytes, messages_size_bytes})
        w.u64(v);
    for (auto v : {streams_count, topics_count, partitions_count, segments_count})
        w.u32(v);
    w.u64(messages_count);
    w.u32(clients_count);
    w.u32(consumer_groups_count);
    for (const auto* s : {&hostname, &os_name, &os_version, &kernel_version, &iggy_server_version})
        w.str32(*s);
    w.u32(iggy_server_semver);
    w.u32(static_cast<std::uint32_t>(cache.size()));
    for (const auto& c : cache) {
        w.u32(c.stream_id);
        w.u32(c.topic_id);
        w.u32(c.partition_id);
        w.u64(c.hits);
        w.u64(c.misses);
        w.f32(c.hit_ratio);
    }
    w.u32(threads_count);
    w.u64(free_disk_space);
    w.u64(total_disk_space);
}
result<stats> stats::decode(bytes_view body) {
    reader r(body);
    stats s;
    s.process_id = r.u32();
    s.cpu_usage = r.f32();
    s.total_cpu_usage = r.f32();
    for (auto* v : {&s.memory_usage, &s.total_memory, &s.available_memory, &s.run_time,
                    &s.start_time, &s.read_bytes, &s.written_bytes, &s.messages_size_bytes})
        *v = r.u64();
    for (auto* v : {&s.streams_count, &s.topics_count, &s.partitions_count, &s.segments_count})
        *v = r.u32();
    s.messages_count = r.u64();
    s.clients_count = r.u32();
    s.consumer_groups_count = r.u32();
    for (auto* str :
         {&s.hostname, &s.os_name, &s.os_version, &s.kernel_version, &s.iggy_server_version}) {
        TRIB_ASSIGN_OR_RETURN(*str, read_str32(r, "stats"));
    }
    s.iggy_server_semver = r.u32();
    auto n = r.u32();
    if (!count_fits(r, n, 32) && n != 0)
        return decode_error("stats", "cache count larger than the body");
    for (std::uint32_t i = 0; i < n; ++i) {
        cache_metrics c;
        c.stream_id = r.u32();
        c.topic_id = r.u32();
        c.partition_id = r.u32();
        c.hits = r.u64();
        c.misses = r.u64();
        c.hit_ratio = r.f32();
        s.cache.push_back(c);
    }
    s.threads_count = r.u32();
    s.free_disk_space = r.u64();
    s.total_disk_space = r.u64();
    TRIB_TRY(finish(r, "stats"));
    return s;
}

void client_info::encode(writer& w) const {
    w.u32(client_id);
    w.u32(user_id);
    w.u8(transport);
    w.str32(address);
    w.u32(consumer_groups_count);
}
result<client_info> client_info::decode(reader& r) {
    client_info c;
    c.client_id = r.u32();
    c.user_id = r.u32();
    c.transport = r.u8();
    TRIB_ASSIGN_OR_RETURN(c.address, read_str32(r, "client address"));
    c.consumer_groups_count = r.u32();
    if (!r.ok())
        return decode_error("client", "truncated");
    return c;
}

void client_details::encode(writer& w) const {
    client.encode(w);
    for (const auto& g : groups) {
        w.u32(g.stream_id);
        w.u32(g.topic_id);
        w.u32(g.group_id);
    }
}
result<client_details> client_details::decode(bytes_view body) {
    reader r(body);
    client_details out;
    TRIB_ASSIGN_OR_RETURN(out.client, client_info::decode(r));
    if (!count_fits(r, out.client.consumer_groups_count, 12) &&
        out.client.consumer_groups_count != 0)
        return decode_error("client", "consumer_groups_count larger than the body");
    for (std::uint32_t i = 0; i < out.client.consumer_groups_count; ++i) {
        client_group g;
        g.stream_id = r.u32();
        g.topic_id = r.u32();
        g.group_id = r.u32();
        out.groups.push_back(g);
    }
    TRIB_TRY(finish(r, "client"));
    return out;
}

void clients_reply::encode(writer& w) const {
    for (const auto& c : clients)
        c.encode(w);
}
result<clients_reply> clients_reply::decode(bytes_view body) {
    TRIB_ASSIGN_OR_RETURN(auto list, packed_list<client_info>(body, "clients", [](reader& r) {
                              return client_info::decode(r);
                          }));
    return clients_reply{std::move(list)};
}

void cluster_metadata::encode(writer& w) const {
    w.str32(name);
    w.u32(static_cast<std::uint32_t>(nodes.size()));
    for (const auto& n : nodes) {
        w.str32(n.name);
        w.str32(n.ip);
        w.u16(n.tcp_port);
        w.u16(n.quic_port);
        w.u16(n.http_port);
        w.u16(n.websocket_port);
        w.u8(n.role);
        w.u8(n.status);
    }
}
result<cluster_metadata> cluster_metadata::decode(bytes_view body) {
    reader r(body);
    cluster_metadata out;
    TRIB_ASSIGN_OR_RETURN(out.name, read_str32(r, "cluster name"));
    auto n = r.u32();
    if (!count_fits(r, n, 18) && n != 0)
        return decode_error("cluster metadata", "nodes count larger than the body");
    for (std::uint32_t i = 0; i < n; ++i) {
        cluster_node node;
        TRIB_ASSIGN_OR_RETURN(node.name, read_str32(r, "node name"));
        TRIB_ASSIGN_OR_RETURN(node.ip, read_str32(r, "node ip"));
        node.tcp_port = r.u16();
        node.quic_port = r.u16();
        node.http_port = r.u16();
        node.websocket_port = r.u16();
        node.role = r.u8();
        node.status = r.u8();
        if (r.ok() && (node.role > 1 || node.status > 4))
            return decode_error("cluster metadata", "unknown node role or status");
        out.nodes.push_back(std::move(node));
    }
    TRIB_TRY(finish(r, "cluster metadata"));
    return out;
}

// ---- users and tokens ----

void user_info::encode(writer& w) const {
    w.u32(id);
    w.u64(created_at);
    w.u8(status);
    w.str8(username);
    encode_prefixed_options(w, opts);
}
result<user_info> user_info::decode(reader& r) {
    user_info u;
    u.id = r.u32();
    u.created_at = r.u64();
    u.status = r.u8();
    TRIB_ASSIGN_OR_RETURN(u.username, decode_name(r, "username"));
    TRIB_ASSIGN_OR_RETURN(u.opts, decode_prefixed_options(r));
    return u;
}

void user_details::encode(writer& w) const {
    user.encode(w);
    std::size_t at = w.size();
    w.u32(0);
    if (perms) {
        perms->encode(w);
        store_u32(w.buffer().data() + at, static_cast<std::uint32_t>(w.size() - at - 4));
    }
}
result<user_details> user_details::decode(bytes_view body) {
    reader r(body);
    user_details out;
    TRIB_ASSIGN_OR_RETURN(out.user, user_info::decode(r));
    auto n = r.u32();
    auto block = r.raw(n);
    if (!r.ok())
        return decode_error("user details", "truncated permissions");
    if (n > 0) {
        reader pr(block);
        TRIB_ASSIGN_OR_RETURN(auto p, permissions::decode(pr));
        if (!pr.at_end())
            return decode_error("user details", "trailing permission bytes");
        out.perms = std::move(p);
    }
    TRIB_TRY(finish(r, "user details"));
    return out;
}

void users_reply::encode(writer& w) const {
    for (const auto& u : users)
        u.encode(w);
}
result<users_reply> users_reply::decode(bytes_view body) {
    TRIB_ASSIGN_OR_RETURN(auto list, packed_list<user_info>(body, "users", [](reader& r) {
                              return user_info::decode(r);
                          }));
    return users_reply{std::move(list)};
}

void raw_personal_access_token::encode(writer& w) const {
    w.str8(token);
}
result<raw_personal_access_token> raw_personal_access_token::decode(bytes_view body) {
    reader r(body);
    raw_personal_access_token out;
    TRIB_ASSIGN_OR_RETURN(out.token, decode_name(r, "token"));
    TRIB_TRY(finish(r, "token"));
    return out;
}

void personal_access_tokens_reply::encode(writer& w) const {
    for (const auto& t : tokens) {
        w.str8(t.name);
        w.u64(t.expiry_at);
    }
}
result<personal_access_tokens_reply> personal_access_tokens_reply::decode(bytes_view body) {
    TRIB_ASSIGN_OR_RETURN(auto list,
                          packed_list<personal_access_token_info>(
                              body, "tokens", [](reader& r) -> result<personal_access_token_info> {
                                  personal_access_token_info t;
                                  TRIB_ASSIGN_OR_RETURN(t.name, decode_name(r, "token name"));
                                  t.expiry_at = r.u64();
                                  if (!r.ok())
                                      return decode_error("token", "truncated");
                                  return t;
                              }));
    return personal_access_tokens_reply{std::move(list)};
}

void options_catalog::encode(writer& w) const {
    w.u32(static_cast<std::uint32_t>(entries.size()));
    for (const auto& e : entries) {
        w.str8(e.key);
        w.u8(static_cast<std::uint8_t>(e.kind));
        w.str32(e.default_value);
        w.str32(e.description);
    }
}
result<options_catalog> options_catalog::decode(bytes_view body) {
    reader r(body);
    options_catalog out;
    std::uint32_t n = r.u32();
    // Each entry takes at least 10 bytes: bound the loop by the body, not by the count.
    for (std::uint32_t i = 0; r.ok() && i < n && r.remaining() >= 10; ++i) {
        option_descriptor d;
        TRIB_ASSIGN_OR_RETURN(d.key, decode_name(r, "option key"));
        d.kind = static_cast<header_kind>(r.u8());
        d.default_value = std::string(r.str32());
        d.description = std::string(r.str32());
        out.entries.push_back(std::move(d));
    }
    if (r.ok() && out.entries.size() != n)
        return decode_error("options catalog", "truncated");
    TRIB_TRY(finish(r, "options catalog"));
    return out;
}

// ---- dispatch ----

namespace {
template <class T>
status check(result<T> r) {
    if (!r)
        return unexpected(std::move(r).error());
    return ok();
}
template <class T>
status check_optional(bytes_view p) {
    return check(decode_optional<T>(p));
}
status check_empty(bytes_view p, std::uint32_t c) {
    if (!p.empty())
        return decode_error(command_name(c), "reply should be empty");
    return ok();
}
}  // namespace

status decode_reply_payload(std::uint32_t c, bytes_view p) {
    switch (c) {
        case cmd::login_register:
        case cmd::login_register_with_pat:
            return check(login_reply::decode(p));
        case cmd::get_stats:
            return check(stats::decode(p));
        case cmd::get_cluster_metadata:
            return check(cluster_metadata::decode(p));
        case cmd::get_me:
        case cmd::get_client:
            return check_optional<client_details>(p);
        case cmd::get_clients:
            return check(clients_reply::decode(p));
        case cmd::get_user:
        case cmd::create_user:
            return check_optional<user_details>(p);
        case cmd::get_users:
            return check(users_reply::decode(p));
        case cmd::create_personal_access_token:
            return check(raw_personal_access_token::decode(p));
        case cmd::get_personal_access_tokens:
            return check(personal_access_tokens_reply::decode(p));
        case cmd::poll_messages:
            return check(poll_reply::decode(p));
        case cmd::send_messages:
            return check(send_messages_reply::decode(p));
        case cmd::get_consumer_offset:
            return check_optional<consumer_offset_info>(p);
        case cmd::get_stream:
            return check_optional<stream_details>(p);
        case cmd::get_streams:
            return check(streams_reply::decode(p));
        case cmd::create_stream:
            return check(create_stream_reply::decode(p));
        case cmd::get_topic:
        case cmd::create_topic:
            return check_optional<topic_details>(p);
        case cmd::get_topics:
            return check(topics_reply::decode(p));
        case cmd::get_consumer_group:
        case cmd::create_consumer_group:
            return check_optional<consumer_group_details>(p);
        case cmd::get_consumer_groups:
            return check(consumer_groups_reply::decode(p));
        case cmd::sync_consumer_group:
            return check_optional<sync_consumer_group_reply>(p);
        case cmd::ping:
        case cmd::logout_user:
        case cmd::update_stream:
        case cmd::delete_stream:
        case cmd::purge_stream:
        case cmd::update_topic:
        case cmd::delete_topic:
        case cmd::purge_topic:
        case cmd::create_partitions:
        case cmd::delete_partitions:
        case cmd::delete_segments:
        case cmd::delete_consumer_group:
        case cmd::join_consumer_group:
        case cmd::leave_consumer_group:
        case cmd::store_consumer_offset:
        case cmd::delete_consumer_offset:
        case cmd::delete_user:
        case cmd::update_user:
        case cmd::update_permissions:
        case cmd::change_password:
        case cmd::delete_personal_access_token:
        case cmd::flush_unsaved_buffer:
            return check_empty(p, c);
        default:
            return decode_error("reply", fmt::format("no decoder for command {}", c));
    }
}

}  // namespace trib::iggy
