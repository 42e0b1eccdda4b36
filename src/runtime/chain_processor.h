#pragma once
// The runtime's message processor over the codecs-and-transforms chain (src/transforms).

#include <memory>
#include <optional>
#include <string>

#include "config/node.h"
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
/// `codec_options`: see transforms::make_chain (a stream's Avro schema keys).
result<std::unique_ptr<message_processor>> make_chain_processor(
    std::string_view schema, const std::vector<config::transform_config>& transforms,
    std::string stream, std::string topic, const config::node* codec_options = nullptr);

/// The codec options a [[streams]] entry carries besides `schema`: for "avro", its
/// avro_schema_json / avro_schema_path (Iggy's stream keys); nullopt when there are none.
std::optional<config::node> stream_codec_options(std::string_view schema,
                                                 const std::optional<std::string>& avro_json,
                                                 const std::optional<std::string>& avro_path);

}  // namespace trib::runtime
