#include "runtime/source_pipeline.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "core/log.h"

namespace trib::runtime {

using clock = std::chrono::steady_clock;

source_pipeline::source_pipeline(source_settings s, source_factory make_source,
                                 processor_factory make_processor, iggy_port& iggy,
                                 state_store& state, connector_stats& stats)
    : s_(std::move(s)),
      make_source_(std::move(make_source)),
      make_processor_(std::move(make_processor)),
      iggy_(iggy),
      state_(state),
      stats_(stats) {}

source_pipeline::~source_pipeline() {
    if (poller_.joinable() || committer_.joinable()) {
        request_stop();
        (void)join(clock::now());
    }
}

status source_pipeline::start() {
    if (s_.streams.empty())
        return fail(errc::invalid_argument, "source has no [[streams]] entry");
    ctx_.key = s_.key;
    ctx_.name = s_.name;
    ctx_.stop = hard_stop_.get_token();
    ctx_.metrics = s_.metrics;
    ctx_.routes.clear();
    for (const auto& st : s_.streams)
        ctx_.routes.push_back(stream_ref{st.stream, st.topic});

    auto close_all = [&] {
        for (auto& p : producers_)
            p->close();
        producers_.clear();
        processors_.clear();
        if (dlq_)
            dlq_->close();
        dlq_.reset();
    };

    auto loaded = state_.load(s_.key);
    if (!loaded)
        return loaded.error().wrap("loading the source state");
    auto made = make_source_();
    if (!made)
        return made.error();
    source_ = std::move(*made);
    if (auto st = source_->open(ctx_, loaded->value_or(std::string())); !st) {
        source_->close();
        source_.reset();
        if (st.error().code() == errc::data_loss && loaded->has_value()) {
            // A corrupt position is not replaced by a guess (the beginning would send it all
            // again, the end would skip data): a person decides.
            return st.error().wrap(
                "refusing to start: the saved state " + state_.where(s_.key) +
                " is unusable (fix it, or remove it to start from the configured start "
                "position)");
        }
        return st.error().wrap("open");
    }
    auto abort = [&](error e) -> status {
        close_all();
        source_->close();
        source_.reset();
        return e;
    };
    // Routes are fixed once open() returned (a source may add some there).
    for (std::size_t i = 0; i < ctx_.routes.size(); ++i) {
        const auto& r = ctx_.routes[i];
        const auto& st = s_.streams[std::min(i, s_.streams.size() - 1)];
        auto created = iggy_.ensure_topic(r.stream, r.topic, s_.create_partitions);
        if (!created)
            return abort(created.error().wrap("stream/topic " + r.stream + "/" + r.topic));
        if (*created) {
            spdlog::info("source {}: created stream/topic {}/{} (it did not exist)", s_.key,
                         r.stream, r.topic);
        }
        auto p = iggy_.open_producer(
            producer_options{r.stream, r.topic, st.batch_length, st.linger_time});
        if (!p)
            return abort(p.error().wrap("producer to " + r.stream + "/" + r.topic));
        producers_.push_back(std::move(*p));
        std::unique_ptr<message_processor> proc;
        if (make_processor_) {
            auto m = make_processor_(std::min(i, s_.streams.size() - 1), r, source_->schema());
            if (!m)
                return abort(m.error().wrap("transforms"));
            proc = std::move(*m);
        }
        processors_.push_back(std::move(proc));
    }
    if (s_.policy.on_error == policy_action::dead_letter) {
        if (!s_.policy.dead_letter) {
            return abort(error(errc::invalid_argument,
                               "error policy dead_letter needs a dead-letter stream and topic"));
        }
        const auto& dl = *s_.policy.dead_letter;
        auto created = iggy_.ensure_topic(dl.stream, dl.topic, 1);
        if (!created)
            return abort(created.error().wrap("dead-letter topic"));
        if (*created) {
            spdlog::info("source {}: created dead-letter stream/topic {}/{}", s_.key, dl.stream,
                         dl.topic);
        }
        producer_options po{dl.stream, dl.topic, 1000, std::chrono::milliseconds(0)};
        po.allow_empty_payloads = true;  // a message is dead-lettered as it was, empty or not
        auto p = iggy_.open_producer(po);
        if (!p)
            return abort(p.error().wrap("dead-letter producer"));
        dlq_ = std::move(*p);
    }
    poller_ = std::thread([this] { poll_loop(); });
    committer_ = std::thread([this] { commit_loop(); });
    return ok();
}

void source_pipeline::request_stop() {
    {
        std::lock_guard lk(mu_);
        draining_ = true;
    }
    cv_.notify_all();
}

pipeline_outcome source_pipeline::join(clock::time_point hard_deadline) {
    {
        std::unique_lock lk(mu_);
        const bool drained =
            cv_.wait_until(lk, hard_deadline, [&] { return poller_done_ && committer_done_; });
        if (!drained) {
            spdlog::warn(
                "source {}: drain deadline passed; batches not acknowledged by Iggy are "
                "nacked (the source delivers them again)",
                s_.key);
        }
    }
    hard_stop_.request_stop();
    cv_.notify_all();
    if (poller_.joinable())
        poller_.join();
    if (committer_.joinable())
        committer_.join();
    // Producers complete every outstanding send before close() returns, so no callback runs
    // after this point.
    for (auto& p : producers_)
        p->close();
    if (dlq_)
        dlq_->close();
    if (source_) {
        source_->close();
        source_.reset();
    }
    producers_.clear();
    dlq_.reset();
    processors_.clear();
    std::lock_guard lk(mu_);
    stats_.in_flight_bytes.store(0, std::memory_order_relaxed);
    stats_.in_flight_batches.store(0, std::memory_order_relaxed);
    return outcome_.value_or(pipeline_outcome{});
}

void source_pipeline::end_with(pipeline_outcome::kind k, error e) {
    {
        std::lock_guard lk(mu_);
        if (!outcome_)
            outcome_ = pipeline_outcome{k, std::move(e)};
    }
    cv_.notify_all();
    signal_end();
}

bool source_pipeline::pause(std::chrono::milliseconds d, bool wake_on_drain) {
    std::unique_lock lk(mu_);
    return !cv_.wait_for(lk, d, [&] {
        return hard_stop_.stop_requested() || outcome_.has_value() || (wake_on_drain && draining_);
    });
}

std::size_t source_pipeline::route_of(const message& m) const {
    return m.route < producers_.size() ? m.route : 0;
}

// ---- poller: source.poll, processing, sends --------------------------------------------------

void source_pipeline::poll_loop() {
    backoff poll_backoff(s_.policy.backoff);
    for (;;) {
        {
            std::unique_lock lk(mu_);
            cv_.wait(lk, [&] {
                return hard_stop_.stop_requested() || outcome_.has_value() || draining_ ||
                       inflight_.empty() ||
                       (bytes_in_flight_ < s_.limits.max_in_flight_bytes &&
                        inflight_.size() < s_.limits.max_in_flight_batches);
            });
            if (hard_stop_.stop_requested() || outcome_.has_value() || draining_)
                break;
        }
        auto r = source_->poll(s_.poll_wait);
        if (!r) {
            if (r.error().code() == errc::cancelled && hard_stop_.stop_requested())
                break;
            stats_.count_error(r.error());
            if (!r.error().retryable()) {
                spdlog::error("source {}: poll failed: {}", s_.key, r.error().to_string());
                end_with(pipeline_outcome::kind::failed, r.error().wrap("poll"));
                break;
            }
            const auto delay = poll_backoff.next();
            log::limited(spdlog::level::warn, "source " + s_.key + ": poll failed",
                         "source {}: poll failed, retrying in {} ms: {}", s_.key, delay.count(),
                         r.error().to_string());
            if (!pause(delay, true))
                break;
            continue;
        }
        poll_backoff.reset();
        source_batch& sb = *r;
        auto e = std::make_shared<entry>();
        e->polled_at = clock::now();
        e->state = std::move(sb.state);
        e->has_state = sb.has_state;
        if (sb.batch.empty() && sb.rejected.empty()) {
            if (!sb.has_state)
                continue;
            // A new position without messages: persist it in order with the batches before it.
            {
                std::lock_guard lk(mu_);
                inflight_.push_back(std::move(e));
            }
            cv_.notify_all();
            continue;
        }
        e->seq = ++next_seq_;
        e->polled = std::make_shared<message_batch>(std::move(sb.batch));
        e->bytes = e->polled->payload_bytes();
        stats_.messages_in.fetch_add(e->polled->size(), std::memory_order_relaxed);
        stats_.bytes_in.fetch_add(e->bytes, std::memory_order_relaxed);
        // Records the source could not produce go to the error policy like payloads that do
        // not decode (their payloads live in e->polled's arena, kept by the entry).
        for (auto& rj : sb.rejected) {
            e->rejected.push_back(
                rejected_message{std::move(rj.original), failure_stage::decode, std::move(rj.err)});
        }
        if (e->polled->empty()) {
            {
                std::lock_guard lk(mu_);
                bytes_in_flight_ += e->bytes;
                inflight_.push_back(std::move(e));
            }
            cv_.notify_all();
            continue;
        }

        // Split by route; the common single-route case sends the polled batch itself.
        const bool one_route = std::all_of(
            e->polled->messages.begin(), e->polled->messages.end(),
            [&](const message& m) { return route_of(m) == route_of(e->polled->messages.front()); });
        if (one_route) {
            e->parts.push_back(part{route_of(e->polled->messages.front()), e->polled});
        } else {
            std::vector<std::shared_ptr<message_batch>> by_route(producers_.size());
            for (const auto& m : e->polled->messages) {
                auto& b = by_route[route_of(m)];
                if (!b) {
                    b = std::make_shared<message_batch>();
                    b->hold(e->polled);
                }
                b->messages.push_back(m);
            }
            for (std::size_t i = 0; i < by_route.size(); ++i) {
                if (by_route[i])
                    e->parts.push_back(part{i, std::move(by_route[i])});
            }
        }
        std::uint64_t filtered = 0;
        for (auto& p : e->parts) {
            auto& proc = processors_[p.route];
            if (!proc)
                continue;
            // Keep the originals for the dead-letter topic: processing rewrites in place.
            if (p.batch == e->polled) {
                p.batch = std::make_shared<message_batch>();
                p.batch->hold(e->polled);
                p.batch->messages = e->polled->messages;
            }
            process_report rep;
            proc->process(*p.batch, rep);
            filtered += rep.filtered;
            for (auto& rj : rep.rejected)
                e->rejected.push_back(std::move(rj));
        }
        if (filtered != 0)
            stats_.messages_filtered.fetch_add(filtered, std::memory_order_relaxed);
        e->parts.erase(std::remove_if(e->parts.begin(), e->parts.end(),
                                      [](const part& p) { return p.batch->empty(); }),
                       e->parts.end());
        e->pending = e->parts.size();
        {
            std::lock_guard lk(mu_);
            bytes_in_flight_ += e->bytes;
            inflight_.push_back(e);
            stats_.in_flight_bytes.store(bytes_in_flight_, std::memory_order_relaxed);
            stats_.in_flight_batches.store(inflight_.size(), std::memory_order_relaxed);
        }
        cv_.notify_all();
        for (std::size_t i = 0; i < e->parts.size(); ++i) {
            producers_[e->parts[i].route]->send(
                e->parts[i].batch, [this, e, i](status st) { on_sent(e, i, std::move(st)); });
        }
    }
    {
        std::lock_guard lk(mu_);
        poller_done_ = true;
    }
    cv_.notify_all();
}

void source_pipeline::on_sent(const std::shared_ptr<entry>& e, std::size_t part_index, status st) {
    {
        std::lock_guard lk(mu_);
        auto& p = e->parts[part_index];
        p.done = true;
        if (!st) {
            p.err = st.error();
            e->failed = true;
        }
        if (e->pending > 0)
            --e->pending;
    }
    cv_.notify_all();
}

// ---- committer: failures, state, ack/nack ----------------------------------------------------

void source_pipeline::commit_loop() {
    for (;;) {
        std::vector<std::shared_ptr<entry>> run;
        {
            std::unique_lock lk(mu_);
            cv_.wait(lk, [&] {
                return hard_stop_.stop_requested() || outcome_.has_value() ||
                       (!inflight_.empty() && inflight_.front()->pending == 0) ||
                       (inflight_.empty() && poller_done_);
            });
            if (hard_stop_.stop_requested() || outcome_.has_value())
                break;
            if (inflight_.empty())
                break;  // the poller is done and everything is settled
            // The completed prefix of clean entries, or a lone entry that needs attention (the
            // clean ones before it are acknowledged first, whatever happens to it).
            for (const auto& e : inflight_) {
                if (e->pending != 0)
                    break;
                const bool troubled = e->failed || !e->rejected.empty();
                if (troubled && !run.empty())
                    break;
                run.push_back(e);
                if (troubled)
                    break;
            }
        }
        resolve_result rr = resolve_result::done;
        for (auto& e : run) {
            if (e->failed || !e->rejected.empty())
                rr = resolve(*e);
            if (rr != resolve_result::done)
                break;
        }
        if (rr == resolve_result::halted) {
            end_with(pipeline_outcome::kind::halted, halt_error_);
            break;
        }
        if (rr == resolve_result::abandoned)
            break;

        // One durable state write covers the whole run: states are positions.
        const entry* last_state = nullptr;
        for (const auto& e : run) {
            if (e->has_state)
                last_state = e.get();
        }
        if (last_state != nullptr) {
            backoff b(s_.policy.backoff);
            bool saved = false;
            for (;;) {
                auto st = state_.save(s_.key, last_state->state);
                if (st) {
                    saved = true;
                    break;
                }
                stats_.count_error(st.error());
                const auto delay = b.next();
                log::limited(spdlog::level::err, "source " + s_.key + ": state save failed",
                             "source {}: persisting the state failed, retrying in {} ms: {}",
                             s_.key, delay.count(), st.error().to_string());
                if (!pause(delay, true))
                    break;
            }
            if (!saved)
                break;
        }
        const auto now = clock::now();
        for (const auto& e : run) {
            if (e->seq != 0)
                source_->ack(e->seq);
            const std::uint64_t n = e->failed || !e->rejected.empty() ? e->delivered
                                    : e->polled                       ? e->polled->size()
                                                                      : 0;
            std::uint64_t bytes = e->delivered_bytes;
            if (!e->failed && e->rejected.empty()) {
                bytes = 0;
                for (const auto& p : e->parts)
                    bytes += p.batch->payload_bytes();
                std::uint64_t m = 0;
                for (const auto& p : e->parts)
                    m += p.batch->size();
                stats_.messages_out.fetch_add(m, std::memory_order_relaxed);
            } else {
                stats_.messages_out.fetch_add(n, std::memory_order_relaxed);
            }
            stats_.bytes_out.fetch_add(bytes, std::memory_order_relaxed);
            if (e->seq != 0) {
                stats_.batches_out.fetch_add(1, std::memory_order_relaxed);
                stats_.batch_latency.observe(
                    std::chrono::duration_cast<std::chrono::microseconds>(now - e->polled_at));
            }
        }
        {
            std::lock_guard lk(mu_);
            for (std::size_t i = 0; i < run.size(); ++i) {
                bytes_in_flight_ -= inflight_.front()->bytes;
                inflight_.pop_front();
            }
            stats_.in_flight_bytes.store(bytes_in_flight_, std::memory_order_relaxed);
            stats_.in_flight_batches.store(inflight_.size(), std::memory_order_relaxed);
        }
        cv_.notify_all();
    }
    // Whatever was not acknowledged goes back to the source, in order.
    std::deque<std::shared_ptr<entry>> rest;
    {
        std::lock_guard lk(mu_);
        rest.swap(inflight_);
        bytes_in_flight_ = 0;
    }
    for (const auto& e : rest) {
        if (e->seq != 0)
            source_->nack(e->seq);
    }
    {
        std::lock_guard lk(mu_);
        committer_done_ = true;
    }
    cv_.notify_all();
}

status source_pipeline::send_retrying(std::size_t route, std::shared_ptr<const message_batch> b,
                                      bool forever, error* last) {
    backoff bo(s_.policy.backoff);
    std::uint32_t attempt = 0;
    for (;;) {
        if (hard_stop_.stop_requested())
            return fail(errc::cancelled, "stopping");
        auto st = producers_[route]->send_sync(b);
        if (st)
            return st;
        stats_.count_error(st.error());
        if (last != nullptr)
            *last = st.error();
        retry_decision d = decide(s_.policy, st.error(), ++attempt, bo);
        if (forever && !d.retry) {
            d.retry = true;
            d.delay = bo.next();
        }
        if (!d.retry)
            return st;
        stats_.retries.fetch_add(1, std::memory_order_relaxed);
        if (attempt == 1 || attempt % 10 == 0) {
            log::limited(spdlog::level::warn, "source " + s_.key + ": send failed",
                         "source {}: sending {} messages failed (attempt {}), retrying in {} ms: "
                         "{}",
                         s_.key, b->size(), attempt, d.delay.count(), st.error().to_string());
        }
        if (!pause(d.delay, true))
            return fail(errc::cancelled, "stopping");
    }
}

source_pipeline::resolve_result source_pipeline::resolve(entry& e) {
    for (auto& p : e.parts) {
        if (!p.err) {
            e.delivered += p.batch->size();
            e.delivered_bytes += p.batch->payload_bytes();
            continue;
        }
        stats_.count_error(*p.err);
        error last = *p.err;
        // The first attempt failed already: count it, then retry the whole part.
        backoff bo(s_.policy.backoff);
        retry_decision d = decide(s_.policy, last, 1, bo);
        status st = last;
        if (d.retry) {
            stats_.retries.fetch_add(1, std::memory_order_relaxed);
            if (!pause(d.delay, true))
                return resolve_result::abandoned;
            st = send_retrying(p.route, p.batch, false, &last);
            if (!st && st.error().code() == errc::cancelled && hard_stop_.stop_requested()) {
                return resolve_result::abandoned;
            }
        }
        if (st) {
            e.delivered += p.batch->size();
            e.delivered_bytes += p.batch->payload_bytes();
            continue;
        }
        auto r = send_each(e, p, last);
        if (r != resolve_result::done)
            return r;
    }
    for (auto& rj : e.rejected) {
        stats_.count_error(rj.err);  // decode/transform failures count by class too
        auto r = fail_message(e, rj.original, rj.err, rj.stage);
        if (r != resolve_result::done)
            return r;
    }
    return resolve_result::done;
}

source_pipeline::resolve_result source_pipeline::send_each(entry& e, part& p,
                                                           const error& first_error) {
    log::limited(spdlog::level::warn, "source " + s_.key + ": one by one",
                 "source {}: a batch of {} messages could not be delivered ({}); sending them "
                 "one by one",
                 s_.key, p.batch->size(), first_error.to_string());
    for (const auto& m : p.batch->messages) {
        auto one = std::make_shared<message_batch>();
        one->hold(p.batch);
        one->messages.push_back(m);
        error last = first_error;
        auto st = send_retrying(p.route, one, false, &last);
        if (st) {
            e.delivered += 1;
            e.delivered_bytes += m.payload.size();
            continue;
        }
        if (hard_stop_.stop_requested())
            return resolve_result::abandoned;
        auto r = fail_message(e, m, last, failure_stage::send);
        if (r != resolve_result::done)
            return r;
    }
    return resolve_result::done;
}

source_pipeline::resolve_result source_pipeline::fail_message(entry& e, const message& m,
                                                              const error& failure,
                                                              failure_stage stage) {
    error err = failure;  // replaced by the dead-letter failure when that fails for good
    const auto& route = ctx_.routes[route_of(m)];
    switch (s_.policy.on_error) {
        case policy_action::skip:
            stats_.skipped.fetch_add(1, std::memory_order_relaxed);
            log::limited(spdlog::level::warn, "source " + s_.key + ": skipped",
                         "source {}: skipped a message for {}/{} ({} failed): {}", s_.key,
                         route.stream, route.topic, to_string(stage), err.to_string());
            return resolve_result::done;
        case policy_action::dead_letter: {
            auto batch = std::make_shared<message_batch>();
            failure_info info;
            info.stage = stage;
            info.err = err;
            info.connector_key = s_.key;
            info.stream = route.stream;
            info.topic = route.topic;
            append_dead_letter(*batch, m, info);
            backoff b(s_.policy.backoff);
            for (;;) {
                auto st = dlq_->send_sync(batch);
                if (st) {
                    stats_.dead_lettered.fetch_add(1, std::memory_order_relaxed);
                    log::limited(spdlog::level::warn, "source " + s_.key + ": dead-lettered",
                                 "source {}: dead-lettered a message for {}/{} ({} failed): {}",
                                 s_.key, route.stream, route.topic, to_string(stage),
                                 err.to_string());
                    return resolve_result::done;
                }
                stats_.count_error(st.error());
                if (st.error().retry() == retry_class::fatal) {
                    // Iggy refused the dead letter for good: stop before the message (below)
                    // rather than retry for ever or lose it.
                    err = st.error().wrap(fmt::format("dead-lettering after {} failed: {}",
                                                      to_string(stage), err.to_string()));
                    break;
                }
                if (!pause(b.next(), true))
                    return resolve_result::abandoned;
            }
            break;
        }
        case policy_action::retry:
            if (stage == failure_stage::send) {
                auto one = std::make_shared<message_batch>();
                one->hold(e.polled);
                one->messages.push_back(m);
                auto st = send_retrying(route_of(m), one, true, nullptr);
                if (st) {
                    e.delivered += 1;
                    e.delivered_bytes += m.payload.size();
                    return resolve_result::done;
                }
                return resolve_result::abandoned;
            }
            [[fallthrough]];
        case policy_action::stop:
            break;
    }
    halt_error_ = err.wrap(
        fmt::format("{} of a message for {}/{} failed (error policy: {})", to_string(stage),
                    route.stream, route.topic,
                    s_.policy.on_error == policy_action::stop && s_.policy.on_error_defaulted
                        ? "stop, the default without a dead-letter topic"
                        : "stop"));
    spdlog::error(
        "source {}: {}; the connector stops here, its state is not saved past this message; "
        "restart it (POST /sources/{}/restart) once the cause is fixed",
        s_.key, halt_error_.message(), s_.key);
    return resolve_result::halted;
}

}  // namespace trib::runtime
