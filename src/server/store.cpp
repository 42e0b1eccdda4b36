// Persistence of the broker's model and the topic options block (see model.h).

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <string>

#include "core/json_parse.h"
#include "iggy/wire/batch.h"
#include "iggy/wire/codes.h"
#include "server/model.h"

namespace trib::server {
namespace {

std::string hex(bytes_view b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (auto c : b) {
        s.push_back(d[c >> 4]);
        s.push_back(d[c & 15]);
    }
    return s;
}

bool unhex(std::string_view h, bytes& out) {
    out.clear();
    if (h.size() % 2)
        return false;
    for (std::size_t i = 0; i < h.size(); i += 2) {
        unsigned v = 0;
        auto r = std::from_chars(h.data() + i, h.data() + i + 2, v, 16);
        if (r.ec != std::errc() || r.ptr != h.data() + i + 2)
            return false;
        out.push_back(static_cast<std::uint8_t>(v));
    }
    return true;
}

using json_writer = rapidjson::Writer<rapidjson::StringBuffer>;

void key(json_writer& w, const char* k) {
    w.Key(k);
}

}  // namespace

std::filesystem::path metadata_path(const std::filesystem::path& data_dir) {
    return data_dir / "metadata.json";
}
std::filesystem::path topics_root(const std::filesystem::path& data_dir) {
    return data_dir / "topics";
}

std::string serialize_metadata(const broker::model& m) {
    rapidjson::StringBuffer sb;
    json_writer w(sb);
    w.StartObject();
    key(w, "format");
    w.Uint(1);
    key(w, "next_uid");
    w.Uint64(m.next_uid);
    key(w, "streams");
    w.StartArray();
    for (const auto& [sid, s] : m.streams) {
        w.StartObject();
        key(w, "id");
        w.Uint(s.id);
        key(w, "name");
        w.String(s.name);
        key(w, "created_at");
        w.Uint64(s.created_at);
        key(w, "topics");
        w.StartArray();
        for (const auto& [tid, tp] : s.topics) {
            const topic& t = *tp;
            w.StartObject();
            key(w, "id");
            w.Uint(t.id);
            key(w, "uid");
            w.Uint64(t.uid);
            key(w, "name");
            w.String(t.name);
            key(w, "created_at");
            w.Uint64(t.created_at);
            key(w, "next_group_id");
            w.Uint(t.next_group_id);
            const auto& st = t.settings;
            key(w, "compression");
            w.Uint(st.compression);
            key(w, "message_expiry");
            w.Uint64(st.message_expiry);
            key(w, "max_topic_size");
            w.Uint64(st.max_topic_size);
            key(w, "segment_size");
            w.Uint64(st.segment_size);
            key(w, "durability_persisted");
            w.Bool(st.durability_persisted);
            key(w, "offsets_persisted");
            w.Bool(st.offsets_persisted);
            key(w, "messages_required_to_save");
            w.Uint(st.messages_required_to_save);
            key(w, "size_of_messages_required_to_save");
            w.Uint64(st.size_of_messages_required_to_save);
            key(w, "preallocate_segments");
            w.Bool(st.preallocate_segments);
            bytes opts;
            iggy::writer ow(opts);
            iggy::encode_options(ow, t.explicit_opts);
            key(w, "explicit_options");
            w.String(hex(opts));
            key(w, "partitions");
            w.StartArray();
            for (const auto& p : t.partitions) {
                w.StartObject();
                key(w, "id");
                w.Uint(p->id);
                key(w, "created_at");
                w.Uint64(p->created_at);
                w.EndObject();
            }
            w.EndArray();
            key(w, "groups");
            w.StartArray();
            for (const auto& [gid, g] : t.groups) {
                w.StartObject();
                key(w, "id");
                w.Uint(g.id);
                key(w, "name");
                w.String(g.name);
                w.EndObject();
            }
            w.EndArray();
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
    }
    w.EndArray();
    key(w, "users");
    w.StartArray();
    for (const auto& [uid, u] : m.users) {
        w.StartObject();
        key(w, "id");
        w.Uint(u.id);
        key(w, "username");
        w.String(u.username);
        key(w, "password");
        w.String(u.password_hash);
        key(w, "status");
        w.Uint(u.status);
        key(w, "created_at");
        w.Uint64(u.created_at);
        if (u.perms) {
            bytes pb;
            iggy::writer pw(pb);
            u.perms->encode(pw);
            key(w, "permissions");
            w.String(hex(pb));
        }
        w.EndObject();
    }
    w.EndArray();
    key(w, "tokens");
    w.StartArray();
    for (const auto& t : m.tokens) {
        w.StartObject();
        key(w, "user_id");
        w.Uint(t.user_id);
        key(w, "name");
        w.String(t.name);
        key(w, "digest");
        w.String(t.digest);
        key(w, "expiry_at");
        w.Uint64(t.expiry_at);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(sb.GetString(), sb.GetSize());
}

namespace {

// Typed getters that fail the whole parse on a missing or mistyped field.
struct json_reader {
    bool ok = true;
    std::string what;
    std::uint64_t u64(const rapidjson::Value& o, const char* k) {
        if (!o.IsObject() || !o.HasMember(k) || !o[k].IsUint64()) {
            fail(k);
            return 0;
        }
        return o[k].GetUint64();
    }
    std::uint32_t u32(const rapidjson::Value& o, const char* k) {
        auto v = u64(o, k);
        if (v > UINT32_MAX)
            fail(k);
        return static_cast<std::uint32_t>(v);
    }
    bool boolean(const rapidjson::Value& o, const char* k) {
        if (!o.IsObject() || !o.HasMember(k) || !o[k].IsBool()) {
            fail(k);
            return false;
        }
        return o[k].GetBool();
    }
    std::string str(const rapidjson::Value& o, const char* k) {
        if (!o.IsObject() || !o.HasMember(k) || !o[k].IsString()) {
            fail(k);
            return {};
        }
        return std::string(o[k].GetString(), o[k].GetStringLength());
    }
    const rapidjson::Value& arr(const rapidjson::Value& o, const char* k) {
        static const rapidjson::Value empty(rapidjson::kArrayType);
        if (!o.IsObject() || !o.HasMember(k) || !o[k].IsArray()) {
            fail(k);
            return empty;
        }
        return o[k];
    }
    void fail(const char* k) {
        if (ok)
            what = k;
        ok = false;
    }
};

}  // namespace

status parse_metadata(std::string_view text, broker::model& m) {
    rapidjson::Document d;
    if (auto st = parse_json_document(text, d); !st)
        return fail(errc::data_loss, "metadata.json: not valid JSON: " + st.error().message());
    if (!d.IsObject())
        return fail(errc::data_loss, "metadata.json: not a JSON object");
    json_reader r;
    if (r.u32(d, "format") != 1)
        return fail(errc::data_loss, "metadata.json: unknown format");
    m.next_uid = r.u64(d, "next_uid");
    for (const auto& sj : r.arr(d, "streams").GetArray()) {
        stream s;
        s.id = r.u32(sj, "id");
        s.name = r.str(sj, "name");
        s.created_at = r.u64(sj, "created_at");
        for (const auto& tj : r.arr(sj, "topics").GetArray()) {
            auto t = std::make_shared<topic>();
            t->id = r.u32(tj, "id");
            t->stream_id = s.id;
            t->uid = r.u64(tj, "uid");
            t->name = r.str(tj, "name");
            t->created_at = r.u64(tj, "created_at");
            t->next_group_id = r.u32(tj, "next_group_id");
            auto& st = t->settings;
            st.compression = static_cast<std::uint8_t>(r.u32(tj, "compression"));
            st.message_expiry = r.u64(tj, "message_expiry");
            st.max_topic_size = r.u64(tj, "max_topic_size");
            st.segment_size = r.u64(tj, "segment_size");
            st.durability_persisted = r.boolean(tj, "durability_persisted");
            st.offsets_persisted = r.boolean(tj, "offsets_persisted");
            st.messages_required_to_save = r.u32(tj, "messages_required_to_save");
            st.size_of_messages_required_to_save = r.u64(tj, "size_of_messages_required_to_save");
            st.preallocate_segments = r.boolean(tj, "preallocate_segments");
            bytes ob;
            if (!unhex(r.str(tj, "explicit_options"), ob))
                r.fail("explicit_options");
            auto opts = iggy::decode_options(ob);
            if (!opts)
                r.fail("explicit_options");
            else
                t->explicit_opts = std::move(opts).value();
            for (const auto& pj : r.arr(tj, "partitions").GetArray()) {
                auto p = std::make_shared<partition>();
                p->id = r.u32(pj, "id");
                p->created_at = r.u64(pj, "created_at");
                if (p->id != t->partitions.size())
                    r.fail("partitions (ids must be dense)");
                t->partitions.push_back(std::move(p));
            }
            for (const auto& gj : r.arr(tj, "groups").GetArray()) {
                consumer_group g;
                g.id = r.u32(gj, "id");
                g.name = r.str(gj, "name");
                auto gid = g.id;
                t->groups.emplace(gid, std::move(g));
            }
            auto tid = t->id;
            s.topics.emplace(tid, std::move(t));
        }
        auto sid = s.id;
        m.streams.emplace(sid, std::move(s));
    }
    for (const auto& uj : r.arr(d, "users").GetArray()) {
        user u;
        u.id = r.u32(uj, "id");
        u.username = r.str(uj, "username");
        u.password_hash = r.str(uj, "password");
        u.status = static_cast<std::uint8_t>(r.u32(uj, "status"));
        u.created_at = r.u64(uj, "created_at");
        if (uj.IsObject() && uj.HasMember("permissions")) {
            bytes pb;
            if (!unhex(r.str(uj, "permissions"), pb)) {
                r.fail("permissions");
            } else {
                iggy::reader pr(pb);
                auto p = iggy::permissions::decode(pr);
                if (!p)
                    r.fail("permissions");
                else
                    u.perms = std::move(p).value();
            }
        }
        auto id = u.id;
        m.users.emplace(id, std::move(u));
    }
    for (const auto& tj : r.arr(d, "tokens").GetArray()) {
        token t;
        t.user_id = r.u32(tj, "user_id");
        t.name = r.str(tj, "name");
        t.digest = r.str(tj, "digest");
        t.expiry_at = r.u64(tj, "expiry_at");
        m.tokens.push_back(std::move(t));
    }
    if (!r.ok)
        return fail(errc::data_loss, "metadata.json: bad or missing field '" + r.what + "'");
    return ok();
}

std::string serialize_offsets(const std::map<offset_key, std::uint64_t>& offsets) {
    std::string out;
    for (const auto& [k, v] : offsets) {
        out += std::to_string(k.kind);
        out += ' ';
        out += std::to_string(k.key);
        out += ' ';
        out += std::to_string(k.partition);
        out += ' ';
        out += std::to_string(v);
        out += '\n';
    }
    return out;
}

status parse_offsets(std::string_view text, std::map<offset_key, std::uint64_t>& offsets) {
    while (!text.empty()) {
        auto nl = text.find('\n');
        auto line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
        if (line.empty())
            continue;
        std::uint64_t f[4] = {};
        const char* p = line.data();
        const char* end = line.data() + line.size();
        for (int i = 0; i < 4; ++i) {
            while (p < end && *p == ' ')
                ++p;
            auto r = std::from_chars(p, end, f[i]);
            if (r.ec != std::errc())
                return fail(errc::data_loss, "offsets file: bad line");
            p = r.ptr;
        }
        if (f[0] < 1 || f[0] > 2 || f[1] > UINT32_MAX || f[2] > UINT32_MAX)
            return fail(errc::data_loss, "offsets file: bad line");
        offsets[{static_cast<std::uint8_t>(f[0]), static_cast<std::uint32_t>(f[1]),
                 static_cast<std::uint32_t>(f[2])}] = f[3];
    }
    return ok();
}

// ---- topic options (iggy-protocol.md section 7) ----

namespace {

using iggy::header_kind;
using iggy::user_header;

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return std::string(s);
}

/// An unsigned integer value of any integer kind (negative values fail).
std::optional<std::uint64_t> integer_value(const user_header& h) {
    const auto* p = reinterpret_cast<const std::uint8_t*>(h.value.data());
    const auto n = h.value.size();
    auto le = [&](std::size_t size) -> std::optional<std::uint64_t> {
        if (n != size)
            return std::nullopt;
        std::uint64_t v = 0;
        for (std::size_t i = size; i-- > 0;)
            v = (v << 8) | p[i];
        return v;
    };
    auto signed_le = [&](std::size_t size) -> std::optional<std::uint64_t> {
        auto v = le(size);
        if (!v)
            return v;
        if (p[size - 1] & 0x80)
            return std::nullopt;
        return v;
    };
    switch (h.kind) {
        case header_kind::uint8:
            return le(1);
        case header_kind::uint16:
            return le(2);
        case header_kind::uint32:
            return le(4);
        case header_kind::uint64:
            return le(8);
        case header_kind::int8:
            return signed_le(1);
        case header_kind::int16:
            return signed_le(2);
        case header_kind::int32:
            return signed_le(4);
        case header_kind::int64:
            return signed_le(8);
        default:
            return std::nullopt;
    }
}

std::optional<bool> bool_value(const user_header& h) {
    if (h.kind == header_kind::boolean && h.value.size() == 1 &&
        (h.value[0] == 0 || h.value[0] == 1))
        return h.value[0] == 1;
    if (h.kind == header_kind::string) {
        auto s = lower(trim(h.value));
        if (s == "true")
            return true;
        if (s == "false")
            return false;
    }
    return std::nullopt;
}

/// Splits "7 days 2h" into (number, unit) pairs.
bool split_quantities(std::string_view s, std::vector<std::pair<double, std::string>>& out) {
    std::size_t i = 0;
    auto skip = [&] {
        while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i])))
            ++i;
    };
    skip();
    if (i == s.size())
        return false;
    while (i < s.size()) {
        std::size_t start = i;
        while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
            ++i;
        if (start == i)
            return false;
        double v = 0;
        auto r = std::from_chars(s.data() + start, s.data() + i, v);
        if (r.ec != std::errc() || r.ptr != s.data() + i)
            return false;
        skip();
        std::size_t ustart = i;
        while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i])))
            ++i;
        out.emplace_back(v, std::string(s.substr(ustart, i - ustart)));
        skip();
    }
    return true;
}

