#pragma once
// In-memory connectors for the pipeline tests: a sink and a source whose behaviour the tests
// script (failures, rejections, slowness), recording what the runtime did to them.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/connector.h"
#include "core/parse_number.h"
#include "runtime/memory_iggy.h"
#include "runtime/ports.h"

namespace trib::test {

/// Records every message it accepted; scripted failures.
struct fake_sink_state {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<std::string> written;  // payloads, in write order
    std::vector<std::uint64_t> written_offsets;
    std::size_t write_calls = 0;
    std::size_t opens = 0;
    std::size_t closes = 0;
    /// Fail this many write calls with `fail_error` first.
    std::size_t fail_writes = 0;
    error fail_error{errc::unavailable, "target down"};
    /// A batch containing a payload with this text fails with a fatal error (whole batch).
    std::string poison;
    /// Messages with this text are rejected one by one through write_outcome.
    std::string reject;
    std::chrono::milliseconds write_delay{0};
    bool block = false;  // writes wait while true
    bool idempotent = false;

    std::size_t count() {
        std::lock_guard lk(mu);
        return written.size();
    }
};

class fake_sink final : public sink {
  public:
    explicit fake_sink(std::shared_ptr<fake_sink_state> s) : s_(std::move(s)) {}
    status open(connector_context&) override {
        std::lock_guard lk(s_->mu);
        ++s_->opens;
        return ok();
    }
    result<write_outcome> write(const sink_batch& b) override {
        std::unique_lock lk(s_->mu);
        ++s_->write_calls;
        s_->cv.wait(lk, [&] { return !s_->block; });
        if (s_->write_delay.count() > 0) {
            lk.unlock();
            std::this_thread::sleep_for(s_->write_delay);
            lk.lock();
        }
        if (s_->fail_writes > 0) {
            --s_->fail_writes;
            return s_->fail_error;
        }
        if (!s_->poison.empty()) {
            for (const auto& m : b.messages->messages) {
                if (m.payload.find(s_->poison) != std::string_view::npos) {
                    return error(errc::invalid_argument, "poison message");
                }
            }
        }
        write_outcome out;
        for (std::size_t i = 0; i < b.messages->size(); ++i) {
            const auto& m = b.messages->messages[i];
            if (!s_->reject.empty() && m.payload.find(s_->reject) != std::string_view::npos) {
                out.rejected.push_back(message_error{i, error(errc::invalid_argument, "rejected")});
                continue;
            }
            s_->written.emplace_back(m.payload);
            s_->written_offsets.push_back(m.offset);
        }
        s_->cv.notify_all();
        return out;
    }
    void close() override {
        std::lock_guard lk(s_->mu);
        ++s_->closes;
    }
    bool idempotent() const override { return s_->idempotent; }

