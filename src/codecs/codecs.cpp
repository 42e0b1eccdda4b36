// The batch arena and the json, raw and text codecs.

#include <rapidjson/writer.h>

#include <algorithm>
#include <new>

#include "codecs/codec.h"
#include "codecs/json_dom.h"
#include "codecs/value.h"

namespace trib::codecs {

std::string_view to_string(record_kind k) {
    switch (k) {
        case record_kind::raw:
            return "raw";
        case record_kind::text:
            return "text";
        case record_kind::json:
            return "json";
        case record_kind::typed:
            return "typed";
    }
    return "raw";
}

error bad_payload(std::string message) {
    return error(errc::invalid_argument, retry_class::fatal, std::move(message));
}

// --- arena -----------------------------------------------------------------------------------

namespace {
constexpr std::size_t initial_block = 64 * 1024;
constexpr std::size_t chunk_size = 64 * 1024;
}  // namespace

arena::impl::impl() {
    rebuild(initial_block);
}

void arena::impl::rebuild(std::size_t block) {
    doc_.reset();
    pool_.reset();
    block_ = std::make_unique<char[]>(block);
    block_size_ = block;
    pool_.emplace(block_.get(), block_size_, chunk_size);
    doc_.emplace(&*pool_);
}

void arena::impl::reset() {
    std::size_t peak = pool_->Capacity();
    out.Clear();
    if (peak > block_size_) {
        // The last batch spilled into extra chunks: make the first block big enough for it.
        rebuild(peak + peak / 4);
    } else {
        pool_->Clear();
    }
}

json_value* arena::impl::new_value() {
    void* mem = pool_->Malloc(sizeof(json_value));
    return new (mem) json_value();
}

arena::arena() : impl_(std::make_unique<impl>()) {}
arena::~arena() = default;
arena::arena(arena&&) noexcept = default;
arena& arena::operator=(arena&&) noexcept = default;

void arena::reset() {
    impl_->reset();
}

std::size_t arena::capacity() const {
    return impl_->pool().Capacity();
}

status write_json(const json_value& v, arena& a, std::string& out) {
    auto& buf = a.get().out;
    buf.Clear();
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    if (!v.Accept(w))
        return bad_payload("json: the value holds a number JSON cannot express (NaN or infinity)");
    out.append(buf.GetString(), buf.GetSize());
    return ok();
}

namespace {

// A typed record (msgpack, csv, proto) written by the json/raw/text codecs: its JSON form.
status write_typed_as_json(const record& in, arena& a, std::string& out) {
    json_value j;
    TRIB_TRY(to_json(typed_of(in), a, j));
    return write_json(j, a, out);
}

config::spec codec_spec(std::string name, std::string summary, std::string description) {
    config::spec s;
    s.name = std::move(name);
    s.kind = config::spec_kind::codec;
    s.summary = std::move(summary);
    s.description = std::move(description);
    return s;
}

class json_codec final : public codec {
  public:
    std::string_view name() const override { return "json"; }
    record_kind kind() const override { return record_kind::json; }

    status decode(std::string_view payload, arena& a, record& out) const override {
        json_value* v = nullptr;
        TRIB_TRY(parse_json(payload, a, v));
        set_json(out, v);
        out.modified = false;
        return ok();
    }

    status encode(const record& in, arena& a, std::string& out) const override {
        switch (in.kind) {
            case record_kind::json:
                return write_json(json_of(in), a, out);
            case record_kind::text: {
                // Text becomes a JSON string.
                json_value s(rapidjson::StringRef(in.bytes.data(), in.bytes.size()));
                return write_json(s, a, out);
            }
            case record_kind::typed:
                return write_typed_as_json(in, a, out);
            case record_kind::raw:
                break;
        }
        return bad_payload("json: cannot encode a raw record as JSON");
    }
};

class raw_codec final : public codec {
  public:
    std::string_view name() const override { return "raw"; }
    record_kind kind() const override { return record_kind::raw; }
    status decode(std::string_view payload, arena&, record& out) const override {
        out = record{record_kind::raw, payload, nullptr, false};
        return ok();
    }
    status encode(const record& in, arena& a, std::string& out) const override {
        if (in.kind == record_kind::json) {
            return write_json(json_of(in), a, out);
        } else if (in.kind == record_kind::typed) {
            return write_typed_as_json(in, a, out);
        } else {
            out.append(in.bytes);
        }
        return ok();
    }
};

class text_codec final : public codec {
  public:
    std::string_view name() const override { return "text"; }
    record_kind kind() const override { return record_kind::text; }
    status decode(std::string_view payload, arena&, record& out) const override {
        if (!valid_utf8(payload))
            return bad_payload("text: payload is not valid UTF-8");
        out = record{record_kind::text, payload, nullptr, false};
        return ok();
    }
    status encode(const record& in, arena& a, std::string& out) const override {
        switch (in.kind) {
            case record_kind::text:
                out.append(in.bytes);
                return ok();
            case record_kind::json:
                return write_json(json_of(in), a, out);
            case record_kind::typed:
                return write_typed_as_json(in, a, out);
            case record_kind::raw:
                if (!valid_utf8(in.bytes))
                    return bad_payload("text: bytes are not valid UTF-8");
                out.append(in.bytes);
                return ok();
        }
        return ok();
    }
};

}  // namespace

config::spec json_codec_spec() {
    config::spec s = codec_spec(
        "json", "JSON documents (Iggy's default schema).",
        "Payloads must be one complete JSON value in UTF-8. Transforms work on JSON records; a "
        "payload that is not valid JSON goes to the connector's error policy.");
    s.example = "[[streams]]\nstream = \"events\"\ntopics = [\"orders\"]\nschema = \"json\"";
    return s;
}

config::spec raw_codec_spec() {
    config::spec s = codec_spec("raw", "Bytes as they are.",
                                "No decoding; transforms leave raw records unchanged.");
    s.example = "[[streams]]\nstream = \"events\"\ntopics = [\"blobs\"]\nschema = \"raw\"";
    return s;
}

config::spec text_codec_spec() {
    config::spec s = codec_spec("text", "UTF-8 text.",
                                "Payloads must be valid UTF-8; transforms leave text records "
                                "unchanged.");
    s.example = "[[streams]]\nstream = \"logs\"\ntopics = [\"lines\"]\nschema = \"text\"";
    return s;
}

result<std::unique_ptr<codec>> make_json_codec(const config::values&) {
    return std::unique_ptr<codec>(std::make_unique<json_codec>());
}
result<std::unique_ptr<codec>> make_raw_codec(const config::values&) {
    return std::unique_ptr<codec>(std::make_unique<raw_codec>());
}
result<std::unique_ptr<codec>> make_text_codec(const config::values&) {
    return std::unique_ptr<codec>(std::make_unique<text_codec>());
}

}  // namespace trib::codecs
