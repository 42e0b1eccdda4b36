// MessagePack on the typed record model.
//
// Hand-written, on purpose: Debian 12's libmsgpack-dev cannot be installed beside the Boost 1.81
// Tributary builds with (it pulls libmsgpack-cxx-dev -> libboost1.74-dev, which conflicts), its C
// unpacker allocates a container's declared size before checking that the bytes are there (five
// bytes can ask for 2^32 objects), and its C++ API throws. msgpuck 1.0.3 (libmsgpuck-dev) has no
// ext/timestamp support and counts pending items in an int that a hostile array32 overflows. The
// format is small (the spec is one page); this decoder checks every length against the bytes
// left before it allocates and limits nesting.

#include <cstring>
#include <limits>

#include "codecs/codec.h"
#include "codecs/value.h"
#include "config/spec.h"
#include "core/byte_reader.h"

namespace trib::codecs {

namespace {

class reader {
  public:
    reader(std::string_view in, arena& a, std::uint32_t max_depth)
        : r_(in), a_(a), max_depth_(max_depth) {}

    std::size_t left() const { return r_.left(); }
    // Bytes not already promised to elements that open containers still expect.
    std::uint64_t room() const { return left() > pending_ ? left() - pending_ : 0; }

    status read(value& out, std::uint32_t depth) {
        if (depth > max_depth_)
            return err("nested deeper than " + std::to_string(max_depth_));
        if (left() == 0)
            return err("truncated");
        const unsigned c = r_.u8();
        if (c <= 0x7f) {
            out = value::int_value(c);
        } else if (c >= 0xe0) {
            out = value::int_value(static_cast<std::int8_t>(c));
        } else if (c <= 0x8f) {
            return read_map(c & 0x0f, out, depth);
        } else if (c <= 0x9f) {
            return read_array(c & 0x0f, out, depth);
        } else if (c <= 0xbf) {
            return read_str(c & 0x1f, out);
        } else {
            switch (c) {
                case 0xc0:
                    out = value();
                    return ok();
                case 0xc2:
                case 0xc3:
                    out = value::boolean_value(c == 0xc3);
                    return ok();
                case 0xc4:
                case 0xc5:
                case 0xc6: {
                    std::uint64_t n = 0;
                    TRIB_TRY(be(1u << (c - 0xc4), n));
                    std::string_view b;
                    TRIB_TRY(take(n, b));
                    out = value::bytes_value(b);
                    return ok();
                }
                case 0xc7:
                case 0xc8:
                case 0xc9: {
                    std::uint64_t n = 0;
                    TRIB_TRY(be(1u << (c - 0xc7), n));
                    return read_ext(n, out);
                }
                case 0xca: {
                    std::uint64_t bits = 0;
                    TRIB_TRY(be(4, bits));
                    float f;
                    auto b32 = static_cast<std::uint32_t>(bits);
                    std::memcpy(&f, &b32, 4);
                    out = value::float_value(f);
                    return ok();
                }
                case 0xcb: {
                    std::uint64_t bits = 0;
                    TRIB_TRY(be(8, bits));
                    double d;
                    std::memcpy(&d, &bits, 8);
                    out = value::float_value(d);
                    return ok();
                }
                case 0xcc:
                case 0xcd:
                case 0xce:
                case 0xcf: {
                    std::uint64_t u;
                    TRIB_TRY(be(1u << (c - 0xcc), u));
                    out = value::uint_value(u);
                    return ok();
                }
                case 0xd0:
                case 0xd1:
                case 0xd2:
                case 0xd3: {
                    const unsigned width = 1u << (c - 0xd0);
                    std::uint64_t u;
                    TRIB_TRY(be(width, u));
                    // Sign-extend from `width` bytes.
                    const unsigned shift = 64 - 8 * width;
                    auto i = static_cast<std::int64_t>(u << shift) >> shift;
                    out = value::int_value(i);
                    return ok();
                }
                case 0xd4:
                case 0xd5:
                case 0xd6:
                case 0xd7:
                case 0xd8:
                    return read_ext(1u << (c - 0xd4), out);
                case 0xd9:
                case 0xda:
                case 0xdb: {
                    std::uint64_t n = 0;
                    TRIB_TRY(be(1u << (c - 0xd9), n));
                    return read_str(n, out);
                }
                case 0xdc:
                case 0xdd: {
                    std::uint64_t n = 0;
                    TRIB_TRY(be(c == 0xdc ? 2 : 4, n));
                    return read_array(n, out, depth);
                }
                case 0xde:
                case 0xdf: {
                    std::uint64_t n = 0;
                    TRIB_TRY(be(c == 0xde ? 2 : 4, n));
                    return read_map(n, out, depth);
                }
                default:
                    return err("byte 0xc1 is never used");
            }
        }
        return ok();
    }

