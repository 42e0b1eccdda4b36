// Over 1,000 lines: one file for now because the parts share one private schema model; the
// seams for a split (issue 24) are the sections below: schema model + canonical form +
// resolution check, the bounds scan, the two walkers, the direct encoder and decoder, and the
// container framing.
//
// Avro on Apache Avro C (Debian's libavro 1.11.1): Avro C parses and checks every schema,
// resolves writer and reader schemas (resolver.h) and reads and writes the datums
// (avro_value_read / avro_value_write on generic values). The common cases -- every encode,
// and every decode without a reader schema -- go through a direct encoder and decoder of ours
// instead (Avro C's generic values allocate and copy each datum), which follow the Avro C
// paths choice for choice and leave to them whatever they do not copy, so the Avro C paths
// remain the reference (tests/codecs/avro_wire_test.cpp, fuzz_codecs_avro compare the two).
// Around Avro C, Tributary keeps:
// - a schema model of its own (logical types, defaults, names), because Avro C 1.11 ignores
//   logicalType and has no Parsing Canonical Form or fingerprint;
// - a bounds scan of every payload BEFORE Avro C sees it: Avro C mallocs whatever length a
//   string or bytes claims and appends as many array items as a block count claims, so five
//   bytes could ask for 2 GiB. The scan checks each length and count against the bytes left,
//   union and enum indexes, UTF-8 and nesting depth; only then does Avro C read the datum;
// - the object container framing (header, blocks, sync markers) with zlib, snappy and zstd:
//   Avro C has no zstd, and its file reader works on FILE* and allocates a block's claimed size.

#include "codecs/avro.h"
#include "codecs/avro_paths.h"

#include <avro.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include "codecs/json_dom.h"
#include "codecs/value.h"

namespace trib::codecs {

namespace {

// --- the schema model ------------------------------------------------------------------------

enum class akind : std::uint8_t {
    null_,
    boolean,
    int_,
    long_,
    float_,
    double_,
    bytes,
    string,
    record,
    enum_,
    array,
    map,
    union_,
    fixed,
};

enum class logical : std::uint8_t {
    none,
    decimal,
    uuid,
    date,
    time_millis,
    time_micros,
    ts_millis,
    ts_micros,
    local_ts_millis,
    local_ts_micros,
};

constexpr int max_decimal_precision = 1000;

struct field_def {
    std::string name;
    int type = -1;
    std::shared_ptr<rapidjson::Document> def;  // the default, when the schema has one
};

struct snode {
    akind kind = akind::null_;
    logical lt = logical::none;
    int precision = 0, scale = 0;
    std::uint32_t size = 0;  // fixed
    std::string fullname;    // named types
    std::vector<std::string> symbols;
    std::vector<field_def> fields;
    int items = -1;  // array items, map values
    std::vector<int> branches;
    int null_branch = -1;         // union: index of "null"
    int value_branch = -1;        // union of null and one other type: index of the other
    std::uint32_t min_bytes = 0;  // smallest encoding (bounds zero-byte array items)
};

std::string_view kind_name(akind k) {
    switch (k) {
        case akind::null_:
            return "null";
        case akind::boolean:
            return "boolean";
        case akind::int_:
            return "int";
        case akind::long_:
            return "long";
        case akind::float_:
            return "float";
        case akind::double_:
            return "double";
        case akind::bytes:
            return "bytes";
        case akind::string:
            return "string";
        case akind::record:
            return "record";
        case akind::enum_:
            return "enum";
        case akind::array:
            return "array";
        case akind::map:
            return "map";
        case akind::union_:
            return "union";
        case akind::fixed:
            return "fixed";
    }
    return "null";
}

std::optional<akind> primitive(std::string_view s) {
    static const std::pair<std::string_view, akind> table[] = {
        {"null", akind::null_},  {"boolean", akind::boolean}, {"int", akind::int_},
        {"long", akind::long_},  {"float", akind::float_},    {"double", akind::double_},
        {"bytes", akind::bytes}, {"string", akind::string},
    };
    for (const auto& [n, k] : table)
        if (n == s)
            return k;
    return std::nullopt;
}

bool valid_name(std::string_view s) {
    if (s.empty())
        return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        char c = s[i];
        bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        if (!(alpha || (i > 0 && digit)))
            return false;
    }
    return true;
}

using jvalue = rapidjson::Value;

struct schema_tree {
    std::vector<snode> nodes;
    int root = -1;
    std::map<std::string, int> names;
    std::string json;  // the schema as given (compact)
    std::string canonical;
    std::uint64_t fingerprint = 0;
};

class schema_parser {
  public:
    explicit schema_parser(schema_tree& t) : t_(t) {}

    result<int> parse(const jvalue& j, const std::string& ns, int depth) {
        if (depth > 256)
            return err("the schema nests deeper than 256 levels");
        if (j.IsString()) {
            std::string_view s(j.GetString(), j.GetStringLength());
            if (auto k = primitive(s))
                return add(snode{*k});
            return lookup(s, ns);
        }
        if (j.IsArray()) {
            snode u;
            u.kind = akind::union_;
            int at = add(u);
            std::vector<int> bs;
            for (const auto& b : j.GetArray()) {
                TRIB_ASSIGN_OR_RETURN(int bi, parse(b, ns, depth + 1));
                if (t_.nodes[bi].kind == akind::union_)
                    return err("a union directly inside a union");
                bs.push_back(bi);
            }
            if (bs.empty())
                return err("an empty union");
            snode& n = t_.nodes[at];
            n.branches = std::move(bs);
            for (std::size_t k = 0; k < n.branches.size(); ++k)
                if (t_.nodes[n.branches[k]].kind == akind::null_)
                    n.null_branch = static_cast<int>(k);
            if (n.null_branch >= 0 && n.branches.size() == 2)
                n.value_branch = 1 - n.null_branch;
            return at;
        }
        if (!j.IsObject())
            return err("a schema is a string, an array (union) or an object");
        auto type_it = j.FindMember("type");
        if (type_it == j.MemberEnd())
            return err("an object schema without \"type\"");
        const jvalue& type = type_it->value;
        if (!type.IsString())
            return parse(type, ns, depth + 1);  // {"type": {...}} or {"type": [...]}
        std::string_view ts(type.GetString(), type.GetStringLength());
        int at = -1;
        if (auto k = primitive(ts)) {
            at = add(snode{*k});
        } else if (ts == "record" || ts == "error" || ts == "enum" || ts == "fixed") {
            TRIB_ASSIGN_OR_RETURN(at, named(j, ns, ts, depth));
        } else if (ts == "array" || ts == "map") {
            snode n;
            n.kind = ts == "array" ? akind::array : akind::map;
            at = add(n);
            auto it = j.FindMember(ts == "array" ? "items" : "values");
            if (it == j.MemberEnd())
                return err(std::string(ts) + " without " + (ts == "array" ? "items" : "values"));
            TRIB_ASSIGN_OR_RETURN(int item, parse(it->value, ns, depth + 1));
            t_.nodes[at].items = item;
        } else {
            TRIB_ASSIGN_OR_RETURN(at, lookup(ts, ns));
            return at;
        }
        annotate(j, at);
        return at;
    }

  private:
    static error err(std::string m) {
        return error(errc::invalid_argument, retry_class::fatal, "avro schema: " + std::move(m));
    }

    int add(snode n) {
        t_.nodes.push_back(std::move(n));
        return static_cast<int>(t_.nodes.size() - 1);
    }

    result<int> lookup(std::string_view name, const std::string& ns) {
        std::string s(name);
        if (s.find('.') == std::string::npos && !ns.empty()) {
            auto it = t_.names.find(ns + "." + s);
            if (it != t_.names.end())
                return it->second;
        }
        auto it = t_.names.find(s);
        if (it != t_.names.end())
            return it->second;
        return err("unknown type " + s);
    }

    result<int> named(const jvalue& j, const std::string& ns, std::string_view ts, int depth) {
        auto nit = j.FindMember("name");
        if (nit == j.MemberEnd() || !nit->value.IsString())
            return err(std::string(ts) + " without a name");
        std::string name = nit->value.GetString();
        std::string space = ns;
        auto nsit = j.FindMember("namespace");
        if (nsit != j.MemberEnd() && nsit->value.IsString())
            space = nsit->value.GetString();
        std::string full;
        if (name.find('.') != std::string::npos) {
            full = name;
            space = name.substr(0, name.rfind('.'));
        } else {
            full = space.empty() ? name : space + "." + name;
        }
        std::string_view last = std::string_view(full).substr(full.rfind('.') + 1);
        if (!valid_name(last))
            return err("invalid name " + full);
        if (t_.names.count(full))
            return err("the name " + full + " is defined twice");
        snode n;
        n.fullname = full;
        if (ts == "enum") {
            n.kind = akind::enum_;
            auto sit = j.FindMember("symbols");
            if (sit == j.MemberEnd() || !sit->value.IsArray() || sit->value.Empty())
                return err("enum " + full + " without symbols");
            for (const auto& s : sit->value.GetArray()) {
                if (!s.IsString() || !valid_name(s.GetString()))
                    return err("enum " + full + ": invalid symbol");
                n.symbols.emplace_back(s.GetString(), s.GetStringLength());
            }
        } else if (ts == "fixed") {
            n.kind = akind::fixed;
            auto sit = j.FindMember("size");
            if (sit == j.MemberEnd() || !sit->value.IsUint() || sit->value.GetUint() > (1u << 30))
                return err("fixed " + full + " without a valid size");
            n.size = sit->value.GetUint();
        } else {
            n.kind = akind::record;
        }
        int at = add(std::move(n));
        t_.names[full] = at;
        if (ts == "record" || ts == "error") {
            auto fit = j.FindMember("fields");
            if (fit == j.MemberEnd() || !fit->value.IsArray())
                return err("record " + full + " without fields");
            std::vector<field_def> fields;
            for (const auto& f : fit->value.GetArray()) {
                if (!f.IsObject())
                    return err("record " + full + ": a field is not an object");
                auto fn = f.FindMember("name");
                auto ft = f.FindMember("type");
                if (fn == f.MemberEnd() || !fn->value.IsString() || ft == f.MemberEnd())
                    return err("record " + full + ": a field without name or type");
                field_def fd;
                fd.name = fn->value.GetString();
                if (!valid_name(fd.name))
                    return err("record " + full + ": invalid field name " + fd.name);
                for (const auto& o : fields)
                    if (o.name == fd.name)
                        return err("record " + full + ": field " + fd.name + " twice");
                TRIB_ASSIGN_OR_RETURN(fd.type, parse(ft->value, space, depth + 1));
                auto dv = f.FindMember("default");
                if (dv != f.MemberEnd()) {
                    fd.def = std::make_shared<rapidjson::Document>();
                    fd.def->CopyFrom(dv->value, fd.def->GetAllocator());
                }
                fields.push_back(std::move(fd));
            }
            t_.nodes[at].fields = std::move(fields);
        }
        return at;
    }

    // Logical types; an invalid one is ignored (the Avro specification says so).
    void annotate(const jvalue& j, int at) {
        auto it = j.FindMember("logicalType");
        if (it == j.MemberEnd() || !it->value.IsString())
            return;
        snode& n = t_.nodes[at];
        std::string_view l(it->value.GetString(), it->value.GetStringLength());
        if (l == "decimal" && (n.kind == akind::bytes || n.kind == akind::fixed)) {
            auto p = j.FindMember("precision");
            auto s = j.FindMember("scale");
            if (p == j.MemberEnd() || !p->value.IsInt() || p->value.GetInt() < 1 ||
                p->value.GetInt() > max_decimal_precision)
                return;
            int scale = 0;
            if (s != j.MemberEnd()) {
                if (!s->value.IsInt() || s->value.GetInt() < 0 ||
                    s->value.GetInt() > p->value.GetInt())
                    return;
                scale = s->value.GetInt();
            }
            if (n.kind == akind::fixed) {
                // The precision a fixed of this size can hold (2^(8n-1) - 1 has that many
                // digits); more is invalid.
                double digits = (8.0 * n.size - 1) * 0.30102999566398120;
                if (p->value.GetInt() > static_cast<int>(digits))
                    return;
            }
            n.lt = logical::decimal;
            n.precision = p->value.GetInt();
            n.scale = scale;
        } else if (l == "uuid" &&
                   (n.kind == akind::string || (n.kind == akind::fixed && n.size == 16))) {
            n.lt = logical::uuid;
        } else if (l == "date" && n.kind == akind::int_) {
            n.lt = logical::date;
        } else if (l == "time-millis" && n.kind == akind::int_) {
            n.lt = logical::time_millis;
        } else if (l == "time-micros" && n.kind == akind::long_) {
            n.lt = logical::time_micros;
        } else if (l == "timestamp-millis" && n.kind == akind::long_) {
            n.lt = logical::ts_millis;
        } else if (l == "timestamp-micros" && n.kind == akind::long_) {
            n.lt = logical::ts_micros;
        } else if (l == "local-timestamp-millis" && n.kind == akind::long_) {
            n.lt = logical::local_ts_millis;
        } else if (l == "local-timestamp-micros" && n.kind == akind::long_) {
            n.lt = logical::local_ts_micros;
        }
    }

