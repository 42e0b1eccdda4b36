// BSON on the typed record model, with libbson (Debian's libbson-dev 1.23).
//
// Decoding: the payload must be exactly one document (libbson checks the declared length
// against the payload); its nesting is measured first with an explicit stack (bounded by
// max_depth), then bson_validate_with_error checks the structure and UTF-8, and only then are
// values read. Strings are views of the payload (no copy).
//
// Type mapping (README "bson"): double -> float64, string -> string, document -> record,
// array -> list, binary -> bytes (subtype 4 of 16 bytes -> uuid; the subtype of other binaries
// is not kept), ObjectId -> string of 24 lower-case hex digits, bool, UTC datetime ->
// timestamp (milliseconds), null, int32/int64 -> int64, decimal128 -> decimal (NaN and
// infinities refused: no exact decimal form), timestamp (MongoDB's internal) -> record
// {"t": seconds, "i": increment}. Regex, JavaScript code, symbol, DBPointer, undefined, minkey
// and maxkey are refused (bad payload naming the key): no model type holds them faithfully.
//
// Encoding: records (and maps with string keys) -> documents, lists -> arrays, int64 -> int32
// when it fits, else int64 (as pymongo), float64 -> double, decimal -> decimal128 (more than 34
// significant digits refused), string, bytes -> binary subtype 0, uuid -> binary subtype 4,
// timestamp -> UTC datetime (milliseconds; finer digits are dropped), date -> UTC datetime at
// midnight, null, bool. The top level must be a record (BSON has no other root).

#include <bson/bson.h>

#include <cstring>

#include "codecs/bson.h"
#include "codecs/codec.h"
#include "codecs/value.h"
#include "config/spec.h"

namespace trib::codecs {

namespace {

// valid_utf8 with a shortcut for the short ASCII strings most documents hold (the SIMD
// validator's setup costs more than the check itself on a few bytes).
bool utf8_ok(std::string_view s) {
    if (s.size() <= 32) {
        unsigned char any = 0;
        for (char c : s)
            any |= static_cast<unsigned char>(c);
        if (any < 0x80)
            return true;
    }
    return valid_utf8(s);
}

status err(std::string m) {
    return bad_payload("bson: " + std::move(m));
}

// Checks the nesting of the document `it` iterates (recursion bounded by max_depth: the
// stack holds at most max_depth frames, whatever the payload). bson_iter_t is over-aligned
// (128 bytes), so it lives on the stack, not in a container.
status check_depth(bson_iter_t& it, std::uint32_t depth, std::uint32_t max_depth) {
    while (bson_iter_next(&it)) {
        if (BSON_ITER_HOLDS_DOCUMENT(&it) || BSON_ITER_HOLDS_ARRAY(&it)) {
            if (depth + 1 > max_depth)
                return err("nested deeper than " + std::to_string(max_depth));
            bson_iter_t child;
            if (!bson_iter_recurse(&it, &child))
                return err("corrupt nested document");
            TRIB_TRY(check_depth(child, depth + 1, max_depth));
        }
    }
    if (it.err_off != 0)
        return err("corrupt element at offset " + std::to_string(it.err_off));
    return ok();
}

// libbson's decimal128 text ("1.23E+5", "-0.001", "NaN") as canonical decimal text.
status decimal_text(const bson_decimal128_t& d, arena& a, value& out, std::string_view key) {
    char buf[BSON_DECIMAL128_STRING];
    bson_decimal128_to_string(&d, buf);
    std::string_view s(buf);
    std::string digits;
    bool neg = false;
    if (!s.empty() && s[0] == '-') {
        neg = true;
        s.remove_prefix(1);
    }
    std::int64_t exp = 0;
    std::size_t i = 0;
    for (; i < s.size() && s[i] != 'E'; ++i) {
        if (s[i] >= '0' && s[i] <= '9')
            digits += s[i];
        else if (s[i] == '.')
            exp = -static_cast<std::int64_t>(s.size() - i - 1);  // fixed below if 'E' follows
        else
            return err("decimal128 \"" + std::string(buf) + "\" at \"" + std::string(key) +
                       "\" has no exact decimal form");
    }
    if (digits.empty())
        return err("decimal128 \"" + std::string(buf) + "\" is not a number");
    // Digits after the point: count them again, 'E' may follow.
    if (auto dot = s.find('.'); dot != std::string_view::npos && dot < i)
        exp = -static_cast<std::int64_t>(i - dot - 1);
    if (i < s.size()) {
        std::string_view e = s.substr(i + 1);
        bool eneg = !e.empty() && e[0] == '-';
        if (!e.empty() && (e[0] == '+' || e[0] == '-'))
            e.remove_prefix(1);
        std::int64_t ev = 0;
        for (char c : e) {
            if (c < '0' || c > '9' || ev > 100000)
                return err("decimal128 \"" + std::string(buf) + "\" is malformed");
            ev = ev * 10 + (c - '0');
        }
        exp += eneg ? -ev : ev;
    }
    std::string t = neg ? "-" : "";
    if (exp >= 0) {
        std::size_t nz = digits.find_first_not_of('0');
        t += nz == std::string::npos ? "0" : digits.substr(nz);
        if (nz != std::string::npos)
            t.append(static_cast<std::size_t>(exp), '0');
    } else {
        const std::size_t frac = static_cast<std::size_t>(-exp);
        if (digits.size() <= frac)
            digits.insert(0, frac - digits.size() + 1, '0');
        std::string ip = digits.substr(0, digits.size() - frac);
        std::size_t nz = ip.find_first_not_of('0');
        ip = nz == std::string::npos ? "0" : ip.substr(nz);
        t += ip + "." + digits.substr(digits.size() - frac);
    }
    out = value::decimal_value(copy_to_arena(a, t));
    return ok();
}

class reader {
  public:
    explicit reader(arena& a) : a_(a) {}

