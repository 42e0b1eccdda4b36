#pragma once
// The proto codec's direct encoder (private to the codecs library: it includes libprotobuf's
// descriptors): a typed record written straight to the protobuf wire format from a plan built
// once per schema, instead of record -> JSON text -> libprotobuf's JSON parser -> message ->
// bytes. It takes only the forms whose result it knows to be the JSON path's (same bytes, or
// for maps the same message with entries in record order); for anything else -- a value of
// another type than its field's, a name the schema does not know, a duplicate, Any, Struct,
// Duration, FieldMask, an enum number the schema does not list, ... -- it answers `unsupported`
// and the codec takes the JSON path, which accepts every proto3 JSON form or says what is wrong.

#include <google/protobuf/descriptor.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "codecs/value.h"

namespace trib::codecs::proto_wire {

namespace pb = google::protobuf;

/// What a field holds, as the encoder writes it.
enum class kind : std::uint8_t {
    int32,
    int64,
    uint32,
    uint64,
    sint32,
    sint64,
    fixed32,
    fixed64,
    sfixed32,
    sfixed64,
    float32,
    float64,
    boolean,
    enumeration,
    string,
    bytes,
    message,    // an ordinary message (plan in `msg`)
    timestamp,  // google.protobuf.Timestamp from a typed timestamp
    wrapper,    // google.protobuf.*Value: the scalar `inner` as field 1 of a message
    other,      // anything else (groups, Any, Struct, Value, Duration, ...): unsupported
};

struct message_plan;

struct field_plan {
    const pb::FieldDescriptor* fd = nullptr;
    std::uint32_t number = 0;
    kind k = kind::other;
    kind inner = kind::other;  // wrapper: the wrapped scalar
    bool repeated = false;
    bool packed = false;
    bool presence = false;  // explicit presence: written even when it holds the default
    int oneof = -1;         // index of its real oneof in the message, or -1
    bool is_map = false;
    const message_plan* msg = nullptr;  // message fields and map values of message type
    // Maps: the entry's key and value fields.
    const field_plan* map_key = nullptr;
    const field_plan* map_value = nullptr;
};

struct message_plan {
    const pb::Descriptor* d = nullptr;
    std::vector<field_plan> fields;  // by field number (libprotobuf's serialisation order)
    std::unordered_map<std::string_view, std::uint32_t> by_name;  // proto and JSON names
    int oneofs = 0;
    std::vector<std::uint32_t> required;  // proto2 required fields (indexes into fields)
};

enum class outcome : std::uint8_t { done, unsupported };

/// The plans of a message type and of every message reachable from it. Immutable after
/// build(); encode() may be called from several threads.
class encoder {
  public:
    void build(const pb::Descriptor* root);
    /// Appends the encoding of `rec` (a typed record) to `out`. On `unsupported`, `out` may
    /// hold a partial encoding past its original size: the caller truncates it.
    /// `max_depth` bounds value nesting as to_json does.
    outcome encode(const value& rec, std::string& out, std::uint32_t max_depth) const;

  private:
    const message_plan* plan_for(const pb::Descriptor* d);
    std::unordered_map<const pb::Descriptor*, std::unique_ptr<message_plan>> plans_;
    // Map entry fields live here so that field_plan pointers stay stable.
    std::vector<std::unique_ptr<field_plan>> entry_fields_;
    const message_plan* root_ = nullptr;
};

}  // namespace trib::codecs::proto_wire