    schema_tree& t_;
};

// The smallest encoding of each node (cycles count as 0: a lower bound stays a lower bound).
std::uint32_t compute_min(schema_tree& t, int at, std::vector<std::uint8_t>& state) {
    if (state[at] == 2)
        return t.nodes[at].min_bytes;
    if (state[at] == 1)
        return 0;
    state[at] = 1;
    snode& n = t.nodes[at];
    std::uint64_t m = 0;
    switch (n.kind) {
        case akind::null_:
            m = 0;
            break;
        case akind::float_:
            m = 4;
            break;
        case akind::double_:
            m = 8;
            break;
        case akind::fixed:
            m = n.size;
            break;
        case akind::record:
            for (const auto& f : n.fields)
                m += compute_min(t, f.type, state);
            break;
        case akind::union_:
            for (int b : n.branches)
                compute_min(t, b, state);
            m = 1;
            break;
        case akind::array:
        case akind::map:
            compute_min(t, n.items, state);
            m = 1;
            break;
        default:
            m = 1;
            break;
    }
    t.nodes[at].min_bytes = static_cast<std::uint32_t>(std::min<std::uint64_t>(m, 1u << 30));
    state[at] = 2;
    return t.nodes[at].min_bytes;
}

void canonical(const schema_tree& t, int at, std::vector<bool>& seen, std::string& out) {
    const snode& n = t.nodes[at];
    auto q = [&](std::string_view s) {
        out += '"';
        out += s;
        out += '"';
    };
    switch (n.kind) {
        case akind::record:
        case akind::enum_:
        case akind::fixed:
            if (seen[at]) {
                q(n.fullname);
                return;
            }
            seen[at] = true;
            out += "{\"name\":";
            q(n.fullname);
            out += ",\"type\":";
            q(kind_name(n.kind));
            if (n.kind == akind::record) {
                out += ",\"fields\":[";
                for (std::size_t k = 0; k < n.fields.size(); ++k) {
                    if (k)
                        out += ',';
                    out += "{\"name\":";
                    q(n.fields[k].name);
                    out += ",\"type\":";
                    canonical(t, n.fields[k].type, seen, out);
                    out += '}';
                }
                out += ']';
            } else if (n.kind == akind::enum_) {
                out += ",\"symbols\":[";
                for (std::size_t k = 0; k < n.symbols.size(); ++k) {
                    if (k)
                        out += ',';
                    q(n.symbols[k]);
                }
                out += ']';
            } else {
                out += ",\"size\":" + std::to_string(n.size);
            }
            out += '}';
            return;
        case akind::array:
        case akind::map:
            out += "{\"type\":";
            q(kind_name(n.kind));
            out += n.kind == akind::array ? ",\"items\":" : ",\"values\":";
            canonical(t, n.items, seen, out);
            out += '}';
            return;
        case akind::union_:
            out += '[';
            for (std::size_t k = 0; k < n.branches.size(); ++k) {
                if (k)
                    out += ',';
                canonical(t, n.branches[k], seen, out);
            }
            out += ']';
            return;
        default:
            q(kind_name(n.kind));
    }
}

std::uint64_t crc64_avro(std::string_view s) {
    constexpr std::uint64_t empty = 0xc15d213aa4d7a795ULL;
    static const auto table = [] {
        std::array<std::uint64_t, 256> tb{};
        for (std::uint64_t i = 0; i < 256; ++i) {
            std::uint64_t fp = i;
            for (int k = 0; k < 8; ++k)
                fp = (fp >> 1) ^ (empty & (0 - (fp & 1)));
            tb[i] = fp;
        }
        return tb;
    }();
    std::uint64_t fp = empty;
    for (unsigned char c : s)
        fp = (fp >> 8) ^ table[(fp ^ c) & 0xff];
    return fp;
}

result<std::shared_ptr<schema_tree>> parse_schema(std::string_view text) {
    rapidjson::Document d;
    d.Parse(text.data(), text.size());
    if (d.HasParseError())
        return fail(errc::invalid_argument, "avro schema: not valid JSON (offset " +
                                                std::to_string(d.GetErrorOffset()) + ")");
    auto t = std::make_shared<schema_tree>();
    schema_parser p(*t);
    TRIB_ASSIGN_OR_RETURN(t->root, p.parse(d, "", 0));
    std::vector<std::uint8_t> state(t->nodes.size(), 0);
    for (std::size_t k = 0; k < t->nodes.size(); ++k)
        compute_min(*t, static_cast<int>(k), state);
    std::vector<bool> seen(t->nodes.size(), false);
    canonical(*t, t->root, seen, t->canonical);
    t->fingerprint = crc64_avro(t->canonical);
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    d.Accept(w);
    t->json.assign(sb.GetString(), sb.GetSize());
    return t;
}

std::string avro_c_error() {
    const char* e = avro_strerror();
    return e && *e ? std::string(e) : std::string("unknown Avro C error");
}

// --- Avro C bindings -------------------------------------------------------------------------

// One writer schema (and optional reader schema) as Avro C objects, shared by codecs and by
// the per-thread slots that read and write with them.
struct binding {
    std::shared_ptr<schema_tree> writer, reader;  // reader == writer when no reader schema
    avro_schema_t wschema = nullptr, rschema = nullptr;
    avro_value_iface_t* wiface = nullptr;
    avro_value_iface_t* resolved = nullptr;  // resolved reader: reader view of a writer value

    binding() = default;
    binding(const binding&) = delete;
    binding& operator=(const binding&) = delete;
    ~binding() {
        if (resolved)
            avro_value_iface_decref(resolved);
        if (wiface)
            avro_value_iface_decref(wiface);
        if (rschema)
            avro_schema_decref(rschema);
        if (wschema)
            avro_schema_decref(wschema);
    }
};

result<avro_schema_t> avro_c_schema(const schema_tree& t, std::string_view which) {
    avro_schema_t s = nullptr;
    if (avro_schema_from_json_length(t.json.data(), t.json.size(), &s) != 0 || s == nullptr)
        return fail(errc::invalid_argument, "avro schema: Avro C refuses the " +
                                                std::string(which) + " schema: " + avro_c_error());
    return s;
}

// Whether `r` (reader) can read `w` (writer), by the specification's rules, at least as
// strictly as Avro C's resolver: Avro C 1.11 frees memory twice on some of its failure paths
// (found by fuzz_codecs_avro: a container file whose fixed size differs from the reader's), so
// it is only called for pairs this check accepts. Reader fields the writer lacks are refused
// (Avro C does not fill defaults); named types must have the same full name.
class resolution_check {
  public:
    resolution_check(const schema_tree& w, const schema_tree& r) : w_(w), r_(r) {}

    std::string why(int wi, int ri, int depth = 0) {
        if (depth > 256)
            return "the schemas nest deeper than 256 levels";
        const snode& a = w_.nodes[wi];
        const snode& b = r_.nodes[ri];
        if (a.kind == akind::union_) {
            for (int wb : a.branches)
                if (auto m = why(wb, ri, depth + 1); !m.empty())
                    return m;
            return {};
        }
        if (b.kind == akind::union_) {
            for (int rb : b.branches)
                if (same_kind(a, r_.nodes[rb]) && why(wi, rb, depth + 1).empty())
                    return {};
            for (int rb : b.branches)
                if (why(wi, rb, depth + 1).empty())
                    return {};
            return "no branch of the reader's union reads the writer's " +
                   std::string(kind_name(a.kind));
        }
        if (!promotable(a.kind, b.kind))
            return "the writer's " + std::string(kind_name(a.kind)) + " is not the reader's " +
                   std::string(kind_name(b.kind));
        if (!a.fullname.empty() && a.fullname != b.fullname)
            return "the writer's " + a.fullname + " is not the reader's " + b.fullname;
        if (!seen_.insert({wi, ri}).second)
            return {};  // a recursive type already being checked
        std::string m = why_same_kind(a, b, depth);
        // A pair that failed is not "being checked" any more: a later look at it (another
        // branch of a union, a second use of a named type) must fail again, not pass as a
        // recursion (found by fuzz_codecs_avro: a record branch lacking a reader field passed).
        if (!m.empty())
            seen_.erase({wi, ri});
        return m;
    }

  private:
    std::string why_same_kind(const snode& a, const snode& b, int depth) {
        switch (a.kind) {
            case akind::fixed:
                if (a.size != b.size)
                    return "fixed " + a.fullname + " has size " + std::to_string(a.size) +
                           " in the writer, " + std::to_string(b.size) + " in the reader";
                return {};
            case akind::enum_:
                for (const auto& sym : a.symbols)
                    if (std::find(b.symbols.begin(), b.symbols.end(), sym) == b.symbols.end())
                        return "enum " + a.fullname + ": the reader lacks symbol " + sym;
                return {};
            case akind::array:
            case akind::map:
                return why(a.items, b.items, depth + 1);
            case akind::record:
                for (const auto& rf : b.fields) {
                    auto wf = std::find_if(a.fields.begin(), a.fields.end(),
                                           [&](const field_def& f) { return f.name == rf.name; });
                    if (wf == a.fields.end())
                        return "record " + b.fullname + ": the writer has no field " + rf.name +
                               " (defaults for missing fields are not supported by Avro C)";
                    if (auto m = why(wf->type, rf.type, depth + 1); !m.empty())
                        return "field " + rf.name + ": " + m;
                }
                return {};
            default:
                return {};
        }
    }

    static bool same_kind(const snode& a, const snode& b) {
        return a.kind == b.kind && a.fullname == b.fullname;
    }
    static bool promotable(akind w, akind r) {
        if (w == r)
            return true;
        switch (w) {
            case akind::int_:
                return r == akind::long_ || r == akind::float_ || r == akind::double_;
            case akind::long_:
                return r == akind::float_ || r == akind::double_;
            case akind::float_:
                return r == akind::double_;
            default:
                return false;
        }
    }

    const schema_tree& w_;
    const schema_tree& r_;
    std::set<std::pair<int, int>> seen_;
};

result<std::shared_ptr<binding>> make_binding(std::shared_ptr<schema_tree> w,
                                              std::shared_ptr<schema_tree> r) {
    auto b = std::make_shared<binding>();
    b->writer = std::move(w);
    TRIB_ASSIGN_OR_RETURN(b->wschema, avro_c_schema(*b->writer, "writer"));
    b->wiface = avro_generic_class_from_schema(b->wschema);
    if (b->wiface == nullptr)
        return fail(errc::invalid_argument, "avro schema: " + avro_c_error());
    if (r) {
        b->reader = std::move(r);
        if (auto why =
                resolution_check(*b->writer, *b->reader).why(b->writer->root, b->reader->root);
            !why.empty())
            return fail(errc::invalid_argument,
                        "avro schema: the reader schema cannot read the writer schema: " + why);
        TRIB_ASSIGN_OR_RETURN(b->rschema, avro_c_schema(*b->reader, "reader"));
        b->resolved = avro_resolved_reader_new(b->wschema, b->rschema);
        if (b->resolved == nullptr)
            return fail(
                errc::invalid_argument,
                "avro schema: the reader schema cannot read the writer schema: " + avro_c_error());
    } else {
        b->reader = b->writer;
    }
    return b;
}

// Where an encoder is in the value, for its errors: views of schema field names or of keys in
// the arena (no copy per field).
struct path_item {
    path_item(std::size_t i) : index(i) {}
    path_item(std::string_view s) : name(s), is_name(true) {}
    std::string_view name;
    std::size_t index = 0;
    bool is_name = false;
};

// The mutable Avro C state one decode or encode needs: values and a memory reader/writer.
struct slot {
    explicit slot(const binding& b) {
        ok_ = avro_generic_value_new(b.wiface, &wval) == 0;
        if (ok_ && b.resolved) {
            ok_ = avro_resolved_reader_new_value(b.resolved, &rval) == 0;
            if (ok_) {
                avro_resolved_reader_set_source(&rval, &wval);
                has_r = true;
            }
        }
        rd = avro_reader_memory("", 0);
        wr = avro_writer_memory(nullptr, 0);
        ok_ = ok_ && rd != nullptr && wr != nullptr;
    }
    ~slot() {
        if (has_r)
            avro_value_decref(&rval);
        if (wval.iface)
            avro_value_decref(&wval);
        if (rd)
            avro_reader_free(rd);
        if (wr)
            avro_writer_free(wr);
    }
    slot(const slot&) = delete;
    slot& operator=(const slot&) = delete;

    bool ok_ = false;
    avro_value_t wval{nullptr, nullptr};
    avro_value_t rval{nullptr, nullptr};
    bool has_r = false;
    avro_reader_t rd = nullptr;
    avro_writer_t wr = nullptr;
    std::string scratch;          // NUL-terminated copies of strings for Avro C
    std::vector<path_item> path;  // reused by each encode
};

class slot_pool {
  public:
    explicit slot_pool(std::shared_ptr<binding> b) : b_(std::move(b)) {}
    const binding& bind() const { return *b_; }

    std::unique_ptr<slot> take() {
        {
            std::lock_guard<std::mutex> g(m_);
            if (!free_.empty()) {
                auto s = std::move(free_.back());
                free_.pop_back();
                return s;
            }
        }
        return std::make_unique<slot>(*b_);
    }
    void give(std::unique_ptr<slot> s) {
        std::lock_guard<std::mutex> g(m_);
        if (free_.size() < 64)
            free_.push_back(std::move(s));
    }

  private:
    std::shared_ptr<binding> b_;
    std::mutex m_;
    std::vector<std::unique_ptr<slot>> free_;
};

// --- the bounds scan (before Avro C reads a datum) -------------------------------------------

error bad(std::string m) {
    return bad_payload("avro: " + std::move(m));
}

// Short ASCII strings (most field values and keys) are checked inline; the rest by the SIMD
// validator, whose call costs more than the check of a few bytes.
bool utf8_ok(const unsigned char* p, std::size_t n) {
    if (n <= 32) {
        unsigned char any = 0;
        for (std::size_t k = 0; k < n; ++k)
            any |= p[k];
        if ((any & 0x80) == 0)
            return true;
    }
    return valid_utf8({reinterpret_cast<const char*>(p), n});
}

class scanner {
  public:
    scanner(const schema_tree& t, const unsigned char* p, const unsigned char* end,
            std::uint32_t max_depth)
        : t_(t), p_(p), end_(end), max_depth_(max_depth) {
        // Items that take no bytes (null, empty records) are still allocated by Avro C and by
        // the typed model: their number is bounded by this budget instead of the bytes left.
        zero_budget_ = std::max<std::uint64_t>(65536, 4 * static_cast<std::uint64_t>(end - p));
    }
    const unsigned char* pos() const { return p_; }
    std::size_t left() const { return static_cast<std::size_t>(end_ - p_); }

