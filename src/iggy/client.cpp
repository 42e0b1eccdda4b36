#include "iggy/client.h"

#include <fmt/format.h>

namespace trib::iggy {

client::client(client_options options) : opts_(std::move(options)), conn_(opts_.conn) {
    conn_.on_reconnect = [this](connection& c) { return rejoin(c); };
}

result<std::unique_ptr<client>> client::connect(client_options options) {
    std::unique_ptr<client> c(new client(std::move(options)));
    {
        std::lock_guard lk(c->mu_);
        TRIB_TRY(c->conn_.connect());
    }
    if (c->opts_.heartbeat_interval.count() > 0)
        c->heartbeat_ = std::thread([p = c.get()] { p->heartbeat_loop(); });
    return c;
}

result<std::unique_ptr<client>> client::connect(std::string_view address) {
    TRIB_ASSIGN_OR_RETURN(auto co, connection_options_from(address));
    client_options o;
    o.conn = std::move(co);
    return connect(std::move(o));
}

client::~client() {
    {
        std::lock_guard lk(hb_mu_);
        stopping_ = true;
    }
    hb_cv_.notify_all();
    if (heartbeat_.joinable())
        heartbeat_.join();
}

void client::heartbeat_loop() {
    std::unique_lock lk(hb_mu_);
    while (!stopping_) {
        hb_cv_.wait_for(lk, opts_.heartbeat_interval / 2);
        if (stopping_)
            break;
        lk.unlock();
        {
            std::lock_guard clk(mu_);
            auto idle = std::chrono::steady_clock::now() - conn_.last_activity();
            // Only ping a live connection: reconnecting is left to the next real request, so a
            // dead server does not keep a background thread busy.
            if (conn_.connected() && idle >= opts_.heartbeat_interval)
                (void)conn_.call(ping_request{});
        }
        lk.lock();
    }
}

status client::rejoin(connection& c) {
    for (const auto& g : groups_) {
        auto r = c.call(join_consumer_group_request{g.stream, g.topic, g.group});
        if (!r) {
            return unexpected(r.error().wrap(
                fmt::format("re-join group {} after reconnect", g.group.to_string())));
        }
    }
    return ok();
}

template <class R>
result<bytes_view> client::call_locked(const R& req) {
    auto r = conn_.call(req);
    if (r || !opts_.retry_reads_after_reconnect)
        return r;
    // Reads are idempotent: one more try on a fresh connection.
    auto op = operation_for_command(R::code);
    bool read_only = op && *op == operation::non_replicated;
    if (read_only && r.error().retryable() && !conn_.connected())
        return conn_.call(req);
    return r;
}

template <class R>
status client::call_empty(const R& req) {
    std::lock_guard lk(mu_);
    auto r = call_locked(req);
    if (!r)
        return unexpected(std::move(r).error());
    return ok();
}

namespace {
template <class T>
result<T> decode_as(result<bytes_view> p) {
    if (!p)
        return unexpected(std::move(p).error());
    return T::decode(*p);
}
template <class T>
result<std::optional<T>> decode_opt(result<bytes_view> p) {
    if (!p)
        return unexpected(std::move(p).error());
    return decode_optional<T>(*p);
}
}  // namespace

status client::ping() {
    return call_empty(ping_request{});
}

result<stats> client::get_stats() {
    std::lock_guard lk(mu_);
    return decode_as<stats>(call_locked(get_stats_request{}));
}

result<client_details> client::get_me() {
    std::lock_guard lk(mu_);
    return decode_as<client_details>(call_locked(get_me_request{}));
}

result<std::vector<client_info>> client::get_clients() {
    std::lock_guard lk(mu_);
    TRIB_ASSIGN_OR_RETURN(auto r, decode_as<clients_reply>(call_locked(get_clients_request{})));
    return std::move(r.clients);
}

result<cluster_metadata> client::get_cluster_metadata() {
    std::lock_guard lk(mu_);
    return decode_as<cluster_metadata>(call_locked(get_cluster_metadata_request{}));
}

status client::logout() {
    std::lock_guard lk(mu_);
    groups_.clear();
    return conn_.logout();
}

result<stream_info> client::create_stream(const std::string& name) {
    TRIB_TRY(check_name(name, "stream name"));
    std::lock_guard lk(mu_);
    TRIB_ASSIGN_OR_RETURN(
        auto r, decode_as<create_stream_reply>(call_locked(create_stream_request{name, {}})));
    return std::move(r.stream);
}

result<std::optional<stream_details>> client::get_stream(const identifier& stream) {
    std::lock_guard lk(mu_);
    return decode_opt<stream_details>(call_locked(get_stream_request{stream}));
}

result<std::vector<stream_info>> client::get_streams() {
    std::lock_guard lk(mu_);
    TRIB_ASSIGN_OR_RETURN(auto r, decode_as<streams_reply>(call_locked(get_streams_request{})));
    return std::move(r.streams);
}

status client::update_stream(const identifier& stream, const std::string& name) {
    TRIB_TRY(check_name(name, "stream name"));
    return call_empty(update_stream_request{stream, name, {}});
}

status client::delete_stream(const identifier& stream) {
    return call_empty(delete_stream_request{stream});
}

status client::purge_stream(const identifier& stream) {
    return call_empty(purge_stream_request{stream});
}

result<topic_details> client::create_topic(const identifier& stream, const std::string& name,
                                           std::uint32_t partitions, iggy::options opts) {
    TRIB_TRY(check_name(name, "topic name"));
    TRIB_TRY(validate_options(opts));
    std::lock_guard lk(mu_);
    return decode_as<topic_details>(
        call_locked(create_topic_request{stream, partitions, name, std::move(opts)}));
}

result<std::optional<topic_details>> client::get_topic(const identifier& stream,
                                                       const identifier& topic) {
    std::lock_guard lk(mu_);
    return decode_opt<topic_details>(call_locked(get_topic_request{stream, topic}));
}

result<std::vector<topic_info>> client::get_topics(const identifier& stream) {
    std::lock_guard lk(mu_);
    TRIB_ASSIGN_OR_RETURN(auto r, decode_as<topics_reply>(call_locked(get_topics_request{stream})));
    return std::move(r.topics);
}

status client::update_topic(const identifier& stream, const identifier& topic,
                            const std::string& name, iggy::options opts) {
    TRIB_TRY(check_name(name, "topic name"));
    TRIB_TRY(validate_options(opts));
    return call_empty(update_topic_request{stream, topic, name, std::move(opts)});
}

status client::delete_topic(const identifier& stream, const identifier& topic) {
    return call_empty(delete_topic_request{stream, topic});
}

status client::purge_topic(const identifier& stream, const identifier& topic) {
    return call_empty(purge_topic_request{stream, topic});
}

status client::create_partitions(const identifier& stream, const identifier& topic,
                                 std::uint32_t count) {
    return call_empty(create_partitions_request{stream, topic, count});
}

status client::delete_partitions(const identifier& stream, const identifier& topic,
                                 std::uint32_t count) {
    return call_empty(delete_partitions_request{stream, topic, count});
}

result<send_messages_reply> client::send_messages(const identifier& stream, const identifier& topic,
                                                  const partitioning& part, bytes_view batch) {
    TRIB_TRY(validate_batch(batch, /*check_checksums=*/false));
    // The metadata goes in its own small buffer; the batch is written from the caller's memory.
    thread_local bytes prefix;
    prefix.clear();
    writer w(prefix);
    encode_send_messages_prefix(w, stream, topic, part, read_batch_header(batch).message_count);
    bytes_view parts[2] = {prefix, batch};
    std::lock_guard lk(mu_);
    return decode_as<send_messages_reply>(
        conn_.call(cmd::send_messages, std::span<const bytes_view>(parts, 2)));
}

status client::poll_messages(const poll_messages_request& req, polled_messages& out) {
    std::lock_guard lk(mu_);
    auto p = call_locked(req);
    if (!p)
        return unexpected(std::move(p).error());
    // Take the reply buffer (the payload points into it) and give ours back for the next reply.
    auto offset = static_cast<std::size_t>(p->data() - conn_.reply_buffer().data());
    auto size = p->size();
    std::swap(out.buffer, conn_.reply_buffer());
    return poll_reply::decode_into(bytes_view(out.buffer).subspan(offset, size), out.reply);
}

status client::flush_unsaved_buffer(const identifier& stream, const identifier& topic,
                                    std::uint32_t partition, bool fsync) {
    return call_empty(flush_unsaved_buffer_request{stream, topic, partition, fsync});
}

status client::store_consumer_offset(const consumer& who, const identifier& stream,
                                     const identifier& topic, std::uint32_t partition,
                                     std::uint64_t offset) {
    return call_empty(
        store_consumer_offset_request{who, stream, topic, partition, offset, ack_level::quorum});
}

result<std::optional<consumer_offset_info>> client::get_consumer_offset(
    const consumer& who, const identifier& stream, const identifier& topic,
    std::optional<std::uint32_t> partition) {
    std::lock_guard lk(mu_);
    return decode_opt<consumer_offset_info>(
        call_locked(get_consumer_offset_request{who, stream, topic, partition}));
}

status client::delete_consumer_offset(const consumer& who, const identifier& stream,
                                      const identifier& topic, std::uint32_t partition) {
    return call_empty(
        delete_consumer_offset_request{who, stream, topic, partition, ack_level::quorum});
}

result<consumer_group_details> client::create_consumer_group(const identifier& stream,
                                                             const identifier& topic,
                                                             const std::string& name) {
    TRIB_TRY(check_name(name, "consumer group name"));
    std::lock_guard lk(mu_);
    return decode_as<consumer_group_details>(
        call_locked(create_consumer_group_request{stream, topic, name}));
}

result<std::optional<consumer_group_details>> client::get_consumer_group(const identifier& stream,
                                                                         const identifier& topic,
                                                                         const identifier& group) {
    std::lock_guard lk(mu_);
    return decode_opt<consumer_group_details>(
        call_locked(get_consumer_group_request{stream, topic, group}));
}

result<std::vector<consumer_group_info>> client::get_consumer_groups(const identifier& stream,
                                                                     const identifier& topic) {
    std::lock_guard lk(mu_);
    TRIB_ASSIGN_OR_RETURN(auto r, decode_as<consumer_groups_reply>(
                                      call_locked(get_consumer_groups_request{stream, topic})));
    return std::move(r.groups);
}

status client::delete_consumer_group(const identifier& stream, const identifier& topic,
                                     const identifier& group) {
    return call_empty(delete_consumer_group_request{stream, topic, group});
}

status client::join_consumer_group(const identifier& stream, const identifier& topic,
                                   const identifier& group) {
    std::lock_guard lk(mu_);
    auto r = conn_.call(join_consumer_group_request{stream, topic, group});
    if (!r)
        return unexpected(std::move(r).error());
    bool known = false;
    for (const auto& g : groups_)
        known |= g.stream == stream && g.topic == topic && g.group == group;
    if (!known)
        groups_.push_back({stream, topic, group});
    return ok();
}

status client::leave_consumer_group(const identifier& stream, const identifier& topic,
                                    const identifier& group) {
    std::lock_guard lk(mu_);
    std::erase_if(groups_, [&](const joined_group& g) {
        return g.stream == stream && g.topic == topic && g.group == group;
    });
    auto r = conn_.call(leave_consumer_group_request{stream, topic, group});
    if (!r)
        return unexpected(std::move(r).error());
    return ok();
}

result<std::optional<sync_consumer_group_reply>> client::sync_consumer_group(
    const identifier& stream, const identifier& topic, const identifier& group) {
    std::lock_guard lk(mu_);
    return decode_opt<sync_consumer_group_reply>(
        call_locked(sync_consumer_group_request{stream, topic, group}));
}

result<user_details> client::create_user(const create_user_request& req) {
    std::lock_guard lk(mu_);
    return decode_as<user_details>(call_locked(req));
}

result<std::optional<user_details>> client::get_user(const identifier& user) {
    std::lock_guard lk(mu_);
    return decode_opt<user_details>(call_locked(get_user_request{user}));
}

result<std::vector<user_info>> client::get_users() {
    std::lock_guard lk(mu_);
    TRIB_ASSIGN_OR_RETURN(auto r, decode_as<users_reply>(call_locked(get_users_request{})));
    return std::move(r.users);
}

status client::update_user(const update_user_request& req) {
    return call_empty(req);
}

status client::update_permissions(const update_permissions_request& req) {
    return call_empty(req);
}

status client::change_password(const identifier& user, const std::string& current,
                               const std::string& next) {
    return call_empty(change_password_request{user, current, next});
}

status client::delete_user(const identifier& user) {
    return call_empty(delete_user_request{user});
}

result<std::string> client::create_personal_access_token(const std::string& name,
                                                         std::uint64_t expiry_us) {
    std::lock_guard lk(mu_);
    TRIB_ASSIGN_OR_RETURN(auto r, decode_as<raw_personal_access_token>(call_locked(
                                      create_personal_access_token_request{name, expiry_us})));
    return std::move(r.token);
}

result<std::vector<personal_access_token_info>> client::get_personal_access_tokens() {
    std::lock_guard lk(mu_);
    TRIB_ASSIGN_OR_RETURN(auto r, decode_as<personal_access_tokens_reply>(
                                      call_locked(get_personal_access_tokens_request{})));
    return std::move(r.tokens);
}

status client::delete_personal_access_token(const std::string& name) {
    return call_empty(delete_personal_access_token_request{name});
}

std::uint64_t client::reconnects() const {
    std::lock_guard lk(mu_);
    return conn_.reconnects();
}

std::uint64_t client::session() const {
    std::lock_guard lk(mu_);
    return conn_.session();
}

}  // namespace trib::iggy
