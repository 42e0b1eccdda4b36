// The MQTT session state machine (session.h): no I/O, no lock, no logging.

#include "connectors/mqtt/session.h"

#include <algorithm>
#include <utility>

namespace trib::mqtt {

namespace {

std::uint64_t fingerprint(std::string_view topic, std::string_view payload) {
    std::uint64_t h = std::hash<std::string_view>{}(payload);
    return h * 1'000'003u ^ std::hash<std::string_view>{}(topic);
}

}  // namespace

session::session(session_options o, std::function<void()> on_output)
    : opts_(std::move(o)), on_output_(std::move(on_output)) {}

void session::enqueue(std::string_view bytes) {
    bool was_empty = pending_.empty();
    pending_.append(bytes);
    enqueued_bytes_ += bytes.size();
    if (was_empty && on_output_)
        on_output_();
}

void session::queue_ack(packet_type t, std::uint16_t pid, std::uint8_t reason) {
    std::string b;
    encode(b, ack_packet{t, pid, reason, {}}, opts_.version);
    enqueue(b);
}

// ---- connection lifecycle ----

void session::on_connected(const connack_packet& ca) {
    connected_ = true;
    session_present_ = ca.session_present;
    server_receive_max_ = ca.props.receive_maximum.value_or(65535);
    server_max_packet_ = ca.props.maximum_packet_size.value_or(max_remaining_length + 5);
    server_max_qos_ = ca.props.maximum_qos.value_or(2);
    server_sub_ids_ = ca.props.subscription_identifier_available.value_or(1) != 0;
    pending_.clear();

    // Messages received on the old connection and not acknowledged: the broker resends them
    // when it kept the session; otherwise nothing can be acknowledged any more.
    awaiting_.clear();
    redelivery_phase_ = session_present_;
    if (!session_present_) {
        std::size_t lost = 0;
        for (const auto& t : tracks_)
            lost += t.state == track::nacked ? 1 : 0;
        if (lost > 0) {
            notices_.push_back({false, std::to_string(lost) +
                                           " rejected messages are lost: the broker did not keep "
                                           "the session (clean start, or session expired)"});
        }
        tracks_base_ += tracks_.size();
        tracks_.clear();
        pubrec_sent_.clear();
        std::fill(acked_fp_.begin(), acked_fp_.end(), 0);
    } else {
        for (std::size_t i = 0; i < tracks_.size(); ++i) {
            auto& t = tracks_[i];
            if (t.state == track::dropped)
                continue;
            t.awaiting_redelivery = true;
            awaiting_[t.packet_id] = tracks_base_ + i;
        }
    }

    // SUBSCRIBEs still waiting for a SUBACK go out again; after a session loss every
    // subscription is renewed.
    for (auto& [pid, w] : sub_waits_) {
        if (!w.done)
            enqueue(w.bytes);
    }
    if (!session_present_ && !subs_.empty()) {
        for (std::size_t i = 0; i < subs_.size(); ++i)
            queue_subscribe({subs_[i]}, i + 1, /*renewal=*/true);
    }

    // Unfinished outgoing messages, in their original order.
    for (auto& [ticket, m] : inflight_) {
        if (m.state == out_msg::await_pubcomp && session_present_) {
            queue_ack(packet_type::pubrel, m.packet_id);
            continue;
        }
        m.state = out_msg::await_ack;
        if (m.sent && session_present_)
            m.bytes[0] = static_cast<char>(m.bytes[0] | 0x08);  // DUP
        else
            m.bytes[0] = static_cast<char>(m.bytes[0] & ~0x08);
        m.sent = true;
        enqueue(m.bytes);
    }
    flush_acks();
}

void session::on_lost() {
    if (!connected_)
        return;
    connected_ = false;
    pending_.clear();
    written_bytes_ = enqueued_bytes_;  // unsent bytes are gone: QoS 0 publishes among them
    qos0_pending_.clear();
}

// ---- bytes in and out ----

void session::take_output(std::string& out) {
    out.clear();
    out.swap(pending_);
}

void session::drain_output(std::string& out) {
    out += pending_;
    pending_.clear();
    written_bytes_ = enqueued_bytes_;
}

bool session::on_written(std::size_t n) {
    written_bytes_ += n;
    bool any = false;
    while (!qos0_pending_.empty() && qos0_pending_.front().second <= written_bytes_) {
        qos0_pending_.pop_front();
        published_++;
        any = true;
    }
    return any;
}

void session::queue_pingreq() {
    std::string b;
    encode(b, ping_packet{packet_type::pingreq});
    enqueue(b);
}

void session::queue_disconnect() {
    encode(pending_, disconnect_packet{}, opts_.version);
}

feed_result session::on_bytes(std::string_view in) {
    feed_result r;
    while (r.st) {
        auto fr = next_frame(in.substr(r.consumed));
        if (!fr) {
            r.st = fr.error();
            break;
        }
        if (!*fr)
            break;
        const frame f = **fr;
        r.consumed += f.size;
        if (f.type() == packet_type::publish) {
            auto p = decode_publish(f, opts_.version);
            if (!p) {
                r.st = p.error();
                break;
            }
            if (p->props.topic_alias) {
                r.st =
                    error(errc::protocol_error, "the broker used a topic alias we did not allow");
                break;
            }
            on_publish(*p, r);
            continue;
        }
        auto pk = decode(f, opts_.version);
        if (!pk) {
            r.st = pk.error();
            break;
        }
        if (auto* a = std::get_if<ack_packet>(&*pk)) {
            on_ack(*a);
        } else if (auto* s = std::get_if<suback_packet>(&*pk)) {
            auto it = sub_waits_.find(s->packet_id);
            if (it != sub_waits_.end() && s->type == packet_type::suback) {
                it->second.done = true;
                it->second.reasons = s->reasons;
                if (it->second.renewal) {
                    for (std::size_t i = 0; i < s->reasons.size(); ++i) {
                        if (s->reasons[i] >= 0x80 && i < it->second.filters.size()) {
                            notices_.push_back(
                                {true, "renewing the subscription to '" + it->second.filters[i] +
                                           "' failed: " + std::string(reason_name(s->reasons[i]))});
                        }
                    }
                    sub_waits_.erase(it);
                }
                r.wake_waiters = true;
            }
        } else if (std::holds_alternative<ping_packet>(*pk)) {
            r.pingresp = true;
        } else if (auto* d = std::get_if<disconnect_packet>(&*pk)) {
            std::string msg = "the broker disconnected: " + std::string(reason_name(d->reason));
            if (d->props.reason_string)
                msg += " (" + *d->props.reason_string + ")";
            if (d->reason == 0x8E)
                msg +=
                    "; another client connected with the same client id '" + opts_.client_id + "'";
            r.st = error(errc::unavailable, retry_class::retryable, msg, d->reason);
            break;
        } else {
            r.st = error(errc::protocol_error,
                         "unexpected " + std::string(to_string(f.type())) + " from the broker");
            break;
        }
    }
    if (completions_pending_) {
        completions_pending_ = false;
        r.wake_waiters = true;
    }
    return r;
}

// ---- received messages ----

void session::on_publish(const publish_packet& p, feed_result& r) {
    message m;
    if (p.qos > 0) {
        if (p.qos == 2 && pubrec_sent_.contains(p.packet_id)) {
            // Already acknowledged with PUBREC: acknowledge again, deliver nothing.
            queue_ack(packet_type::pubrec, p.packet_id);
            duplicates_++;
            return;
        }
        const std::uint64_t fp = fingerprint(p.topic, p.payload);
        if (redelivery_phase_ && p.dup && p.qos == 1 && acked_fp_[p.packet_id] == fp &&
            !awaiting_.contains(p.packet_id)) {
            // We acknowledged it on the old connection but the ack did not arrive.
            queue_ack(packet_type::puback, p.packet_id);
            duplicates_++;
            return;
        }
        if (redelivery_phase_) {
            auto it = awaiting_.find(p.packet_id);
            if (it != awaiting_.end() && tracks_[it->second - tracks_base_].fingerprint == fp) {
                auto& t = tracks_[it->second - tracks_base_];
                std::uint64_t handle = it->second;
                awaiting_.erase(it);
                t.awaiting_redelivery = false;
                if (t.state != track::nacked) {
                    // The application has it already: only the acknowledgement is owed.
                    duplicates_++;
                    flush_acks();
                    return;
                }
                t.state = track::pending;
                m.handle = handle;
            } else {
                end_redelivery();
            }
        }
        if (m.handle == 0) {
            track t;
            t.packet_id = p.packet_id;
            t.qos = p.qos;
            t.fingerprint = fp;
            tracks_.push_back(t);
            m.handle = tracks_base_ + tracks_.size() - 1;
        }
    }
    m.topic.assign(p.topic);
    m.payload.assign(p.payload);
    m.props = p.props;
    m.qos = p.qos;
    m.retain = p.retain;
    m.dup = p.dup;
    m.packet_id = p.qos > 0 ? p.packet_id : 0;
    inbound_.push_back(std::move(m));
    r.delivered++;
}

std::size_t session::take_inbound(std::vector<message>& out, std::size_t max) {
    std::size_t n = std::min(max, inbound_.size());
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(std::move(inbound_.front()));
        inbound_.pop_front();
    }
    return n;
}

