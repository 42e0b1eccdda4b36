// Routing of one request frame to its handler (iggy-protocol.md sections 1.5, 1.6 and 4).

#include "server/handlers/request_ops.h"

namespace trib::server::handlers {

void request_ops::do_nr(std::span<std::uint8_t> body) {
    const std::uint32_t code_ = h.code;
    if (code_ == cmd::ping) {
        empty_ok();
        return;
    }
    if (code_ == cmd::login_user || code_ == cmd::login_with_personal_access_token) {
        evict(eviction_reason::malformed_login, h.client);
        return;
    }
    if (!is_known_command(code_)) {
        status_reply(code::invalid_command);
        return;
    }
    if (!bound()) {
        status_reply(code::unauthenticated);
        return;
    }
    if (code_ == cmd::logout_user || code_ == cmd::login_register ||
        code_ == cmd::login_register_with_pat) {
        empty_ok();
        return;
    }
    auto opr = operation_for_command(code_);
    if (!opr || *opr != operation::non_replicated) {
        status_reply(code::feature_unavailable);
        return;
    }
    bytes_view b(body.data(), body.size());
    switch (code_) {
        case cmd::get_stats:
            return get_stats();
        case cmd::get_cluster_metadata:
            return get_cluster_metadata();
        case cmd::describe_options:
            return describe_options(b);
        case cmd::get_me:
            return get_me();
        case cmd::get_client:
            return get_client(b);
        case cmd::get_clients:
            return get_clients();
        case cmd::get_user:
            return get_user(b);
        case cmd::get_users:
            return get_users();
        case cmd::get_personal_access_tokens:
            return get_pats();
        case cmd::poll_messages:
            return poll(b);
        case cmd::flush_unsaved_buffer:
            return flush(b);
        case cmd::get_consumer_offset:
            return get_offset(b);
        case cmd::get_stream:
            return get_stream(b);
        case cmd::get_streams:
            return get_streams();
        case cmd::get_topic:
            return get_topic(b);
        case cmd::get_topics:
            return get_topics(b);
        case cmd::get_consumer_group:
            return get_group(b);
        case cmd::get_consumer_groups:
            return get_groups(b);
        case cmd::sync_consumer_group:
            return sync_group(b);
        default:
            // GET_SNAPSHOT_FILE (a diagnostics zip) is not offered by the embedded server.
            return status_reply(code::feature_unavailable);
    }
}

void request_ops::do_metadata(bytes_view body) {
    if (!bound()) {
        evict(eviction_reason::no_session, {});
        return;
    }
    if (h.request <= c.watermark) {
        if (h.request == c.watermark && !c.last_reply.empty()) {
            if (!h.request_checksum.is_zero() && !c.last_stamp.is_zero() &&
                h.request_checksum != c.last_stamp) {
                drop();
                return;
            }
            out.clear();
            out.frame = c.last_reply;
            return;
        }
        status_reply(code::request_already_applied);
        return;
    }
    switch (static_cast<operation>(h.operation)) {
        case operation::create_stream:
            create_stream(body);
            break;
        case operation::update_stream:
            update_stream(body);
            break;
        case operation::delete_stream:
            delete_stream(body);
            break;
        case operation::purge_stream:
            purge_stream(body);
            break;
        case operation::create_topic:
            create_topic(body);
            break;
        case operation::update_topic:
            update_topic(body);
            break;
        case operation::delete_topic:
            delete_topic(body);
            break;
        case operation::purge_topic:
            purge_topic(body);
            break;
        case operation::create_partitions:
            create_partitions(body);
            break;
        case operation::delete_partitions:
            delete_partitions(body);
            break;
        case operation::delete_segments:
            // Deleting a number of whole segments is not offered (retention does it by age and
            // size); answered as Iggy answers features it does not have.
            status_reply(code::feature_unavailable);
            break;
        case operation::create_consumer_group:
            create_group(body);
            break;
        case operation::delete_consumer_group:
            delete_group(body);
            break;
        case operation::join_consumer_group:
            join_group(body);
            break;
        case operation::leave_consumer_group:
            leave_group(body);
            break;
        case operation::create_user:
            create_user(body);
            break;
        case operation::update_user:
            update_user(body);
            break;
        case operation::delete_user:
            delete_user(body);
            break;
        case operation::change_password:
            change_password(body);
            break;
        case operation::update_permissions:
            update_permissions(body);
            break;
        case operation::create_personal_access_token:
            create_pat(body);
            break;
        case operation::delete_personal_access_token:
            delete_pat(body);
            break;
        default:
            drop();
            return;
    }
    if (out.action == reply_action::send) {
        c.watermark = h.request;
        c.last_reply = out.frame;
        c.last_stamp = h.request_checksum;
    }
}

void request_ops::do_partition_op(std::span<std::uint8_t> body) {
    if (!bound()) {
        evict(eviction_reason::no_session, {});
        return;
    }
    switch (static_cast<operation>(h.operation)) {
        case operation::send_messages:
            return send(body);
        case operation::store_consumer_offset:
            return store_offset(bytes_view(body.data(), body.size()));
        case operation::delete_consumer_offset:
            return delete_offset(bytes_view(body.data(), body.size()));
        default:
            return drop();
    }
}

}  // namespace trib::server::handlers