std::optional<std::uint64_t> duration_value(const user_header& h) {
    if (h.kind == header_kind::string)
        return parse_duration_us(h.value);
    return integer_value(h);
}

std::optional<std::uint64_t> size_value(const user_header& h) {
    if (h.kind == header_kind::string)
        return parse_size(h.value);
    return integer_value(h);
}

constexpr std::uint64_t mib = 1024 * 1024;
constexpr std::uint64_t gib = 1024 * mib;

}  // namespace

/// "7 days", "1h 30m", "500ms", "unlimited" / "none" (never), "server_default" (0), "0".
std::optional<std::uint64_t> parse_duration_us(std::string_view text) {
    auto s = lower(trim(text));
    if (s == "unlimited" || s == "none" || s == "never" || s == "never_expire")
        return UINT64_MAX;
    if (s == "server_default" || s == "default")
        return 0;
    std::vector<std::pair<double, std::string>> parts;
    if (!split_quantities(s, parts))
        return std::nullopt;
    double total = 0;
    for (const auto& [v, u] : parts) {
        double mul = 0;
        if (u.empty() || u == "s" || u == "sec" || u == "secs" || u == "second" || u == "seconds")
            mul = 1e6;
        else if (u == "us" || u == "usec" || u == "usecs" || u == "micros")
            mul = 1;
        else if (u == "ms" || u == "msec" || u == "msecs" || u == "millis")
            mul = 1e3;
        else if (u == "m" || u == "min" || u == "mins" || u == "minute" || u == "minutes")
            mul = 60e6;
        else if (u == "h" || u == "hr" || u == "hrs" || u == "hour" || u == "hours")
            mul = 3600e6;
        else if (u == "d" || u == "day" || u == "days")
            mul = 86400e6;
        else if (u == "w" || u == "week" || u == "weeks")
            mul = 7 * 86400e6;
        else if (u == "month" || u == "months")
            mul = 30.44 * 86400e6;
        else if (u == "y" || u == "year" || u == "years")
            mul = 365.25 * 86400e6;
        else
            return std::nullopt;
        total += v * mul;
    }
    if (total >= 1.8e19)
        return UINT64_MAX;
    return static_cast<std::uint64_t>(std::llround(total));
}

