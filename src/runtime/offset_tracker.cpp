#include "runtime/offset_tracker.h"

#include <algorithm>

namespace trib::runtime {

std::optional<offset_tracker::ticket> offset_tracker::add(std::uint32_t partition,
                                                          std::uint64_t first, std::uint64_t last,
                                                          std::uint32_t parts) {
    if (last < first)
        return std::nullopt;
    auto& p = parts_[partition];
    if (p.last_registered && first <= *p.last_registered) {
        // A redelivery of offsets we have already seen (the consumer restarted from the last
        // commit). Only the part above what is registered is new.
        if (last <= *p.last_registered)
            return std::nullopt;
        first = *p.last_registered + 1;
    }
    p.ranges.push_back(range{first, last, std::max<std::uint32_t>(parts, 1)});
    p.last_registered = last;
    return ticket{partition, first, last};
}

offset_tracker::range* offset_tracker::find(const ticket& t) {
    auto it = parts_.find(t.partition);
    if (it == parts_.end())
        return nullptr;
    auto& ranges = it->second.ranges;
    auto r = std::lower_bound(ranges.begin(), ranges.end(), t.first,
                              [](const range& a, std::uint64_t f) { return a.first < f; });
    if (r == ranges.end() || r->first != t.first || r->last != t.last)
        return nullptr;
    return &*r;
}

void offset_tracker::hold(const ticket& t) {
    if (auto* r = find(t))
        ++r->outstanding;
}

std::optional<std::uint64_t> offset_tracker::complete(const ticket& t) {
    auto* r = find(t);
    if (r == nullptr || r->outstanding == 0)
        return std::nullopt;
    if (--r->outstanding > 0)
        return std::nullopt;
    auto& p = parts_[t.partition];
    bool advanced = false;
    while (!p.ranges.empty() && p.ranges.front().outstanding == 0) {
        p.committable = p.ranges.front().last;
        p.ranges.pop_front();
        advanced = true;
    }
    if (!advanced)
        return std::nullopt;
    p.reported = false;
    return p.committable;
}

std::vector<std::pair<std::uint32_t, std::uint64_t>> offset_tracker::take_commits() {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> out;
    for (auto& [id, p] : parts_) {
        if (!p.reported && p.committable) {
            out.emplace_back(id, *p.committable);
            p.reported = true;
        }
    }
    return out;
}

std::optional<std::uint64_t> offset_tracker::committable(std::uint32_t partition) const {
    auto it = parts_.find(partition);
    if (it == parts_.end())
        return std::nullopt;
    return it->second.committable;
}

std::size_t offset_tracker::in_flight() const {
    std::size_t n = 0;
    for (const auto& [id, p] : parts_)
        n += p.ranges.size();
    return n;
}

void offset_tracker::reset(std::uint32_t partition) {
    parts_.erase(partition);
}

}  // namespace trib::runtime
