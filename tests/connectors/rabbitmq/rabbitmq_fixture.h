#pragma once
// A real RabbitMQ broker (Debian's rabbitmq-server 3.10) for the RabbitMQ connector's tests, on
// top of tests/harness/peer.h, as /work/shared/peers.md describes: node name, AMQP port, dist
// port, Erlang cookie (HOME), mnesia and log folders all in the peer's temporary folder. Its own
// epmd runs as a second peer on a free port (ERL_EPMD_PORT), so that it is stopped by PID with the
// broker instead of outliving it as a daemon. Plus a small blocking AMQP client on rabbitmq-c
// for the tests' own publishing, reading and checks.

#include <amqp.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "harness/peer.h"

namespace trib::test {

/// A running broker and its epmd. Stopped (broker first) on destruction.
class rabbitmq_broker {
  public:
    /// Starts epmd and the broker; the error holds the log tail.
    static result<std::unique_ptr<rabbitmq_broker>> start();
    ~rabbitmq_broker();
    std::uint16_t port() const { return broker_->port(); }
    std::string url(const std::string& user = "guest", const std::string& pass = "guest") const;
    /// Stops the broker (SIGTERM, graceful; with `crash` SIGKILL) and starts it again on the same
    /// port and data.
    status restart(bool crash = false);
    /// Runs rabbitmqctl with the broker's environment (`add_user u p`, ...).
    status ctl(const std::vector<std::string>& args);
    peer& broker() { return *broker_; }

  private:
    std::unique_ptr<peer> epmd_;
    std::unique_ptr<peer> broker_;
};

/// One message read back.
struct amqp_msg {
    std::string body;
    std::string message_id;
    std::string exchange, routing_key;
    std::uint8_t delivery_mode = 0;
    bool redelivered = false;
    /// Headers as text ("S" strings as they are, numbers in decimal, booleans true/false).
    std::map<std::string, std::string> headers;
    /// The field kind of each header (amqp.h AMQP_FIELD_KIND_*).
    std::map<std::string, char> kinds;
};

/// A blocking test client (channel 1). Every failure is an error, never a throw.
class amqp_client {
  public:
    static result<std::unique_ptr<amqp_client>> connect(std::uint16_t port,
                                                        const std::string& user = "guest",
                                                        const std::string& pass = "guest");
    ~amqp_client();
    /// queue.declare (durable); `type` "classic", "quorum" or "stream".
    status declare_queue(const std::string& name, const std::string& type = "classic");
    status declare_exchange(const std::string& name, const std::string& type = "topic");
    status bind(const std::string& queue, const std::string& exchange, const std::string& key);
    status delete_queue(const std::string& name);
    /// Publishes with confirms and waits for the confirm (persistent).
    status publish(const std::string& exchange, const std::string& routing_key,
                   const std::string& body, const std::string& message_id = "",
                   const amqp_table_t* headers = nullptr);
    /// Publishes many bodies, then waits for all confirms.
    status publish_many(const std::string& exchange, const std::string& routing_key,
                        const std::vector<std::string>& bodies, bool with_ids);
    /// basic.get with auto-ack; nullopt when the queue is empty.
    result<std::optional<amqp_msg>> get(const std::string& queue);
    /// The queue's message count (passive declare).
    result<std::uint32_t> count(const std::string& queue);

  private:
    amqp_connection_state_t c_ = nullptr;
    bool confirms_ = false;
    std::uint64_t next_tag_ = 1;
};

}  // namespace trib::test
