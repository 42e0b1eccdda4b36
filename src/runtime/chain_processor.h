#pragma once
// The runtime's message processor over the codecs-and-transforms chain (src/transforms).

#include <memory>
#include <string>

#include "runtime/processor.h"
#include "transforms/chain.h"

namespace trib::runtime {

/// Runs a transforms::chain for one stream/topic. Used from one pipeline thread.
class chain_processor final : public message_processor {
  public:
    chain_processor(transforms::chain c, std::string stream, std::string topic)
        : chain_(std::move(c)), stream_(std::move(stream)), topic_(std::move(topic)) {}
    void process(message_batch& batch, process_report& report) override;

  private:
    transforms::chain chain_;
    std::string stream_;
    std::string topic_;
    transforms::chain_report scratch_;
};

/// The processor of a stream with `schema` and a connector's transforms; nullptr when no
/// transform is enabled (the pipeline then skips decoding and encoding entirely).
result<std::unique_ptr<message_processor>> make_chain_processor(
    std::string_view schema, const std::vector<config::transform_config>& transforms,
    std::string stream, std::string topic);

/// The processor that decodes with `decode` and encodes with `encode` (transforms::make_chain);
/// nullptr when there is nothing to do (same codec, no validation, no transform).
result<std::unique_ptr<message_processor>> make_chain_processor(
    const transforms::codec_choice& decode, const transforms::codec_choice& encode,
    transforms::codec_mode mode, const std::vector<config::transform_config>& transforms,
    std::string stream, std::string topic);

}  // namespace trib::runtime