    status scan(int at, std::uint32_t depth) {
        const snode& n = t_.nodes[at];
        switch (n.kind) {
            case akind::null_:
                return ok();
            case akind::boolean:
                if (left() < 1)
                    return truncated();
                if (*p_ > 1)
                    return bad("a boolean byte is " + std::to_string(*p_));
                ++p_;
                return ok();
            case akind::int_: {
                std::int64_t v;
                TRIB_TRY(varint(v));
                if (v < std::numeric_limits<std::int32_t>::min() ||
                    v > std::numeric_limits<std::int32_t>::max())
                    return bad("an int out of 32-bit range");
                return ok();
            }
            case akind::long_: {
                std::int64_t v;
                return varint(v);
            }
            case akind::enum_: {
                std::int64_t v;
                TRIB_TRY(varint(v));
                if (v < 0 || static_cast<std::uint64_t>(v) >= n.symbols.size())
                    return bad("enum " + n.fullname + ": index " + std::to_string(v) + " of " +
                               std::to_string(n.symbols.size()) + " symbols");
                return ok();
            }
            case akind::float_:
                return skip(4);
            case akind::double_:
                return skip(8);
            case akind::fixed:
                return skip(n.size);
            case akind::bytes:
            case akind::string: {
                std::int64_t len;
                TRIB_TRY(varint(len));
                if (len < 0)
                    return bad("a negative length " + std::to_string(len));
                if (static_cast<std::uint64_t>(len) > left())
                    return bad("a length of " + std::to_string(len) + " runs past the end (" +
                               std::to_string(left()) + " bytes left)");
                if (n.kind == akind::string && !utf8_ok(p_, static_cast<std::size_t>(len)))
                    return bad("a string is not valid UTF-8");
                p_ += len;
                return ok();
            }
            case akind::union_: {
                if (depth >= max_depth_)
                    return deep();
                std::int64_t b;
                TRIB_TRY(varint(b));
                if (b < 0 || static_cast<std::uint64_t>(b) >= n.branches.size())
                    return bad("union branch " + std::to_string(b) + " of " +
                               std::to_string(n.branches.size()));
                return scan(n.branches[static_cast<std::size_t>(b)], depth + 1);
            }
            case akind::record:
                if (depth >= max_depth_)
                    return deep();
                for (const auto& f : n.fields)
                    TRIB_TRY(scan(f.type, depth + 1));
                return ok();
            case akind::array:
            case akind::map: {
                if (depth >= max_depth_)
                    return deep();
                const std::uint64_t item_min =
                    t_.nodes[n.items].min_bytes + (n.kind == akind::map ? 1 : 0);
                for (;;) {
                    std::int64_t count;
                    TRIB_TRY(varint(count));
                    if (count == 0)
                        return ok();
                    if (count < 0) {
                        if (count == std::numeric_limits<std::int64_t>::min())
                            return bad("a block count out of range");
                        count = -count;
                        std::int64_t size;
                        TRIB_TRY(varint(size));
                        if (size < 0 || static_cast<std::uint64_t>(size) > left())
                            return bad("a block size of " + std::to_string(size) + " with " +
                                       std::to_string(left()) + " bytes left");
                    }
                    const auto c = static_cast<std::uint64_t>(count);
                    if (item_min > 0) {
                        if (c > left() / item_min)
                            return bad("a block of " + std::to_string(c) + " items in " +
                                       std::to_string(left()) + " bytes");
                    } else {
                        if (c > zero_budget_)
                            return bad("a block of " + std::to_string(c) +
                                       " empty items (more than " + std::to_string(zero_budget_) +
                                       " left in the budget)");
                        zero_budget_ -= c;
                    }
                    if (total_items_ + c > std::numeric_limits<std::uint32_t>::max())
                        return bad("too many items");
                    total_items_ += c;
                    for (std::uint64_t k = 0; k < c; ++k) {
                        if (n.kind == akind::map) {
                            std::int64_t len;
                            TRIB_TRY(varint(len));
                            if (len < 0 || static_cast<std::uint64_t>(len) > left())
                                return bad("a map key length of " + std::to_string(len) + " with " +
                                           std::to_string(left()) + " bytes left");
                            if (!utf8_ok(p_, static_cast<std::size_t>(len)))
                                return bad("a map key is not valid UTF-8");
                            p_ += len;
                        }
                        TRIB_TRY(scan(n.items, depth + 1));
                    }
                }
            }
        }
        return ok();
    }

    status varint(std::int64_t& out) {
        std::uint64_t u = 0;
        for (unsigned shift = 0;; shift += 7) {
            if (p_ == end_)
                return truncated();
            if (shift >= 64)
                return bad("a varint longer than 10 bytes");
            const unsigned char c = *p_++;
            if (shift == 63 && (c & 0x7e) != 0)
                return bad("a varint out of 64-bit range");
            u |= static_cast<std::uint64_t>(c & 0x7f) << shift;
            if ((c & 0x80) == 0)
                break;
        }
        out = static_cast<std::int64_t>((u >> 1) ^ (0 - (u & 1)));
        return ok();
    }

    status take(std::string_view& out) {
        std::int64_t len;
        TRIB_TRY(varint(len));
        if (len < 0 || static_cast<std::uint64_t>(len) > left())
            return bad("a length of " + std::to_string(len) + " with " + std::to_string(left()) +
                       " bytes left");
        out = {reinterpret_cast<const char*>(p_), static_cast<std::size_t>(len)};
        p_ += len;
        return ok();
    }

  private:
    status skip(std::size_t n) {
        if (left() < n)
            return truncated();
        p_ += n;
        return ok();
    }
    status truncated() const { return bad("truncated"); }
    status deep() const {
        return bad("nested deeper than max_depth (" + std::to_string(max_depth_) + ")");
    }