    // Reads the document or array `it` points into (already recursed).
    status read_container(bson_iter_t& it, bool is_array, value& out) {
        std::size_t n = 0;
        bson_iter_t count = it;
        while (bson_iter_next(&count))
            ++n;
        if (is_array) {
            value* items = new_values(a_, n);
            std::size_t k = 0;
            while (k < n && bson_iter_next(&it))
                TRIB_TRY(read_value(it, items[k++]));
            out.type = value_type::list;
            out.n = static_cast<std::uint32_t>(n);
            out.items = items;
        } else {
            entry* es = new_entries(a_, n);
            std::size_t k = 0;
            while (k < n && bson_iter_next(&it)) {
                const std::string_view key(bson_iter_key(&it), bson_iter_key_len(&it));
                if (!utf8_ok(key))
                    return err("a key is not valid UTF-8");
                es[k].key = value::string_value(key);
                TRIB_TRY(read_value(it, es[k].val));
                ++k;
            }
            out.type = value_type::record;
            out.n = static_cast<std::uint32_t>(n);
            out.entries = es;
        }
        return ok();
    }

    status read_value(bson_iter_t& it, value& out) {
        const std::string_view key(bson_iter_key(&it), bson_iter_key_len(&it));
        switch (bson_iter_type(&it)) {
            case BSON_TYPE_DOUBLE:
                out = value::float_value(bson_iter_double(&it));
                return ok();
            case BSON_TYPE_UTF8: {
                std::uint32_t len = 0;
                const char* s = bson_iter_utf8(&it, &len);
                // libbson 1.23's bson_validate(BSON_VALIDATE_UTF8) lets invalid UTF-8 in string
                // values through (seen: "\xff\xfe" passes), so check here.
                if (!utf8_ok(std::string_view(s, len)))
                    return err("string at \"" + std::string(key) + "\" is not valid UTF-8");
                out = value::string_value(std::string_view(s, len));
                return ok();
            }
            case BSON_TYPE_DOCUMENT:
            case BSON_TYPE_ARRAY: {
                bson_iter_t child;
                if (!bson_iter_recurse(&it, &child))
                    return err("corrupt nested document at \"" + std::string(key) + "\"");
                return read_container(child, bson_iter_type(&it) == BSON_TYPE_ARRAY, out);
            }
            case BSON_TYPE_BINARY: {
                bson_subtype_t sub;
                std::uint32_t len = 0;
                const std::uint8_t* data = nullptr;
                bson_iter_binary(&it, &sub, &len, &data);
                const char* p = reinterpret_cast<const char*>(data);
                if (sub == BSON_SUBTYPE_UUID && len == 16)
                    out = value::uuid_value(p);
                else
                    out = value::bytes_value(std::string_view(p, len));
                return ok();
            }
            case BSON_TYPE_OID: {
                char hex[25];
                bson_oid_to_string(bson_iter_oid(&it), hex);
                out = value::string_value(copy_to_arena(a_, std::string_view(hex, 24)));
                return ok();
            }
            case BSON_TYPE_BOOL:
                out = value::boolean_value(bson_iter_bool(&it));
                return ok();
            case BSON_TYPE_DATE_TIME: {
                const std::int64_t ms = bson_iter_date_time(&it);
                std::int64_t sec = ms / 1000, rem = ms % 1000;
                if (rem < 0) {
                    rem += 1000;
                    --sec;
                }
                out = value::timestamp_value(sec, static_cast<std::uint32_t>(rem) * 1000000u);
                return ok();
            }
            case BSON_TYPE_NULL:
                out = value();
                return ok();
            case BSON_TYPE_INT32:
                out = value::int_value(bson_iter_int32(&it));
                return ok();
            case BSON_TYPE_INT64:
                out = value::int_value(bson_iter_int64(&it));
                return ok();
            case BSON_TYPE_DECIMAL128: {
                bson_decimal128_t d;
                if (!bson_iter_decimal128(&it, &d))
                    return err("corrupt decimal128 at \"" + std::string(key) + "\"");
                return decimal_text(d, a_, out, key);
            }
            case BSON_TYPE_TIMESTAMP: {
                std::uint32_t t = 0, inc = 0;
                bson_iter_timestamp(&it, &t, &inc);
                entry* es = new_entries(a_, 2);
                es[0].key = value::string_value("t");
                es[0].val = value::int_value(t);
                es[1].key = value::string_value("i");
                es[1].val = value::int_value(inc);
                out.type = value_type::record;
                out.n = 2;
                out.entries = es;
                return ok();
            }
            default:
                break;
        }
        return err("type 0x" +
                   std::string(1, "0123456789abcdef"[(bson_iter_type(&it) >> 4) & 0xf]) +
                   std::string(1, "0123456789abcdef"[bson_iter_type(&it) & 0xf]) + " at \"" +
                   std::string(key) +
                   "\" is not supported (regex, JavaScript, symbol, DBPointer, undefined, "
                   "minkey and maxkey have no typed form)");
    }

