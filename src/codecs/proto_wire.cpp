// The proto codec's direct encoder (proto_wire.h): typed record -> protobuf wire format, from
// per-message plans built at start. Every conversion here is one the JSON path makes the same
// way (checked field kind by field kind against it in tests/codecs/proto_wire_test.cpp); the
// rest is `unsupported` and goes through the JSON path.

#include "codecs/proto_wire.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace trib::codecs::proto_wire {
namespace {

// Deeper values take the JSON path (its parser has its own recursion limit of 100, below the
// largest max_depth the codec accepts).
constexpr std::uint32_t direct_depth_limit = 64;
constexpr std::uint32_t ambiguous_name = 0xffffffff;

enum wire : std::uint32_t { varint_wire = 0, fixed64_wire = 1, len_wire = 2, fixed32_wire = 5 };

kind scalar_kind(const pb::FieldDescriptor* f) {
    using T = pb::FieldDescriptor;
    switch (f->type()) {
        case T::TYPE_INT32:
            return kind::int32;
        case T::TYPE_INT64:
            return kind::int64;
        case T::TYPE_UINT32:
            return kind::uint32;
        case T::TYPE_UINT64:
            return kind::uint64;
        case T::TYPE_SINT32:
            return kind::sint32;
        case T::TYPE_SINT64:
            return kind::sint64;
        case T::TYPE_FIXED32:
            return kind::fixed32;
        case T::TYPE_FIXED64:
            return kind::fixed64;
        case T::TYPE_SFIXED32:
            return kind::sfixed32;
        case T::TYPE_SFIXED64:
            return kind::sfixed64;
        case T::TYPE_FLOAT:
            return kind::float32;
        case T::TYPE_DOUBLE:
            return kind::float64;
        case T::TYPE_BOOL:
            return kind::boolean;
        case T::TYPE_ENUM:
            // NullValue has a JSON form of its own (null): the JSON path's.
            return f->enum_type()->full_name() == "google.protobuf.NullValue" ? kind::other
                                                                              : kind::enumeration;
        case T::TYPE_STRING:
            return kind::string;
        case T::TYPE_BYTES:
            return kind::bytes;
        case T::TYPE_MESSAGE:
            return kind::message;
        case T::TYPE_GROUP:
            return kind::other;
    }
    return kind::other;
}

/// The well-known message types the encoder writes itself; `other` for the rest of
/// google/protobuf/*, `message` for ordinary messages.
kind message_kind(const pb::Descriptor* d, kind& inner) {
    if (d->file()->name().rfind("google/protobuf/", 0) != 0)
        return kind::message;
    const std::string& n = d->full_name();
    if (n == "google.protobuf.Timestamp")
        return kind::timestamp;
    static constexpr std::pair<std::string_view, kind> wrappers[] = {
        {"google.protobuf.DoubleValue", kind::float64},
        {"google.protobuf.FloatValue", kind::float32},
        {"google.protobuf.Int64Value", kind::int64},
        {"google.protobuf.UInt64Value", kind::uint64},
        {"google.protobuf.Int32Value", kind::int32},
        {"google.protobuf.UInt32Value", kind::uint32},
        {"google.protobuf.BoolValue", kind::boolean},
        {"google.protobuf.StringValue", kind::string},
        {"google.protobuf.BytesValue", kind::bytes},
    };
    for (const auto& [name, k] : wrappers) {
        if (n == name) {
            inner = k;
            return kind::wrapper;
        }
    }
    return kind::other;
}

std::uint32_t wire_of(kind k) {
    switch (k) {
        case kind::fixed64:
        case kind::sfixed64:
        case kind::float64:
            return fixed64_wire;
        case kind::fixed32:
        case kind::sfixed32:
        case kind::float32:
            return fixed32_wire;
        case kind::string:
        case kind::bytes:
        case kind::message:
        case kind::timestamp:
        case kind::wrapper:
        case kind::other:
            return len_wire;
        default:
            return varint_wire;
    }
}

void put_varint(std::string& out, std::uint64_t v) {
    char buf[10];
    std::size_t n = 0;
    while (v >= 0x80) {
        buf[n++] = static_cast<char>(v | 0x80);
        v >>= 7;
    }
    buf[n++] = static_cast<char>(v);
    out.append(buf, n);
}

void put_tag(std::string& out, std::uint32_t number, std::uint32_t wire_type) {
    put_varint(out, (static_cast<std::uint64_t>(number) << 3) | wire_type);
}

void put_fixed32(std::string& out, std::uint32_t v) {
    char buf[4];
    for (int i = 0; i < 4; ++i)
        buf[i] = static_cast<char>(v >> (8 * i));
    out.append(buf, 4);
}

void put_fixed64(std::string& out, std::uint64_t v) {
    char buf[8];
    for (int i = 0; i < 8; ++i)
        buf[i] = static_cast<char>(v >> (8 * i));
    out.append(buf, 8);
}

/// A length-delimited body written in place: one byte is reserved for its length, which is
/// widened (the body moved) only when the body is 128 bytes or more.
std::size_t begin_len(std::string& out) {
    out.push_back('\0');
    return out.size();
}

void end_len(std::string& out, std::size_t body) {
    std::uint64_t len = out.size() - body;
    if (len < 0x80) {
        out[body - 1] = static_cast<char>(len);
        return;
    }
    char buf[10];
    std::size_t n = 0;
    while (len >= 0x80) {
        buf[n++] = static_cast<char>(len | 0x80);
        len >>= 7;
    }
    buf[n++] = static_cast<char>(len);
    out[body - 1] = buf[0];
    out.insert(body, buf + 1, n - 1);
}

/// One scalar as the wire holds it.
struct scalar {
    std::uint64_t bits = 0;  // varint/fixed payload
    std::string_view text;   // string/bytes
    bool zero = false;       // the field's default (not written without explicit presence)
};

bool in_range(const value& v, std::int64_t lo, std::int64_t hi) {
    return v.type == value_type::int64 && v.i >= lo && v.i <= hi;
}

/// The conversions the JSON path makes the same way; false: let it decide.
bool to_scalar(kind k, const pb::FieldDescriptor* f, const value& v, scalar& s) {
    constexpr std::int64_t i32_min = std::numeric_limits<std::int32_t>::min();
    constexpr std::int64_t i32_max = std::numeric_limits<std::int32_t>::max();
    constexpr std::int64_t u32_max = std::numeric_limits<std::uint32_t>::max();
    switch (k) {
        case kind::int32:
        case kind::sfixed32:
            if (!in_range(v, i32_min, i32_max))
                return false;
            s.bits = k == kind::int32 ? static_cast<std::uint64_t>(v.i)
                                      : static_cast<std::uint32_t>(static_cast<std::int32_t>(v.i));
            s.zero = v.i == 0;
            return true;
        case kind::sint32: {
            if (!in_range(v, i32_min, i32_max))
                return false;
            const auto n = static_cast<std::int32_t>(v.i);
            s.bits = (static_cast<std::uint32_t>(n) << 1) ^ static_cast<std::uint32_t>(n >> 31);
            s.zero = n == 0;
            return true;
        }
        case kind::int64:
        case kind::sfixed64:
            if (v.type != value_type::int64)
                return false;
            s.bits = static_cast<std::uint64_t>(v.i);
            s.zero = v.i == 0;
            return true;
        case kind::sint64:
            if (v.type != value_type::int64)
                return false;
            s.bits = (static_cast<std::uint64_t>(v.i) << 1) ^ static_cast<std::uint64_t>(v.i >> 63);
            s.zero = v.i == 0;
            return true;
        case kind::uint32:
        case kind::fixed32:
            if (!in_range(v, 0, u32_max))
                return false;
            s.bits = static_cast<std::uint64_t>(v.i);
            s.zero = v.i == 0;
            return true;
        case kind::uint64:
        case kind::fixed64:
            if (v.type == value_type::uint64)
                s.bits = v.u;
            else if (in_range(v, 0, std::numeric_limits<std::int64_t>::max()))
                s.bits = static_cast<std::uint64_t>(v.i);
            else
                return false;
            s.zero = s.bits == 0;
            return true;
        case kind::float64: {
            double d;
            if (v.type == value_type::float64)
                d = std::isnan(v.d) ? std::numeric_limits<double>::quiet_NaN() : v.d;
            else if (in_range(v, -(std::int64_t{1} << 53), std::int64_t{1} << 53))
                d = static_cast<double>(v.i);
            else
                return false;
            s.bits = std::bit_cast<std::uint64_t>(d);
            s.zero = s.bits == 0;
            return true;
        }
        case kind::float32: {
            float x;
            if (v.type == value_type::float64) {
                if (std::isnan(v.d))
                    x = std::numeric_limits<float>::quiet_NaN();
                else if (std::isinf(v.d))
                    x = v.d > 0 ? std::numeric_limits<float>::infinity()
                                : -std::numeric_limits<float>::infinity();
                else if (std::fabs(v.d) <= std::numeric_limits<float>::max())
                    x = static_cast<float>(v.d);
                else
                    return false;
            } else if (in_range(v, -(std::int64_t{1} << 24), std::int64_t{1} << 24)) {
                x = static_cast<float>(v.i);
            } else {
                return false;
            }
            s.bits = std::bit_cast<std::uint32_t>(x);
            s.zero = s.bits == 0;
            return true;
        }
        case kind::boolean:
            if (v.type != value_type::boolean)
                return false;
            s.bits = v.b ? 1 : 0;
            s.zero = !v.b;
            return true;
        case kind::enumeration: {
            const pb::EnumValueDescriptor* ev = nullptr;
            if (v.type == value_type::string)
                ev = f->enum_type()->FindValueByName(std::string(v.str()));
            else if (in_range(v, i32_min, i32_max))
                ev = f->enum_type()->FindValueByNumber(static_cast<int>(v.i));
            if (ev == nullptr)
                return false;
            s.bits = static_cast<std::uint64_t>(static_cast<std::int64_t>(ev->number()));
            s.zero = ev->number() == 0;
            return true;
        }
        case kind::string:
            if (v.type == value_type::decimal) {
                s.text = v.str();
            } else if (v.type == value_type::string && valid_utf8(v.str())) {
                s.text = v.str();
            } else {
                return false;
            }
            s.zero = s.text.empty();
            return true;
        case kind::bytes:
            if (v.type != value_type::bytes)
                return false;
            s.text = v.str();
            s.zero = s.text.empty();
            return true;
        default:
            return false;
    }
}

void put_payload(std::string& out, std::uint32_t wire_type, const scalar& s) {
    switch (wire_type) {
        case varint_wire:
            put_varint(out, s.bits);
            break;
        case fixed64_wire:
            put_fixed64(out, s.bits);
            break;
        case fixed32_wire:
            put_fixed32(out, static_cast<std::uint32_t>(s.bits));
            break;
        default:
            put_varint(out, s.text.size());
            out.append(s.text);
            break;
    }
}

// A strict integer key ("-12"): the text of a JSON object key for an integer map key.
bool parse_int_key(std::string_view t, value& out) {
    bool neg = !t.empty() && t[0] == '-';
    std::string_view d = neg ? t.substr(1) : t;
    if (d.empty() || d.size() > 19)
        return false;
    std::uint64_t n = 0;
    for (char c : d) {
        if (c < '0' || c > '9')
            return false;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (neg) {
        if (n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return false;
        out = value::int_value(-static_cast<std::int64_t>(n));
    } else {
        out = value::uint_value(n);
    }
    return true;
}

class writer {
  public:
    writer(std::string& out, std::uint32_t limit) : out_(out), limit_(limit) {}

    bool message(const message_plan& p, const value& rec, std::uint32_t depth) {
        if (rec.type != value_type::record || depth > limit_ || p.oneofs > 64)
            return false;
        const std::size_t nf = p.fields.size();
        const value* small[32];
        std::vector<const value*> large;
        const value** slot = small;
        if (nf > 32) {
            large.assign(nf, nullptr);
            slot = large.data();
        } else {
            std::fill(small, small + nf, nullptr);
        }
        std::uint64_t oneof_seen = 0;
        static const value null_seen;
        for (std::uint32_t k = 0; k < rec.n; ++k) {
            const entry& e = rec.entries[k];
            if (e.key.type != value_type::string)
                return false;
            auto it = p.by_name.find(e.key.str());
            if (it == p.by_name.end() || it->second == ambiguous_name)
                return false;
            const field_plan& f = p.fields[it->second];
            if (slot[it->second] != nullptr)
                return false;  // the same field twice (by both of its names)
            if (f.oneof >= 0) {
                const std::uint64_t bit = std::uint64_t{1} << f.oneof;
                if ((oneof_seen & bit) != 0 || e.val.type == value_type::null)
                    return false;
                oneof_seen |= bit;
            }
            slot[it->second] = e.val.type == value_type::null ? &null_seen : &e.val;
        }
        // The JSON path refuses a message without its required fields (and says which).
        for (std::uint32_t r : p.required)
            if (slot[r] == nullptr || slot[r] == &null_seen)
                return false;
        for (std::size_t i = 0; i < nf; ++i) {
            if (slot[i] == nullptr || slot[i] == &null_seen)
                continue;
            if (!field(p.fields[i], *slot[i], depth + 1))
                return false;
        }
        return true;
    }

  private:
    bool field(const field_plan& f, const value& v, std::uint32_t depth) {
        if (depth > limit_)
            return false;
        if (f.is_map)
            return map(f, v, depth);
        if (!f.repeated)
            return single(f, v, !f.presence, depth);
        if (v.type != value_type::list)
            return false;
        if (v.n == 0)
            return true;
        if (f.packed) {
            const std::uint32_t wt = wire_of(f.k);
            put_tag(out_, f.number, len_wire);
            const std::size_t body = begin_len(out_);
            for (std::uint32_t i = 0; i < v.n; ++i) {
                scalar s;
                if (!to_scalar(f.k, f.fd, v.items[i], s))
                    return false;
                put_payload(out_, wt, s);
            }
            end_len(out_, body);
            return true;
        }
        for (std::uint32_t i = 0; i < v.n; ++i) {
            if (v.items[i].type == value_type::null || !single(f, v.items[i], false, depth + 1))
                return false;
        }
        return true;
    }

    /// One value with its tag; `skip_default`: implicit presence, the default is not written.
    bool single(const field_plan& f, const value& v, bool skip_default, std::uint32_t depth) {
        switch (f.k) {
            case kind::message: {
                if (f.msg == nullptr)
                    return false;
                put_tag(out_, f.number, len_wire);
                const std::size_t body = begin_len(out_);
                if (!message(*f.msg, v, depth))
                    return false;
                end_len(out_, body);
                return true;
            }
            case kind::timestamp: {
                // The JSON path's RFC 3339 text has years 1-9999 only.
                if (v.type != value_type::timestamp || v.i < -62'135'596'800 ||
                    v.i > 253'402'300'799 || v.n > 999'999'999)
                    return false;
                put_tag(out_, f.number, len_wire);
                const std::size_t body = begin_len(out_);
                if (v.i != 0) {
                    put_tag(out_, 1, varint_wire);
                    put_varint(out_, static_cast<std::uint64_t>(v.i));
                }
                if (v.n != 0) {
                    put_tag(out_, 2, varint_wire);
                    put_varint(out_, v.n);
                }
                end_len(out_, body);
                return true;
            }
            case kind::wrapper: {
                scalar s;
                if (!to_scalar(f.inner, f.fd, v, s))
                    return false;
                put_tag(out_, f.number, len_wire);
                const std::size_t body = begin_len(out_);
                if (!s.zero) {
                    put_tag(out_, 1, wire_of(f.inner));
                    put_payload(out_, wire_of(f.inner), s);
                }
                end_len(out_, body);
                return true;
            }
            case kind::other:
                return false;
            default: {
                scalar s;
                if (!to_scalar(f.k, f.fd, v, s))
                    return false;
                if (skip_default && s.zero)
                    return true;
                const std::uint32_t wt = wire_of(f.k);
                put_tag(out_, f.number, wt);
                put_payload(out_, wt, s);
                return true;
            }
        }
    }

    bool map(const field_plan& f, const value& v, std::uint32_t depth) {
        if (v.type != value_type::map && v.type != value_type::record)
            return false;
        const field_plan& kf = *f.map_key;
        const field_plan& vf = *f.map_value;
        // Keys as the wire holds them: the JSON path refuses a key given twice.
        std::vector<std::pair<std::uint64_t, std::string_view>> seen;
        seen.reserve(v.n);
        for (std::uint32_t i = 0; i < v.n; ++i) {
            const entry& e = v.entries[i];
            value key = e.key;
            if (key.type == value_type::string && kf.k != kind::string) {
                if (kf.k == kind::boolean) {
                    if (key.str() != "true" && key.str() != "false")
                        return false;
                    key = value::boolean_value(key.str() == "true");
                } else if (!parse_int_key(key.str(), key)) {
                    return false;
                }
            }
            if (e.val.type == value_type::null)
                return false;
            scalar ks;
            if (!to_scalar(kf.k, kf.fd, key, ks))
                return false;
            seen.emplace_back(ks.bits, ks.text);
            put_tag(out_, f.number, len_wire);
            const std::size_t body = begin_len(out_);
            // Map entries hold both key and value, defaults included (as libprotobuf writes).
            if (!single(kf, key, false, depth + 1) || !single(vf, e.val, false, depth + 1))
                return false;
            end_len(out_, body);
        }
        std::sort(seen.begin(), seen.end());
        return std::adjacent_find(seen.begin(), seen.end()) == seen.end();
    }

    std::string& out_;
    std::uint32_t limit_;
};

}  // namespace

const message_plan* encoder::plan_for(const pb::Descriptor* d) {
    if (auto it = plans_.find(d); it != plans_.end())
        return it->second.get();
    auto owned = std::make_unique<message_plan>();
    message_plan* p = owned.get();
    plans_.emplace(d, std::move(owned));
    p->d = d;
    p->oneofs = d->real_oneof_decl_count();
    std::vector<const pb::FieldDescriptor*> fds;
    for (int i = 0; i < d->field_count(); ++i)
        fds.push_back(d->field(i));
    std::sort(fds.begin(), fds.end(),
              [](const auto* x, const auto* y) { return x->number() < y->number(); });
    p->fields.resize(fds.size());
    for (std::size_t i = 0; i < fds.size(); ++i) {
        const pb::FieldDescriptor* fd = fds[i];
        field_plan& f = p->fields[i];
        f.fd = fd;
        f.number = static_cast<std::uint32_t>(fd->number());
        f.repeated = fd->is_repeated();
        f.packed = fd->is_packed();
        f.presence = fd->has_presence();
        if (fd->is_required())
            p->required.push_back(static_cast<std::uint32_t>(i));
        if (const pb::OneofDescriptor* o = fd->real_containing_oneof())
            f.oneof = o->index();
        f.k = scalar_kind(fd);
        if (fd->is_map()) {
            f.is_map = true;
            const pb::Descriptor* entry_d = fd->message_type();
            for (int side = 0; side < 2; ++side) {
                const pb::FieldDescriptor* ef =
                    side == 0 ? entry_d->map_key() : entry_d->map_value();
                auto ep = std::make_unique<field_plan>();
                ep->fd = ef;
                ep->number = static_cast<std::uint32_t>(ef->number());
                ep->k = scalar_kind(ef);
                if (ep->k == kind::message)
                    ep->k = message_kind(ef->message_type(), ep->inner);
                (side == 0 ? f.map_key : f.map_value) = ep.get();
                entry_fields_.push_back(std::move(ep));
            }
        } else if (f.k == kind::message) {
            f.k = message_kind(fd->message_type(), f.inner);
        }
        // A name that is one field's and another's JSON name is ambiguous: the JSON path's.
        for (const std::string* n : {&fd->name(), &fd->json_name()}) {
            auto [it, added] = p->by_name.emplace(*n, static_cast<std::uint32_t>(i));
            if (!added && it->second != i)
                it->second = ambiguous_name;
        }
    }
    // Plans of the messages below, once all of this one's fields are in place (recursive
    // schemas find this plan in plans_).
    for (field_plan& f : p->fields) {
        if (f.is_map) {
            auto* vf = const_cast<field_plan*>(f.map_value);
            if (vf->k == kind::message)
                vf->msg = plan_for(vf->fd->message_type());
        } else if (f.k == kind::message) {
            f.msg = plan_for(f.fd->message_type());
        }
    }
    return p;
}

void encoder::build(const pb::Descriptor* root) {
    kind inner = kind::other;
    root_ = message_kind(root, inner) == kind::message ? plan_for(root) : nullptr;
}

outcome encoder::encode(const value& rec, std::string& out, std::uint32_t max_depth) const {
    if (root_ == nullptr)
        return outcome::unsupported;
    writer w(out, std::min(max_depth, direct_depth_limit));
    return w.message(*root_, rec, 0) ? outcome::done : outcome::unsupported;
}

}  // namespace trib::codecs::proto_wire