    const schema_tree& t_;
    const unsigned char* p_;
    const unsigned char* end_;
    std::uint32_t max_depth_;
    std::uint64_t zero_budget_;
    std::uint64_t total_items_ = 0;
};

// --- decimals --------------------------------------------------------------------------------

// Two's complement big-endian -> canonical decimal text with `scale` fraction digits.
void decimal_text(const unsigned char* p, std::size_t n, int scale, std::string& out) {
    std::vector<unsigned char> mag(p, p + n);
    const bool neg = n > 0 && (p[0] & 0x80);
    if (neg) {
        for (auto& b : mag)
            b = static_cast<unsigned char>(~b);
        for (std::size_t k = mag.size(); k-- > 0;)
            if (++mag[k] != 0)
                break;
    }
    std::string digits;
    // Repeated division by 10^9 of the big-endian magnitude.
    std::size_t start = 0;
    while (start < mag.size() && mag[start] == 0)
        ++start;
    while (start < mag.size()) {
        std::uint64_t rem = 0;
        for (std::size_t k = start; k < mag.size(); ++k) {
            std::uint64_t cur = (rem << 8) | mag[k];
            mag[k] = static_cast<unsigned char>(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        while (start < mag.size() && mag[start] == 0)
            ++start;
        for (int k = 0; k < 9; ++k) {
            digits.push_back(static_cast<char>('0' + rem % 10));
            rem /= 10;
            if (start == mag.size() && rem == 0)
                break;
        }
    }
    while (digits.size() > 1 && digits.back() == '0')
        digits.pop_back();
    if (digits.empty())
        digits = "0";
    while (digits.size() < static_cast<std::size_t>(scale) + 1)
        digits.push_back('0');
    std::reverse(digits.begin(), digits.end());
    bool zero = digits.find_first_not_of('0') == std::string::npos;
    if (neg && !zero)
        out.push_back('-');
    const std::size_t int_len = digits.size() - static_cast<std::size_t>(scale);
    out.append(digits, 0, int_len);
    if (scale > 0) {
        out.push_back('.');
        out.append(digits, int_len, std::string::npos);
    }
}

// Canonical decimal text -> two's complement big-endian (minimal, or sign-extended to `fixed`
// bytes when fixed > 0). Empty string on success, else the reason.
std::string decimal_bytes(std::string_view text, int precision, int scale, std::size_t fixed,
                          std::string& out) {
    bool neg = false;
    if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
        neg = text[0] == '-';
        text.remove_prefix(1);
    }
    std::string_view ip = text, fp;
    if (auto dot = text.find('.'); dot != std::string_view::npos) {
        ip = text.substr(0, dot);
        fp = text.substr(dot + 1);
    }
    if (ip.empty() && fp.empty())
        return "not a decimal";
    for (char c : ip)
        if (c < '0' || c > '9')
            return "not a decimal";
    for (char c : fp)
        if (c < '0' || c > '9')
            return "not a decimal";
    while (fp.size() > static_cast<std::size_t>(scale)) {
        if (fp.back() != '0')
            return "has more than " + std::to_string(scale) + " fraction digits (the scale)";
        fp.remove_suffix(1);
    }
    std::string digits(ip);
    digits.append(fp);
    digits.append(static_cast<std::size_t>(scale) - fp.size(), '0');
    std::size_t lead = digits.find_first_not_of('0');
    digits = lead == std::string::npos ? "" : digits.substr(lead);
    if (digits.size() > static_cast<std::size_t>(precision))
        return "has more than " + std::to_string(precision) + " digits (the precision)";
    std::vector<unsigned char> mag;  // little-endian
    for (char c : digits) {
        unsigned carry = static_cast<unsigned>(c - '0');
        for (auto& b : mag) {
            unsigned cur = b * 10u + carry;
            b = static_cast<unsigned char>(cur & 0xff);
            carry = cur >> 8;
        }
        while (carry) {
            mag.push_back(static_cast<unsigned char>(carry & 0xff));
            carry >>= 8;
        }
    }
    mag.push_back(0);  // room for the sign bit
    if (neg) {
        for (auto& b : mag)
            b = static_cast<unsigned char>(~b);
        for (auto& b : mag)
            if (++b != 0)
                break;
    }
    // Drop redundant sign bytes.
    while (mag.size() > 1) {
        unsigned char top = mag.back(), next = mag[mag.size() - 2];
        if ((top == 0 && !(next & 0x80)) || (top == 0xff && (next & 0x80)))
            mag.pop_back();
        else
            break;
    }
    if (fixed > 0) {
        if (mag.size() > fixed)
            return "does not fit in " + std::to_string(fixed) + " bytes";
        mag.resize(fixed, neg ? 0xff : 0x00);
    }
    for (std::size_t k = mag.size(); k-- > 0;)
        out.push_back(static_cast<char>(mag[k]));
    return {};
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        --q;
    return q;
}

// --- Avro C value -> typed value -------------------------------------------------------------

std::string_view branch_name(const snode& n) {
    if (!n.fullname.empty())
        return n.fullname;
    return kind_name(n.kind);
}

class to_typed_walker {
  public:
    to_typed_walker(const schema_tree& t, arena& a) : t_(t), a_(a) {}

    status walk(avro_value_t* av, int at, value& out) {
        const snode& n = t_.nodes[at];
        switch (n.kind) {
            case akind::null_:
                out = value();
                return ok();
            case akind::boolean: {
                int b = 0;
                TRIB_TRY(check(avro_value_get_boolean(av, &b)));
                out = value::boolean_value(b != 0);
                return ok();
            }
            case akind::int_: {
                std::int32_t i = 0;
                TRIB_TRY(check(avro_value_get_int(av, &i)));
                out = n.lt == logical::date ? value::date_value(i) : value::int_value(i);
                return ok();
            }
            case akind::long_: {
                std::int64_t i = 0;
                TRIB_TRY(check(avro_value_get_long(av, &i)));
                switch (n.lt) {
                    case logical::ts_millis:
                    case logical::local_ts_millis: {
                        std::int64_t s = floor_div(i, 1000);
                        out = value::timestamp_value(
                            s, static_cast<std::uint32_t>((i - s * 1000) * 1000000));
                        return ok();
                    }
                    case logical::ts_micros:
                    case logical::local_ts_micros: {
                        std::int64_t s = floor_div(i, 1000000);
                        out = value::timestamp_value(
                            s, static_cast<std::uint32_t>((i - s * 1000000) * 1000));
                        return ok();
                    }
                    default:
                        out = value::int_value(i);
                        return ok();
                }
            }
            case akind::float_: {
                float f = 0;
                TRIB_TRY(check(avro_value_get_float(av, &f)));
                out = value::float_value(f);
                return ok();
            }
            case akind::double_: {
                double d = 0;
                TRIB_TRY(check(avro_value_get_double(av, &d)));
                out = value::float_value(d);
                return ok();
            }
            case akind::string: {
                const char* s = nullptr;
                std::size_t size = 0;
                TRIB_TRY(check(avro_value_get_string(av, &s, &size)));
                std::string_view sv(s, size > 0 ? size - 1 : 0);  // size counts the NUL
                if (n.lt == logical::uuid) {
                    char u[16];
                    if (!parse_uuid(sv, u))
                        return bad("a uuid string that is not a UUID: \"" +
                                   std::string(sv.substr(0, 64)) + "\"");
                    out = value::uuid_value(copy_to_arena(a_, {u, 16}).data());
                    return ok();
                }
                out = value::string_value(sv.empty() ? std::string_view("", 0)
                                                     : copy_to_arena(a_, sv));
                return ok();
            }
            case akind::bytes:
            case akind::fixed: {
                const void* p = nullptr;
                std::size_t size = 0;
                TRIB_TRY(check(n.kind == akind::bytes ? avro_value_get_bytes(av, &p, &size)
                                                      : avro_value_get_fixed(av, &p, &size)));
                const auto* b = static_cast<const unsigned char*>(p);
                if (n.lt == logical::decimal) {
                    // The bytes a precision needs, plus one: more is not a valid decimal (and
                    // would make the conversion quadratic in a hostile length).
                    const std::size_t most = static_cast<std::size_t>(n.precision) * 2 / 4 + 2;
                    if (size > most && n.kind == akind::bytes)
                        return bad("a decimal of " + std::to_string(size) +
                                   " bytes for precision " + std::to_string(n.precision));
                    std::string text;
                    decimal_text(b, size, n.scale, text);
                    out = value::decimal_value(copy_to_arena(a_, text));
                    return ok();
                }
                if (n.lt == logical::uuid) {
                    out = value::uuid_value(
                        copy_to_arena(a_, {reinterpret_cast<const char*>(b), size}).data());
                    return ok();
                }
                out =
                    value::bytes_value(copy_to_arena(a_, {reinterpret_cast<const char*>(b), size}));
                return ok();
            }
            case akind::enum_: {
                int e = 0;
                TRIB_TRY(check(avro_value_get_enum(av, &e)));
                if (e < 0 || static_cast<std::size_t>(e) >= n.symbols.size())
                    return bad("enum index out of range");
                out = value::string_value(n.symbols[static_cast<std::size_t>(e)]);
                return ok();
            }
            case akind::array: {
                std::size_t count = 0;
                TRIB_TRY(check(avro_value_get_size(av, &count)));
                value* items = new_values(a_, count);
                for (std::size_t k = 0; k < count; ++k) {
                    avro_value_t child;
                    TRIB_TRY(check(avro_value_get_by_index(av, k, &child, nullptr)));
                    TRIB_TRY(walk(&child, n.items, items[k]));
                }
                out = value();
                out.type = value_type::list;
                out.n = static_cast<std::uint32_t>(count);
                out.items = items;
                return ok();
            }
            case akind::map: {
                std::size_t count = 0;
                TRIB_TRY(check(avro_value_get_size(av, &count)));
                entry* es = new_entries(a_, count);
                for (std::size_t k = 0; k < count; ++k) {
                    avro_value_t child;
                    const char* key = nullptr;
                    TRIB_TRY(check(avro_value_get_by_index(av, k, &child, &key)));
                    es[k].key = value::string_value(copy_to_arena(a_, key ? key : ""));
                    TRIB_TRY(walk(&child, n.items, es[k].val));
                }
                out = value();
                out.type = value_type::map;
                out.n = static_cast<std::uint32_t>(count);
                out.entries = es;
                return ok();
            }
            case akind::record: {
                entry* es = new_entries(a_, n.fields.size());
                for (std::size_t k = 0; k < n.fields.size(); ++k) {
                    avro_value_t child;
                    TRIB_TRY(check(avro_value_get_by_index(av, k, &child, nullptr)));
                    es[k].key = value::string_value(n.fields[k].name);
                    TRIB_TRY(walk(&child, n.fields[k].type, es[k].val));
                }
                out = value();
                out.type = value_type::record;
                out.n = static_cast<std::uint32_t>(n.fields.size());
                out.entries = es;
                return ok();
            }
            case akind::union_: {
                int d = -1;
                TRIB_TRY(check(avro_value_get_discriminant(av, &d)));
                if (d < 0 || static_cast<std::size_t>(d) >= n.branches.size())
                    return bad("union branch out of range");
                avro_value_t branch;
                TRIB_TRY(check(avro_value_get_current_branch(av, &branch)));
                const int bt = n.branches[static_cast<std::size_t>(d)];
                if (n.null_branch >= 0 && d == n.null_branch) {
                    out = value();
                    return ok();
                }
                if (n.value_branch >= 0)
                    return walk(&branch, bt, out);
                // Other unions keep the branch: {"<type name>": value}, Avro's JSON encoding.
                entry* es = new_entries(a_, 1);
                es[0].key = value::string_value(branch_name(t_.nodes[bt]));
                TRIB_TRY(walk(&branch, bt, es[0].val));
                out = value();
                out.type = value_type::record;
                out.n = 1;
                out.entries = es;
                return ok();
            }
        }
        return ok();
    }

  private:
    static status check(int rc) {
        if (rc != 0)
            return bad("Avro C: " + avro_c_error());
        return ok();
    }
    const schema_tree& t_;
    arena& a_;
};

// --- typed value -> Avro C value -------------------------------------------------------------

std::string_view type_name(const value& v) {
    return to_string(v.type);
}

// Whether a union branch takes a value as it is (the strict pass of a union's branch choice).
bool branch_matches(const snode& b, const value& v) {
    switch (b.kind) {
        case akind::null_:
            return v.type == value_type::null;
        case akind::boolean:
            return v.type == value_type::boolean;
        case akind::int_:
            if (b.lt == logical::date)
                return v.type == value_type::date;
            return v.type == value_type::int64 && v.i >= INT32_MIN && v.i <= INT32_MAX;
        case akind::long_:
            if (b.lt == logical::ts_millis || b.lt == logical::ts_micros ||
                b.lt == logical::local_ts_millis || b.lt == logical::local_ts_micros)
                return v.type == value_type::timestamp;
            return v.type == value_type::int64;
        case akind::float_:
        case akind::double_:
            return v.type == value_type::float64;
        case akind::string:
            if (b.lt == logical::uuid)
                return v.type == value_type::uuid;
            return v.type == value_type::string;
        case akind::bytes:
            if (b.lt == logical::decimal)
                return v.type == value_type::decimal;
            return v.type == value_type::bytes;
        case akind::fixed:
            if (b.lt == logical::decimal)
                return v.type == value_type::decimal;
            if (b.lt == logical::uuid)
                return v.type == value_type::uuid;
            return v.type == value_type::bytes && v.n == b.size;
        case akind::enum_:
            if (v.type != value_type::string)
                return false;
            for (const auto& s : b.symbols)
                if (s == v.str())
                    return true;
            return false;
        case akind::array:
            return v.type == value_type::list;
        case akind::map:
            return v.type == value_type::map;
        case akind::record:
            return v.type == value_type::record;
        case akind::union_:
            return false;
    }
    return false;
}

// A union default is for its first branch (the Avro specification).
status default_typed(const schema_tree& t, arena& a, const rapidjson::Document& d, int type,
                     value& out) {
    json_value* j = a.get().new_value();
    j->CopyFrom(d, allocator_of(a));
    TRIB_TRY(from_json(*j, a, out));
    const snode& n = t.nodes[type];
    if (n.kind == akind::union_ && !n.branches.empty() && out.type != value_type::null) {
        // Wrap for the first branch so set_union picks it.
        entry* es = new_entries(a, 1);
        es[0].key = value::string_value(branch_name(t.nodes[n.branches[0]]));
        es[0].val = out;
        out = value();
        out.type = value_type::record;
        out.n = 1;
        out.entries = es;
    }
    return ok();
}

class from_typed_walker {
  public:
    from_typed_walker(const schema_tree& t, arena& a, slot& s, std::uint32_t max_depth)
        : t_(t), a_(a), s_(s), max_depth_(max_depth), path_(s.path) {
        path_.clear();
    }

    status set(avro_value_t* av, int at, const value& v, std::uint32_t depth) {
        if (depth > max_depth_)
            return fail_at("nested deeper than max_depth (" + std::to_string(max_depth_) + ")");
        const snode& n = t_.nodes[at];
        switch (n.kind) {
            case akind::null_:
                if (v.type != value_type::null)
                    return mismatch("null", v);
                return check(avro_value_set_null(av));
            case akind::boolean:
                if (v.type != value_type::boolean)
                    return mismatch("boolean", v);
                return check(avro_value_set_boolean(av, v.b ? 1 : 0));
            case akind::int_: {
                std::int64_t i = 0;
                if (n.lt == logical::date && v.type == value_type::date) {
                    i = v.i;
                } else if (n.lt == logical::date && v.type == value_type::string) {
                    if (!parse_date(v.str(), i))
                        return fail_at("\"" + std::string(v.str()) + "\" is not a date");
                } else if (v.type == value_type::int64) {
                    i = v.i;
                } else {
                    return mismatch(n.lt == logical::date ? "date" : "int", v);
                }
                if (i < std::numeric_limits<std::int32_t>::min() ||
                    i > std::numeric_limits<std::int32_t>::max())
                    return fail_at(std::to_string(i) + " is out of int (32-bit) range");
                return check(avro_value_set_int(av, static_cast<std::int32_t>(i)));
            }
            case akind::long_: {
                const bool ts = n.lt == logical::ts_millis || n.lt == logical::ts_micros ||
                                n.lt == logical::local_ts_millis ||
                                n.lt == logical::local_ts_micros;
                std::int64_t i = 0;
                if (ts && (v.type == value_type::timestamp || v.type == value_type::string)) {
                    std::int64_t secs = v.i;
                    std::uint32_t nanos = v.n;
                    if (v.type == value_type::string && !parse_timestamp(v.str(), secs, nanos))
                        return fail_at("\"" + std::string(v.str()) +
                                       "\" is not an RFC 3339 timestamp");
                    const bool millis =
                        n.lt == logical::ts_millis || n.lt == logical::local_ts_millis;
                    const std::int64_t mul = millis ? 1000 : 1000000;
                    const std::int64_t div = millis ? 1000000 : 1000;
                    if (__builtin_mul_overflow(secs, mul, &i) ||
                        __builtin_add_overflow(i, static_cast<std::int64_t>(nanos) / div, &i))
                        return fail_at("timestamp out of range");
                } else if (v.type == value_type::int64) {
                    i = v.i;
                } else {
                    return mismatch(ts ? "timestamp" : "long", v);
                }
                return check(avro_value_set_long(av, i));
            }
            case akind::float_:
            case akind::double_: {
                double d = 0;
                if (v.type == value_type::float64)
                    d = v.d;
                else if (v.type == value_type::int64)
                    d = static_cast<double>(v.i);
                else if (v.type == value_type::uint64)
                    d = static_cast<double>(v.u);
                else
                    return mismatch(kind_name(n.kind), v);
                return check(n.kind == akind::float_
                                 ? avro_value_set_float(av, static_cast<float>(d))
                                 : avro_value_set_double(av, d));
            }
            case akind::string: {
                std::string& sc = s_.scratch;
                sc.clear();
                if (v.type == value_type::string) {
                    if (n.lt == logical::uuid) {
                        char u[16];
                        if (!parse_uuid(v.str(), u))
                            return fail_at("\"" + std::string(v.str()) + "\" is not a UUID");
                    }
                    sc.assign(v.str());
                } else if (v.type == value_type::uuid) {
                    append_uuid(sc, v.s);
                } else {
                    return mismatch(n.lt == logical::uuid ? "uuid" : "string", v);
                }
                sc.push_back('\0');
                return check(avro_value_set_string_len(av, sc.data(), sc.size()));
            }
            case akind::bytes:
            case akind::fixed: {
                std::string& sc = s_.scratch;
                sc.clear();
                if (n.lt == logical::decimal) {
                    std::string text;
                    if (v.type == value_type::decimal || v.type == value_type::string) {
                        text.assign(v.str());
                    } else if (v.type == value_type::int64) {
                        text = std::to_string(v.i);
                    } else if (v.type == value_type::uint64) {
                        text = std::to_string(v.u);
                    } else if (v.type == value_type::float64) {
                        if (!std::isfinite(v.d))
                            return fail_at("a non-finite decimal");
                        char buf[64];
                        std::snprintf(buf, sizeof buf, "%.*f", n.scale, v.d);
                        text = buf;
                    } else {
                        return mismatch("decimal", v);
                    }
                    std::string why = decimal_bytes(text, n.precision, n.scale,
                                                    n.kind == akind::fixed ? n.size : 0, sc);
                    if (!why.empty())
                        return fail_at("decimal " + text + " " + why);
                } else if (n.lt == logical::uuid && v.type == value_type::uuid) {
                    sc.assign(v.s, 16);
                } else if (n.lt == logical::uuid && v.type == value_type::string) {
                    char u[16];
                    if (!parse_uuid(v.str(), u))
                        return fail_at("\"" + std::string(v.str()) + "\" is not a UUID");
                    sc.assign(u, 16);
                } else if (v.type == value_type::bytes) {
                    sc.assign(v.str());
                } else if (v.type == value_type::string) {
                    // JSON carries bytes as base64 (the model's JSON form).
                    if (!decode_base64(v.str(), sc))
                        return fail_at("a string for " + std::string(kind_name(n.kind)) +
                                       " that is not base64");
                } else {
                    return mismatch(kind_name(n.kind), v);
                }
                if (n.kind == akind::fixed) {
                    if (sc.size() != n.size)
                        return fail_at(std::to_string(sc.size()) + " bytes for fixed " +
                                       n.fullname + " of size " + std::to_string(n.size));
                    return check(avro_value_set_fixed(av, sc.data(), sc.size()));
                }
                return check(avro_value_set_bytes(av, sc.data(), sc.size()));
            }
            case akind::enum_: {
                if (v.type != value_type::string)
                    return mismatch("enum " + n.fullname, v);
                for (std::size_t k = 0; k < n.symbols.size(); ++k)
                    if (n.symbols[k] == v.str())
                        return check(avro_value_set_enum(av, static_cast<int>(k)));
                return fail_at("\"" + std::string(v.str()) + "\" is not a symbol of enum " +
                               n.fullname);
            }
            case akind::array: {
                if (v.type != value_type::list)
                    return mismatch("array", v);
                for (std::uint32_t k = 0; k < v.n; ++k) {
                    avro_value_t child;
                    TRIB_TRY(check(avro_value_append(av, &child, nullptr)));
                    path_.push_back(std::size_t{k});
                    TRIB_TRY(set(&child, n.items, v.items[k], depth + 1));
                    path_.pop_back();
                }
                return ok();
            }
            case akind::map: {
                if (v.type != value_type::map && v.type != value_type::record)
                    return mismatch("map", v);
                for (std::uint32_t k = 0; k < v.n; ++k) {
                    const value& key = v.entries[k].key;
                    if (key.type != value_type::string)
                        return fail_at("a map key of type " + std::string(type_name(key)) +
                                       " (Avro map keys are strings)");
                    std::string ks(key.str());
                    avro_value_t child;
                    int is_new = 0;
                    TRIB_TRY(check(avro_value_add(av, ks.c_str(), &child, nullptr, &is_new)));
                    path_.push_back(key.str());
                    TRIB_TRY(set(&child, n.items, v.entries[k].val, depth + 1));
                    path_.pop_back();
                }
                return ok();
            }
            case akind::record: {
                if (v.type != value_type::record && v.type != value_type::map)
                    return mismatch("record " + n.fullname, v);
                for (std::size_t k = 0; k < n.fields.size(); ++k) {
                    const field_def& f = n.fields[k];
                    const value* fv = nullptr;
                    // Same position first (records usually come in schema order).
                    if (k < v.n && v.entries[k].key.type == value_type::string &&
                        v.entries[k].key.str() == f.name) {
                        fv = &v.entries[k].val;
                    } else {
                        for (std::uint32_t e = 0; e < v.n; ++e)
                            if (v.entries[e].key.type == value_type::string &&
                                v.entries[e].key.str() == f.name) {
                                fv = &v.entries[e].val;
                                break;
                            }
                    }
                    avro_value_t child;
                    TRIB_TRY(check(avro_value_get_by_index(av, k, &child, nullptr)));
                    path_.push_back(std::string_view(f.name));
                    value dv;
                    if (fv == nullptr) {
                        if (f.def) {
                            TRIB_TRY(default_value(*f.def, f.type, dv));
                            fv = &dv;
                        } else if (t_.nodes[f.type].kind == akind::union_ &&
                                   t_.nodes[f.type].null_branch >= 0) {
                            fv = &dv;  // a nullable field without a value: null
                        } else {
                            return fail_at("missing (the schema has no default)");
                        }
                    }
                    TRIB_TRY(set(&child, f.type, *fv, depth + 1));
                    path_.pop_back();
                }
                return ok();
            }
            case akind::union_:
                return set_union(av, n, v, depth);
        }
        return ok();
    }

  private:
    std::string where() const {
        std::string p;
        for (const auto& i : path_) {
            if (i.is_name) {
                if (!p.empty())
                    p += '.';
                p += i.name;
            } else {
                p += '[' + std::to_string(i.index) + ']';
            }
        }
        return p.empty() ? "the record" : "field " + p;
    }
    status fail_at(const std::string& m) const { return bad(where() + ": " + m); }
    status mismatch(std::string_view want, const value& v) const {
        return fail_at("expected " + std::string(want) + ", got " + std::string(type_name(v)));
    }
    static status check(int rc) {
        if (rc != 0)
            return bad("Avro C: " + avro_c_error());
        return ok();
    }

    status default_value(const rapidjson::Document& d, int type, value& out) {
        return default_typed(t_, a_, d, type, out);
    }

    bool matches(const snode& b, const value& v) const { return branch_matches(b, v); }

    status set_branch(avro_value_t* av, const snode& n, std::size_t k, const value& v,
                      std::uint32_t depth) {
        avro_value_t branch;
        TRIB_TRY(check(avro_value_set_branch(av, static_cast<int>(k), &branch)));
        return set(&branch, n.branches[k], v, depth + 1);
    }

    status set_union(avro_value_t* av, const snode& n, const value& v, std::uint32_t depth) {
        if (v.type == value_type::null) {
            if (n.null_branch < 0)
                return fail_at("null for a union without a null branch");
            return set_branch(av, n, static_cast<std::size_t>(n.null_branch), v, depth);
        }
        // Avro's JSON form of a union value: {"<branch type name>": value}.
        if (v.type == value_type::record && v.n == 1 &&
            v.entries[0].key.type == value_type::string) {
            for (std::size_t k = 0; k < n.branches.size(); ++k) {
                const snode& b = t_.nodes[n.branches[k]];
                if (branch_name(b) == v.entries[0].key.str() &&
                    !(b.kind == akind::record && b.fields.size() == 1 &&
                      b.fields[0].name == v.entries[0].key.str()))
                    return set_branch(av, n, k, v.entries[0].val, depth);
            }
        }
        if (n.value_branch >= 0)
            return set_branch(av, n, static_cast<std::size_t>(n.value_branch), v, depth);
        for (std::size_t k = 0; k < n.branches.size(); ++k)
            if (matches(t_.nodes[n.branches[k]], v))
                return set_branch(av, n, k, v, depth);
        // Looser: the first branch that takes the value (an int for a double, a string for a
        // timestamp, ...).
        const std::size_t mark = path_.size();
        for (std::size_t k = 0; k < n.branches.size(); ++k) {
            if (t_.nodes[n.branches[k]].kind == akind::null_)
                continue;
            if (set_branch(av, n, k, v, depth))
                return ok();
            path_.resize(mark, path_item(std::size_t{0}));
        }
        return fail_at("no branch of the union takes a " + std::string(type_name(v)));
    }

    const schema_tree& t_;
    arena& a_;
    slot& s_;
    std::uint32_t max_depth_;
    std::vector<path_item>& path_;
};

// --- object container files ------------------------------------------------------------------

enum class ocf_codec : std::uint8_t { null_, deflate, snappy, zstd };

std::string_view to_string(ocf_codec c) {
    switch (c) {
        case ocf_codec::null_:
            return "null";
        case ocf_codec::deflate:
            return "deflate";
        case ocf_codec::snappy:
            return "snappy";
        case ocf_codec::zstd:
            return "zstandard";
    }
    return "null";
}

std::optional<ocf_codec> parse_ocf_codec(std::string_view s) {
    if (s == "null" || s.empty())
        return ocf_codec::null_;
    if (s == "deflate")
        return ocf_codec::deflate;
    if (s == "snappy")
        return ocf_codec::snappy;
    if (s == "zstandard" || s == "zstd")
        return ocf_codec::zstd;
    return std::nullopt;
}

void put_long(std::string& out, std::int64_t v) {
    auto u = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
    while (u >= 0x80) {
        out.push_back(static_cast<char>((u & 0x7f) | 0x80));
        u >>= 7;
    }
    out.push_back(static_cast<char>(u));
}

status compress_block(ocf_codec c, std::string_view in, std::string& out) {
    switch (c) {
        case ocf_codec::null_:
            out.assign(in);
            return ok();
        case ocf_codec::deflate: {
            z_stream z{};
            if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) !=
                Z_OK)
                return bad("deflate: cannot start");
            out.resize(deflateBound(&z, in.size()));
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
            z.avail_in = static_cast<uInt>(in.size());
            z.next_out = reinterpret_cast<Bytef*>(out.data());
            z.avail_out = static_cast<uInt>(out.size());
            int rc = deflate(&z, Z_FINISH);
            out.resize(z.total_out);
            deflateEnd(&z);
            return rc == Z_STREAM_END ? ok() : bad("deflate failed");
        }
        case ocf_codec::snappy: {
            std::size_t n = snappy_max_compressed_length(in.size());
            out.resize(n + 4);
            if (snappy_compress(in.data(), in.size(), out.data(), &n) != SNAPPY_OK)
                return bad("snappy compression failed");
            out.resize(n);
            auto crc = static_cast<std::uint32_t>(
                crc32(0, reinterpret_cast<const Bytef*>(in.data()), static_cast<uInt>(in.size())));
            for (int k = 3; k >= 0; --k)
                out.push_back(static_cast<char>((crc >> (8 * k)) & 0xff));
            return ok();
        }
        case ocf_codec::zstd: {
            out.resize(ZSTD_compressBound(in.size()));
            std::size_t n = ZSTD_compress(out.data(), out.size(), in.data(), in.size(), 3);
            if (ZSTD_isError(n))
                return bad(std::string("zstd: ") + ZSTD_getErrorName(n));
            out.resize(n);
            return ok();
        }
    }
    return ok();
}

