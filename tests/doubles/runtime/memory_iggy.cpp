#include "runtime/memory_iggy.h"

#include <algorithm>
#include <functional>

#include "runtime/error_policy.h"

namespace trib::runtime {

memory_iggy::memory_iggy() = default;
memory_iggy::~memory_iggy() = default;

memory_iggy::topic_data* memory_iggy::find(std::string_view stream, std::string_view topic) {
    auto it = topics_.find({std::string(stream), std::string(topic)});
    return it == topics_.end() ? nullptr : &it->second;
}

const memory_iggy::topic_data* memory_iggy::find(std::string_view stream,
                                                 std::string_view topic) const {
    auto it = topics_.find({std::string(stream), std::string(topic)});
    return it == topics_.end() ? nullptr : &it->second;
}

result<bool> memory_iggy::ensure_topic(std::string_view stream, std::string_view topic,
                                       std::uint32_t partitions) {
    std::lock_guard lk(mu_);
    if (find(stream, topic) != nullptr)
        return false;
    topic_data t;
    t.partitions.resize(std::max<std::uint32_t>(partitions, 1));
    topics_.emplace(std::make_pair(std::string(stream), std::string(topic)), std::move(t));
    return true;
}

void memory_iggy::append(std::string_view stream, std::string_view topic, std::uint32_t partition,
                         std::vector<stored_message> msgs) {
    std::lock_guard lk(mu_);
    auto* t = find(stream, topic);
    if (t == nullptr) {
        topic_data nt;
        nt.partitions.resize(partition + 1);
        t = &topics_.emplace(std::make_pair(std::string(stream), std::string(topic)), std::move(nt))
                 .first->second;
    }
    if (t->partitions.size() <= partition)
        t->partitions.resize(partition + 1);
    auto& log = t->partitions[partition].log;
    for (auto& m : msgs) {
        m.offset = log.size();
        m.partition = partition;
        if (m.timestamp_us == 0)
            m.timestamp_us = now_us();
        log.push_back(std::move(m));
    }
}

std::vector<stored_message> memory_iggy::messages(std::string_view stream,
                                                  std::string_view topic) const {
    std::lock_guard lk(mu_);
    std::vector<stored_message> out;
    if (const auto* t = find(stream, topic)) {
        for (const auto& p : t->partitions)
            out.insert(out.end(), p.log.begin(), p.log.end());
    }
    return out;
}

std::size_t memory_iggy::count(std::string_view stream, std::string_view topic) const {
    std::lock_guard lk(mu_);
    std::size_t n = 0;
    if (const auto* t = find(stream, topic)) {
        for (const auto& p : t->partitions)
            n += p.log.size();
    }
    return n;
}

std::optional<std::uint64_t> memory_iggy::committed(std::string_view stream, std::string_view topic,
                                                    std::string_view group,
                                                    std::uint32_t partition) const {
    std::lock_guard lk(mu_);
    const auto* t = find(stream, topic);
    if (t == nullptr)
        return std::nullopt;
    auto g = t->groups.find(std::string(group));
    if (g == t->groups.end())
        return std::nullopt;
    auto p = g->second.find(partition);
    if (p == g->second.end())
        return std::nullopt;
    return p->second;
}

std::vector<std::pair<std::uint32_t, std::uint64_t>> memory_iggy::commit_log(
    std::string_view group) const {
    std::lock_guard lk(mu_);
    auto it = commit_log_.find(std::string(group));
    if (it == commit_log_.end())
        return {};
    return it->second;
}

void memory_iggy::fail_polls(std::size_t n, error e) {
    std::lock_guard lk(mu_);
    fail_polls_ = n;
    poll_error_ = std::move(e);
}

void memory_iggy::fail_sends(std::size_t n, error e) {
    std::lock_guard lk(mu_);
    fail_sends_ = n;
    send_error_ = std::move(e);
}

void memory_iggy::reject_sends_if(std::function<std::optional<error>(const message&)> f) {
    std::lock_guard lk(mu_);
    reject_ = std::move(f);
}

void memory_iggy::set_send_latency(std::chrono::microseconds d) {
    std::lock_guard lk(mu_);
    send_latency_ = d;
}

void memory_iggy::hold_sends(bool on) {
    {
        std::lock_guard lk(mu_);
        hold_sends_ = on;
    }
    cv_.notify_all();
}

status memory_iggy::store(const producer_options& o, const message_batch& b) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return !hold_sends_; });
    if (fail_sends_ > 0) {
        --fail_sends_;
        return send_error_;
    }
    if (reject_) {
        for (const auto& m : b.messages) {
            if (auto e = reject_(m))
                return *e;
        }
    }
    auto* t = find(o.stream, o.topic);
    if (t == nullptr)
        return fail(errc::not_found, "topic " + o.stream + "/" + o.topic);
    const auto n = t->partitions.size();
    const auto ts = now_us();
    for (const auto& m : b.messages) {
        std::uint32_t p = 0;
        if (!m.key.empty()) {
            p = static_cast<std::uint32_t>(std::hash<std::string>{}(m.key) % n);
        } else {
            p = static_cast<std::uint32_t>(t->rr++ % n);
        }
        auto& log = t->partitions[p].log;
        stored_message s;
        s.offset = log.size();
        s.partition = p;
        s.id = m.id;
        s.timestamp_us = ts;
        s.origin_timestamp_us = m.origin_timestamp_us != 0 ? m.origin_timestamp_us : ts;
        s.payload = std::string(m.payload);
        s.headers = m.headers;
        log.push_back(std::move(s));
    }
    return ok();
}