  private:
    static status err(std::string m) { return bad_payload("msgpack: " + std::move(m)); }

    status be(unsigned width, std::uint64_t& out) {
        if (left() < width)
            return err("truncated");
        switch (width) {
            case 1:
                out = r_.u8();
                break;
            case 2:
                out = r_.be16();
                break;
            case 4:
                out = r_.be32();
                break;
            default:
                out = r_.be64();
                break;
        }
        return ok();
    }

    status take(std::uint64_t n, std::string_view& out) {
        if (n > left())
            return err("a length of " + std::to_string(n) + " runs past the end (" +
                       std::to_string(left()) + " bytes left)");
        out = r_.take(static_cast<std::size_t>(n));
        return ok();
    }

    status read_str(std::uint64_t n, value& out) {
        std::string_view s;
        TRIB_TRY(take(n, s));
        if (!valid_utf8(s))
            return err("a str is not valid UTF-8 (binary belongs in bin)");
        out = value::string_value(s);
        return ok();
    }

    status read_ext(std::uint64_t n, value& out) {
        if (left() < 1)
            return err("truncated");
        auto type = static_cast<std::int8_t>(r_.u8());
        std::string_view data;
        TRIB_TRY(take(n, data));
        if (type != -1) {
            // No typed-model equivalent: the data is kept as bytes (the ext type is lost).
            out = value::bytes_value(data);
            return ok();
        }
        const auto* d = reinterpret_cast<const unsigned char*>(data.data());
        auto load = [&](std::size_t at, std::size_t w) {
            std::uint64_t v = 0;
            for (std::size_t k = 0; k < w; ++k)
                v = (v << 8) | d[at + k];
            return v;
        };
        std::int64_t secs;
        std::uint64_t nanos;
        if (n == 4) {
            secs = static_cast<std::int64_t>(load(0, 4));
            nanos = 0;
        } else if (n == 8) {
            std::uint64_t v = load(0, 8);
            nanos = v >> 34;
            secs = static_cast<std::int64_t>(v & ((std::uint64_t{1} << 34) - 1));
        } else if (n == 12) {
            nanos = load(0, 4);
            secs = static_cast<std::int64_t>(load(4, 8));
        } else {
            return err("a timestamp extension of " + std::to_string(n) + " bytes");
        }
        if (nanos > 999'999'999)
            return err("timestamp nanoseconds above 999999999");
        out = value::timestamp_value(secs, static_cast<std::uint32_t>(nanos));
        return ok();
    }

    status read_array(std::uint64_t n, value& out, std::uint32_t depth) {
        // Every element takes at least one byte, and so does every element the enclosing
        // containers still expect: memory stays below 16 bytes per payload byte whatever the
        // nesting.
        if (n > room())
            return err("an array of " + std::to_string(n) + " elements in " +
                       std::to_string(room()) + " bytes");
        value* items = new_values(a_, n);
        pending_ += n;
        for (std::uint64_t k = 0; k < n; ++k) {
            --pending_;
            TRIB_TRY(read(items[k], depth + 1));
        }
        out = value();
        out.type = value_type::list;
        out.n = static_cast<std::uint32_t>(n);
        out.items = items;
        return ok();
    }

    status read_map(std::uint64_t n, value& out, std::uint32_t depth) {
        if (n > room() / 2)  // every entry takes at least two bytes
            return err("a map of " + std::to_string(n) + " entries in " + std::to_string(room()) +
                       " bytes");
        entry* es = new_entries(a_, n);
        pending_ += 2 * n;
        bool all_strings = true;
        for (std::uint64_t k = 0; k < n; ++k) {
            --pending_;
            TRIB_TRY(read(es[k].key, depth + 1));
            --pending_;
            TRIB_TRY(read(es[k].val, depth + 1));
            all_strings = all_strings && es[k].key.type == value_type::string;
        }
        out = value();
        // String keys: a record (named fields, what JSON and the transforms expect).
        out.type = all_strings ? value_type::record : value_type::map;
        out.n = static_cast<std::uint32_t>(n);
        out.entries = es;
        return ok();
    }