// Decompresses into `out`, never beyond `limit` bytes (a small block cannot claim gigabytes).
status decompress_block(ocf_codec c, std::string_view in, std::size_t limit, std::string& out) {
    const std::string too_big =
        "a block decompresses to more than max_block_bytes (" + std::to_string(limit) + ")";
    switch (c) {
        case ocf_codec::null_:
            out.assign(in);
            return ok();
        case ocf_codec::deflate: {
            z_stream z{};
            if (inflateInit2(&z, -15) != Z_OK)
                return bad("deflate: cannot start");
            z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
            z.avail_in = static_cast<uInt>(in.size());
            out.clear();
            int rc = Z_OK;
            char buf[16384];
            while (rc == Z_OK) {
                z.next_out = reinterpret_cast<Bytef*>(buf);
                z.avail_out = sizeof buf;
                rc = inflate(&z, Z_NO_FLUSH);
                out.append(buf, sizeof buf - z.avail_out);
                if (out.size() > limit) {
                    inflateEnd(&z);
                    return bad(too_big);
                }
                if (rc == Z_BUF_ERROR && z.avail_in == 0)
                    break;
            }
            inflateEnd(&z);
            if (rc != Z_STREAM_END)
                return bad("deflate: a corrupt block");
            return ok();
        }
        case ocf_codec::snappy: {
            if (in.size() < 4)
                return bad("snappy: a block without its CRC");
            std::string_view body = in.substr(0, in.size() - 4);
            std::size_t n = 0;
            if (snappy_uncompressed_length(body.data(), body.size(), &n) != SNAPPY_OK)
                return bad("snappy: a corrupt block");
            if (n > limit)
                return bad(too_big);
            out.resize(n);
            if (snappy_uncompress(body.data(), body.size(), out.data(), &n) != SNAPPY_OK)
                return bad("snappy: a corrupt block");
            out.resize(n);
            std::uint32_t want = 0;
            for (int k = 0; k < 4; ++k)
                want = (want << 8) | static_cast<unsigned char>(in[in.size() - 4 + k]);
            auto got = static_cast<std::uint32_t>(
                crc32(0, reinterpret_cast<const Bytef*>(out.data()), static_cast<uInt>(n)));
            if (got != want)
                return bad("snappy: the block's CRC does not match");
            return ok();
        }
        case ocf_codec::zstd: {
            ZSTD_DStream* z = ZSTD_createDStream();
            if (z == nullptr)
                return bad("zstd: cannot start");
            ZSTD_inBuffer ib{in.data(), in.size(), 0};
            out.clear();
            char buf[16384];
            std::size_t rc = 1;
            while (true) {
                ZSTD_outBuffer ob{buf, sizeof buf, 0};
                rc = ZSTD_decompressStream(z, &ob, &ib);
                if (ZSTD_isError(rc)) {
                    ZSTD_freeDStream(z);
                    return bad(std::string("zstd: ") + ZSTD_getErrorName(rc));
                }
                out.append(buf, ob.pos);
                if (out.size() > limit) {
                    ZSTD_freeDStream(z);
                    return bad(too_big);
                }
                if (rc == 0 && ib.pos == ib.size)
                    break;
                if (ob.pos == 0 && ib.pos == ib.size) {
                    ZSTD_freeDStream(z);
                    return bad("zstd: a truncated block");
                }
            }
            ZSTD_freeDStream(z);
            return ok();
        }
    }
    return ok();
}

// --- the direct encoder ----------------------------------------------------------------------

// Typed value -> Avro binary without Avro C's generic values (which allocate and copy every
// datum before writing it). It follows from_typed_walker decision for decision and writes what
// avro_value_write writes for the value the walker would build: zigzag varints, little-endian
// float and double, length-prefixed bytes and strings, arrays and maps as one counted block
// then 0. It answers `bad` where the walker fails (the caller then runs the walker, which says
// why, so messages stay the walker's) and `unsupported` for what it does not copy: map keys
// with a NUL (Avro C cuts them at the NUL) or repeated (Avro C keeps one entry).
enum class direct : std::uint8_t { done, bad, unsupported };

class direct_encoder {
  public:
    direct_encoder(const schema_tree& t, arena& a, std::string& out, std::uint32_t max_depth)
        : t_(t), a_(a), out_(out), max_depth_(max_depth) {}