  private:
    arena& a_;
};

// Seconds whose milliseconds still fit an int64.
constexpr std::int64_t max_ms_seconds = INT64_MAX / 1000 - 1;

class writer {
  public:
    explicit writer(std::uint32_t max_depth) : max_depth_(max_depth) {}

    status write_doc(bson_t* doc, const value& v, std::uint32_t depth) {
        if (depth > max_depth_)
            return err("nested deeper than " + std::to_string(max_depth_));
        if (v.type == value_type::list) {
            char buf[16];
            for (std::uint32_t i = 0; i < v.n; ++i) {
                const char* key = nullptr;
                const std::size_t kl = bson_uint32_to_string(i, &key, buf, sizeof buf);
                TRIB_TRY(write_value(doc, std::string_view(key, kl), v.items[i], depth));
            }
            return ok();
        }
        for (std::uint32_t i = 0; i < v.n; ++i) {
            const entry& e = v.entries[i];
            if (e.key.type != value_type::string)
                return err("a map key of type " + std::string(to_string(e.key.type)) +
                           " cannot be a document key");
            TRIB_TRY(write_value(doc, e.key.str(), e.val, depth));
        }
        return ok();
    }

    status write_value(bson_t* doc, std::string_view key, const value& v, std::uint32_t depth) {
        if (key.find('\0') != std::string_view::npos)
            return err("a key holds a NUL byte");
        const char* k = key.data();
        const int kl = static_cast<int>(key.size());
        bool okay = true;
        switch (v.type) {
            case value_type::null:
                okay = bson_append_null(doc, k, kl);
                break;
            case value_type::boolean:
                okay = bson_append_bool(doc, k, kl, v.b);
                break;
            case value_type::int64:
                if (v.i >= INT32_MIN && v.i <= INT32_MAX)
                    okay = bson_append_int32(doc, k, kl, static_cast<std::int32_t>(v.i));
                else
                    okay = bson_append_int64(doc, k, kl, v.i);
                break;
            case value_type::uint64:
                return err("integer " + std::to_string(v.u) + " at \"" + std::string(key) +
                           "\" does not fit BSON's int64");
            case value_type::float64:
                okay = bson_append_double(doc, k, kl, v.d);
                break;
            case value_type::decimal: {
                std::string t(v.str());
                bson_decimal128_t d;
                if (!bson_decimal128_from_string(t.c_str(), &d))
                    return err("decimal " + t + " at \"" + std::string(key) +
                               "\" does not fit decimal128 (34 digits)");
                okay = bson_append_decimal128(doc, k, kl, &d);
                break;
            }
            case value_type::string:
                okay = bson_append_utf8(doc, k, kl, v.s, static_cast<int>(v.n));
                break;
            case value_type::bytes:
                okay = bson_append_binary(doc, k, kl, BSON_SUBTYPE_BINARY,
                                          reinterpret_cast<const std::uint8_t*>(v.s), v.n);
                break;
            case value_type::uuid:
                okay = bson_append_binary(doc, k, kl, BSON_SUBTYPE_UUID,
                                          reinterpret_cast<const std::uint8_t*>(v.s), 16);
                break;
            case value_type::timestamp: {
                if (v.i > max_ms_seconds || v.i < -max_ms_seconds)
                    return err("timestamp at \"" + std::string(key) + "\" is out of range");
                const std::int64_t ms = v.i * 1000 + static_cast<std::int64_t>(v.n / 1000000u);
                okay = bson_append_date_time(doc, k, kl, ms);
                break;
            }
            case value_type::date:
                if (v.i > max_ms_seconds / 86400 || v.i < -max_ms_seconds / 86400)
                    return err("date at \"" + std::string(key) + "\" is out of range");
                okay = bson_append_date_time(doc, k, kl, v.i * 86400 * 1000);
                break;
            case value_type::list:
            case value_type::map:
            case value_type::record: {
                if (depth + 1 > max_depth_)
                    return err("nested deeper than " + std::to_string(max_depth_));
                bson_t child;
                const bool is_array = v.type == value_type::list;
                if (!(is_array ? bson_append_array_begin(doc, k, kl, &child)
                               : bson_append_document_begin(doc, k, kl, &child)))
                    return err("document too large");
                status s = write_doc(&child, v, depth + 1);
                const bool closed = is_array ? bson_append_array_end(doc, &child)
                                             : bson_append_document_end(doc, &child);
                TRIB_TRY(s);
                okay = closed;
                break;
            }
        }
        if (!okay)
            return err("document too large");
        return ok();
    }

