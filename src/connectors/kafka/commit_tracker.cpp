#include "connectors/kafka/commit_tracker.h"

#include <algorithm>

namespace trib::connectors::kafka {

void commit_tracker::assign(const topic_partition& tp) {
    parts_[tp] = part{};
}

std::vector<partition_offset> commit_tracker::revoke(const std::vector<topic_partition>& tps) {
    std::vector<partition_offset> out;
    for (const auto& tp : tps) {
        auto it = parts_.find(tp);
        if (it == parts_.end())
            continue;
        if (it->second.acked_to > it->second.committed)
            out.push_back({tp, it->second.acked_to});
        parts_.erase(it);
    }
    return out;
}

void commit_tracker::add(std::uint64_t seq, const std::vector<partition_range>& ranges) {
    std::vector<topic_partition> tps;
    for (const auto& r : ranges) {
        auto it = parts_.find(r.tp);
        if (it == parts_.end() || r.next <= r.first)
            continue;
        it->second.entries.push_back(entry{seq, r.first, r.next, false});
        tps.push_back(r.tp);
    }
    if (!tps.empty())
        batches_[seq] = std::move(tps);
}

std::vector<partition_offset> commit_tracker::ack(std::uint64_t seq) {
    std::vector<partition_offset> out;
    auto b = batches_.find(seq);
    if (b == batches_.end())
        return out;
    for (const auto& tp : b->second) {
        auto it = parts_.find(tp);
        if (it == parts_.end())
            continue;  // revoked since: its new owner reads it again
        part& p = it->second;
        for (auto& e : p.entries) {
            if (e.seq == seq)
                e.acked = true;
        }
        const std::int64_t before = p.acked_to;
        while (!p.entries.empty() && p.entries.front().acked) {
            p.acked_to = std::max(p.acked_to, p.entries.front().next);
            p.entries.pop_front();
        }
        if (p.acked_to > before && p.acked_to > p.committed)
            out.push_back({tp, p.acked_to});
    }
    batches_.erase(b);
    return out;
}

std::vector<partition_offset> commit_tracker::nack(std::uint64_t seq) {
    std::vector<partition_offset> out;
    auto b = batches_.find(seq);
    if (b == batches_.end())
        return out;
    for (const auto& tp : b->second) {
        auto it = parts_.find(tp);
        if (it == parts_.end())
            continue;
        part& p = it->second;
        auto e = std::find_if(p.entries.begin(), p.entries.end(),
                              [&](const entry& x) { return x.seq == seq; });
        if (e == p.entries.end())
            continue;
        out.push_back({tp, e->first});
        p.entries.erase(e, p.entries.end());
    }
    batches_.erase(b);
    return out;
}

std::vector<partition_offset> commit_tracker::uncommitted() const {
    std::vector<partition_offset> out;
    for (const auto& [tp, p] : parts_) {
        if (p.acked_to > p.committed)
            out.push_back({tp, p.acked_to});
    }
    return out;
}

void commit_tracker::committed(const topic_partition& tp, std::int64_t offset) {
    auto it = parts_.find(tp);
    if (it != parts_.end())
        it->second.committed = std::max(it->second.committed, offset);
}

}  // namespace trib::connectors::kafka