    direct put(int at, const value& v, std::uint32_t depth) {
        if (depth > max_depth_)
            return direct::bad;
        const snode& n = t_.nodes[at];
        switch (n.kind) {
            case akind::null_:
                return v.type == value_type::null ? direct::done : direct::bad;
            case akind::boolean:
                if (v.type != value_type::boolean)
                    return direct::bad;
                out_.push_back(v.b ? '\x01' : '\x00');
                return direct::done;
            case akind::int_: {
                std::int64_t i = 0;
                if (n.lt == logical::date && v.type == value_type::date) {
                    i = v.i;
                } else if (n.lt == logical::date && v.type == value_type::string) {
                    if (!parse_date(v.str(), i))
                        return direct::bad;
                } else if (v.type == value_type::int64) {
                    i = v.i;
                } else {
                    return direct::bad;
                }
                if (i < std::numeric_limits<std::int32_t>::min() ||
                    i > std::numeric_limits<std::int32_t>::max())
                    return direct::bad;
                put_long(out_, i);
                return direct::done;
            }
            case akind::long_: {
                const bool ts = n.lt == logical::ts_millis || n.lt == logical::ts_micros ||
                                n.lt == logical::local_ts_millis ||
                                n.lt == logical::local_ts_micros;
                std::int64_t i = 0;
                if (ts && (v.type == value_type::timestamp || v.type == value_type::string)) {
                    std::int64_t secs = v.i;
                    std::uint32_t nanos = v.n;
                    if (v.type == value_type::string && !parse_timestamp(v.str(), secs, nanos))
                        return direct::bad;
                    const bool millis =
                        n.lt == logical::ts_millis || n.lt == logical::local_ts_millis;
                    const std::int64_t mul = millis ? 1000 : 1000000;
                    const std::int64_t div = millis ? 1000000 : 1000;
                    if (__builtin_mul_overflow(secs, mul, &i) ||
                        __builtin_add_overflow(i, static_cast<std::int64_t>(nanos) / div, &i))
                        return direct::bad;
                } else if (v.type == value_type::int64) {
                    i = v.i;
                } else {
                    return direct::bad;
                }
                put_long(out_, i);
                return direct::done;
            }
            case akind::float_:
            case akind::double_: {
                double d = 0;
                if (v.type == value_type::float64)
                    d = v.d;
                else if (v.type == value_type::int64)
                    d = static_cast<double>(v.i);
                else if (v.type == value_type::uint64)
                    d = static_cast<double>(v.u);
                else
                    return direct::bad;
                if (n.kind == akind::float_)
                    put_le(std::bit_cast<std::uint32_t>(static_cast<float>(d)), 4);
                else
                    put_le(std::bit_cast<std::uint64_t>(d), 8);
                return direct::done;
            }
            case akind::string: {
                if (v.type == value_type::string) {
                    if (n.lt == logical::uuid) {
                        char u[16];
                        if (!parse_uuid(v.str(), u))
                            return direct::bad;
                    }
                    put_bytes(v.str());
                } else if (v.type == value_type::uuid) {
                    scratch_.clear();
                    append_uuid(scratch_, v.s);
                    put_bytes(scratch_);
                } else {
                    return direct::bad;
                }
                return direct::done;
            }
            case akind::bytes:
            case akind::fixed:
                return put_binary(n, v);
            case akind::enum_: {
                if (v.type != value_type::string)
                    return direct::bad;
                for (std::size_t k = 0; k < n.symbols.size(); ++k)
                    if (n.symbols[k] == v.str()) {
                        put_long(out_, static_cast<std::int64_t>(k));
                        return direct::done;
                    }
                return direct::bad;
            }
            case akind::array: {
                if (v.type != value_type::list)
                    return direct::bad;
                if (v.n > 0)
                    put_long(out_, v.n);
                for (std::uint32_t k = 0; k < v.n; ++k)
                    if (direct r = put(n.items, v.items[k], depth + 1); r != direct::done)
                        return r;
                out_.push_back('\0');
                return direct::done;
            }
            case akind::map:
                return put_map(n, v, depth);
            case akind::record: {
                if (v.type != value_type::record && v.type != value_type::map)
                    return direct::bad;
                for (std::size_t k = 0; k < n.fields.size(); ++k) {
                    const field_def& f = n.fields[k];
                    const value* fv = nullptr;
                    if (k < v.n && v.entries[k].key.type == value_type::string &&
                        v.entries[k].key.str() == f.name) {
                        fv = &v.entries[k].val;
                    } else {
                        for (std::uint32_t e = 0; e < v.n; ++e)
                            if (v.entries[e].key.type == value_type::string &&
                                v.entries[e].key.str() == f.name) {
                                fv = &v.entries[e].val;
                                break;
                            }
                    }
                    value dv;
                    if (fv == nullptr) {
                        if (f.def) {
                            if (!default_typed(t_, a_, *f.def, f.type, dv))
                                return direct::bad;
                            fv = &dv;
                        } else if (t_.nodes[f.type].kind == akind::union_ &&
                                   t_.nodes[f.type].null_branch >= 0) {
                            fv = &dv;
                        } else {
                            return direct::bad;
                        }
                    }
                    if (direct r = put(f.type, *fv, depth + 1); r != direct::done)
                        return r;
                }
                return direct::done;
            }
            case akind::union_:
                return put_union(n, v, depth);
        }
        return direct::unsupported;
    }

  private:
    void put_le(std::uint64_t bits, int n) {
        char b[8];
        for (int k = 0; k < n; ++k)
            b[k] = static_cast<char>((bits >> (8 * k)) & 0xff);
        out_.append(b, static_cast<std::size_t>(n));
    }
    void put_bytes(std::string_view s) {
        put_long(out_, static_cast<std::int64_t>(s.size()));
        out_.append(s);
    }

    direct put_binary(const snode& n, const value& v) {
        std::string_view bytes;
        scratch_.clear();
        if (n.lt == logical::decimal) {
            std::string text;
            if (v.type == value_type::decimal || v.type == value_type::string) {
                text.assign(v.str());
            } else if (v.type == value_type::int64) {
                text = std::to_string(v.i);
            } else if (v.type == value_type::uint64) {
                text = std::to_string(v.u);
            } else if (v.type == value_type::float64) {
                if (!std::isfinite(v.d))
                    return direct::bad;
                char buf[64];
                std::snprintf(buf, sizeof buf, "%.*f", n.scale, v.d);
                text = buf;
            } else {
                return direct::bad;
            }
            if (!decimal_bytes(text, n.precision, n.scale, n.kind == akind::fixed ? n.size : 0,
                               scratch_)
                     .empty())
                return direct::bad;
            bytes = scratch_;
        } else if (n.lt == logical::uuid && v.type == value_type::uuid) {
            bytes = std::string_view(v.s, 16);
        } else if (n.lt == logical::uuid && v.type == value_type::string) {
            char u[16];
            if (!parse_uuid(v.str(), u))
                return direct::bad;
            scratch_.assign(u, 16);
            bytes = scratch_;
        } else if (v.type == value_type::bytes) {
            bytes = v.str();
        } else if (v.type == value_type::string) {
            if (!decode_base64(v.str(), scratch_))
                return direct::bad;
            bytes = scratch_;
        } else {
            return direct::bad;
        }
        if (n.kind == akind::fixed) {
            if (bytes.size() != n.size)
                return direct::bad;
            out_.append(bytes);
        } else {
            put_bytes(bytes);
        }
        return direct::done;
    }

    direct put_map(const snode& n, const value& v, std::uint32_t depth) {
        if (v.type != value_type::map && v.type != value_type::record)
            return direct::bad;
        for (std::uint32_t k = 0; k < v.n; ++k) {
            const value& key = v.entries[k].key;
            if (key.type != value_type::string)
                return direct::bad;
            if (key.str().find('\0') != std::string_view::npos)
                return direct::unsupported;
        }
        if (v.n > 1) {
            keys_.clear();
            for (std::uint32_t k = 0; k < v.n; ++k)
                keys_.push_back(v.entries[k].key.str());
            std::sort(keys_.begin(), keys_.end());
            if (std::adjacent_find(keys_.begin(), keys_.end()) != keys_.end())
                return direct::unsupported;
        }
        if (v.n > 0)
            put_long(out_, v.n);
        for (std::uint32_t k = 0; k < v.n; ++k) {
            put_bytes(v.entries[k].key.str());
            if (direct r = put(n.items, v.entries[k].val, depth + 1); r != direct::done)
                return r;
        }
        out_.push_back('\0');
        return direct::done;
    }

    direct put_branch(const snode& n, std::size_t k, const value& v, std::uint32_t depth) {
        put_long(out_, static_cast<std::int64_t>(k));
        return put(n.branches[k], v, depth + 1);
    }

    direct put_union(const snode& n, const value& v, std::uint32_t depth) {
        if (v.type == value_type::null) {
            if (n.null_branch < 0)
                return direct::bad;
            return put_branch(n, static_cast<std::size_t>(n.null_branch), v, depth);
        }
        if (v.type == value_type::record && v.n == 1 &&
            v.entries[0].key.type == value_type::string) {
            for (std::size_t k = 0; k < n.branches.size(); ++k) {
                const snode& b = t_.nodes[n.branches[k]];
                if (branch_name(b) == v.entries[0].key.str() &&
                    !(b.kind == akind::record && b.fields.size() == 1 &&
                      b.fields[0].name == v.entries[0].key.str()))
                    return put_branch(n, k, v.entries[0].val, depth);
            }
        }
        if (n.value_branch >= 0)
            return put_branch(n, static_cast<std::size_t>(n.value_branch), v, depth);
        for (std::size_t k = 0; k < n.branches.size(); ++k)
            if (branch_matches(t_.nodes[n.branches[k]], v))
                return put_branch(n, k, v, depth);
        const std::size_t mark = out_.size();
        for (std::size_t k = 0; k < n.branches.size(); ++k) {
            if (t_.nodes[n.branches[k]].kind == akind::null_)
                continue;
            direct r = put_branch(n, k, v, depth);
            if (r != direct::bad)
                return r;
            out_.resize(mark);
        }
        return direct::bad;
    }

    const schema_tree& t_;
    arena& a_;
    std::string& out_;
    std::uint32_t max_depth_;
    std::string scratch_;
    std::vector<std::string_view> keys_;
};

// --- the direct decoder ----------------------------------------------------------------------

// Avro binary -> typed value without Avro C, for a datum the bounds scan has accepted and a
// codec without schema resolution (Avro C's resolver stays for that). It builds what
// to_typed_walker builds from the generic value Avro C would read: array and map blocks joined,
// strings and bytes copied into the arena, logical types converted the same way. It answers
// `bad` where that walker fails (a decimal longer than its precision allows, a uuid string that
// is not a UUID) and `unsupported` for what it does not copy: map keys with a NUL (Avro C cuts
// them) or given twice (Avro C keeps one entry); the caller then takes the Avro C path, which
// says the same as before. Bounds are checked again, cheaply, though the scan has done it.
class direct_decoder {
  public:
    direct_decoder(const schema_tree& t, arena& a, const unsigned char* p, const unsigned char* end)
        : t_(t), a_(a), p_(p), end_(end) {}
    const unsigned char* pos() const { return p_; }

    direct get(int at, value& out) {
        const snode& n = t_.nodes[at];
        switch (n.kind) {
            case akind::null_:
                out = value();
                return direct::done;
            case akind::boolean:
                if (p_ == end_)
                    return direct::unsupported;
                out = value::boolean_value(*p_++ != 0);
                return direct::done;
            case akind::int_: {
                std::int64_t i;
                if (!varint(i) || i < std::numeric_limits<std::int32_t>::min() ||
                    i > std::numeric_limits<std::int32_t>::max())
                    return direct::unsupported;
                out = n.lt == logical::date ? value::date_value(i) : value::int_value(i);
                return direct::done;
            }
            case akind::long_: {
                std::int64_t i;
                if (!varint(i))
                    return direct::unsupported;
                switch (n.lt) {
                    case logical::ts_millis:
                    case logical::local_ts_millis: {
                        std::int64_t s = floor_div(i, 1000);
                        out = value::timestamp_value(
                            s, static_cast<std::uint32_t>((i - s * 1000) * 1000000));
                        break;
                    }
                    case logical::ts_micros:
                    case logical::local_ts_micros: {
                        std::int64_t s = floor_div(i, 1000000);
                        out = value::timestamp_value(
                            s, static_cast<std::uint32_t>((i - s * 1000000) * 1000));
                        break;
                    }
                    default:
                        out = value::int_value(i);
                }
                return direct::done;
            }
            case akind::float_: {
                if (end_ - p_ < 4)
                    return direct::unsupported;
                std::uint32_t bits = 0;
                for (int k = 3; k >= 0; --k)
                    bits = (bits << 8) | p_[k];
                p_ += 4;
                out = value::float_value(std::bit_cast<float>(bits));
                return direct::done;
            }
            case akind::double_: {
                if (end_ - p_ < 8)
                    return direct::unsupported;
                std::uint64_t bits = 0;
                for (int k = 7; k >= 0; --k)
                    bits = (bits << 8) | p_[k];
                p_ += 8;
                out = value::float_value(std::bit_cast<double>(bits));
                return direct::done;
            }
            case akind::string: {
                std::string_view sv;
                if (!take(sv))
                    return direct::unsupported;
                if (n.lt == logical::uuid) {
                    char u[16];
                    if (!parse_uuid(sv, u))
                        return direct::bad;
                    out = value::uuid_value(copy_to_arena(a_, {u, 16}).data());
                    return direct::done;
                }
                out = value::string_value(sv.empty() ? std::string_view("", 0)
                                                     : copy_to_arena(a_, sv));
                return direct::done;
            }
            case akind::bytes:
            case akind::fixed: {
                std::string_view b;
                if (n.kind == akind::bytes) {
                    if (!take(b))
                        return direct::unsupported;
                } else {
                    if (static_cast<std::size_t>(end_ - p_) < n.size)
                        return direct::unsupported;
                    b = {reinterpret_cast<const char*>(p_), n.size};
                    p_ += n.size;
                }
                if (n.lt == logical::decimal) {
                    const std::size_t most = static_cast<std::size_t>(n.precision) * 2 / 4 + 2;
                    if (b.size() > most && n.kind == akind::bytes)
                        return direct::bad;
                    scratch_.clear();
                    decimal_text(reinterpret_cast<const unsigned char*>(b.data()), b.size(),
                                 n.scale, scratch_);
                    out = value::decimal_value(copy_to_arena(a_, scratch_));
                    return direct::done;
                }
                if (n.lt == logical::uuid) {
                    out = value::uuid_value(copy_to_arena(a_, b).data());
                    return direct::done;
                }
                out = value::bytes_value(copy_to_arena(a_, b));
                return direct::done;
            }
            case akind::enum_: {
                std::int64_t e;
                if (!varint(e) || e < 0 || static_cast<std::uint64_t>(e) >= n.symbols.size())
                    return direct::unsupported;
                out = value::string_value(n.symbols[static_cast<std::size_t>(e)]);
                return direct::done;
            }
            case akind::array:
            case akind::map:
                return get_items(n, out);
            case akind::record: {
                entry* es = new_entries(a_, n.fields.size());
                for (std::size_t k = 0; k < n.fields.size(); ++k) {
                    es[k].key = value::string_value(n.fields[k].name);
                    if (direct r = get(n.fields[k].type, es[k].val); r != direct::done)
                        return r;
                }
                out = value();
                out.type = value_type::record;
                out.n = static_cast<std::uint32_t>(n.fields.size());
                out.entries = es;
                return direct::done;
            }
            case akind::union_: {
                std::int64_t d;
                if (!varint(d) || d < 0 || static_cast<std::uint64_t>(d) >= n.branches.size())
                    return direct::unsupported;
                const int bt = n.branches[static_cast<std::size_t>(d)];
                if (n.null_branch >= 0 && d == n.null_branch) {
                    out = value();
                    return direct::done;
                }
                if (n.value_branch >= 0)
                    return get(bt, out);
                entry* es = new_entries(a_, 1);
                es[0].key = value::string_value(branch_name(t_.nodes[bt]));
                if (direct r = get(bt, es[0].val); r != direct::done)
                    return r;
                out = value();
                out.type = value_type::record;
                out.n = 1;
                out.entries = es;
                return direct::done;
            }
        }
        return direct::unsupported;
    }

