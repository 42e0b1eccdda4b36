#pragma once
// Decode -> transforms -> encode over a whole batch, in place. The runtime's message processor
// is a thin adapter over this.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/codec.h"
#include "config/connector_config.h"
#include "core/error.h"
#include "core/message.h"
#include "transforms/registry.h"
#include "transforms/transform.h"

namespace trib::transforms {

enum class stage : std::uint8_t { decode, transform, encode };
std::string_view to_string(stage s);

/// A message the chain could not process: moved out of the batch with its original payload and
/// headers (the views stay valid while the batch lives).
struct failed_message {
    message original;
    stage where = stage::decode;
    error err;
};

struct chain_report {
    std::size_t filtered = 0;  // dropped by a transform
    std::vector<failed_message> failed;
};

/// What a chain does with codecs besides running transforms.
enum class codec_mode : std::uint8_t {
    /// Decode only for transforms; unchanged records keep their bytes (json -> json, raw ->
    /// raw: without transforms nothing is decoded at all).
    same,
    /// Decode every payload even without transforms (a bad one goes to the error policy);
    /// unchanged records keep their bytes. For typed formats a source declares as the stream's.
    validate,
    /// Decode with one codec and encode every surviving record with another (source's format
    /// -> stream schema; stream schema -> JSON for a sink).
    convert,
};

/// A codec and its validated options (an empty `values` root: the codec's defaults).
struct codec_choice {
    std::string name = "json";
    config::values options;
};

/// A codec (or a decoder and an encoder) and the enabled transforms of one connector stream. One
/// per pipeline thread (it owns the arena).
class chain {
  public:
    chain(std::unique_ptr<codecs::codec> codec, std::vector<std::unique_ptr<transform>> transforms);
    /// `encoder` null: encode with `decoder`.
    chain(std::unique_ptr<codecs::codec> decoder, std::unique_ptr<codecs::codec> encoder,
          codec_mode mode, std::vector<std::unique_ptr<transform>> transforms);
    chain(chain&&) noexcept;
    chain& operator=(chain&&) noexcept;
    ~chain();

    /// True when there is nothing to do: no transforms and no conversion or validation.
    /// process() then returns at once without decoding (payloads pass through untouched, not
    /// even copied); the runtime may skip it.
    bool passthrough() const { return transforms_.empty() && mode_ == codec_mode::same; }
    const codecs::codec& codec() const { return *codec_; }
    const codecs::codec& encoder() const { return encoder_ ? *encoder_ : *codec_; }
    codec_mode mode() const { return mode_; }
    std::size_t size() const { return transforms_.size(); }

    /// Decodes, transforms and re-encodes every message of `batch`. Survivors stay in their
    /// order; a changed payload is re-encoded into one buffer owned by the batch (unchanged ones
    /// keep their bytes). Dropped messages are removed and counted, failed ones moved to
    /// `report.failed`.
    void process(message_batch& batch, std::string_view stream, std::string_view topic,
                 chain_report& report);

  private:
    std::unique_ptr<codecs::codec> codec_;    // the decoder
    std::unique_ptr<codecs::codec> encoder_;  // null: codec_
    codec_mode mode_ = codec_mode::same;
    std::vector<std::unique_ptr<transform>> transforms_;
    codecs::arena arena_;
    std::vector<codecs::record> records_;  // reused between batches
    std::vector<std::uint8_t> state_;
    std::vector<std::size_t> slices_;
};

/// Builds the chain of a stream: its `schema` codec and the enabled transforms, in file order.
/// `codec_options`, when given, is a table of the codec's options (a stream's
/// avro_schema_json / avro_schema_path for schema "avro").
result<chain> make_chain(std::string_view schema,
                         const std::vector<config::transform_config>& transforms,
                         const registry& reg = builtins(),
                         const config::node* codec_options = nullptr);

/// Builds a chain that decodes with `decode` and encodes with `encode` in `mode` (convert when
/// they differ), with the enabled transforms in file order.
result<chain> make_chain(const codec_choice& decode, const codec_choice& encode, codec_mode mode,
                         const std::vector<config::transform_config>& transforms,
                         const registry& reg = builtins());

/// The formats a sink sees as they are (json, raw, text); a sink stream of any other schema is
/// decoded and handed to the sink as JSON (Iggy's decoders hand sinks Payload::Json).
bool sink_reads_directly(std::string_view schema);

}  // namespace trib::transforms
