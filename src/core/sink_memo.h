#pragma once
// What sinks that settle a batch's messages one by one share (HTTP and Kafka sinks): the memo of
// the messages earlier, failed attempts of a batch already delivered, so that the runtime's retry
// of the batch does not send them again, and rejected messages in message order.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/connector.h"
#include "core/message.h"

namespace trib {

/// Messages settled by earlier attempts of the batch being written. The runtime retries a failed
/// batch (or halves of it) before it moves on, so prepare() drops the memo as soon as a batch of
/// another partition, or entirely past it, arrives; it also drops it above a million entries
/// (bounded memory). Not thread-safe: one per sink, used from its write().
class sink_memo {
  public:
    /// A message's identity: the offset alone is not enough if a topic was recreated.
    struct key {
        std::uint64_t offset = 0;
        std::uint64_t id_lo = 0;
        std::uint64_t id_hi = 0;
        friend bool operator==(const key&, const key&) = default;
    };
    static key key_of(const message& m) { return key{m.offset, m.id.lo, m.id.hi}; }

    /// At the start of every write of a non-empty batch.
    void prepare(const sink_batch& b) {
        const auto& msgs = b.messages->messages;
        std::uint64_t lo = msgs.front().offset, hi = msgs.front().offset;
        for (const auto& m : msgs) {
            lo = std::min(lo, m.offset);
            hi = std::max(hi, m.offset);
        }
        if (b.stream != stream_ || b.topic != topic_ || b.partition != partition_ || lo > max_ ||
            keys_.size() > 1'000'000) {
            keys_.clear();
            stream_ = std::string(b.stream);
            topic_ = std::string(b.topic);
            partition_ = b.partition;
            max_ = hi;
        }
        max_ = std::max(max_, hi);
    }
    /// True when an earlier attempt of this batch delivered `m`.
    bool delivered(const message& m) const { return !keys_.empty() && keys_.count(key_of(m)) != 0; }
    void remember(const key& k) { keys_.insert(k); }
    void remember(const message& m) { keys_.insert(key_of(m)); }

  private:
    struct hash {
        std::size_t operator()(const key& k) const {
            return std::hash<std::uint64_t>()(k.offset * 0x9E3779B97F4A7C15ull ^ k.id_lo ^
                                              (k.id_hi << 1));
        }
    };
    std::unordered_set<key, hash> keys_;
    std::string stream_, topic_;
    std::uint32_t partition_ = 0;
    std::uint64_t max_ = 0;
};

/// Puts `out.rejected` in message order (a sink may settle messages out of order).
inline void sort_rejected(write_outcome& out) {
    std::sort(out.rejected.begin(), out.rejected.end(),
              [](const message_error& a, const message_error& b) { return a.index < b.index; });
}

}  // namespace trib