  private:
    bool varint(std::int64_t& out) {
        std::uint64_t u = 0;
        for (unsigned shift = 0; shift < 64; shift += 7) {
            if (p_ == end_)
                return false;
            const unsigned char c = *p_++;
            u |= static_cast<std::uint64_t>(c & 0x7f) << shift;
            if ((c & 0x80) == 0) {
                out = static_cast<std::int64_t>((u >> 1) ^ (0 - (u & 1)));
                return true;
            }
        }
        return false;
    }
    bool take(std::string_view& out) {
        std::int64_t len;
        if (!varint(len) || len < 0 ||
            static_cast<std::uint64_t>(len) > static_cast<std::uint64_t>(end_ - p_))
            return false;
        out = {reinterpret_cast<const char*>(p_), static_cast<std::size_t>(len)};
        p_ += len;
        return true;
    }

    // Array and map blocks, joined into one list or map as Avro C does.
    direct get_items(const snode& n, value& out) {
        const bool is_map = n.kind == akind::map;
        value* items = nullptr;
        entry* es = nullptr;
        std::uint64_t total = 0;
        for (;;) {
            std::int64_t count;
            if (!varint(count))
                return direct::unsupported;
            if (count == 0)
                break;
            if (count < 0) {
                if (count == std::numeric_limits<std::int64_t>::min())
                    return direct::unsupported;
                count = -count;
                std::int64_t size;
                if (!varint(size))
                    return direct::unsupported;
            }
            // The scan bounded every block by the bytes left (or the zero-byte item budget).
            const auto c = static_cast<std::uint64_t>(count);
            if (total + c > std::numeric_limits<std::uint32_t>::max())
                return direct::unsupported;
            const std::size_t had = static_cast<std::size_t>(total);
            total += c;
            if (is_map) {
                entry* grown = new_entries(a_, static_cast<std::size_t>(total));
                if (had > 0)
                    std::copy(es, es + had, grown);
                es = grown;
            } else {
                value* grown = new_values(a_, static_cast<std::size_t>(total));
                if (had > 0)
                    std::copy(items, items + had, grown);
                items = grown;
            }
            for (std::size_t k = had; k < total; ++k) {
                if (is_map) {
                    std::string_view key;
                    if (!take(key))
                        return direct::unsupported;
                    if (key.find('\0') != std::string_view::npos)
                        return direct::unsupported;
                    es[k].key = value::string_value(copy_to_arena(a_, key));
                    if (direct r = get(n.items, es[k].val); r != direct::done)
                        return r;
                } else if (direct r = get(n.items, items[k]); r != direct::done) {
                    return r;
                }
            }
        }
        if (is_map && total > 1) {
            keys_.clear();
            for (std::size_t k = 0; k < total; ++k)
                keys_.push_back(es[k].key.str());
            std::sort(keys_.begin(), keys_.end());
            if (std::adjacent_find(keys_.begin(), keys_.end()) != keys_.end())
                return direct::unsupported;
        }
        out = value();
        out.type = is_map ? value_type::map : value_type::list;
        out.n = static_cast<std::uint32_t>(total);
        if (is_map)
            out.entries = es;
        else
            out.items = items;
        return direct::done;
    }

    const schema_tree& t_;
    arena& a_;
    const unsigned char* p_;
    const unsigned char* end_;
    std::string scratch_;
    std::vector<std::string_view> keys_;
};

// --- the codec -------------------------------------------------------------------------------

enum class framing : std::uint8_t { binary, single_object, container };

struct avro_options {
    framing frame = framing::binary;
    ocf_codec container_codec = ocf_codec::null_;
    std::uint32_t max_depth = 128;
    std::size_t max_block_bytes = 64u << 20;
    bool extract_as_json = true;
    std::map<std::string, std::string> field_mappings;
    bool container_reader_schema = false;  // container: the configured schema reads the file's
};

class avro_codec final : public codec {
  public:
    avro_codec(std::shared_ptr<binding> b, avro_options o, avro_paths paths)
        : pool_(std::move(b)), o_(std::move(o)), paths_(paths) {}

    std::string_view name() const override { return "avro"; }
    record_kind kind() const override {
        return o_.extract_as_json ? record_kind::typed : record_kind::raw;
    }

    status decode(std::string_view payload, arena& a, record& out) const override {
        if (!o_.extract_as_json) {
            // Iggy's extract_as_json = false: the Avro bytes pass as they are.
            out = record{record_kind::raw, payload, nullptr, false};
            return ok();
        }
        value v;
        switch (o_.frame) {
            case framing::binary:
                TRIB_TRY(decode_datum(pool_, payload, a, v));
                break;
            case framing::single_object: {
                if (payload.size() < 10 || static_cast<unsigned char>(payload[0]) != 0xc3 ||
                    static_cast<unsigned char>(payload[1]) != 0x01)
                    return bad("single-object encoding: the payload does not start with C3 01");
                std::uint64_t fp = 0;
                for (int k = 7; k >= 0; --k)
                    fp = (fp << 8) | static_cast<unsigned char>(payload[2 + k]);
                const std::uint64_t want = pool_.bind().writer->fingerprint;
                if (fp != want) {
                    char m[128];
                    std::snprintf(m, sizeof m,
                                  "single-object encoding: fingerprint %016llx is not the "
                                  "schema's %016llx",
                                  static_cast<unsigned long long>(fp),
                                  static_cast<unsigned long long>(want));
                    return bad(m);
                }
                TRIB_TRY(decode_datum(pool_, payload.substr(10), a, v));
                break;
            }
            case framing::container:
                TRIB_TRY(read_container(payload, a, v));
                break;
        }
        TRIB_TRY(rename(v, a, false));
        set_typed(out, new_value(a, v));
        out.modified = false;
        return ok();
    }

    status encode(const record& in, arena& a, std::string& out) const override {
        if (!o_.extract_as_json && (in.kind == record_kind::raw || in.kind == record_kind::text)) {
            out.append(in.bytes);
            return ok();
        }
        value_limits lim;
        lim.max_depth = o_.max_depth;
        value v;
        TRIB_TRY(to_typed(in, a, v, lim));
        TRIB_TRY(rename(v, a, true));
        const std::size_t start = out.size();
        status s = ok();
        switch (o_.frame) {
            case framing::binary:
                s = encode_datum(v, a, out);
                break;
            case framing::single_object: {
                out.push_back(static_cast<char>(0xc3));
                out.push_back(static_cast<char>(0x01));
                const std::uint64_t fp = pool_.bind().writer->fingerprint;
                for (int k = 0; k < 8; ++k)
                    out.push_back(static_cast<char>((fp >> (8 * k)) & 0xff));
                s = encode_datum(v, a, out);
                break;
            }
            case framing::container:
                s = write_container(v, a, out);
                break;
        }
        if (!s)
            out.resize(start);
        return s;
    }

  private:
    status decode_datum(slot_pool& pool, std::string_view bytes, arena& a, value& v) const {
        const binding& b = pool.bind();
        const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
        scanner sc(*b.writer, p, p + bytes.size(), o_.max_depth);
        TRIB_TRY(sc.scan(b.writer->root, 0));
        if (sc.left() != 0)
            return bad(std::to_string(sc.left()) + " bytes after the datum");
        if (paths_.direct_decode && b.reader == b.writer) {
            direct_decoder d(*b.writer, a, p, p + bytes.size());
            if (d.get(b.writer->root, v) == direct::done)
                return ok();
            // What it built stays in the arena until the arena is reset, as a failed walk's.
            if (!paths_.c_fallback)
                return bad("the direct decoder leaves this datum to the Avro C path");
        }
        auto s = pool.take();
        if (!s->ok_)
            return bad("Avro C: cannot make a value: " + avro_c_error());
        avro_value_reset(&s->wval);
        avro_reader_memory_set_source(s->rd, bytes.data(), static_cast<int64_t>(bytes.size()));
        status st = ok();
        if (avro_value_read(s->rd, &s->wval) != 0) {
            st = bad("Avro C: " + avro_c_error());
        } else {
            to_typed_walker w(*b.reader, a);
            st = w.walk(s->has_r ? &s->rval : &s->wval, b.reader->root, v);
        }
        pool.give(std::move(s));
        return st;
    }

    status encode_datum(const value& v, arena& a, std::string& out) const {
        if (paths_.direct_encode) {
            const std::size_t start = out.size();
            const binding& b = pool_.bind();
            direct_encoder d(*b.writer, a, out, o_.max_depth);
            if (d.put(b.writer->root, v, 0) == direct::done)
                return ok();
            out.resize(start);
            if (!paths_.c_fallback)
                return bad("the direct encoder leaves this record to the Avro C path");
        }
        auto s = pool_.take();
        if (!s->ok_)
            return bad("Avro C: cannot make a value: " + avro_c_error());
        const binding& b = pool_.bind();
        avro_value_reset(&s->wval);
        from_typed_walker w(*b.writer, a, *s, o_.max_depth);
        status st = w.set(&s->wval, b.writer->root, v, 0);
        if (st) {
            std::size_t size = 0;
            if (avro_value_sizeof(&s->wval, &size) != 0) {
                st = bad("Avro C: " + avro_c_error());
            } else {
                const std::size_t at = out.size();
                out.resize(at + size);
                avro_writer_memory_set_dest(s->wr, out.data() + at, static_cast<int64_t>(size));
                if (avro_value_write(s->wr, &s->wval) != 0) {
                    out.resize(at);
                    st = bad("Avro C: " + avro_c_error());
                }
            }
        }
        pool_.give(std::move(s));
        return st;
    }

    // Iggy's field_mappings: top-level fields renamed after decoding (old -> new) and back
    // before encoding.
    status rename(value& v, arena& a, bool back) const {
        if (o_.field_mappings.empty() || v.type != value_type::record)
            return ok();
        entry* es = new_entries(a, v.n);
        for (std::uint32_t k = 0; k < v.n; ++k) {
            es[k] = v.entries[k];
            std::string_view key = es[k].key.str();
            for (const auto& [from, to] : o_.field_mappings) {
                if ((back ? to : from) == key) {
                    es[k].key = value::string_value(copy_to_arena(a, back ? from : to));
                    break;
                }
            }
        }
        v.entries = es;
        return ok();
    }

