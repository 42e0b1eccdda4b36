#include "iggy/wire/requests.h"

#include <fmt/format.h>

#include "iggy/wire/batch.h"

namespace trib::iggy {

namespace {

// Fails unless the reader consumed its whole input without a short read.
status finish(const reader& r, std::string_view what) {
    if (!r.ok())
        return decode_error(what, "truncated");
    if (!r.at_end())
        return decode_error(what, fmt::format("{} trailing bytes", r.remaining()));
    return ok();
}

// `[len:u8][bytes]` that may be empty (passwords, tokens).
result<std::string> read_str8(reader& r, std::string_view what) {
    auto n = r.u8();
    auto s = r.raw(n);
    if (!r.ok())
        return decode_error(what, "truncated");
    return std::string(as_string(s));
}

result<std::string> read_str32(reader& r, std::string_view what) {
    auto n = r.u32();
    if (!r.ok() || n > r.remaining())
        return decode_error(what, "truncated");
    return std::string(as_string(r.raw(n)));
}

// Reads stream + topic (+ group) identifiers.
template <class T>
result<T> decode_two_ids(bytes_view body, std::string_view what) {
    reader r(body);
    T out;
    TRIB_ASSIGN_OR_RETURN(out.stream, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.topic, identifier::decode(r));
    TRIB_TRY(finish(r, what));
    return out;
}
template <class T>
result<T> decode_three_ids(bytes_view body, std::string_view what) {
    reader r(body);
    T out;
    TRIB_ASSIGN_OR_RETURN(out.stream, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.topic, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.group, identifier::decode(r));
    TRIB_TRY(finish(r, what));
    return out;
}
template <class T>
result<T> decode_one_id(bytes_view body, std::string_view what, identifier T::*field) {
    reader r(body);
    T out;
    TRIB_ASSIGN_OR_RETURN(out.*field, identifier::decode(r));
    TRIB_TRY(finish(r, what));
    return out;
}

// The options block runs to the end of the body.
result<options> rest_as_options(reader& r) {
    return decode_options(r.rest());
}

}  // namespace

// ---- login ----

namespace {
void encode_login_prefix(writer& w, std::uint32_t protocol, std::string_view name,
                         std::string_view version) {
    w.u32(protocol);
    w.str8(name);
    w.str8(version);
}
struct login_prefix {
    std::uint32_t protocol = 0;
    std::string sdk_name, sdk_version;
};
result<login_prefix> decode_login_prefix(reader& r) {
    login_prefix p;
    p.protocol = r.u32();
    TRIB_ASSIGN_OR_RETURN(p.sdk_name, decode_name(r, "login sdk name"));
    TRIB_ASSIGN_OR_RETURN(p.sdk_version, decode_name(r, "login sdk version"));
    return p;
}
}  // namespace

void login_register_request::encode(writer& w) const {
    encode_login_prefix(w, protocol, sdk_name, sdk_version);
    w.str8(username);
    w.str8(password);
    w.str32(context);
}

result<login_register_request> login_register_request::decode(bytes_view body) {
    reader r(body);
    TRIB_ASSIGN_OR_RETURN(auto p, decode_login_prefix(r));
    login_register_request out;
    out.protocol = p.protocol;
    out.sdk_name = std::move(p.sdk_name);
    out.sdk_version = std::move(p.sdk_version);
    TRIB_ASSIGN_OR_RETURN(out.username, decode_name(r, "login username"));
    TRIB_ASSIGN_OR_RETURN(out.password, read_str8(r, "login password"));
    TRIB_ASSIGN_OR_RETURN(out.context, read_str32(r, "login context"));
    TRIB_TRY(finish(r, "login"));
    return out;
}

void login_register_pat_request::encode(writer& w) const {
    encode_login_prefix(w, protocol, sdk_name, sdk_version);
    w.str8(token);
    w.str32(context);
}

result<login_register_pat_request> login_register_pat_request::decode(bytes_view body) {
    reader r(body);
    TRIB_ASSIGN_OR_RETURN(auto p, decode_login_prefix(r));
    login_register_pat_request out;
    out.protocol = p.protocol;
    out.sdk_name = std::move(p.sdk_name);
    out.sdk_version = std::move(p.sdk_version);
    TRIB_ASSIGN_OR_RETURN(out.token, read_str8(r, "login token"));
    TRIB_ASSIGN_OR_RETURN(out.context, read_str32(r, "login context"));
    TRIB_TRY(finish(r, "login with token"));
    return out;
}

result<login_request> decode_login(bytes_view body) {
    auto pw = login_register_request::decode(body);
    if (pw)
        return login_request{std::move(pw).value()};
    auto pat = login_register_pat_request::decode(body);
    if (pat)
        return login_request{std::move(pat).value()};
    return decode_error("login", "body is neither the password nor the token shape");
}

std::optional<std::uint32_t> login_protocol_version(bytes_view body) {
    if (body.size() < 4)
        return std::nullopt;
    return load_u32(body.data());
}

// ---- system, users, tokens ----

void get_client_request::encode(writer& w) const {
    w.u32(client_id);
}
result<get_client_request> get_client_request::decode(bytes_view body) {
    reader r(body);
    get_client_request out{r.u32()};
    TRIB_TRY(finish(r, "get client"));
    return out;
}

void get_user_request::encode(writer& w) const {
    user.encode(w);
}
result<get_user_request> get_user_request::decode(bytes_view body) {
    return decode_one_id(body, "get user", &get_user_request::user);
}

void create_user_request::encode(writer& w) const {
    w.str8(username);
    w.str8(password);
    w.u8(static_cast<std::uint8_t>(status));
    encode_optional_permissions(w, perms);
    encode_options(w, opts);
}
result<create_user_request> create_user_request::decode(bytes_view body) {
    reader r(body);
    create_user_request out;
    TRIB_ASSIGN_OR_RETURN(out.username, decode_name(r, "create user username"));
    TRIB_ASSIGN_OR_RETURN(out.password, read_str8(r, "create user password"));
    auto st = r.u8();
    if (!r.ok())
        return decode_error("create user", "truncated");
    if (st != 1 && st != 2)
        return decode_error("create user", fmt::format("bad status {}", st));
    out.status = static_cast<user_status>(st);
    TRIB_ASSIGN_OR_RETURN(out.perms, decode_optional_permissions(r));
    TRIB_ASSIGN_OR_RETURN(out.opts, rest_as_options(r));
    return out;
}

void delete_user_request::encode(writer& w) const {
    user.encode(w);
}
result<delete_user_request> delete_user_request::decode(bytes_view body) {
    return decode_one_id(body, "delete user", &delete_user_request::user);
}

void update_user_request::encode(writer& w) const {
    user.encode(w);
    w.u8(username ? 1 : 0);
    if (username)
        w.str8(*username);
    w.u8(status ? 1 : 0);
    if (status)
        w.u8(static_cast<std::uint8_t>(*status));
    encode_options(w, opts);
}
result<update_user_request> update_user_request::decode(bytes_view body) {
    reader r(body);
    update_user_request out;
    TRIB_ASSIGN_OR_RETURN(out.user, identifier::decode(r));
    auto has_name = r.u8();
    if (!r.ok() || has_name > 1)
        return decode_error("update user", "bad username flag");
    if (has_name) {
        TRIB_ASSIGN_OR_RETURN(auto n, decode_name(r, "update user username"));
        out.username = std::move(n);
    }
    auto has_status = r.u8();
    if (!r.ok() || has_status > 1)
        return decode_error("update user", "bad status flag");
    if (has_status) {
        auto st = r.u8();
        if (!r.ok() || (st != 1 && st != 2))
            return decode_error("update user", "bad status");
        out.status = static_cast<user_status>(st);
    }
    TRIB_ASSIGN_OR_RETURN(out.opts, rest_as_options(r));
    return out;
}

void update_permissions_request::encode(writer& w) const {
    user.encode(w);
    encode_optional_permissions(w, perms);
}
result<update_permissions_request> update_permissions_request::decode(bytes_view body) {
    reader r(body);
    update_permissions_request out;
    TRIB_ASSIGN_OR_RETURN(out.user, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.perms, decode_optional_permissions(r));
    TRIB_TRY(finish(r, "update permissions"));
    return out;
}

void change_password_request::encode(writer& w) const {
    user.encode(w);
    w.str8(current_password);
    w.str8(new_password);
}
result<change_password_request> change_password_request::decode(bytes_view body) {
    reader r(body);
    change_password_request out;
    TRIB_ASSIGN_OR_RETURN(out.user, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.current_password, read_str8(r, "change password current"));
    TRIB_ASSIGN_OR_RETURN(out.new_password, read_str8(r, "change password new"));
    TRIB_TRY(finish(r, "change password"));
    return out;
}

void create_personal_access_token_request::encode(writer& w) const {
    w.str8(name);
    w.u64(expiry);
}
result<create_personal_access_token_request> create_personal_access_token_request::decode(
    bytes_view body) {
    reader r(body);
    create_personal_access_token_request out;
    TRIB_ASSIGN_OR_RETURN(out.name, decode_name(r, "create token name"));
    out.expiry = r.u64();
    TRIB_TRY(finish(r, "create token"));
    return out;
}

void delete_personal_access_token_request::encode(writer& w) const {
    w.str8(name);
}
result<delete_personal_access_token_request> delete_personal_access_token_request::decode(
    bytes_view body) {
    reader r(body);
    delete_personal_access_token_request out;
    TRIB_ASSIGN_OR_RETURN(out.name, decode_name(r, "delete token name"));
    TRIB_TRY(finish(r, "delete token"));
    return out;
}

// ---- streams ----

void get_stream_request::encode(writer& w) const {
    stream.encode(w);
}
result<get_stream_request> get_stream_request::decode(bytes_view body) {
    return decode_one_id(body, "get stream", &get_stream_request::stream);
}

void create_stream_request::encode(writer& w) const {
    w.str8(name);
    encode_options(w, opts);
}
result<create_stream_request> create_stream_request::decode(bytes_view body) {
    reader r(body);
    create_stream_request out;
    TRIB_ASSIGN_OR_RETURN(out.name, decode_name(r, "create stream name"));
    TRIB_ASSIGN_OR_RETURN(out.opts, rest_as_options(r));
    return out;
}

void update_stream_request::encode(writer& w) const {
    stream.encode(w);
    w.str8(name);
    encode_options(w, opts);
}
result<update_stream_request> update_stream_request::decode(bytes_view body) {
    reader r(body);
    update_stream_request out;
    TRIB_ASSIGN_OR_RETURN(out.stream, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.name, decode_name(r, "update stream name"));
    TRIB_ASSIGN_OR_RETURN(out.opts, rest_as_options(r));
    return out;
}

void delete_stream_request::encode(writer& w) const {
    stream.encode(w);
}
result<delete_stream_request> delete_stream_request::decode(bytes_view body) {
    return decode_one_id(body, "delete stream", &delete_stream_request::stream);
}

void purge_stream_request::encode(writer& w) const {
    stream.encode(w);
}
result<purge_stream_request> purge_stream_request::decode(bytes_view body) {
    return decode_one_id(body, "purge stream", &purge_stream_request::stream);
}

// ---- topics ----

void get_topic_request::encode(writer& w) const {
    stream.encode(w);
    topic.encode(w);
}
result<get_topic_request> get_topic_request::decode(bytes_view body) {
    return decode_two_ids<get_topic_request>(body, "get topic");
}

void get_topics_request::encode(writer& w) const {
    stream.encode(w);
}
result<get_topics_request> get_topics_request::decode(bytes_view body) {
    return decode_one_id(body, "get topics", &get_topics_request::stream);
}

void create_topic_request::encode(writer& w) const {
    stream.encode(w);
    w.u32(partitions_count);
    w.str8(name);
    encode_options(w, opts);
}
result<create_topic_request> create_topic_request::decode(bytes_view body) {
    reader r(body);
    create_topic_request out;
    TRIB_ASSIGN_OR_RETURN(out.stream, identifier::decode(r));
    out.partitions_count = r.u32();
    TRIB_ASSIGN_OR_RETURN(out.name, decode_name(r, "create topic name"));
    TRIB_ASSIGN_OR_RETURN(out.opts, rest_as_options(r));
    return out;
}

void update_topic_request::encode(writer& w) const {
    stream.encode(w);
    topic.encode(w);
    w.str8(name);
    encode_options(w, opts);
}
result<update_topic_request> update_topic_request::decode(bytes_view body) {
    reader r(body);
    update_topic_request out;
    TRIB_ASSIGN_OR_RETURN(out.stream, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.topic, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.name, decode_name(r, "update topic name"));
    TRIB_ASSIGN_OR_RETURN(out.opts, rest_as_options(r));
    return out;
}

void delete_topic_request::encode(writer& w) const {
    stream.encode(w);
    topic.encode(w);
}
result<delete_topic_request> delete_topic_request::decode(bytes_view body) {
    return decode_two_ids<delete_topic_request>(body, "delete topic");
}

void purge_topic_request::encode(writer& w) const {
    stream.encode(w);
    topic.encode(w);
}
result<purge_topic_request> purge_topic_request::decode(bytes_view body) {
    return decode_two_ids<purge_topic_request>(body, "purge topic");
}

// ---- partitions, segments ----

namespace {
template <class T>
result<T> decode_partitions(bytes_view body, std::string_view what) {
    reader r(body);
    T out;
    TRIB_ASSIGN_OR_RETURN(out.stream, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.topic, identifier::decode(r));
    out.partitions_count = r.u32();
    TRIB_TRY(finish(r, what));
    return out;
}
}  // namespace

void create_partitions_request::encode(writer& w) const {
    stream.encode(w);
    topic.encode(w);
    w.u32(partitions_count);
}
result<create_partitions_request> create_partitions_request::decode(bytes_view body) {
    return decode_partitions<create_partitions_request>(body, "create partitions");
}

void delete_partitions_request::encode(writer& w) const {
    stream.encode(w);
    topic.encode(w);
    w.u32(partitions_count);
}
result<delete_partitions_request> delete_partitions_request::decode(bytes_view body) {
    return decode_partitions<delete_partitions_request>(body, "delete partitions");
}

void delete_segments_request::encode(writer& w) const {
    stream.encode(w);
    topic.encode(w);
    w.u32(partition_id);
    w.u32(segments_count);
}
result<delete_segments_request> delete_segments_request::decode(bytes_view body) {
    reader r(body);
    delete_segments_request out;
    TRIB_ASSIGN_OR_RETURN(out.stream, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.topic, identifier::decode(r));
    out.partition_id = r.u32();
    out.segments_count = r.u32();
    TRIB_TRY(finish(r, "delete segments"));
    return out;
}

// ---- consumer groups ----

#define TRIB_THREE_IDS(T, WHAT)                 \
    void T::encode(writer& w) const {           \
        stream.encode(w);                       \
        topic.encode(w);                        \
        group.encode(w);                        \
    }                                           \
    result<T> T::decode(bytes_view body) {      \
        return decode_three_ids<T>(body, WHAT); \
    }
TRIB_THREE_IDS(get_consumer_group_request, "get consumer group")
TRIB_THREE_IDS(delete_consumer_group_request, "delete consumer group")
TRIB_THREE_IDS(join_consumer_group_request, "join consumer group")
TRIB_THREE_IDS(leave_consumer_group_request, "leave consumer group")
TRIB_THREE_IDS(sync_consumer_group_request, "sync consumer group")
#undef TRIB_THREE_IDS

void get_consumer_groups_request::encode(writer& w) const {
    stream.encode(w);
    topic.encode(w);
}
result<get_consumer_groups_request> get_consumer_groups_request::decode(bytes_view body) {
    return decode_two_ids<get_consumer_groups_request>(body, "get consumer groups");
}

void create_consumer_group_request::encode(writer& w) const {
    stream.encode(w);
    topic.encode(w);
    w.str8(name);
}
result<create_consumer_group_request> create_consumer_group_request::decode(bytes_view body) {
    reader r(body);
    create_consumer_group_request out;
    TRIB_ASSIGN_OR_RETURN(out.stream, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.topic, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.name, decode_name(r, "create consumer group name"));
    TRIB_TRY(finish(r, "create consumer group"));
    return out;
}

// ---- offsets ----

namespace {
template <class T>
status decode_offset_prefix(reader& r, T& out) {
    TRIB_ASSIGN_OR_RETURN(out.who, consumer::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.stream, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.topic, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.partition, decode_optional_partition(r));
    return ok();
}
result<ack_level> read_ack(reader& r) {
    auto a = r.u8();
    if (!r.ok())
        return decode_error("ack level", "truncated");
    if (a > 1)
        return decode_error("ack level", fmt::format("unknown value {}", a));
    return static_cast<ack_level>(a);
}
}  // namespace

void get_consumer_offset_request::encode(writer& w) const {
    who.encode(w);
    stream.encode(w);
    topic.encode(w);
    encode_optional_partition(w, partition);
}
result<get_consumer_offset_request> get_consumer_offset_request::decode(bytes_view body) {
    reader r(body);
    get_consumer_offset_request out;
    TRIB_TRY(decode_offset_prefix(r, out));
    TRIB_TRY(finish(r, "get consumer offset"));
    return out;
}

void store_consumer_offset_request::encode(writer& w) const {
    who.encode(w);
    stream.encode(w);
    topic.encode(w);
    encode_optional_partition(w, partition);
    w.u64(offset);
    w.u8(static_cast<std::uint8_t>(ack));
}
result<store_consumer_offset_request> store_consumer_offset_request::decode(bytes_view body) {
    reader r(body);
    store_consumer_offset_request out;
    TRIB_TRY(decode_offset_prefix(r, out));
    out.offset = r.u64();
    TRIB_ASSIGN_OR_RETURN(out.ack, read_ack(r));
    TRIB_TRY(finish(r, "store consumer offset"));
    return out;
}

void delete_consumer_offset_request::encode(writer& w) const {
    who.encode(w);
    stream.encode(w);
    topic.encode(w);
    encode_optional_partition(w, partition);
    w.u8(static_cast<std::uint8_t>(ack));
}
result<delete_consumer_offset_request> delete_consumer_offset_request::decode(bytes_view body) {
    reader r(body);
    delete_consumer_offset_request out;
    TRIB_TRY(decode_offset_prefix(r, out));
    TRIB_ASSIGN_OR_RETURN(out.ack, read_ack(r));
    TRIB_TRY(finish(r, "delete consumer offset"));
    return out;
}

// ---- messages ----

void poll_messages_request::encode(writer& w) const {
    who.encode(w);
    stream.encode(w);
    topic.encode(w);
    encode_optional_partition(w, partition);
    strategy.encode(w);
    w.u32(count);
    w.u8(auto_commit ? 1 : 0);
}
result<poll_messages_request> poll_messages_request::decode(bytes_view body) {
    reader r(body);
    poll_messages_request out;
    TRIB_TRY(decode_offset_prefix(r, out));
    TRIB_ASSIGN_OR_RETURN(out.strategy, polling_strategy::decode(r));
    out.count = r.u32();
    auto ac = r.u8();
    if (r.ok() && ac > 1)
        return decode_error("poll messages", "bad auto_commit");
    out.auto_commit = ac == 1;
    TRIB_TRY(finish(r, "poll messages"));
    return out;
}

namespace {
std::size_t id_size(const identifier& i) {
    return 2 + (i.is_numeric() ? 4 : i.name.size());
}
}  // namespace

std::size_t send_messages_prefix_size(const identifier& stream, const identifier& topic,
                                      const partitioning& part) {
    return 4 + id_size(stream) + id_size(topic) + part.encoded_size() + 4;
}

void encode_send_messages_prefix(writer& w, const identifier& stream, const identifier& topic,
                                 const partitioning& part, std::uint32_t messages_count) {
    // metadata_length counts stream, topic, partitioning and messages_count.
    w.u32(static_cast<std::uint32_t>(id_size(stream) + id_size(topic) + part.encoded_size() + 4));
    stream.encode(w);
    topic.encode(w);
    part.encode(w);
    w.u32(messages_count);
}

void send_messages_request::encode(writer& w, protocol_version) const {
    std::uint32_t n =
        batch.size() >= batch_header_size ? read_batch_header(batch).message_count : messages_count;
    encode_send_messages_prefix(w, stream, topic, part, n);
    w.raw(batch);
}

result<send_messages_request> send_messages_request::decode(bytes_view body, bool check_batch,
                                                            protocol_version) {
    reader r(body);
    send_messages_request out;
    std::uint32_t meta = r.u32();
    if (!r.ok())
        return decode_error("send messages", "truncated");
    std::size_t meta_start = r.position();
    TRIB_ASSIGN_OR_RETURN(out.stream, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.topic, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.part, partitioning::decode(r));
    out.messages_count = r.u32();
    if (r.position() - meta_start != meta)
        return decode_error("send messages", "metadata_length does not match the metadata");
    out.batch = r.rest();
    if (!r.ok())
        return decode_error("send messages", "truncated");
    if (out.batch.size() < batch_header_size)
        return decode_error("send messages", "batch shorter than its header");
    auto h = read_batch_header(out.batch);
    if (h.message_count != out.messages_count)
        return decode_error("send messages", "messages_count differs from the batch header");
    if (h.batch_length != out.batch.size())
        return decode_error("send messages", "batch_length differs from the bytes sent");
    if (out.messages_count == 0)
        return decode_error("send messages", "empty batch");
    if (check_batch) {
        auto st = validate_batch(out.batch, true);
        if (!st)
            return unexpected(st.error());
    }
    return out;
}

void flush_unsaved_buffer_request::encode(writer& w) const {
    stream.encode(w);
    topic.encode(w);
    w.u32(partition_id);
    w.u8(fsync ? 1 : 0);
}
result<flush_unsaved_buffer_request> flush_unsaved_buffer_request::decode(bytes_view body) {
    reader r(body);
    flush_unsaved_buffer_request out;
    TRIB_ASSIGN_OR_RETURN(out.stream, identifier::decode(r));
    TRIB_ASSIGN_OR_RETURN(out.topic, identifier::decode(r));
    out.partition_id = r.u32();
    auto f = r.u8();
    if (r.ok() && f > 1)
        return decode_error("flush", "bad fsync flag");
    out.fsync = f == 1;
    TRIB_TRY(finish(r, "flush"));
    return out;
}

void describe_options_request::encode(writer& w) const {
    w.u8(scope);
}
result<describe_options_request> describe_options_request::decode(bytes_view body) {
    reader r(body);
    describe_options_request out{r.u8()};
    if (r.ok() && (out.scope < topic_scope || out.scope > user_scope))
        return decode_error("describe options", "unknown scope");
    TRIB_TRY(finish(r, "describe options"));
    return out;
}

// ---- dispatch ----

namespace {
template <class T>
result<any_request> as_any(result<T> r) {
    if (!r)
        return unexpected(std::move(r).error());
    return any_request{std::move(r).value()};
}
}  // namespace

result<any_request> decode_request(std::uint32_t c, bytes_view body) {
    switch (c) {
        case cmd::ping:
            return as_any(ping_request::decode(body));
        case cmd::get_stats:
            return as_any(get_stats_request::decode(body));
        case cmd::get_cluster_metadata:
            return as_any(get_cluster_metadata_request::decode(body));
        case cmd::get_me:
            return as_any(get_me_request::decode(body));
        case cmd::get_client:
            return as_any(get_client_request::decode(body));
        case cmd::get_clients:
            return as_any(get_clients_request::decode(body));
        case cmd::get_user:
            return as_any(get_user_request::decode(body));
        case cmd::get_users:
            return as_any(get_users_request::decode(body));
        case cmd::create_user:
            return as_any(create_user_request::decode(body));
        case cmd::delete_user:
            return as_any(delete_user_request::decode(body));
        case cmd::update_user:
            return as_any(update_user_request::decode(body));
        case cmd::update_permissions:
            return as_any(update_permissions_request::decode(body));
        case cmd::change_password:
            return as_any(change_password_request::decode(body));
        case cmd::logout_user:
            return as_any(logout_request::decode(body));
        case cmd::login_register:
        case cmd::login_register_with_pat: {
            auto l = decode_login(body);
            if (!l)
                return unexpected(std::move(l).error());
            return std::visit([](auto&& v) { return any_request{std::move(v)}; },
                              std::move(l).value());
        }
        case cmd::login_user:
        case cmd::login_with_personal_access_token:
            return iggy_error(code::invalid_format, "legacy login code");
        case cmd::get_personal_access_tokens:
            return as_any(get_personal_access_tokens_request::decode(body));
        case cmd::create_personal_access_token:
            return as_any(create_personal_access_token_request::decode(body));
        case cmd::delete_personal_access_token:
            return as_any(delete_personal_access_token_request::decode(body));
        case cmd::poll_messages:
            return as_any(poll_messages_request::decode(body));
        case cmd::send_messages:
            return as_any(send_messages_request::decode(body));
        case cmd::flush_unsaved_buffer:
            return as_any(flush_unsaved_buffer_request::decode(body));
        case cmd::get_consumer_offset:
            return as_any(get_consumer_offset_request::decode(body));
        case cmd::store_consumer_offset:
            return as_any(store_consumer_offset_request::decode(body));
        case cmd::delete_consumer_offset:
            return as_any(delete_consumer_offset_request::decode(body));
        case cmd::get_stream:
            return as_any(get_stream_request::decode(body));
        case cmd::get_streams:
            return as_any(get_streams_request::decode(body));
        case cmd::create_stream:
            return as_any(create_stream_request::decode(body));
        case cmd::delete_stream:
            return as_any(delete_stream_request::decode(body));
        case cmd::update_stream:
            return as_any(update_stream_request::decode(body));
        case cmd::purge_stream:
            return as_any(purge_stream_request::decode(body));
        case cmd::get_topic:
            return as_any(get_topic_request::decode(body));
        case cmd::get_topics:
            return as_any(get_topics_request::decode(body));
        case cmd::create_topic:
            return as_any(create_topic_request::decode(body));
        case cmd::delete_topic:
            return as_any(delete_topic_request::decode(body));
        case cmd::update_topic:
            return as_any(update_topic_request::decode(body));
        case cmd::purge_topic:
            return as_any(purge_topic_request::decode(body));
        case cmd::create_partitions:
            return as_any(create_partitions_request::decode(body));
        case cmd::delete_partitions:
            return as_any(delete_partitions_request::decode(body));
        case cmd::delete_segments:
            return as_any(delete_segments_request::decode(body));
        case cmd::get_consumer_group:
            return as_any(get_consumer_group_request::decode(body));
        case cmd::get_consumer_groups:
            return as_any(get_consumer_groups_request::decode(body));
        case cmd::create_consumer_group:
            return as_any(create_consumer_group_request::decode(body));
        case cmd::delete_consumer_group:
            return as_any(delete_consumer_group_request::decode(body));
        case cmd::join_consumer_group:
            return as_any(join_consumer_group_request::decode(body));
        case cmd::leave_consumer_group:
            return as_any(leave_consumer_group_request::decode(body));
        case cmd::sync_consumer_group:
            return as_any(sync_consumer_group_request::decode(body));
        default:
            return iggy_error(code::invalid_command, fmt::format("unknown command code {}", c));
    }
}

}  // namespace trib::iggy