  private:
    std::shared_ptr<fake_sink_state> s_;
};

/// Produces "m<N>" messages, N = 1, 2, ...; state = the last N of the batch.
struct fake_source_state {
    std::mutex mu;
    std::uint64_t total = 0;  // messages to produce (then empty polls)
    std::uint64_t batch = 10;
    std::uint64_t next = 1;  // the next N
    std::vector<std::uint64_t> acks;
    std::vector<std::uint64_t> nacks;
    std::map<std::uint64_t, std::pair<std::uint64_t, std::uint64_t>> seq_range;  // seq -> [a, b]
    std::string opened_with;
    std::size_t opens = 0;
    std::uint64_t seq = 0;
    std::string poison_every;  // messages whose number is a multiple of this carry "poison"
    std::uint64_t poison_mod = 0;
    /// Messages whose number is a multiple of this are returned in source_batch::rejected
    /// ("r<N>", reason "cannot read r<N>") instead of the batch.
    std::uint64_t reject_mod = 0;
    std::size_t fail_polls = 0;
    error poll_error{errc::unavailable, "upstream down"};
    std::function<std::uint16_t(std::uint64_t)> route;  // message number -> route
    std::size_t polls = 0;  // poll() calls so far (tests wait for the loop to come round)
};

class fake_source final : public source {
  public:
    explicit fake_source(std::shared_ptr<fake_source_state> s) : s_(std::move(s)) {}
    status open(connector_context& ctx, std::string_view state) override {
        std::lock_guard lk(s_->mu);
        ++s_->opens;
        s_->opened_with = std::string(state);
        const auto saved = parse_u64(state);
        if (!state.empty() && !saved)
            return fail(errc::data_loss, "fake source state is not a number");
        s_->next = state.empty() ? 1 : *saved + 1;
        s_->seq = 0;
        ctx_ = &ctx;
        return ok();
    }
    result<source_batch> poll(std::chrono::milliseconds max_wait) override {
        std::unique_lock lk(s_->mu);
        ++s_->polls;
        if (s_->fail_polls > 0) {
            --s_->fail_polls;
            return s_->poll_error;
        }
        source_batch out;
        if (s_->next > s_->total) {
            lk.unlock();
            std::this_thread::sleep_for(std::min(max_wait, std::chrono::milliseconds(5)));
            return out;
        }
        const std::uint64_t a = s_->next;
        const std::uint64_t b = std::min(s_->total, a + s_->batch - 1);
        for (std::uint64_t n = a; n <= b; ++n) {
            message m;
            std::string p = "m" + std::to_string(n);
            if (s_->poison_mod != 0 && n % s_->poison_mod == 0)
                p += "-poison";
            m.payload = out.batch.own(std::move(p));
            if (s_->route)
                m.route = s_->route(n);
            if (s_->reject_mod != 0 && n % s_->reject_mod == 0) {
                m.payload = out.batch.own("r" + std::to_string(n));
                out.rejected.push_back(source_reject{
                    std::move(m),
                    error(errc::invalid_argument, "cannot read r" + std::to_string(n))});
                continue;
            }
            out.batch.messages.push_back(std::move(m));
        }
        s_->next = b + 1;
        out.state = std::to_string(b);
        out.has_state = true;
        s_->seq_range[++s_->seq] = {a, b};
        return out;
    }
    void ack(std::uint64_t seq) override {
        std::lock_guard lk(s_->mu);
        s_->acks.push_back(seq);
    }
    void nack(std::uint64_t seq) override {
        std::lock_guard lk(s_->mu);
        s_->nacks.push_back(seq);
        // Redeliver from the first message of the nacked batch.
        auto it = s_->seq_range.find(seq);
        if (it != s_->seq_range.end())
            s_->next = std::min(s_->next, it->second.first);
    }
    void close() override {}

  private:
    std::shared_ptr<fake_source_state> s_;
    connector_context* ctx_ = nullptr;
};

/// A memory state store that counts saves.
class memory_state_store final : public runtime::state_store {
  public:
    result<std::optional<std::string>> load(std::string_view key) override {
        std::lock_guard lk(mu_);
        auto it = states_.find(std::string(key));
        if (it == states_.end())
            return std::optional<std::string>();
        return std::optional<std::string>(it->second);
    }
    status save(std::string_view key, std::string_view state) override {
        std::lock_guard lk(mu_);
        states_[std::string(key)] = std::string(state);
        ++saves_;
        history_.emplace_back(state);
        return ok();
    }
    std::optional<std::string> get(const std::string& key) {
        std::lock_guard lk(mu_);
        auto it = states_.find(key);
        if (it == states_.end())
            return std::nullopt;
        return it->second;
    }
    std::size_t saves() {
        std::lock_guard lk(mu_);
        return saves_;
    }
    std::vector<std::string> history() {
        std::lock_guard lk(mu_);
        return history_;
    }

  private:
    std::mutex mu_;
    std::map<std::string, std::string> states_;
    std::size_t saves_ = 0;
    std::vector<std::string> history_;
};

/// Appends "m1".."mN" to a topic of memory_iggy.
inline void fill_topic(runtime::memory_iggy& iggy, const std::string& stream,
                       const std::string& topic, std::uint64_t n, std::uint32_t partition = 0,
                       std::uint64_t first = 1, const std::string& poison = "",
                       std::uint64_t poison_mod = 0) {
    std::vector<runtime::stored_message> msgs;
    msgs.reserve(n);
    for (std::uint64_t i = first; i < first + n; ++i) {
        runtime::stored_message m;
        m.payload = "m" + std::to_string(i);
        if (poison_mod != 0 && i % poison_mod == 0)
            m.payload += poison;
        m.id = message_id{i, 0};
        m.headers.push_back(header{"origin", value_kind::string, "test"});
        msgs.push_back(std::move(m));
    }
    iggy.append(stream, topic, partition, std::move(msgs));
}

}  // namespace trib::test