    byte_reader r_;  // every read is checked by the callers first (clear messages)
    arena& a_;
    std::uint32_t max_depth_;
    std::uint64_t pending_ = 0;  // elements declared by open containers, not read yet
};

class writer {
  public:
    writer(std::string& out, std::uint32_t max_depth) : out_(out), max_depth_(max_depth) {}

    status write(const value& v, std::uint32_t depth) {
        if (depth > max_depth_)
            return bad_payload("msgpack: value nested deeper than " + std::to_string(max_depth_));
        switch (v.type) {
            case value_type::null:
                byte(0xc0);
                return ok();
            case value_type::boolean:
                byte(v.b ? 0xc3 : 0xc2);
                return ok();
            case value_type::int64:
                if (v.i >= 0)
                    put_uint(static_cast<std::uint64_t>(v.i));
                else
                    put_negative(v.i);
                return ok();
            case value_type::uint64:
                put_uint(v.u);
                return ok();
            case value_type::float64: {
                std::uint64_t bits = 0;
                std::memcpy(&bits, &v.d, 8);
                byte(0xcb);
                be(bits, 8);
                return ok();
            }
            case value_type::string:
            case value_type::decimal:
                put_str(v.str());
                return ok();
            case value_type::bytes:
                if (v.n <= 0xff) {
                    byte(0xc4);
                    be(v.n, 1);
                } else if (v.n <= 0xffff) {
                    byte(0xc5);
                    be(v.n, 2);
                } else {
                    byte(0xc6);
                    be(v.n, 4);
                }
                out_.append(v.s, v.n);
                return ok();
            case value_type::timestamp:
                put_timestamp(v.i, v.n);
                return ok();
            case value_type::date: {
                std::string s;
                append_date(s, v.i);
                put_str(s);
                return ok();
            }
            case value_type::uuid: {
                std::string s;
                append_uuid(s, v.s);
                put_str(s);
                return ok();
            }
            case value_type::list:
                if (v.n <= 15) {
                    byte(0x90 | v.n);
                } else if (v.n <= 0xffff) {
                    byte(0xdc);
                    be(v.n, 2);
                } else {
                    byte(0xdd);
                    be(v.n, 4);
                }
                for (std::uint32_t k = 0; k < v.n; ++k)
                    TRIB_TRY(write(v.items[k], depth + 1));
                return ok();
            case value_type::map:
            case value_type::record:
                if (v.n <= 15) {
                    byte(0x80 | v.n);
                } else if (v.n <= 0xffff) {
                    byte(0xde);
                    be(v.n, 2);
                } else {
                    byte(0xdf);
                    be(v.n, 4);
                }
                for (std::uint32_t k = 0; k < v.n; ++k) {
                    TRIB_TRY(write(v.entries[k].key, depth + 1));
                    TRIB_TRY(write(v.entries[k].val, depth + 1));
                }
                return ok();
        }
        return ok();
    }