/// "1 GiB", "500MB", "1024", "unlimited" (MAX), "server_default" (0).
std::optional<std::uint64_t> parse_size(std::string_view text) {
    auto s = lower(trim(text));
    if (s == "unlimited" || s == "none")
        return UINT64_MAX;
    if (s == "server_default" || s == "default")
        return 0;
    std::vector<std::pair<double, std::string>> parts;
    if (!split_quantities(s, parts) || parts.size() != 1)
        return std::nullopt;
    auto [v, u] = parts[0];
    double mul = 0;
    if (u.empty() || u == "b")
        mul = 1;
    else if (u == "kb" || u == "k")
        mul = 1e3;
    else if (u == "kib")
        mul = 1024.0;
    else if (u == "mb" || u == "m")
        mul = 1e6;
    else if (u == "mib")
        mul = 1024.0 * 1024;
    else if (u == "gb" || u == "g")
        mul = 1e9;
    else if (u == "gib")
        mul = 1024.0 * 1024 * 1024;
    else if (u == "tb" || u == "t")
        mul = 1e12;
    else if (u == "tib")
        mul = 1024.0 * 1024 * 1024 * 1024;
    else
        return std::nullopt;
    double total = v * mul;
    if (total >= 1.8e19)
        return std::nullopt;
    return static_cast<std::uint64_t>(std::llround(total));
}

