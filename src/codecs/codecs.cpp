// The batch arena and the json, raw and text codecs.

#include <rapidjson/writer.h>

#include <errno.h>
#include <iconv.h>

#include <algorithm>
#include <new>
#include <string>
#include <vector>

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

// One iconv conversion descriptor per thread and direction: iconv_t holds shift state and is
// not thread-safe, and iconv_open is too slow to call per message.
class iconv_cache {
  public:
    ~iconv_cache() {
        for (auto& [k, cd] : open_)
            ::iconv_close(cd);
    }
    iconv_t get(const std::string& to, const std::string& from) {
        const std::string key = to + '\0' + from;
        for (auto& [k, cd] : open_) {
            if (k == key) {
                ::iconv(cd, nullptr, nullptr, nullptr, nullptr);  // reset the shift state
                return cd;
            }
        }
        iconv_t cd = ::iconv_open(to.c_str(), from.c_str());
        if (cd == reinterpret_cast<iconv_t>(-1))
            return cd;
        open_.emplace_back(key, cd);
        return cd;
    }

  private:
    std::vector<std::pair<std::string, iconv_t>> open_;
};

iconv_cache& iconvs() {
    thread_local iconv_cache c;
    return c;
}

// Converts `in` with iconv into at most `limit` bytes appended to `out`. An invalid or
// incomplete sequence, or a character the target cannot hold, fails naming its byte offset in
// `in`.
status convert(const std::string& to, const std::string& from, std::string_view in,
               std::size_t limit, std::string& out, std::string_view what,
               std::size_t base_offset = 0) {
    iconv_t cd = iconvs().get(to, from);
    if (cd == reinterpret_cast<iconv_t>(-1))
        return bad_payload("text: no conversion from " + from + " to " + to);
    const std::size_t start = out.size();
    out.resize(start + limit);
    char* src = const_cast<char*>(in.data());
    std::size_t src_left = in.size();
    char* dst = out.data() + start;
    std::size_t dst_left = limit;
    const std::size_t r = ::iconv(cd, &src, &src_left, &dst, &dst_left);
    std::size_t flushed = 0;
    if (r != static_cast<std::size_t>(-1))
        flushed = ::iconv(cd, nullptr, nullptr, &dst, &dst_left);  // final shift sequence
    const int e = errno;
    const std::size_t offset = base_offset + in.size() - src_left;
    out.resize(start + (limit - dst_left));
    if (r == static_cast<std::size_t>(-1) || flushed == static_cast<std::size_t>(-1)) {
        out.resize(start);
        if (e == EILSEQ) {
            return bad_payload("text: " + std::string(what) + " at byte offset " +
                               std::to_string(offset));
        }
        if (e == EINVAL) {
            return bad_payload("text: incomplete " + from + " sequence at byte offset " +
                               std::to_string(offset));
        }
        return bad_payload("text: the converted text would exceed " + std::to_string(limit) +
                           " bytes");
    }
    return ok();
}

class text_codec final : public codec {
  public:
    // `iconv_name` empty: UTF-8 (zero-copy decode, no conversion).
    explicit text_codec(std::string iconv_name) : enc_(std::move(iconv_name)) {
        // glibc's UTF-16/UTF-32 converters read and write the byte-order mark only on the first
        // call of a descriptor (a reset does not bring it back), and descriptors are reused;
        // so the mark is handled here and the converter is the explicit-order one.
        if (enc_ == "UTF-16")
            bom_width_ = 2;
        else if (enc_ == "UTF-32")
            bom_width_ = 4;
    }
    std::string_view name() const override { return "text"; }
    record_kind kind() const override { return record_kind::text; }
    status decode(std::string_view payload, arena& a, record& out) const override {
        if (enc_.empty()) {
            if (!valid_utf8(payload))
                return bad_payload("text: payload is not valid UTF-8");
            out = record{record_kind::text, payload, nullptr, false};
            return ok();
        }
        // Any of the supported encodings takes at most 3 UTF-8 bytes per input byte (one
        // byte -> U+0080..U+FFFF), so 3n + 4 bounds the output.
        std::string& buf = scratch();
        buf.clear();
        std::string from = enc_;
        std::size_t skip = 0;
        if (bom_width_ != 0) {
            // A mark picks the order; without one, big-endian (as glibc and RFC 2781 say).
            const bool be_mark = bom_width_ == 2
                                     ? payload.substr(0, 2) == "\xfe\xff"
                                     : payload.substr(0, 4) == std::string_view("\0\0\xfe\xff", 4);
            const bool le_mark = bom_width_ == 2
                                     ? payload.substr(0, 2) == "\xff\xfe"
                                     : payload.substr(0, 4) == std::string_view("\xff\xfe\0\0", 4);
            skip = (be_mark || le_mark) ? bom_width_ : 0;
            from = enc_ + (le_mark ? "LE" : "BE");
        }
        status st = convert("UTF-8", from, payload.substr(skip), payload.size() * 3 + 4, buf,
                            "invalid " + enc_ + " sequence", skip);
        TRIB_TRY(st);
        out = record{record_kind::text, copy_to_arena(a, buf), nullptr, false};
        return ok();
    }
    status encode(const record& in, arena& a, std::string& out) const override {
        if (enc_.empty())
            return encode_utf8(in, a, out);
        std::string utf8;
        TRIB_TRY(encode_utf8(in, a, utf8));
        // UTF-8 -> any supported encoding: at most 4 bytes per input byte (UTF-32).
        if (bom_width_ == 0) {
            return convert(enc_, "UTF-8", utf8, utf8.size() * 4 + 8, out,
                           "a character " + enc_ + " cannot hold (or invalid UTF-8)");
        }
        // The mark, then big-endian units (what glibc's UTF-16/UTF-32 write on a first call).
        const std::size_t start = out.size();
        out.append(bom_width_ == 2 ? std::string_view("\xfe\xff", 2)
                                   : std::string_view("\0\0\xfe\xff", 4));
        status st = convert(enc_ + "BE", "UTF-8", utf8, utf8.size() * 4 + 8, out, "invalid UTF-8");
        if (!st)
            out.resize(start);
        return st;
    }