  private:
    void byte(unsigned b) { out_.push_back(static_cast<char>(b)); }
    void be(std::uint64_t v, unsigned width) {
        for (unsigned k = width; k-- > 0;)
            byte(static_cast<unsigned>((v >> (8 * k)) & 0xff));
    }
    // The smallest form, as the reference implementations write it.
    void put_uint(std::uint64_t u) {
        if (u <= 0x7f) {
            byte(static_cast<unsigned>(u));
        } else if (u <= 0xff) {
            byte(0xcc);
            be(u, 1);
        } else if (u <= 0xffff) {
            byte(0xcd);
            be(u, 2);
        } else if (u <= 0xffffffff) {
            byte(0xce);
            be(u, 4);
        } else {
            byte(0xcf);
            be(u, 8);
        }
    }
    void put_negative(std::int64_t i) {
        auto u = static_cast<std::uint64_t>(i);
        if (i >= -32) {
            byte(static_cast<unsigned>(u & 0xff));
        } else if (i >= -128) {
            byte(0xd0);
            be(u, 1);
        } else if (i >= -32768) {
            byte(0xd1);
            be(u, 2);
        } else if (i >= std::numeric_limits<std::int32_t>::min()) {
            byte(0xd2);
            be(u, 4);
        } else {
            byte(0xd3);
            be(u, 8);
        }
    }
    void put_str(std::string_view s) {
        if (s.size() <= 31) {
            byte(0xa0 | static_cast<unsigned>(s.size()));
        } else if (s.size() <= 0xff) {
            byte(0xd9);
            be(s.size(), 1);
        } else if (s.size() <= 0xffff) {
            byte(0xda);
            be(s.size(), 2);
        } else {
            byte(0xdb);
            be(s.size(), 4);
        }
        out_.append(s);
    }
    // The timestamp extension (-1) in its smallest form: 32-bit seconds, 34-bit seconds with
    // 30-bit nanoseconds, or 64-bit signed seconds with 32-bit nanoseconds.
    void put_timestamp(std::int64_t secs, std::uint32_t nanos) {
        if (secs >= 0 && (static_cast<std::uint64_t>(secs) >> 34) == 0) {
            auto s = static_cast<std::uint64_t>(secs);
            if (nanos == 0 && s <= 0xffffffff) {
                byte(0xd6);
                byte(0xff);
                be(s, 4);
            } else {
                byte(0xd7);
                byte(0xff);
                be((std::uint64_t{nanos} << 34) | s, 8);
            }
        } else {
            byte(0xc7);
            byte(12);
            byte(0xff);
            be(nanos, 4);
            be(static_cast<std::uint64_t>(secs), 8);
        }
    }

    std::string& out_;
    std::uint32_t max_depth_;
};

class msgpack_codec final : public codec {
  public:
    explicit msgpack_codec(std::uint32_t max_depth) : max_depth_(max_depth) {}
    std::string_view name() const override { return "msgpack"; }
    record_kind kind() const override { return record_kind::typed; }

    status decode(std::string_view payload, arena& a, record& out) const override {
        reader r(payload, a, max_depth_);
        value v;
        TRIB_TRY(r.read(v, 0));
        if (r.left() != 0)
            return bad_payload("msgpack: " + std::to_string(r.left()) +
                               " bytes after the first object");
        set_typed(out, new_value(a, v));
        out.modified = false;
        return ok();
    }

    status encode(const record& in, arena& a, std::string& out) const override {
        value_limits lim;
        lim.max_depth = max_depth_;
        value v;
        TRIB_TRY(to_typed(in, a, v, lim));
        const std::size_t start = out.size();
        writer w(out, max_depth_);
        status s = w.write(v, 0);
        if (!s)
            out.resize(start);
        return s;
    }

  private:
    std::uint32_t max_depth_;
};

}  // namespace

config::spec msgpack_codec_spec() {
    config::spec s;
    s.name = "msgpack";
    s.kind = config::spec_kind::codec;
    s.summary = "MessagePack (one object per message).";
    s.description =
        "Decodes one MessagePack object per payload to a typed record: maps with string keys "
        "become records, other maps stay maps; the timestamp extension (-1) becomes a "
        "timestamp; other extension types become bytes (their type number is not kept). A str "
        "must be valid UTF-8. Encoding writes the smallest form of each integer, float 64 for "
        "floats, str for strings, decimals, dates and uuids, bin for bytes and the timestamp "
        "extension for timestamps (the forms msgpack-python writes). Trailing bytes, truncated "
        "objects, lengths beyond the payload and nesting beyond max_depth are bad payloads.";
    config::option depth;
    depth.name = "max_depth";
    depth.type = config::opt_type::integer;
    depth.doc = "Deepest nesting of arrays and maps accepted.";
    depth.default_value = "128";
    depth.min = 1;
    depth.max = 1024;
    s.options.push_back(depth);
    s.example = "[[streams]]\nstream = \"devices\"\ntopics = [\"telemetry\"]\nschema = \"msgpack\"";
    return s;
}

result<std::unique_ptr<codec>> make_msgpack_codec(const config::values& v) {
    std::uint32_t depth = 128;
    if (v.root() != nullptr && v.has("max_depth"))
        depth = static_cast<std::uint32_t>(v.integer("max_depth"));
    return std::unique_ptr<codec>(std::make_unique<msgpack_codec>(depth));
}

}  // namespace trib::codecs
