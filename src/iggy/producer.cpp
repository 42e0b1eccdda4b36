#include "iggy/producer.h"

#include <fmt/format.h>

#include <algorithm>

#include "iggy/address.h"

namespace trib::iggy {

using clock = std::chrono::steady_clock;

// The acknowledgement state of one `send` call. `pending` starts at 1 (held by `send` while it
// distributes messages) so that pieces finishing early cannot complete it prematurely.
struct producer::ticket {
    std::mutex mu;
    unsigned pending = 1;
    bool failed = false;
    error err;
    send_ack ack;
    ack_callback done;

    void piece_done(const status& st, const send_ack::part* part) {
        ack_callback cb;
        result<send_ack> out = send_ack{};
        {
            std::lock_guard lk(mu);
            if (!st && !failed) {
                failed = true;
                err = st.error();
            }
            if (st && part)
                ack.parts.push_back(*part);
            if (--pending > 0)
                return;
            cb = std::move(done);
            if (failed)
                out = err;
            else
                out = std::move(ack);
        }
        if (cb)
            cb(std::move(out));
    }
};

struct producer::pending_batch {
    std::uint32_t partition = 0;
    bytes batch;
    std::uint32_t messages = 0;
    std::size_t accounted = 0;  // bytes charged to the in-flight budget
    std::vector<std::pair<std::shared_ptr<ticket>, std::uint32_t>> tickets;
};

struct producer::accumulator {
    batch_builder builder;
    std::size_t accounted = 0;
    clock::time_point first_at{};
    std::vector<std::pair<std::shared_ptr<ticket>, std::uint32_t>> tickets;
};

struct producer::sender {
    std::unique_ptr<client> conn;
    std::thread th;
    std::mutex mu;
    std::condition_variable cv;
    std::deque<pending_batch> queue;
    bool stop = false;
};

namespace {
std::size_t message_cost(const producer_message& m) {
    return frame_header_size + m.payload.size() + m.user_headers.size();
}
}  // namespace

producer::producer(producer_options options) : opts_(std::move(options)) {}

result<std::unique_ptr<producer>> producer::create(producer_options options) {
    if (options.connections == 0)
        options.connections = 1;
    if (options.batch_max_messages == 0)
        options.batch_max_messages = 1;
    std::unique_ptr<producer> p(new producer(std::move(options)));
    for (unsigned i = 0; i < p->opts_.connections; ++i) {
        auto s = std::make_unique<sender>();
        client_options co = p->opts_.client;
        TRIB_ASSIGN_OR_RETURN(s->conn, client::connect(std::move(co)));
        p->senders_.push_back(std::move(s));
    }
    TRIB_ASSIGN_OR_RETURN(auto topic,
                          p->senders_[0]->conn->get_topic(p->opts_.stream, p->opts_.topic));
    if (!topic) {
        return fail(errc::not_found,
                    fmt::format("producer: topic {} in stream {} does not exist",
                                p->opts_.topic.to_string(), p->opts_.stream.to_string()));
    }
    p->partitions_ = std::max<std::uint32_t>(1, topic->topic.partitions_count);
    if (p->opts_.mode == partition_mode::partition_id && p->opts_.partition >= p->partitions_) {
        return fail(errc::invalid_argument,
                    fmt::format("producer: partition {} outside the topic's {} partitions",
                                p->opts_.partition, p->partitions_));
    }
    for (std::uint32_t i = 0; i < p->partitions_; ++i)
        p->acc_.push_back(std::make_unique<accumulator>());
    for (auto& s : p->senders_) {
        sender* sp = s.get();
        producer* self = p.get();
        s->th = std::thread([self, sp] {
            std::unique_lock lk(sp->mu);
            backoff retry_wait(std::chrono::milliseconds(50), std::chrono::milliseconds(2000));
            for (;;) {
                sp->cv.wait(lk, [&] { return sp->stop || !sp->queue.empty(); });
                if (sp->queue.empty())
                    return;
                pending_batch b = std::move(sp->queue.front());
                sp->queue.pop_front();
                lk.unlock();
                result<send_messages_reply> r = send_messages_reply{};
                retry_wait.reset();
                for (unsigned attempt = 0;; ++attempt) {
                    r = sp->conn->send_messages(self->opts_.stream, self->opts_.topic,
                                                partitioning::partition_id(b.partition), b.batch);
                    if (r || !r.error().retryable() || attempt >= self->opts_.max_retries)
                        break;
                    std::this_thread::sleep_for(retry_wait.next());
                }
                send_ack::part part;
                part.partition = b.partition;
                if (r && !r->confirmations.empty())
                    part.base_offset = r->confirmations[0].base_offset;
                status st = r ? ok() : status(r.error());
                for (auto& [t, n] : b.tickets) {
                    part.messages = n;
                    t->piece_done(st, &part);
                }
                self->release(b.accounted);
                lk.lock();
            }
        });
    }
    if (p->opts_.linger.count() > 0)
        p->linger_ = std::thread([self = p.get()] { self->linger_loop(); });
    return p;
}

producer::~producer() {
    close();
}

std::size_t producer::in_flight_bytes() const {
    std::lock_guard lk(mu_);
    return in_flight_;
}

void producer::release(std::size_t n) {
    {
        std::lock_guard lk(mu_);
        in_flight_ -= n;
        --unacked_batches_;
    }
    budget_cv_.notify_all();
    idle_cv_.notify_all();
}

void producer::flush_partition_locked(std::uint32_t p) {
    accumulator& a = *acc_[p];
    if (a.builder.empty())
        return;
    pending_batch b;
    b.partition = p;
    b.messages = a.builder.count();
    b.batch = a.builder.finish();
    b.accounted = a.accounted;
    b.tickets = std::move(a.tickets);
    a.tickets.clear();
    a.accounted = 0;
    ++unacked_batches_;
    sender& s = *senders_[p % senders_.size()];
    {
        std::lock_guard lk(s.mu);
        s.queue.push_back(std::move(b));
    }
    s.cv.notify_one();
}

status producer::send(std::span<const producer_message> messages, ack_callback done) {
    std::size_t cost = 0;
    for (const auto& m : messages) {
        if (m.payload.empty() && !opts_.allow_empty_payloads)
            return fail(errc::invalid_argument, "producer: empty payload");
        cost += message_cost(m);
    }
    auto t = std::make_shared<ticket>();
    t->done = std::move(done);
    if (messages.empty()) {
        t->piece_done(ok(), nullptr);
        return ok();
    }
    std::unique_lock lk(mu_);
    if (closed_)
        return fail(errc::failed_precondition, "producer: closed");
    // Back-pressure: wait for room unless nothing is in flight (a single oversized call still
    // goes through, alone).
    auto deadline = clock::now() + opts_.send_timeout;
    while (in_flight_ > 0 && in_flight_ + cost > opts_.max_in_flight_bytes) {
        if (budget_cv_.wait_until(lk, deadline) == std::cv_status::timeout && in_flight_ > 0 &&
            in_flight_ + cost > opts_.max_in_flight_bytes) {
            return error(errc::resource_exhausted, retry_class::throttled,
                         "producer: in-flight budget still full after send_timeout");
        }
        if (closed_)
            return fail(errc::failed_precondition, "producer: closed");
    }
    in_flight_ += cost;
    std::uint32_t fixed = 0;
    if (opts_.mode == partition_mode::balanced)
        fixed = static_cast<std::uint32_t>(round_robin_++ % partitions_);
    else if (opts_.mode == partition_mode::partition_id)
        fixed = opts_.partition;
    auto now = clock::now();
    bool wake_linger = false;
    for (const auto& m : messages) {
        std::uint32_t p = opts_.mode == partition_mode::messages_key
                              ? partition_for_key(m.key, partitions_)
                              : fixed;
        accumulator& a = *acc_[p];
        if (a.builder.empty()) {
            a.first_at = now;
            wake_linger = linger_idle_;
        }
        if (a.tickets.empty() || a.tickets.back().first != t) {
            std::lock_guard tl(t->mu);
            ++t->pending;
            a.tickets.emplace_back(t, 0);
        }
        ++a.tickets.back().second;
        a.builder.add({m.id, m.origin_timestamp, m.payload, m.user_headers});
        a.accounted += message_cost(m);
        if (a.builder.count() >= opts_.batch_max_messages ||
            a.builder.size_bytes() >= opts_.batch_max_bytes)
            flush_partition_locked(p);
    }
    if (opts_.linger.count() == 0) {
        for (std::uint32_t p = 0; p < partitions_; ++p)
            flush_partition_locked(p);
    }
    lk.unlock();
    if (wake_linger)
        linger_cv_.notify_one();
    t->piece_done(ok(), nullptr);  // drop the distribution guard
    return ok();
}

std::future<result<send_ack>> producer::send(std::span<const producer_message> messages) {
    auto prom = std::make_shared<std::promise<result<send_ack>>>();
    auto fut = prom->get_future();
    auto st = send(messages, [prom](result<send_ack> r) { prom->set_value(std::move(r)); });
    if (!st)
        prom->set_value(st.error());
    return fut;
}

void producer::linger_loop() {
    // Sleeps until the oldest accumulated message is due, or until `send` starts a batch when
    // nothing is accumulated (no periodic wake-ups, which would also take `mu_` from senders).
    std::unique_lock lk(mu_);
    while (!closed_) {
        auto now = clock::now();
        bool any = false;
        clock::time_point next = clock::time_point::max();
        for (std::uint32_t p = 0; p < partitions_; ++p) {
            accumulator& a = *acc_[p];
            if (a.builder.empty())
                continue;
            if (now - a.first_at >= opts_.linger) {
                flush_partition_locked(p);
            } else {
                any = true;
                next = std::min(next, a.first_at + opts_.linger);
            }
        }
        if (any) {
            linger_cv_.wait_until(lk, next);
        } else {
            linger_idle_ = true;
            linger_cv_.wait(lk);
            linger_idle_ = false;
        }
    }
}

status producer::flush() {
    std::unique_lock lk(mu_);
    for (std::uint32_t p = 0; p < partitions_; ++p)
        flush_partition_locked(p);
    idle_cv_.wait(lk, [&] { return unacked_batches_ == 0; });
    return ok();
}

void producer::close() {
    {
        std::unique_lock lk(mu_);
        if (closed_ && senders_.empty())
            return;
        for (std::uint32_t p = 0; p < acc_.size(); ++p)
            flush_partition_locked(p);
        idle_cv_.wait(lk, [&] { return unacked_batches_ == 0; });
        closed_ = true;
    }
    linger_cv_.notify_all();
    budget_cv_.notify_all();
    if (linger_.joinable())
        linger_.join();
    for (auto& s : senders_) {
        {
            std::lock_guard lk(s->mu);
            s->stop = true;
        }
        s->cv.notify_all();
        if (s->th.joinable())
            s->th.join();
    }
    senders_.clear();
}

}  // namespace trib::iggy