  private:
    static std::string& scratch() {
        thread_local std::string s;
        return s;
    }
    static status encode_utf8(const record& in, arena& a, std::string& out) {
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
    std::string enc_;
    std::size_t bom_width_ = 0;  // utf-16: 2, utf-32: 4 (byte-order mark handled here)
};

// The `encoding` values and their glibc iconv names ("" = UTF-8, no conversion).
struct encoding_name {
    std::string_view name;
    std::string_view iconv;
};
constexpr encoding_name encodings[] = {
    {"utf-8", ""},
    {"utf8", ""},
    {"ascii", "ASCII"},
    {"us-ascii", "ASCII"},
    {"latin1", "ISO-8859-1"},
    {"latin-1", "ISO-8859-1"},
    {"iso-8859-1", "ISO-8859-1"},
    {"iso-8859-15", "ISO-8859-15"},
    {"windows-1252", "CP1252"},
    {"cp1252", "CP1252"},
    {"utf-16", "UTF-16"},
    {"utf-16le", "UTF-16LE"},
    {"utf-16be", "UTF-16BE"},
    {"utf-32", "UTF-32"},
    {"utf-32le", "UTF-32LE"},
    {"utf-32be", "UTF-32BE"},
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
    config::spec s = codec_spec(
        "text", "Text (UTF-8, or another encoding converted with iconv).",
        "Payloads must be valid in `encoding` (default UTF-8); transforms leave text records "
        "unchanged. With another encoding the payload is converted to UTF-8 when decoded and "
        "back when encoded (glibc iconv); an invalid or incomplete sequence, or on output a "
        "character the encoding cannot hold, is a bad payload naming its byte offset. utf-16 and "
        "utf-32 read a byte-order mark (big-endian without one) and write one (big-endian).");
    auto enc = config::opt("encoding", config::opt_type::enumeration,
                           "Character encoding of the payloads.", "\"utf-8\"");
    for (const auto& e : encodings)
        enc.choices.emplace_back(e.name);
    s.options.push_back(enc);
    s.example = "[[streams]]\nstream = \"logs\"\ntopics = [\"lines\"]\nschema = \"text\"";
    return s;
}

result<std::unique_ptr<codec>> make_json_codec(const config::values&) {
    return std::unique_ptr<codec>(std::make_unique<json_codec>());
}
result<std::unique_ptr<codec>> make_raw_codec(const config::values&) {
    return std::unique_ptr<codec>(std::make_unique<raw_codec>());
}
result<std::unique_ptr<codec>> make_text_codec(const config::values& v) {
    std::string name = "utf-8";
    if (v.root() != nullptr && v.has("encoding"))
        name = v.str("encoding");
    for (const auto& e : encodings) {
        if (e.name == name)
            return std::unique_ptr<codec>(std::make_unique<text_codec>(std::string(e.iconv)));
    }
    return fail(errc::invalid_argument, "text: unknown encoding \"" + name + "\"");
}

}  // namespace trib::codecs
