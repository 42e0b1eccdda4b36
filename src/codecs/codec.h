#pragma once
// Payload codecs: the `schema` of a stream in Iggy's runtime (json, raw, text; more later).
// A codec decodes payload bytes into a record and encodes records back. Records live in a
// per-batch arena, so a batch is decoded with a handful of allocations, not one per message.
// This header is light: the JSON DOM (RapidJSON) is only visible through codecs/json_dom.h,
// which only codecs and transforms include.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/spec.h"
#include "core/error.h"

namespace trib::codecs {

enum class record_kind : std::uint8_t { raw, text, json, typed };
std::string_view to_string(record_kind k);

/// A decoded payload: a view, cheap to copy. Raw and text records point at the message payload
/// (no copy); JSON records point at a DOM value in the arena; typed records (msgpack, csv,
/// proto) at a codecs::value in the arena. Valid while the arena (and the
/// payload bytes) live and until the arena is reset.
struct record {
    record_kind kind = record_kind::raw;
    std::string_view bytes;  // raw/text: the payload
    void* json = nullptr;    // json: a codecs::json_value in the arena (see json_dom.h)
    /// Set by transforms that changed the record; unchanged records keep their original bytes
    /// (no re-encoding, byte-exact pass-through).
    bool modified = false;
    const void* typed = nullptr;  // typed: a codecs::value in the arena (see value.h)
};

/// Memory for one batch of records. Reset between batches: the memory is kept and reused, and
/// grows to the largest batch seen, so a steady stream of batches allocates nothing.
/// Not thread-safe; one per pipeline thread.
class arena {
  public:
    arena();
    ~arena();
    arena(arena&&) noexcept;
    arena& operator=(arena&&) noexcept;
    arena(const arena&) = delete;
    arena& operator=(const arena&) = delete;

    /// Forgets every record decoded so far (their views become invalid).
    void reset();
    /// Bytes currently held for records (for metrics and tests).
    std::size_t capacity() const;

    struct impl;
    impl& get() { return *impl_; }

  private:
    std::unique_ptr<impl> impl_;
};

/// Decodes and encodes one schema. Stateless after construction; const methods may be called
/// from several threads, each with its own arena.
class codec {
  public:
    virtual ~codec() = default;
    virtual std::string_view name() const = 0;
    virtual record_kind kind() const = 0;
    /// Decodes `payload` into `out` (allocating in `a`). A payload that is not valid for the
    /// schema returns errc::invalid_argument with retry class fatal, so the runtime hands the
    /// message to the error policy.
    [[nodiscard]] virtual status decode(std::string_view payload, arena& a, record& out) const = 0;
    /// Appends the encoding of `in` to `out`. Records of another kind are converted where it
    /// makes sense (text -> raw bytes; json -> its text) and refused otherwise.
    [[nodiscard]] virtual status encode(const record& in, arena& a, std::string& out) const = 0;
};

/// The error for a payload a codec cannot read (invalid_argument, fatal).
error bad_payload(std::string message);

// Built-in codecs. Each has a spec, even when it has no options.
config::spec json_codec_spec();
config::spec raw_codec_spec();
config::spec text_codec_spec();
result<std::unique_ptr<codec>> make_json_codec(const config::values& v);
result<std::unique_ptr<codec>> make_raw_codec(const config::values& v);
result<std::unique_ptr<codec>> make_text_codec(const config::values& v);

// Codecs on the typed record model (value.h).
config::spec msgpack_codec_spec();
config::spec csv_codec_spec();
config::spec proto_codec_spec();
result<std::unique_ptr<codec>> make_msgpack_codec(const config::values& v);
result<std::unique_ptr<codec>> make_csv_codec(const config::values& v);
/// Compiles the .proto files (or reads the descriptor set) now: a bad schema fails here, at
/// start-up, not on the first message.
result<std::unique_ptr<codec>> make_proto_codec(const config::values& v);

/// True if `bytes` is valid UTF-8 (SIMD-accelerated).
bool valid_utf8(std::string_view bytes);

}  // namespace trib::codecs
