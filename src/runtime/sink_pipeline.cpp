#include "runtime/sink_pipeline.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "core/log.h"

namespace trib::runtime {

using clock = std::chrono::steady_clock;

sink_pipeline::sink_pipeline(sink_settings s, sink_factory make_sink,
                             processor_factory make_processor, iggy_port& iggy,
                             connector_stats& stats)
    : s_(std::move(s)),
      make_sink_(std::move(make_sink)),
      make_processor_(std::move(make_processor)),
      iggy_(iggy),
      stats_(stats) {}

sink_pipeline::~sink_pipeline() {
    if (poller_.joinable() || writer_.joinable()) {
        request_stop();
        (void)join(clock::now());
    }
}

std::string sink_pipeline::group_of(const sink_stream_settings& s, std::string_view key) {
    if (!s.consumer_group.empty())
        return s.consumer_group;
    return "iggy-connect-sink-" + std::string(key);
}

status sink_pipeline::start() {
    ctx_.key = s_.key;
    ctx_.name = s_.name;
    ctx_.stop = hard_stop_.get_token();
    ctx_.metrics = s_.metrics;
    auto close_all = [&] {
        for (auto& in : inputs_) {
            if (in->consumer)
                in->consumer->close();
        }
        inputs_.clear();
        if (dlq_)
            dlq_->close();
        dlq_.reset();
    };

    if (s_.policy.on_error == policy_action::dead_letter) {
        if (!s_.policy.dead_letter) {
            return fail(errc::invalid_argument,
                        "error policy dead_letter needs a dead-letter stream and topic");
        }
        const auto& dl = *s_.policy.dead_letter;
        auto created = iggy_.ensure_topic(dl.stream, dl.topic, 1);
        if (!created)
            return created.error().wrap("dead-letter topic " + dl.stream + "/" + dl.topic);
        if (*created) {
            spdlog::info("sink {}: created dead-letter stream/topic {}/{}", s_.key, dl.stream,
                         dl.topic);
        }
        producer_options po{dl.stream, dl.topic, 1000, std::chrono::milliseconds(0)};
        po.allow_empty_payloads = true;  // a message is dead-lettered as it was, empty or not
        auto p = iggy_.open_producer(po);
        if (!p)
            return p.error().wrap("dead-letter producer");
        dlq_ = std::move(*p);
    }

    for (std::size_t i = 0; i < s_.streams.size(); ++i) {
        const auto& st = s_.streams[i];
        for (const auto& topic : st.topics) {
            auto created = iggy_.ensure_topic(st.stream, topic, 1);
            if (!created) {
                close_all();
                return created.error().wrap("stream/topic " + st.stream + "/" + topic);
            }
            if (*created) {
                spdlog::info("sink {}: created stream/topic {}/{} (it did not exist)", s_.key,
                             st.stream, topic);
            }
            auto in = std::make_unique<topic_input>();
            in->stream_index = i;
            in->topic = topic;
            auto c = iggy_.open_consumer(
                consumer_options{st.stream, topic, group_of(st, s_.key), st.batch_length});
            if (!c) {
                close_all();
                return c.error().wrap("consumer of " + st.stream + "/" + topic);
            }
            in->consumer = std::move(*c);
            if (make_processor_) {
                auto p = make_processor_(i, stream_ref{st.stream, topic}, {});
                if (!p) {
                    close_all();
                    return p.error().wrap("transforms of " + st.stream);
                }
                in->processor = std::move(*p);
            }
            inputs_.push_back(std::move(in));
        }
    }
    if (inputs_.empty()) {
        close_all();
        return fail(errc::invalid_argument, "sink has no [[streams]] topics to consume");
    }

    auto made = make_sink_();
    if (!made) {
        close_all();
        return made.error();
    }
    sink_ = std::move(*made);
    if (auto st = sink_->open(ctx_); !st) {
        sink_->close();
        sink_.reset();
        close_all();
        return st.error().wrap("open");
    }
    poller_ = std::thread([this] { poll_loop(); });
    writer_ = std::thread([this] { write_loop(); });
    return ok();
}

void sink_pipeline::request_stop() {
    {
        std::lock_guard lk(mu_);
        draining_ = true;
    }
    cv_.notify_all();
}

pipeline_outcome sink_pipeline::join(clock::time_point hard_deadline) {
    {
        std::unique_lock lk(mu_);
        const bool drained =
            cv_.wait_until(lk, hard_deadline, [&] { return writer_done_ && poller_done_; });
        if (!drained) {
            spdlog::warn(
                "sink {}: drain deadline passed; abandoning in-flight batches (they "
                "will be delivered again)",
                s_.key);
        }
    }
    hard_stop_.request_stop();
    cv_.notify_all();
    if (poller_.joinable())
        poller_.join();
    if (writer_.joinable())
        writer_.join();
    if (sink_) {
        sink_->close();
        sink_.reset();
    }
    if (dlq_) {
        dlq_->close();
        dlq_.reset();
    }
    std::lock_guard lk(mu_);
    stats_.in_flight_bytes.store(0, std::memory_order_relaxed);
    stats_.in_flight_batches.store(0, std::memory_order_relaxed);
    return outcome_.value_or(pipeline_outcome{});
}

void sink_pipeline::end_with(pipeline_outcome::kind k, error e) {
    {
        std::lock_guard lk(mu_);
        if (!outcome_)
            outcome_ = pipeline_outcome{k, std::move(e)};
    }
    cv_.notify_all();
    signal_end();
}

bool sink_pipeline::pause(std::chrono::milliseconds d, bool wake_on_drain) {
    std::unique_lock lk(mu_);
    return !cv_.wait_for(lk, d, [&] {
        return hard_stop_.stop_requested() || outcome_.has_value() || (wake_on_drain && draining_);
    });
}

// ---- poller: consumers, processing, commits -------------------------------------------------

void sink_pipeline::poll_loop() {
    std::size_t rr = 0;
    auto next_lag = clock::now();
    std::chrono::milliseconds idle_wait = s_.streams.front().poll_interval;
    for (const auto& st : s_.streams)
        idle_wait = std::min(idle_wait, st.poll_interval);
    if (idle_wait.count() < 1)
        idle_wait = std::chrono::milliseconds(1);

    for (;;) {
        bool budget = false;
        {
            std::unique_lock lk(mu_);
            auto budget_ok = [&] {
                return batches_in_flight_ == 0 ||
                       (bytes_in_flight_ < s_.limits.max_in_flight_bytes &&
                        batches_in_flight_ < s_.limits.max_in_flight_batches);
            };
            cv_.wait(lk, [&] {
                return hard_stop_.stop_requested() || outcome_.has_value() || draining_ ||
                       commits_ready_ || budget_ok();
            });
            if (hard_stop_.stop_requested() || outcome_.has_value() || draining_)
                break;
            commits_ready_ = false;
            budget = budget_ok();
        }
        do_commits(false);
        if (clock::now() >= next_lag) {
            update_lag();
            next_lag = clock::now() + std::chrono::seconds(1);
        }
        if (!budget)
            continue;
        bool any = false;
        for (std::size_t k = 0; k < inputs_.size(); ++k) {
            const std::size_t idx = (rr + k) % inputs_.size();
            any = poll_once(*inputs_[idx], idx) || any;
        }
        ++rr;
        if (!any)
            (void)pause(idle_wait, true);
    }

    // Drain: keep committing what the writer completes until it is done, then a last round.
    for (;;) {
        bool done = false;
        {
            std::unique_lock lk(mu_);
            cv_.wait_for(lk, std::chrono::milliseconds(100),
                         [&] { return writer_done_ || commits_ready_; });
            commits_ready_ = false;
            done = writer_done_;
        }
        do_commits(done);
        if (done)
            break;
    }
    update_lag();
    for (auto& in : inputs_)
        in->consumer->close();
    {
        std::lock_guard lk(mu_);
        poller_done_ = true;
    }
    cv_.notify_all();
}

bool sink_pipeline::poll_once(topic_input& in, std::size_t index) {
    const auto& st = s_.streams[in.stream_index];
    auto r = in.consumer->poll(st.batch_length);
    if (!r) {
        stats_.count_error(r.error());
        if (!r.error().retryable()) {
            spdlog::error("sink {}: polling {}/{} failed: {}", s_.key, st.stream, in.topic,
                          r.error().to_string());
            end_with(pipeline_outcome::kind::failed,
                     r.error().wrap("poll " + st.stream + "/" + in.topic));
            return false;
        }
        log::limited(spdlog::level::warn, "sink " + s_.key + ": poll failed",
                     "sink {}: polling {}/{} failed, retrying: {}", s_.key, st.stream, in.topic,
                     r.error().to_string());
        (void)pause(std::max(st.poll_interval, std::chrono::milliseconds(200)), true);
        return false;
    }
    polled_batch& p = *r;
    if (p.partition_end)
        in.partition_end[p.partition] = *p.partition_end;
    if (p.batch.empty())
        return false;

    auto& msgs = p.batch.messages;
    std::optional<offset_tracker::ticket> ticket;
    {
        std::lock_guard lk(mu_);
        ticket = in.tracker.add(p.partition, msgs.front().offset, msgs.back().offset);
    }
    if (!ticket)
        return true;  // a redelivery of messages already in flight or done
    if (ticket->first > msgs.front().offset) {
        const auto first = ticket->first;
        msgs.erase(std::remove_if(msgs.begin(), msgs.end(),
                                  [&](const message& m) { return m.offset < first; }),
                   msgs.end());
    }

    work_item w;
    w.input = index;
    w.partition = p.partition;
    w.ticket = *ticket;
    w.polled_at = clock::now();
    w.bytes = p.batch.payload_bytes();
    stats_.messages_in.fetch_add(msgs.size(), std::memory_order_relaxed);
    stats_.bytes_in.fetch_add(w.bytes, std::memory_order_relaxed);
    w.batch = std::move(p.batch);
    if (in.processor) {
        if (s_.policy.on_error == policy_action::dead_letter)
            w.originals = w.batch.messages;
        process_report rep;
        in.processor->process(w.batch, rep);
        w.rejected = std::move(rep.rejected);
        if (rep.filtered != 0) {
            stats_.messages_filtered.fetch_add(rep.filtered, std::memory_order_relaxed);
        }
    }
    {
        std::lock_guard lk(mu_);
        bytes_in_flight_ += w.bytes;
        ++batches_in_flight_;
        stats_.in_flight_bytes.store(bytes_in_flight_, std::memory_order_relaxed);
        stats_.in_flight_batches.store(batches_in_flight_, std::memory_order_relaxed);
        queue_.push_back(std::move(w));
    }
    cv_.notify_all();
    return true;
}

void sink_pipeline::do_commits(bool final_round) {
    for (auto& in : inputs_) {
        std::vector<std::pair<std::uint32_t, std::uint64_t>> todo;
        {
            std::lock_guard lk(mu_);
            todo = in->tracker.take_commits();
        }
        // Earlier failed commits first; a newer offset for the same partition supersedes them.
        for (auto& f : in->failed_commits) {
            if (std::none_of(todo.begin(), todo.end(),
                             [&](const auto& t) { return t.first == f.first; })) {
                todo.push_back(f);
            }
        }
        in->failed_commits.clear();
        for (const auto& [partition, offset] : todo) {
            auto st = in->consumer->commit(partition, offset);
            if (st) {
                stats_.commits.fetch_add(1, std::memory_order_relaxed);
                continue;
            }
            stats_.count_error(st.error());
            if (st.error().code() == errc::failed_precondition) {
                // The partition moved to another member, which goes on from the last stored
                // offset (its messages since then may be delivered twice: at-least-once).
                spdlog::info(
                    "sink {}: partition {} of {}/{} moved to another consumer; dropping "
                    "its commit of offset {}",
                    s_.key, partition, s_.streams[in->stream_index].stream, in->topic, offset);
                continue;
            }
            log::limited(spdlog::level::warn, "sink " + s_.key + ": commit failed",
                         "sink {}: committing offset {} of {}/{} partition {} failed{}: {}", s_.key,
                         offset, s_.streams[in->stream_index].stream, in->topic, partition,
                         final_round ? "" : " (will retry)", st.error().to_string());
            in->failed_commits.emplace_back(partition, offset);
        }
    }
}

void sink_pipeline::update_lag() {
    std::int64_t lag = 0;
    bool known = false;
    std::lock_guard lk(mu_);
    for (auto& in : inputs_) {
        for (const auto& [partition, end] : in->partition_end) {
            auto c = in->tracker.committable(partition);
            if (!c)
                continue;
            known = true;
            if (end > *c)
                lag += static_cast<std::int64_t>(end - *c);
        }
    }
    stats_.lag.store(known ? lag : -1, std::memory_order_relaxed);
}

// ---- writer: sink writes, error policy -----------------------------------------------------

void sink_pipeline::write_loop() {
    for (;;) {
        work_item w;
        {
            std::unique_lock lk(mu_);
            cv_.wait(lk, [&] {
                return !queue_.empty() || hard_stop_.stop_requested() || outcome_.has_value() ||
                       draining_;
            });
            if (hard_stop_.stop_requested() || outcome_.has_value())
                break;
            if (queue_.empty())
                break;  // draining and nothing left
            w = std::move(queue_.front());
            queue_.pop_front();
        }
        const write_result r = handle(w);
        {
            std::lock_guard lk(mu_);
            bytes_in_flight_ -= w.bytes;
            --batches_in_flight_;
            stats_.in_flight_bytes.store(bytes_in_flight_, std::memory_order_relaxed);
            stats_.in_flight_batches.store(batches_in_flight_, std::memory_order_relaxed);
            if (r == write_result::done) {
                if (inputs_[w.input]->tracker.complete(w.ticket))
                    commits_ready_ = true;
                stats_.batch_latency.observe(std::chrono::duration_cast<std::chrono::microseconds>(
                    clock::now() - w.polled_at));
            }
        }
        cv_.notify_all();
        if (r == write_result::halted) {
            end_with(pipeline_outcome::kind::halted, halt_error_);
            break;
        }
        if (r == write_result::abandoned)
            break;
    }
    {
        std::lock_guard lk(mu_);
        writer_done_ = true;
        for (auto& w : queue_) {
            bytes_in_flight_ -= w.bytes;
            --batches_in_flight_;
        }
        queue_.clear();
    }
    cv_.notify_all();
}

sink_pipeline::write_result sink_pipeline::handle(work_item& w) {
    for (auto& rej : w.rejected) {
        stats_.count_error(rej.err);  // decode/transform failures count by class too
        auto r = fail_message(w, rej.original, rej.err, rej.stage);
        if (r != write_result::done)
            return r;
    }
    if (w.batch.empty())
        return write_result::done;
    std::vector<const message*> all;
    all.reserve(w.batch.size());
    for (const auto& m : w.batch.messages)
        all.push_back(&m);
    auto r = deliver(w, all, false);
    if (r != write_result::done)
        return r;
    // The retry policy's isolated messages, now that the good ones are through.
    for (std::size_t i = 0; i < w.deferred.size(); ++i) {
        r = deliver(w, {w.deferred[i]}, true);
        if (r != write_result::done)
            return r;
    }
    return write_result::done;
}

sink_pipeline::write_result sink_pipeline::deliver(work_item& w,
                                                   const std::vector<const message*>& msgs,
                                                   bool forever) {
    const auto& in = *inputs_[w.input];
    const auto& st = s_.streams[in.stream_index];
    message_batch subset;
    const message_batch* mb = &w.batch;
    if (msgs.size() != w.batch.size()) {
        subset.messages.reserve(msgs.size());
        for (const auto* m : msgs)
            subset.messages.push_back(*m);
        mb = &subset;
    }
    sink_batch sb{st.stream, in.topic, w.partition, st.schema, mb};
    backoff b(s_.policy.backoff);
    std::uint32_t attempt = 0;
    for (;;) {
        if (hard_stop_.stop_requested())
            return write_result::abandoned;
        auto r = sink_->write(sb);
        // An isolated message the retry policy keeps trying that the sink refused again: a
        // failed attempt like any other, with the backoff (never a tight loop).
        if (r && forever && !r->rejected.empty() && r->rejected.front().index < mb->size()) {
            error refused = r->rejected.front().err;
            r = unexpected(std::move(refused));
        }
        if (r) {
            const std::size_t accepted = mb->size() - std::min(mb->size(), r->rejected.size());
            stats_.messages_out.fetch_add(accepted, std::memory_order_relaxed);
            std::uint64_t bytes = mb->payload_bytes();
            for (const auto& rej : r->rejected) {
                if (rej.index < mb->size())
                    bytes -= mb->messages[rej.index].payload.size();
            }
            stats_.bytes_out.fetch_add(bytes, std::memory_order_relaxed);
            stats_.batches_out.fetch_add(1, std::memory_order_relaxed);
            for (const auto& rej : r->rejected) {
                if (rej.index >= mb->size())
                    continue;
                // msgs[i] is subset.messages[i]'s original in w.batch: stable for handle().
                stats_.count_error(rej.err);  // a message the sink refused
                auto fr = fail_message(w, *msgs[rej.index], rej.err, failure_stage::write);
                if (fr != write_result::done)
                    return fr;
            }
            return write_result::done;
        }
        const error& err = r.error();
        if (err.code() == errc::cancelled && hard_stop_.stop_requested()) {
            return write_result::abandoned;
        }
        stats_.count_error(err);
        retry_decision d = decide(s_.policy, err, ++attempt, b);
        if (forever && !d.retry) {
            d.retry = true;
            d.delay = b.next();
        }
        if (d.retry) {
            stats_.retries.fetch_add(1, std::memory_order_relaxed);
            if (attempt == 1 || attempt % 10 == 0) {
                log::limited(spdlog::level::warn, "sink " + s_.key + ": write failed",
                             "sink {}: write of {} messages ({}/{} partition {} from offset {}) "
                             "failed (attempt {}), retrying in {} ms: {}",
                             s_.key, mb->size(), st.stream, in.topic, w.partition,
                             mb->messages.front().offset, attempt, d.delay.count(),
                             err.to_string());
            }
            // A stop request ends the wait: the batch is not committed and comes again after
            // the restart, so a shutdown never waits for a target that does not come back.
            if (!pause(d.delay, true))
                return write_result::abandoned;
            // A lost connection is the sink's to re-establish: close and open it again.
            if (err.code() == errc::unavailable && !reopen_sink())
                continue;
            continue;
        }
        if (msgs.size() == 1)
            return fail_message(w, *msgs.front(), err, failure_stage::write);
        // Isolate the failing message(s): the good ones must not wait for ever behind them.
        log::limited(spdlog::level::warn, "sink " + s_.key + ": bisecting",
                     "sink {}: write of {} messages failed for good ({}); bisecting to find the "
                     "failing message(s)",
                     s_.key, msgs.size(), err.to_string());
        const std::size_t half = msgs.size() / 2;
        std::vector<const message*> left(msgs.begin(), msgs.begin() + static_cast<long>(half));
        std::vector<const message*> right(msgs.begin() + static_cast<long>(half), msgs.end());
        auto lr = deliver(w, left, false);
        if (lr != write_result::done)
            return lr;
        return deliver(w, right, false);
    }
}

const message& sink_pipeline::original_of(const work_item& w, const message& m) const {
    if (w.originals.empty())
        return m;
    auto it = std::lower_bound(w.originals.begin(), w.originals.end(), m.offset,
                               [](const message& a, std::uint64_t o) { return a.offset < o; });
    if (it != w.originals.end() && it->offset == m.offset)
        return *it;
    return m;
}

sink_pipeline::write_result sink_pipeline::fail_message(work_item& w, const message& m,
                                                        const error& e, failure_stage stage) {
    const auto& in = *inputs_[w.input];
    const auto& st = s_.streams[in.stream_index];
    switch (s_.policy.on_error) {
        case policy_action::skip:
            stats_.skipped.fetch_add(1, std::memory_order_relaxed);
            log::limited(spdlog::level::warn, "sink " + s_.key + ": skipped",
                         "sink {}: skipped message {}/{} partition {} offset {} ({} failed): {}",
                         s_.key, st.stream, in.topic, w.partition, m.offset, to_string(stage),
                         e.to_string());
            return write_result::done;
        case policy_action::dead_letter:
            return dead_letter(w, original_of(w, m), e, stage);
        case policy_action::retry:
            if (stage == failure_stage::write) {
                log::limited(spdlog::level::warn, "sink " + s_.key + ": retrying a message",
                             "sink {}: message {}/{} partition {} offset {} failed ({}); error "
                             "policy is retry: retrying it with backoff until it succeeds",
                             s_.key, st.stream, in.topic, w.partition, m.offset, e.to_string());
                // `m` lives in w.batch (or w.rejected): stable for the whole handle().
                w.deferred.push_back(&m);
                return write_result::done;
            }
            // Decoding and transforming are deterministic: retrying cannot help.
            [[fallthrough]];
        case policy_action::stop:
            break;
    }
    halt_error_ =
        e.wrap(fmt::format("{} of message {}/{} partition {} offset {} failed (error policy: {})",
                           to_string(stage), st.stream, in.topic, w.partition, m.offset,
                           s_.policy.on_error == policy_action::stop && s_.policy.on_error_defaulted
                               ? "stop, the default without a dead-letter topic"
                               : "stop"));
    spdlog::error(
        "sink {}: {}; the connector stops here, nothing is committed from this message on; "
        "restart it (POST /sinks/{}/restart) once the cause is fixed",
        s_.key, halt_error_.message(), s_.key);
    return write_result::halted;
}

sink_pipeline::write_result sink_pipeline::dead_letter(const work_item& w, const message& m,
                                                       const error& e, failure_stage stage) {
    const auto& in = *inputs_[w.input];
    const auto& st = s_.streams[in.stream_index];
    auto batch = std::make_shared<message_batch>();
    failure_info info;
    info.stage = stage;
    info.err = e;
    info.connector_key = s_.key;
    info.stream = st.stream;
    info.topic = in.topic;
    info.partition = w.partition;
    info.offset = m.offset;
    info.original_timestamp_us = m.timestamp_us;
    append_dead_letter(*batch, m, info);
    backoff b(s_.policy.backoff);
    for (;;) {
        auto sent = dlq_->send_sync(batch);
        if (sent) {
            stats_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
            log::limited(spdlog::level::warn, "sink " + s_.key + ": dead-lettered",
                         "sink {}: dead-lettered message {}/{} partition {} offset {} to {}/{} "
                         "({} failed): {}",
                         s_.key, st.stream, in.topic, w.partition, m.offset,
                         s_.policy.dead_letter->stream, s_.policy.dead_letter->topic,
                         to_string(stage), e.to_string());
            return write_result::done;
        }
        stats_.count_error(sent.error());
        if (sent.error().retry() == retry_class::fatal) {
            // Iggy refused the dead letter for good: retrying cannot help, and skipping would
            // lose the message. Stop before it, as the stop policy does.
            halt_error_ = sent.error().wrap(fmt::format(
                "dead-lettering message {}/{} partition {} offset {} ({} failed: {})", st.stream,
                in.topic, w.partition, m.offset, to_string(stage), e.to_string()));
            spdlog::error(
                "sink {}: {}; the connector stops here, nothing is committed from this message "
                "on; restart it (POST /sinks/{}/restart) once the cause is fixed",
                s_.key, halt_error_.message(), s_.key);
            return write_result::halted;
        }
        const auto delay = b.next();
        log::limited(spdlog::level::warn, "sink " + s_.key + ": dead-letter send failed",
                     "sink {}: sending to the dead-letter topic failed, retrying in {} ms: {}",
                     s_.key, delay.count(), sent.error().to_string());
        if (!pause(delay, true))
            return write_result::abandoned;
    }
}

bool sink_pipeline::reopen_sink() {
    sink_->close();
    auto st = sink_->open(ctx_);
    if (!st) {
        log::limited(spdlog::level::warn, "sink " + s_.key + ": reopen failed",
                     "sink {}: reopening after a lost connection failed: {}", s_.key,
                     st.error().to_string());
    }
    return static_cast<bool>(st);
}

}  // namespace trib::runtime
