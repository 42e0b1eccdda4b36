#pragma once
// Per-message transforms between decode and encode: Iggy's add_fields, delete_fields,
// filter_fields, update_fields and unwrap_envelope (same option names and behaviour), and
// Tributary's filter. Transforms work on JSON records and pass other records through unchanged,
// as Iggy's do.

#include <cstdint>
#include <memory>
#include <string_view>

#include "codecs/codec.h"
#include "config/spec.h"
#include "core/error.h"
#include "core/message.h"

namespace trib::transforms {

/// What a transform sees besides the record.
struct transform_context {
    std::string_view stream;
    std::string_view topic;
    const message* msg = nullptr;  // the message being transformed (headers, offset, ids)
};

/// Keep the message, or drop it (counted as filtered, never silently).
enum class verdict : std::uint8_t { keep, drop };

/// One configured transform. Immutable after construction; apply() may run on several threads
/// at once (each with its own arena).
class transform {
  public:
    virtual ~transform() = default;
    virtual std::string_view name() const = 0;
    /// Changes `rec` in place (allocating in `a`) and sets rec.modified when it did, or asks to
    /// drop the message. An error sends the message to the connector's error policy.
    [[nodiscard]] virtual result<verdict> apply(codecs::record& rec, codecs::arena& a,
                                                const transform_context& ctx) const = 0;
};

// Built-in transforms: spec and factory of each (the factory gets values validated against
// the spec).
config::spec add_fields_spec();
config::spec delete_fields_spec();
config::spec filter_fields_spec();
config::spec update_fields_spec();
config::spec unwrap_envelope_spec();
config::spec filter_spec();
config::spec proto_convert_spec();
result<std::unique_ptr<transform>> make_add_fields(const config::values& v);
result<std::unique_ptr<transform>> make_delete_fields(const config::values& v);
result<std::unique_ptr<transform>> make_filter_fields(const config::values& v);
result<std::unique_ptr<transform>> make_update_fields(const config::values& v);
result<std::unique_ptr<transform>> make_unwrap_envelope(const config::values& v);
result<std::unique_ptr<transform>> make_filter(const config::values& v);
/// Compiles its schema now (like the proto codec): a bad schema fails at start.
result<std::unique_ptr<transform>> make_proto_convert(const config::values& v);

}  // namespace trib::transforms
