#pragma once
// A real nats-server (Debian's 2.9.10) with JetStream for the NATS connector's tests, on top of
// tests/harness/peer.h, and a small cnats client the tests check the server with (publish with
// ack, stream state, reading a whole stream) — independent of the connector's own code paths.

#include <nats/nats.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "harness/peer.h"

namespace trib::test {

/// The peer spec of a nats-server with JetStream, its store in the peer's folder (so a restart
/// keeps the streams). Port 0: clients; port 1: monitoring. `extra` args are appended (auth).
peer_spec nats_spec(std::vector<std::string> extra = {});

/// One message read back from a stream.
struct nats_record {
    std::string subject;
    std::string payload;
    std::map<std::string, std::string> headers;  // first value of each
    std::uint64_t sequence = 0;
};

/// A test-side NATS connection. Not thread-safe except where cnats is.
class nats_test_client {
  public:
    static result<std::unique_ptr<nats_test_client>> connect(std::uint16_t port);
    ~nats_test_client();

    /// Creates (or keeps) a file-backed stream on `subjects` with a duplicate window.
    status add_stream(const std::string& name, const std::vector<std::string>& subjects,
                      std::chrono::milliseconds duplicate_window = std::chrono::minutes(2));
    /// Publishes and waits for the ack (a header map may be empty).
    status publish(const std::string& subject, const std::string& payload,
                   const std::map<std::string, std::string>& headers = {});
    /// Publishes `n` messages asynchronously ("<prefix><i>" for i in [from, from+n)) and waits for
    /// all acks; the subject is `subject` or, with `subjects` > 1, `subject.<i % subjects>`.
    status publish_many(const std::string& subject, const std::string& prefix, std::size_t from,
                        std::size_t n, int subjects = 1);
    /// The number of messages the stream holds (0 when it does not exist).
    std::uint64_t stream_messages(const std::string& stream);
    /// The consumer's pending + unacknowledged counts (both 0: everything was acked).
    std::pair<std::uint64_t, std::uint64_t> consumer_backlog(const std::string& stream,
                                                             const std::string& consumer);
    /// Every message of `stream`, in order (an ephemeral pull consumer with no acks).
    result<std::vector<nats_record>> read_stream(const std::string& stream);
    natsConnection* nc() const { return nc_; }

  private:
    nats_test_client() = default;
    natsConnection* nc_ = nullptr;
    jsCtx* js_ = nullptr;
};

}  // namespace trib::test