void session::acknowledge(std::span<const std::uint64_t> handles) {
    for (auto h : handles) {
        if (h < tracks_base_ || h - tracks_base_ >= tracks_.size())
            continue;
        auto& t = tracks_[h - tracks_base_];
        if (t.state == track::pending || t.state == track::nacked)
            t.state = track::acked;
    }
    flush_acks();
}

bool session::reject(std::span<const std::uint64_t> handles) {
    bool any = false;
    for (auto h : handles) {
        if (h < tracks_base_ || h - tracks_base_ >= tracks_.size())
            continue;
        auto& t = tracks_[h - tracks_base_];
        if (t.state == track::pending) {
            t.state = track::nacked;
            any = true;
        }
    }
    return any;
}

// Sends the acknowledgements that are due, in arrival order: one waits for every earlier one.
void session::flush_acks() {
    if (!connected_)
        return;
    std::string out;
    while (!tracks_.empty()) {
        auto& t = tracks_.front();
        if (t.state == track::dropped) {
            // nothing to send
        } else if (t.awaiting_redelivery || t.state != track::acked) {
            break;
        } else {
            encode(out,
                   ack_packet{
                       t.qos == 2 ? packet_type::pubrec : packet_type::puback, t.packet_id, 0, {}},
                   opts_.version);
            if (t.qos == 2)
                pubrec_sent_.insert(t.packet_id);
            else
                acked_fp_[t.packet_id] = t.fingerprint;
            acknowledged_++;
        }
        tracks_.pop_front();
        tracks_base_++;
    }
    if (!out.empty())
        enqueue(out);
}

