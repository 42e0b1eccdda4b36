#pragma once
// The decode -> transforms -> encode step between Iggy and a connector. The runtime skips it
// entirely when a connector has no transforms (payloads then pass through untouched, not even
// copied).

#include <cstdint>
#include <memory>
#include <vector>

#include "core/error.h"
#include "core/message.h"
#include "runtime/error_policy.h"

namespace trib::runtime {

/// A message that failed processing, with its original content (for the dead-letter topic).
struct rejected_message {
    message original;
    failure_stage stage = failure_stage::transform;
    error err;
};

/// What processing did to a batch besides rewriting it.
struct process_report {
    std::vector<rejected_message> rejected;
    std::uint64_t filtered = 0;
};

/// Rewrites batches in place. One instance per pipeline, used from one thread.
class message_processor {
  public:
    virtual ~message_processor() = default;
    /// Decodes, transforms and encodes every message of `batch`. Afterwards `batch.messages`
    /// holds the surviving messages in their original order (new payloads owned by the batch);
    /// filtered messages are gone and counted; failed ones are moved to `report.rejected` with
    /// their original payload and headers.
    virtual void process(message_batch& batch, process_report& report) = 0;
};

}  // namespace trib::runtime
