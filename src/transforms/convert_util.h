#pragma once
// What the *_convert transforms (proto, avro, flat_buffer) share: reading JSON text from a
// raw/text record, writing a JSON record out as the target form, and a raw record of new bytes.

#include <string>
#include <string_view>

#include "codecs/json_dom.h"
#include "codecs/value.h"

namespace trib::transforms {

/// `rec` as the encoder's input: JSON text in a raw/text record is parsed into a JSON record;
/// other records are used as they are.
inline status json_input(const codecs::record& rec, codecs::arena& a, codecs::record& in) {
    in = rec;
    if (rec.kind == codecs::record_kind::raw || rec.kind == codecs::record_kind::text) {
        codecs::json_value* j = nullptr;
        TRIB_TRY(codecs::parse_json(rec.bytes, a, j));
        codecs::set_json(in, j);
    }
    return ok();
}

/// `rec` becomes `bytes` (copied into the arena) in a raw record.
inline void set_raw_bytes(codecs::record& rec, codecs::arena& a, std::string_view bytes) {
    rec.kind = codecs::record_kind::raw;
    rec.bytes = codecs::copy_to_arena(a, bytes);
    rec.json = nullptr;
    rec.typed = nullptr;
}

/// `rec` becomes the JSON record `json` when `target` is "json", else its JSON text in a text
/// ("text") or raw record.
inline status emit_json(std::string_view target, const codecs::record& json, codecs::arena& a,
                        codecs::record& rec) {
    if (target == "json") {
        rec = json;
        return ok();
    }
    std::string text;
    TRIB_TRY(codecs::write_json(codecs::json_of(json), a, text));
    set_raw_bytes(rec, a, text);
    if (target == "text")
        rec.kind = codecs::record_kind::text;
    return ok();
}

}  // namespace trib::transforms