// The broker resends after a reconnect first; the first other QoS 1/2 message ends that.
void session::end_redelivery() {
    redelivery_phase_ = false;
    std::fill(acked_fp_.begin(), acked_fp_.end(), 0);
    std::size_t lost = 0;
    for (auto& [pid, h] : awaiting_) {
        auto& t = tracks_[h - tracks_base_];
        t.awaiting_redelivery = false;
        if (t.state == track::nacked)
            ++lost;
        t.state = track::dropped;
    }
    awaiting_.clear();
    if (lost > 0)
        notices_.push_back(
            {false, "the broker did not resend " + std::to_string(lost) + " rejected messages"});
}

// ---- publishing ----

std::uint16_t session::alloc_pid() {
    for (;;) {
        next_pid_ = static_cast<std::uint16_t>(next_pid_ == 65535 ? 1 : next_pid_ + 1);
        if (!by_pid_.contains(next_pid_) && !sub_waits_.contains(next_pid_))
            return next_pid_;
    }
}

status session::check_publish(const publish_packet& p) const {
    if (p.qos > server_max_qos_) {
        return error(errc::invalid_argument, retry_class::fatal,
                     "the broker supports QoS up to " + std::to_string(server_max_qos_));
    }
    if (encoded_size(p, opts_.version) > server_max_packet_) {
        return error(errc::invalid_argument, retry_class::fatal,
                     "message of " + std::to_string(p.payload.size()) +
                         " bytes exceeds the broker's maximum packet size " +
                         std::to_string(server_max_packet_));
    }
    return ok();
}

bool session::has_room() const {
    return inflight_.size() < std::min<std::size_t>(opts_.max_inflight, server_receive_max_);
}

std::uint64_t session::publish(const publish_packet& p) {
    const std::uint64_t ticket = next_ticket_++;
    if (p.qos == 0) {
        if (connected_) {
            std::string b;
            encode(b, p, opts_.version);
            enqueue(b);
            qos0_pending_.emplace_back(ticket, enqueued_bytes_);
        }
        return ticket;
    }
    out_msg m;
    m.packet_id = alloc_pid();
    m.qos = p.qos;
    publish_packet q = p;
    q.packet_id = m.packet_id;
    q.dup = false;
    encode(m.bytes, q, opts_.version);
    if (connected_) {
        enqueue(m.bytes);
        m.sent = true;
    }
    by_pid_[m.packet_id] = ticket;
    inflight_.emplace(ticket, std::move(m));
    return ticket;
}

bool session::published_through(std::uint64_t ticket) const {
    bool out_done = inflight_.empty() || inflight_.begin()->first > ticket;
    bool q0_done = qos0_pending_.empty() || qos0_pending_.front().first > ticket;
    return out_done && q0_done;
}

