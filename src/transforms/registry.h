#pragma once
// The registry of codecs and transforms, and the one function that lists every built-in one
// (register_builtins, in registry.cpp). Registering a name twice fails.

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codecs/codec.h"
#include "config/connector_config.h"
#include "config/spec.h"
#include "transforms/transform.h"

namespace trib::transforms {

using codec_factory = std::function<result<std::unique_ptr<codecs::codec>>(const config::values&)>;
using transform_factory = std::function<result<std::unique_ptr<transform>>(const config::values&)>;

/// Codec and transform specs and factories by name. Filled once at start, then read-only.
class registry {
  public:
    /// Fails with errc::already_exists when the name is taken.
    [[nodiscard]] status add_codec(config::spec s, codec_factory f);
    [[nodiscard]] status add_transform(config::spec s, transform_factory f);

    const config::spec* codec_spec(std::string_view name) const;
    const config::spec* transform_spec(std::string_view name) const;
    std::vector<std::string> codec_names() const;      // registration order
    std::vector<std::string> transform_names() const;  // registration order

    /// A codec with its options validated from `v` (or its defaults when `v` is empty).
    result<std::unique_ptr<codecs::codec>> make_codec(std::string_view name,
                                                      const config::values& v = {}) const;
    /// A codec with options given as a table (e.g. a stream's avro_schema_path), validated
    /// against the codec's spec here; an invalid table is the error.
    result<std::unique_ptr<codecs::codec>> make_codec_from(std::string_view name,
                                                           const config::node& options) const;
    /// A transform from options validated against its spec (config::connector_config gives
    /// them).
    result<std::unique_ptr<transform>> make_transform(std::string_view name,
                                                      const config::values& v) const;

    /// Points the codec and transform parts of a config catalog at this registry (which must
    /// outlive the catalog).
    void fill(config::catalog& c) const;

  private:
    struct codec_entry {
        config::spec spec;
        codec_factory make;
    };
    struct transform_entry {
        config::spec spec;
        transform_factory make;
    };
    std::vector<codec_entry> codecs_;
    std::vector<transform_entry> transforms_;
};

/// Registers every built-in codec and transform. The list is in registry.cpp, in one place.
[[nodiscard]] status register_builtins(registry& r);

/// The registry of built-ins (built on first use; a duplicate name there aborts: it is a bug).
const registry& builtins();

/// make_transform on the built-in registry.
result<std::unique_ptr<transform>> make_transform(std::string_view name, const config::values& v);

}  // namespace trib::transforms
