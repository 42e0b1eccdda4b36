#pragma once
// Metrics helpers connectors share: the registry to register in, outcome labels, and the
// counters of a sink's settled messages.

#include <memory>
#include <stop_token>
#include <string>
#include <string_view>

#include "core/connector.h"
#include "core/metrics.h"

namespace trib {

/// The registry the runtime passed in `ctx`, or else (unit tests and tools pass none) the one in
/// `own`, created on first use and kept across a close/open.
inline metrics_registry& metrics_of(const connector_context& ctx,
                                    std::unique_ptr<metrics_registry>& own) {
    if (ctx.metrics != nullptr)
        return *ctx.metrics;
    if (!own)
        own = std::make_unique<metrics_registry>();
    return *own;
}

/// What a connector keeps from `ctx` when it opens (its key and stop token, into `key` and
/// `stop`); returns the registry its metrics go in, as metrics_of does.
inline metrics_registry& adopt_context(const connector_context& ctx, std::string& key,
                                       std::stop_token& stop,
                                       std::unique_ptr<metrics_registry>& own) {
    key = ctx.key;
    stop = ctx.stop;
    return metrics_of(ctx, own);
}

/// `base` plus the label outcome = `outcome` (counter families split by outcome).
inline metric_labels with_outcome(metric_labels base, std::string_view outcome) {
    base.emplace_back("outcome", std::string(outcome));
    return base;
}

/// A sink's count of the messages it settled: the counter family `name` with the labels `base`
/// and outcome = delivered, rejected or skipped_duplicate (delivered by an earlier attempt of the
/// batch, not sent again).
struct settled_counters {
    counter* delivered = nullptr;
    counter* rejected = nullptr;
    counter* skipped = nullptr;

    static settled_counters make(metrics_registry& r, std::string_view name, std::string_view help,
                                 const metric_labels& base) {
        return {&r.counter(name, help, with_outcome(base, "delivered")),
                &r.counter(name, help, with_outcome(base, "rejected")),
                &r.counter(name, help, with_outcome(base, "skipped_duplicate"))};
    }
};

}  // namespace trib