std::vector<publish_refusal> session::take_refusals(std::uint64_t ticket) {
    std::vector<publish_refusal> out;
    auto it = std::stable_partition(refusals_.begin(), refusals_.end(),
                                    [&](const publish_refusal& r) { return r.ticket > ticket; });
    out.assign(std::make_move_iterator(it), std::make_move_iterator(refusals_.end()));
    refusals_.erase(it, refusals_.end());
    return out;
}

void session::finish_publish(std::uint64_t ticket, std::uint8_t reason, const char* what) {
    auto it = inflight_.find(ticket);
    if (it == inflight_.end())
        return;
    if (reason >= 0x80) {
        const bool busy = reason == 0x97 || reason == 0x96;
        refusals_.push_back(
            {ticket, error(busy ? errc::resource_exhausted : errc::permission_denied,
                           busy ? retry_class::throttled : retry_class::fatal,
                           std::string("the broker refused the message (") + what + " " +
                               std::string(reason_name(reason)) + ")",
                           reason)});
    }
    by_pid_.erase(it->second.packet_id);
    inflight_.erase(it);
    published_++;
    // Waiters are woken once per chunk of packets read (on_bytes), not per ack.
    completions_pending_ = true;
}

void session::on_ack(const ack_packet& a) {
    switch (a.type) {
        case packet_type::puback:
        case packet_type::pubcomp: {
            auto it = by_pid_.find(a.packet_id);
            if (it != by_pid_.end())
                finish_publish(it->second, a.reason,
                               a.type == packet_type::puback ? "PUBACK" : "PUBCOMP");
            break;
        }
        case packet_type::pubrec: {
            auto it = by_pid_.find(a.packet_id);
            if (it == by_pid_.end()) {
                queue_ack(packet_type::pubrel, a.packet_id, 0x92);
                break;
            }
            if (a.reason >= 0x80) {
                finish_publish(it->second, a.reason, "PUBREC");
                break;
            }
            inflight_[it->second].state = out_msg::await_pubcomp;
            queue_ack(packet_type::pubrel, a.packet_id);
            break;
        }
        case packet_type::pubrel: {
            pubrec_sent_.erase(a.packet_id);
            queue_ack(packet_type::pubcomp, a.packet_id);
            break;
        }
        default:
            break;
    }
}

// ---- subscribing ----

bool session::per_subscription_ids() const {
    return opts_.version == protocol_version::v5 && server_sub_ids_;
}

std::uint16_t session::queue_subscribe(const std::vector<subscription>& list, std::size_t sub_id) {
    return queue_subscribe(list, sub_id, false);
}

std::uint16_t session::queue_subscribe(const std::vector<subscription>& list, std::size_t sub_id,
                                       bool renewal) {
    subscribe_packet sp;
    sp.packet_id = alloc_pid();
    for (const auto& s : list)
        sp.filters.emplace_back(s.filter, s.options);
    if (opts_.version == protocol_version::v5 && server_sub_ids_ && sub_id > 0)
        sp.props.subscription_identifiers.push_back(static_cast<std::uint32_t>(sub_id));
    sub_wait w;
    encode(w.bytes, sp, opts_.version);
    for (const auto& s : list)
        w.filters.push_back(s.filter);
    w.renewal = renewal;
    if (connected_)
        enqueue(w.bytes);
    sub_waits_.emplace(sp.packet_id, std::move(w));
    return sp.packet_id;
}

bool session::subscribe_done(std::uint16_t pid) const {
    auto it = sub_waits_.find(pid);
    return it == sub_waits_.end() || it->second.done;
}

std::string session::finish_subscribe(std::uint16_t pid, bool answered) {
    auto node = sub_waits_.extract(pid);
    std::string refused;
    if (node.empty() || !answered)
        return refused;
    const auto& w = node.mapped();
    for (std::size_t i = 0; i < w.filters.size(); ++i) {
        std::uint8_t rc = i < w.reasons.size() ? w.reasons[i] : 0x80;
        if (rc >= 0x80) {
            refused += (refused.empty() ? "" : "; ") + std::string("'") + w.filters[i] +
                       "': " + std::string(reason_name(rc));
        }
    }
    return refused;
}

void session::add_subscriptions(const std::vector<subscription>& list) {
    subs_.insert(subs_.end(), list.begin(), list.end());
}

std::vector<session_notice> session::take_notices() {
    return std::exchange(notices_, {});
}

}  // namespace trib::mqtt