  private:
    std::uint32_t max_depth_;
};

class bson_codec final : public codec {
  public:
    explicit bson_codec(std::uint32_t max_depth) : max_depth_(max_depth) {}
    std::string_view name() const override { return "bson"; }
    record_kind kind() const override { return record_kind::typed; }

    status decode(std::string_view payload, arena& a, record& out) const override {
        bson_t b;
        if (!bson_init_static(&b, reinterpret_cast<const std::uint8_t*>(payload.data()),
                              payload.size())) {
            return err("not one BSON document (" + std::to_string(payload.size()) +
                       " bytes; the length prefix, the size or the final NUL is wrong)");
        }
        {
            bson_iter_t it;
            if (!bson_iter_init(&it, &b))
                return err("corrupt document");
            TRIB_TRY(check_depth(it, 0, max_depth_));
        }
        bson_error_t e;
        // String values are length-prefixed and may hold U+0000 (BSON spec; MongoDB stores them);
        // without ALLOW_NULL libbson refuses them in some places and not in others, so a document
        // we decoded could be refused when re-read (found by fuzz_codecs_bson).
        if (!bson_validate_with_error(&b,
                                      static_cast<bson_validate_flags_t>(
                                          BSON_VALIDATE_UTF8 | BSON_VALIDATE_UTF8_ALLOW_NULL),
                                      &e))
            return err(std::string("invalid document: ") + e.message);
        bson_iter_t it;
        if (!bson_iter_init(&it, &b))
            return err("corrupt document");
        reader r(a);
        value v;
        TRIB_TRY(r.read_container(it, false, v));
        set_typed(out, new_value(a, v));
        out.modified = false;
        return ok();
    }