// ---- consumer ---------------------------------------------------------------------------------

class memory_iggy::consumer final : public consumer_port {
  public:
    consumer(memory_iggy& owner, consumer_options o) : owner_(owner), o_(std::move(o)) {}

    result<polled_batch> poll(std::uint32_t max_messages) override {
        std::lock_guard lk(owner_.mu_);
        if (owner_.fail_polls_ > 0) {
            --owner_.fail_polls_;
            return owner_.poll_error_;
        }
        auto* t = owner_.find(o_.stream, o_.topic);
        if (t == nullptr)
            return fail(errc::not_found, "topic " + o_.stream + "/" + o_.topic);
        const auto n = static_cast<std::uint32_t>(t->partitions.size());
        auto& stored = t->groups[o_.group];
        for (std::uint32_t k = 0; k < n; ++k) {
            const std::uint32_t p = (next_partition_ + k) % n;
            auto pos = positions_.find(p);
            if (pos == positions_.end()) {
                auto s = stored.find(p);
                pos = positions_.emplace(p, s == stored.end() ? 0 : s->second + 1).first;
            }
            const auto& log = t->partitions[p].log;
            if (pos->second >= log.size())
                continue;
            polled_batch out;
            out.partition = p;
            out.partition_end = log.size() - 1;
            // One buffer per poll, like a reply frame the batch holds on to.
            auto buf = std::make_shared<std::string>();
            const std::uint64_t end =
                std::min<std::uint64_t>(log.size(), pos->second + max_messages);
            std::size_t bytes = 0;
            for (std::uint64_t i = pos->second; i < end; ++i)
                bytes += log[i].payload.size();
            buf->reserve(bytes);
            for (std::uint64_t i = pos->second; i < end; ++i)
                buf->append(log[i].payload);
            std::size_t at = 0;
            out.batch.messages.reserve(end - pos->second);
            for (std::uint64_t i = pos->second; i < end; ++i) {
                const auto& s = log[i];
                message m;
                m.id = s.id;
                m.offset = s.offset;
                m.partition = p;
                m.timestamp_us = s.timestamp_us;
                m.origin_timestamp_us = s.origin_timestamp_us;
                m.payload = std::string_view(*buf).substr(at, s.payload.size());
                at += s.payload.size();
                m.headers = s.headers;
                out.batch.messages.push_back(std::move(m));
            }
            out.batch.hold(std::move(buf));
            pos->second = end;
            next_partition_ = p + 1;
            return out;
        }
        return polled_batch{};
    }

    status commit(std::uint32_t partition, std::uint64_t offset) override {
        std::lock_guard lk(owner_.mu_);
        auto* t = owner_.find(o_.stream, o_.topic);
        if (t == nullptr)
            return fail(errc::not_found, "topic");
        t->groups[o_.group][partition] = offset;
        owner_.commit_log_[o_.group].emplace_back(partition, offset);
        return ok();
    }

  private:
    memory_iggy& owner_;
    consumer_options o_;
    std::map<std::uint32_t, std::uint64_t> positions_;
    std::uint32_t next_partition_ = 0;
};

result<std::unique_ptr<consumer_port>> memory_iggy::open_consumer(const consumer_options& o) {
    return std::unique_ptr<consumer_port>(std::make_unique<consumer>(*this, o));
}

// ---- producer: acknowledges from its own thread, like a network client ------------------------

class memory_iggy::producer final : public producer_port {
  public:
    producer(memory_iggy& owner, producer_options o) : owner_(owner), o_(std::move(o)) {
        worker_ = std::thread([this] { run(); });
    }
    ~producer() override { close(); }

    void send(std::shared_ptr<const message_batch> batch, completion done) override {
        {
            std::lock_guard lk(mu_);
            if (!closed_) {
                queue_.emplace_back(std::move(batch), std::move(done));
                cv_.notify_all();
                return;
            }
        }
        done(fail(errc::cancelled, "producer closed"));
    }

    void close() override {
        {
            std::lock_guard lk(mu_);
            if (closed_)
                return;
            closed_ = true;
        }
        cv_.notify_all();
        if (worker_.joinable())
            worker_.join();
    }

  private:
    void run() {
        for (;;) {
            std::pair<std::shared_ptr<const message_batch>, completion> item;
            {
                std::unique_lock lk(mu_);
                cv_.wait(lk, [&] { return closed_ || !queue_.empty(); });
                if (queue_.empty())
                    return;  // closed and drained
                item = std::move(queue_.front());
                queue_.pop_front();
            }
            std::chrono::microseconds lat;
            {
                std::lock_guard lk(owner_.mu_);
                lat = owner_.send_latency_;
            }
            if (lat.count() > 0)
                std::this_thread::sleep_for(lat);
            item.second(owner_.store(o_, *item.first));
        }
    }

    memory_iggy& owner_;
    producer_options o_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::pair<std::shared_ptr<const message_batch>, completion>> queue_;
    bool closed_ = false;
    std::thread worker_;
};

result<std::unique_ptr<producer_port>> memory_iggy::open_producer(const producer_options& o) {
    {
        std::lock_guard lk(mu_);
        if (find(o.stream, o.topic) == nullptr) {
            return fail(errc::not_found, "topic " + o.stream + "/" + o.topic + " does not exist");
        }
    }
    return std::unique_ptr<producer_port>(std::make_unique<producer>(*this, o));
}

}  // namespace trib::runtime