std::uint32_t apply_topic_options(const iggy::options& opts, bool create, topic_settings& s) {
    if (opts.size() > iggy::max_option_entries)
        return iggy::code::options_block_too_large;
    {
        bytes enc;
        iggy::writer w(enc);
        iggy::encode_options(w, opts);
        if (enc.size() > iggy::max_options_bytes)
            return iggy::code::options_block_too_large;
    }
    bool fsync_alias = false;
    bool durability_given = false;
    for (const auto& o : opts) {
        if (o.key_kind != header_kind::string)
            return iggy::code::unsupported_option_key;
        const std::string& k = o.key;
        if (k == "compression_algorithm") {
            if (o.kind != header_kind::string)
                return iggy::code::invalid_option_value;
            auto v = lower(trim(o.value));
            if (v == "none")
                s.compression = 1;
            else if (v == "gzip")
                s.compression = 2;
            else
                return iggy::code::invalid_option_value;
        } else if (k == "message_expiry") {
            auto v = duration_value(o);
            if (!v)
                return iggy::code::invalid_option_value;
            s.message_expiry = *v;
        } else if (k == "max_topic_size") {
            auto v = size_value(o);
            if (!v)
                return iggy::code::invalid_option_value;
            s.max_topic_size = *v;
        } else if (!create) {
            return iggy::code::unsupported_option_key;
        } else if (k == "segment_size") {
            auto v = size_value(o);
            if (!v || *v % 512 != 0 || *v < mib || *v > gib)
                return iggy::code::invalid_option_value;
            s.segment_size = *v;
        } else if (k == "enforce_fsync") {
            // Deprecated in 0.9.0 final; accepted as an alias of durability = persisted.
            auto v = bool_value(o);
            if (!v)
                return iggy::code::invalid_option_value;
            fsync_alias = *v;
        } else if (k == "messages_required_to_save") {
            auto v = integer_value(o);
            if (!v || *v < 1 || *v > 16u * 1024 * 1024)
                return iggy::code::invalid_option_value;
            s.messages_required_to_save = static_cast<std::uint32_t>(*v);
        } else if (k == "size_of_messages_required_to_save") {
            auto v = size_value(o);
            if (!v || *v < 1 || *v > gib)
                return iggy::code::invalid_option_value;
            s.size_of_messages_required_to_save = *v;
        } else if (k == "preallocate_segments") {
            auto v = bool_value(o);
            if (!v)
                return iggy::code::invalid_option_value;
            s.preallocate_segments = *v;
        } else if (k == "durability" || k == "consumer_offset_durability") {
            if (o.kind != header_kind::string)
                return iggy::code::invalid_option_value;
            auto v = lower(trim(o.value));
            bool persisted = false;
            if (v == "persisted")
                persisted = true;
            else if (v != "replicated")
                return iggy::code::invalid_option_value;
            if (k == "durability") {
                s.durability_persisted = persisted;
                durability_given = true;
            } else {
                s.offsets_persisted = persisted;
            }
        } else {
            return iggy::code::unsupported_option_key;
        }
    }
    if (fsync_alias && !durability_given)
        s.durability_persisted = true;
    if (s.max_topic_size != 0 && s.max_topic_size != UINT64_MAX &&
        s.max_topic_size < s.segment_size)
        return iggy::code::invalid_topic_size;
    return 0;
}