    status encode(const record& in, arena& a, std::string& out) const override {
        value_limits lim;
        lim.max_depth = max_depth_;
        value v;
        TRIB_TRY(to_typed(in, a, v, lim));
        if (v.type != value_type::record && v.type != value_type::map)
            return err("only a record (or a map) can be a BSON document, not a " +
                       std::string(to_string(v.type)));
        bson_t doc = BSON_INITIALIZER;
        writer w(max_depth_);
        status s = w.write_doc(&doc, v, 0);
        if (s)
            out.append(reinterpret_cast<const char*>(bson_get_data(&doc)), doc.len);
        bson_destroy(&doc);
        return s;
    }

  private:
    std::uint32_t max_depth_;
};

}  // namespace

config::spec bson_codec_spec() {
    config::spec s;
    s.name = "bson";
    s.kind = config::spec_kind::codec;
    s.summary = "BSON documents (one per message), with libbson.";
    s.description =
        "Decodes one BSON document per payload (validated with bson_validate first: structure "
        "and UTF-8) to a typed record: double, string, document (record), array (list), binary "
        "(bytes; subtype 4 of 16 bytes: uuid), ObjectId (a string of 24 hex digits), bool, UTC "
        "datetime (timestamp), null, int32/int64, decimal128 (decimal) and MongoDB timestamps "
        "(a record {t, i}). Regex, JavaScript, symbol, DBPointer, undefined, minkey and maxkey "
        "are bad payloads, as are decimal128 NaN and infinities. Encoding writes int32 where "
        "the integer fits (as pymongo), binary subtype 4 for uuids, UTC datetimes in "
        "milliseconds for timestamps and dates; the top level must be a record. Not in Iggy's "
        "runtime.";
    config::option depth;
    depth.name = "max_depth";
    depth.type = config::opt_type::integer;
    depth.doc = "Deepest nesting of documents and arrays accepted.";
    depth.default_value = "100";
    depth.min = 1;
    depth.max = 1024;
    s.options.push_back(depth);
    s.example = "[[streams]]\nstream = \"app\"\ntopics = [\"changes\"]\nschema = \"bson\"";
    return s;
}

result<std::unique_ptr<codec>> make_bson_codec(const config::values& v) {
    std::uint32_t depth = 100;
    if (v.root() != nullptr && v.has("max_depth"))
        depth = static_cast<std::uint32_t>(v.integer("max_depth"));
    return std::unique_ptr<codec>(std::make_unique<bson_codec>(depth));
}

}  // namespace trib::codecs
