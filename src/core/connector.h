#pragma once
// The interfaces every source and sink implements. The runtime (not the connector) owns retries,
// backoff, reconnects, dead-lettering, offset commits and state persistence, driven by the
// retry class of the errors these calls return (STYLE.md "Errors").

#include <chrono>
#include <cstdint>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/message.h"

namespace trib {

class metrics_registry;  // core/metrics.h

/// An Iggy stream and topic (names or numeric ids as text).
struct stream_ref {
    std::string stream;
    std::string topic;
    friend bool operator==(const stream_ref&, const stream_ref&) = default;
};

/// What a connector gets at open. Owned by the runtime; valid until close() returns.
struct connector_context {
    std::string key;   // the connector's `key` from its config file (unique per type)
    std::string name;  // its human-readable `name`
    /// Signalled when the runtime stops or restarts the connector; long blocking calls should
    /// return (with errc::cancelled) soon after.
    std::stop_token stop;
    /// Where to count connector-specific figures; may be null in unit tests.
    metrics_registry* metrics = nullptr;
    /// Sources: the Iggy destinations. Index 0.. are the config's `[[streams]]`; a source that
    /// routes by content may append more during open() and use their index in message::route.
    std::vector<stream_ref> routes;

    std::uint16_t add_route(stream_ref r) {
        for (std::size_t i = 0; i < routes.size(); ++i) {
            if (routes[i] == r)
                return static_cast<std::uint16_t>(i);
        }
        routes.push_back(std::move(r));
        return static_cast<std::uint16_t>(routes.size() - 1);
    }
};

/// A batch handed to a sink: messages of one stream/topic/partition in offset order.
struct sink_batch {
    std::string_view stream;
    std::string_view topic;
    std::uint32_t partition = 0;
    std::string_view schema;  // the stream's `schema` ("json", "raw", "text", ...)
    const message_batch* messages = nullptr;
};

/// One message a sink could not write and never will (bad data, constraint violation...).
struct message_error {
    std::size_t index = 0;  // into sink_batch::messages->messages
    error err;
};

/// The result of a successful write: every message not listed in `rejected` was accepted.
struct write_outcome {
    std::vector<message_error> rejected;
};

/// Iggy to an external system.
/// Lifecycle: open() once, then write() any number of times from one thread at a time, then
/// close(). After an error from open() or write() the runtime may call close() and open() again.
class sink {
  public:
    virtual ~sink() = default;
    /// Connects to the target and checks it is usable (tables exist, credentials work...).
    virtual status open(connector_context& ctx) = 0;
    /// Writes the batch and returns once the target has durably accepted it; only then does the
    /// runtime commit the offsets. An error means no message can be assumed written: the runtime
    /// retries the whole batch (retryable/throttled) or applies the error policy (fatal).
    virtual result<write_outcome> write(const sink_batch& batch) = 0;
    /// Releases connections. Must be safe to call after a failed open().
    virtual void close() = 0;
    /// True when writing a message twice has the effect of writing it once (keyed by the Iggy
    /// message id or offset): replays after a crash then leave no duplicates.
    virtual bool idempotent() const { return false; }
};

/// A record a source read but could not turn into a message (a line that does not decode...).
struct source_reject {
    message original;  // the raw record; its payload lives in the source_batch's arena
    error err;         // why (goes to the dead letter's `tributary.error` header)
};

/// Messages a source produced, with the position to persist once Iggy has them.
struct source_batch {
    message_batch batch;
    /// Records the source could not produce: the runtime hands each to the connector's error
    /// policy (stage `decode`), as it does with payloads its codec refuses, before the state
    /// after them is persisted. A batch with only rejects still counts as a batch (it gets a
    /// sequence number, ack and nack).
    std::vector<source_reject> rejected;
    /// The connector's position after this batch (opaque). Persisted atomically by the runtime
    /// only after Iggy acknowledged every message of the batch; handed back to open() on restart.
    std::string state;
    bool has_state = false;
};

/// An external system to Iggy.
/// Lifecycle: open() once, then poll() repeatedly from one thread; ack()/nack() are called from
/// the runtime's producer thread, in the order the batches were polled, each exactly once.
class source {
  public:
    virtual ~source() = default;
    /// Connects and resumes from `state` (the last persisted one; empty on the first start).
    virtual status open(connector_context& ctx, std::string_view state) = 0;
    /// Returns the next messages, waiting up to `max_wait`; an empty batch when nothing came.
    /// Each returned batch with messages or rejects gets the next sequence number, starting at 1
    /// after open().
    virtual result<source_batch> poll(std::chrono::milliseconds max_wait) = 0;
    /// Iggy accepted batch `seq` and its state is persisted: the source may now acknowledge it
    /// upstream (MQTT PUBACK, PostgreSQL LSN confirm, delete-after-read, ...).
    virtual void ack(std::uint64_t seq) = 0;
    /// Batch `seq` could not be delivered to Iggy: the source must deliver its messages again
    /// (it may do so by returning them from a later poll, or by not acknowledging upstream).
    virtual void nack(std::uint64_t seq) = 0;
    virtual void close() = 0;
    /// The format of the payloads this source produces, as a codec name ("json"), read after
    /// open() (Iggy's ProducedMessages::schema). When it differs from the stream's `schema`, the
    /// runtime converts. Empty (the default): undeclared; the payloads are taken to be in the
    /// stream's schema (or the stream's `source_schema`, which overrides a declaration).
    virtual std::string_view schema() const { return {}; }
};

}  // namespace trib