    status read_container(std::string_view payload, arena& a, value& out) const {
        const auto* p = reinterpret_cast<const unsigned char*>(payload.data());
        const auto* end = p + payload.size();
        if (payload.size() < 4 || std::memcmp(p, "Obj\x01", 4) != 0)
            return bad("container: no \"Obj\\x01\" magic");
        p += 4;
        // Header metadata: a map of bytes, read with the scanner's varints and bounds.
        std::string schema_json, codec_name;
        scanner hs(*pool_.bind().writer, p, end, o_.max_depth);
        for (;;) {
            std::int64_t count;
            TRIB_TRY(hs.varint(count));
            if (count == 0)
                break;
            if (count < 0) {
                std::int64_t size;
                TRIB_TRY(hs.varint(size));
                count = count == std::numeric_limits<std::int64_t>::min() ? 0 : -count;
            }
            if (static_cast<std::uint64_t>(count) > hs.left() / 2)
                return bad("container: a metadata block of " + std::to_string(count) + " entries");
            for (std::int64_t k = 0; k < count; ++k) {
                std::string_view kv[2];
                for (auto& s : kv)
                    TRIB_TRY(hs.take(s));
                if (kv[0] == "avro.schema")
                    schema_json.assign(kv[1]);
                else if (kv[0] == "avro.codec")
                    codec_name.assign(kv[1]);
            }
        }
        p = hs.pos();
        if (static_cast<std::size_t>(end - p) < 16)
            return bad("container: truncated before the sync marker");
        const unsigned char* sync = p;
        p += 16;
        auto c = parse_ocf_codec(codec_name);
        if (!c)
            return bad("container: codec \"" + codec_name + "\" is not supported");
        if (schema_json.empty())
            return bad("container: no avro.schema in the header");
        // The file's schema is its writer schema; the configured schema reads it.
        auto wt = parse_schema(schema_json);
        if (!wt)
            return bad("container: " + wt.error().message());
        std::shared_ptr<slot_pool> own;
        slot_pool* pool = nullptr;
        if ((*wt)->canonical == pool_.bind().writer->canonical) {
            pool = &pool_;
        } else {
            // Field names and symbols come from the reader tree, which outlives the records
            // (the file's own tree dies with this call).
            auto b = make_binding(*wt, pool_.bind().reader);
            if (!b)
                return bad("container: " + b.error().message());
            own = std::make_shared<slot_pool>(*b);
            pool = own.get();
        }
        std::vector<value> records;
        std::string block;
        while (p != end) {
            scanner bs(*pool_.bind().writer, p, end, o_.max_depth);
            std::int64_t count, size;
            TRIB_TRY(bs.varint(count));
            TRIB_TRY(bs.varint(size));
            if (count < 0 || size < 0 || static_cast<std::uint64_t>(size) + 16 > bs.left())
                return bad("container: a block of " + std::to_string(size) + " bytes with " +
                           std::to_string(bs.left()) + " bytes left");
            std::string_view data(reinterpret_cast<const char*>(bs.pos()),
                                  static_cast<std::size_t>(size));
            p = bs.pos() + size;
            if (std::memcmp(p, sync, 16) != 0)
                return bad("container: a block's sync marker does not match the header's");
            p += 16;
            TRIB_TRY(decompress_block(*c, data, o_.max_block_bytes, block));
            const std::uint64_t min = std::max<std::uint32_t>(
                1, pool->bind().writer->nodes[pool->bind().writer->root].min_bytes);
            if (static_cast<std::uint64_t>(count) > block.size() / min + 65536)
                return bad("container: a block of " + std::to_string(count) + " records in " +
                           std::to_string(block.size()) + " bytes");
            if (records.size() + static_cast<std::uint64_t>(count) > (1u << 24))
                return bad("container: more than 16777216 records");
            // Each datum: scan for its extent, then read it with Avro C.
            const auto* bp = reinterpret_cast<const unsigned char*>(block.data());
            const auto* bend = bp + block.size();
            for (std::int64_t k = 0; k < count; ++k) {
                scanner ds(*pool->bind().writer, bp, bend, o_.max_depth);
                TRIB_TRY(ds.scan(pool->bind().writer->root, 0));
                std::string_view datum(reinterpret_cast<const char*>(bp),
                                       static_cast<std::size_t>(ds.pos() - bp));
                value v;
                TRIB_TRY(decode_datum(*pool, datum, a, v));
                records.push_back(v);
                bp = ds.pos();
            }
            if (bp != bend)
                return bad("container: " + std::to_string(bend - bp) +
                           " bytes after a block's records");
        }
        value* items = new_values(a, records.size());
        std::copy(records.begin(), records.end(), items);
        out = value();
        out.type = value_type::list;
        out.n = static_cast<std::uint32_t>(records.size());
        out.items = items;
        return ok();
    }

    // A list is one record per element (one block); any other value is one record.
    status write_container(const value& v, arena& a, std::string& out) const {
        const binding& b = pool_.bind();
        out.append("Obj\x01", 4);
        put_long(out, 2);
        auto meta = [&](std::string_view k, std::string_view val) {
            put_long(out, static_cast<std::int64_t>(k.size()));
            out.append(k);
            put_long(out, static_cast<std::int64_t>(val.size()));
            out.append(val);
        };
        meta("avro.codec", to_string(o_.container_codec));
        meta("avro.schema", b.writer->json);
        put_long(out, 0);
        char sync[16];
        {
            static thread_local std::mt19937_64 rng{std::random_device{}()};
            for (int k = 0; k < 2; ++k) {
                std::uint64_t r = rng();
                std::memcpy(sync + 8 * k, &r, 8);
            }
        }
        out.append(sync, 16);
        const bool many =
            v.type == value_type::list && b.writer->nodes[b.writer->root].kind != akind::array;
        const std::uint32_t n = many ? v.n : 1;
        std::string raw;
        for (std::uint32_t k = 0; k < n; ++k)
            TRIB_TRY(encode_datum(many ? v.items[k] : v, a, raw));
        if (n == 0)
            return ok();
        std::string packed;
        TRIB_TRY(compress_block(o_.container_codec, raw, packed));
        put_long(out, n);
        put_long(out, static_cast<std::int64_t>(packed.size()));
        out.append(packed);
        out.append(sync, 16);
        return ok();
    }

    mutable slot_pool pool_;
    avro_options o_;
    avro_paths paths_;
};

result<std::string> read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    if (!f)
        return fail(errc::invalid_argument, "avro: cannot read schema file " + path);
    std::ostringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

result<std::unique_ptr<codec>> build(std::string_view writer, std::string_view reader,
                                     avro_options o, const avro_paths& paths) {
    TRIB_ASSIGN_OR_RETURN(auto wt, parse_schema(writer));
    std::shared_ptr<schema_tree> rt;
    if (!reader.empty()) {
        auto r = parse_schema(reader);
        if (!r)
            return unexpected(r.error().wrap("reader schema"));
        rt = *r;
        if (rt->canonical == wt->canonical)
            rt = nullptr;
    }
    TRIB_ASSIGN_OR_RETURN(auto b, make_binding(wt, rt));
    return std::unique_ptr<codec>(std::make_unique<avro_codec>(std::move(b), std::move(o), paths));
}

}  // namespace

config::spec avro_codec_spec() {
    config::spec s;
    s.name = "avro";
    s.kind = config::spec_kind::codec;
    s.summary = "Apache Avro (Iggy's `avro`) on Apache Avro C.";
    s.description =
        "Each payload is one Avro datum written with the schema given by schema_json or "
        "schema_path (Iggy's keys; avro_schema_json / avro_schema_path, the [[streams]] keys, "
        "are accepted too), decoded to a typed record. framing = \"single_object\" expects "
        "Avro's single-object encoding (C3 01, the schema's CRC-64-AVRO fingerprint, the body) "
        "and refuses a fingerprint that is not the schema's; framing = \"container\" reads and "
        "writes whole object container files (null, deflate, snappy, zstandard) as a list of "
        "records. reader_schema_json / reader_schema_path resolve the writer schema to a "
        "reader schema (Avro C's resolver). Logical types: decimal (bytes, fixed) -> decimal, "
        "uuid -> uuid, date -> date, timestamp-millis/micros and local-timestamp-* -> "
        "timestamp, time-millis/micros -> the integer. A union of null and one type is that "
        "type or null; other unions keep their branch as {\"<type name>\": value} (Avro's "
        "JSON encoding). Enums become their symbol, fixed becomes bytes. Encoding looks fields "
        "up by name, checks their types and names the field in its errors; a missing field "
        "takes its default, or null when nullable. Lengths and counts beyond the payload, "
        "invalid UTF-8, bad union or enum indexes, nesting beyond max_depth and trailing "
        "bytes are bad payloads.";
    using config::opt_or_absent;
    using config::opt_type;
    s.options.push_back(opt_or_absent("schema_json", opt_type::string,
                                      "The writer schema as JSON (Iggy).", std::nullopt));
    s.options.push_back(opt_or_absent("schema_path", opt_type::string,
                                      "A file holding the writer schema (Iggy).", std::nullopt));
    s.options.push_back(opt_or_absent("avro_schema_json", opt_type::string,
                                      "Same as schema_json (the [[streams]] key).", std::nullopt));
    s.options.push_back(opt_or_absent("avro_schema_path", opt_type::string,
                                      "Same as schema_path (the [[streams]] key).", std::nullopt));
    s.options.push_back(opt_or_absent(
        "reader_schema_json", opt_type::string,
        "A reader schema: payloads written with the writer schema are resolved to it.",
        std::nullopt));
    s.options.push_back(opt_or_absent("reader_schema_path", opt_type::string,
                                      "A file holding the reader schema.", std::nullopt));
    auto fr = opt_or_absent("framing", opt_type::enumeration,
                            "binary: the bare datum (Iggy); single_object: C3 01 + "
                            "fingerprint + datum; container: an object container file.",
                            "\"binary\"");
    fr.choices = {"binary", "single_object", "container"};
    s.options.push_back(fr);
    auto cc = opt_or_absent("container_codec", opt_type::enumeration,
                            "Compression of the container files this codec writes.", "\"null\"");
    cc.choices = {"null", "deflate", "snappy", "zstandard"};
    s.options.push_back(cc);
    s.options.push_back(opt_or_absent(
        "extract_as_json", opt_type::boolean,
        "Decode payloads (Iggy's default); false passes the Avro bytes through as raw records.",
        "true"));
    s.options.push_back(opt_or_absent("field_mappings", opt_type::map,
                                      "Renames top-level fields after decoding (old = \"new\"); "
                                      "encoding renames them back.",
                                      std::nullopt));
    auto depth =
        opt_or_absent("max_depth", opt_type::integer,
                      "Deepest nesting of records, arrays, maps and unions accepted.", "128");
    depth.min = 1;
    depth.max = 1024;
    s.options.push_back(depth);
    auto mb = opt_or_absent("max_block_bytes", opt_type::size,
                            "Largest decompressed container block accepted.", "\"64MiB\"");
    s.options.push_back(mb);
    s.check = [](const config::values& v, const config::check_report& report) {
        int n = 0;
        for (const char* k : {"schema_json", "schema_path", "avro_schema_json", "avro_schema_path"})
            n += v.has(k) ? 1 : 0;
        if (n > 1)
            report("schema_json",
                   "give one of schema_json, schema_path, avro_schema_json and "
                   "avro_schema_path");
        if (n == 0 && v.boolean("extract_as_json"))
            report("schema_json",
                   "a schema is required (schema_json or schema_path) unless "
                   "extract_as_json = false");
        if (v.has("reader_schema_json") && v.has("reader_schema_path"))
            report("reader_schema_json", "give one of reader_schema_json and reader_schema_path");
    };
    s.example =
        "[[streams]]\nstream = \"users\"\ntopics = [\"signups\"]\nschema = \"avro\"\n"
        "avro_schema_path = \"schemas/user.avsc\"";
    return s;
}

namespace {

result<std::unique_ptr<codec>> make_with(const config::values& v, avro_field_mappings mappings,
                                         const avro_paths& paths) {
    avro_options o;
    std::string writer, reader;
    if (v.root() != nullptr) {
        if (auto s = v.opt_str("schema_json"))
            writer = *s;
        else if (auto s2 = v.opt_str("avro_schema_json"))
            writer = *s2;
        else if (auto p = v.opt_str("schema_path")) {
            TRIB_ASSIGN_OR_RETURN(writer, read_file(*p));
        } else if (auto p2 = v.opt_str("avro_schema_path")) {
            TRIB_ASSIGN_OR_RETURN(writer, read_file(*p2));
        }
        if (auto s = v.opt_str("reader_schema_json"))
            reader = *s;
        else if (auto p = v.opt_str("reader_schema_path")) {
            TRIB_ASSIGN_OR_RETURN(reader, read_file(*p));
        }
        const std::string fr = v.str("framing");
        o.frame = fr == "single_object" ? framing::single_object
                  : fr == "container"   ? framing::container
                                        : framing::binary;
        o.container_codec = *parse_ocf_codec(v.str("container_codec"));
        if (v.has("extract_as_json"))  // absent in avro_convert's spec
            o.extract_as_json = v.boolean("extract_as_json");
        if (mappings == avro_field_mappings::applied && v.has("field_mappings"))
            o.field_mappings = v.map("field_mappings");
        o.max_depth = static_cast<std::uint32_t>(v.integer("max_depth"));
        o.max_block_bytes = static_cast<std::size_t>(v.size("max_block_bytes"));
    }
    if (writer.empty()) {
        if (!o.extract_as_json)
            writer = "\"bytes\"";  // unused: payloads pass through
        else
            return fail(errc::invalid_argument,
                        "avro: a schema is required (schema_json or schema_path)");
    }
    return build(writer, reader, std::move(o), paths);
}

}  // namespace

result<std::unique_ptr<codec>> make_avro_codec(const config::values& v,
                                               avro_field_mappings mappings) {
    return make_with(v, mappings, avro_paths{});
}

result<std::unique_ptr<codec>> make_avro_codec_with(const config::values& v,
                                                    const avro_paths& paths) {
    return make_with(v, avro_field_mappings::applied, paths);
}

result<std::unique_ptr<codec>> make_avro_codec_for_schema_with(std::string_view writer_schema_json,
                                                               std::string_view reader_schema_json,
                                                               const avro_paths& paths) {
    return build(writer_schema_json, reader_schema_json, avro_options{}, paths);
}

result<std::unique_ptr<codec>> make_avro_codec_for_schema(std::string_view writer_schema_json,
                                                          std::string_view reader_schema_json) {
    return build(writer_schema_json, reader_schema_json, avro_options{}, avro_paths{});
}

result<avro_schema_identity> avro_schema_fingerprint(std::string_view schema_json) {
    TRIB_ASSIGN_OR_RETURN(auto t, parse_schema(schema_json));
    return avro_schema_identity{t->canonical, t->fingerprint};
}

}  // namespace trib::codecs
