#pragma once
// The runtime's Iggy ports over Tributary's native Iggy client (src/iggy): consumers through
// consumer groups with explicit commits, batching producers, and stream/topic creation.

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "iggy/client.h"
#include "runtime/ports.h"

namespace trib::runtime {

/// An Iggy identifier from config text the way Iggy's runtime reads it: a number is a numeric id,
/// anything else a name.
iggy::identifier identifier_of(std::string_view text);

/// Connects consumers and producers to one Iggy server (external or embedded). Thread-safe.
class iggy_client_port final : public iggy_port {
  public:
    /// Connects an admin client (stream/topic creation) and checks the credentials.
    static result<std::unique_ptr<iggy_client_port>> connect(iggy::client_options options);
    ~iggy_client_port() override;

    result<std::unique_ptr<consumer_port>> open_consumer(const consumer_options& o) override;
    result<std::unique_ptr<producer_port>> open_producer(const producer_options& o) override;
    result<bool> ensure_topic(std::string_view stream, std::string_view topic,
                              std::uint32_t partitions) override;

    iggy::client& admin() { return *admin_; }
    const iggy::client_options& options() const { return opts_; }

  private:
    explicit iggy_client_port(iggy::client_options o) : opts_(std::move(o)) {}
    iggy::client_options opts_;
    std::unique_ptr<iggy::client> admin_;
    std::mutex ensure_mu_;  // one creation at a time: two connectors may want the same stream
};

}  // namespace trib::runtime