iggy::options canonical_options(const iggy::options& opts) {
    iggy::options out = opts;
    std::sort(out.begin(), out.end(),
              [](const user_header& a, const user_header& b) { return a.key < b.key; });
    return out;
}

iggy::options derived_topic_options(const topic_settings& s, const iggy::options& explicit_opts) {
    iggy::options all;
    auto u64v = [](std::string k, std::uint64_t v) { return user_header::u64(std::move(k), v); };
    all.push_back(user_header::str("compression_algorithm", s.compression == 2 ? "gzip" : "none"));
    all.push_back(user_header::str("consumer_offset_durability",
                                   s.offsets_persisted ? "persisted" : "replicated"));
    all.push_back(
        user_header::str("durability", s.durability_persisted ? "persisted" : "replicated"));
    all.push_back(u64v("max_topic_size", s.max_topic_size));
    all.push_back(u64v("message_expiry", s.message_expiry));
    {
        user_header h;
        h.key = "messages_required_to_save";
        h.kind = header_kind::uint32;
        h.value.resize(4);
        iggy::store_u32(reinterpret_cast<std::uint8_t*>(h.value.data()),
                        s.messages_required_to_save);
        all.push_back(std::move(h));
    }
    all.push_back(user_header::boolean("preallocate_segments", s.preallocate_segments));
    all.push_back(u64v("segment_size", s.segment_size));
    all.push_back(u64v("size_of_messages_required_to_save", s.size_of_messages_required_to_save));
    iggy::options out;
    for (auto& o : all) {
        bool given = std::any_of(explicit_opts.begin(), explicit_opts.end(),
                                 [&](const user_header& e) { return e.key == o.key; });
        if (!given)
            out.push_back(std::move(o));
    }
    return out;
}

}  // namespace trib::server
