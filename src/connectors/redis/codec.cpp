#include "connectors/redis/codec.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "core/header_json.h"
#include "core/json_parse.h"
#include "core/json_path.h"
#include "core/json_text.h"
#include "core/message_id.h"
#include "core/parse_number.h"
#include "core/template_text.h"

namespace trib::connectors::redis {
namespace {

std::string json_text_of(const rapidjson::Value& v) {
    if (auto s = json_scalar_text(v))
        return *s;
    if (v.IsNull())
        return "";
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
}

// A header value as entry text: a string as it is, any other kind as the one JSON rendering.
std::string header_text(const header& h) {
    if (h.kind == value_kind::string || h.kind == value_kind::raw)
        return h.value;
    std::string out;
    append_header_json_value(out, h);
    return out;
}

// Each member of a JSON object as a field name and its text. Indexed rather than a range-for:
// RapidJSON's member iterators compare ambiguously under C++20 (clang refuses it).
void append_members(const rapidjson::Value& obj, std::vector<std::string>& out) {
    for (rapidjson::SizeType i = 0; i < obj.MemberCount(); ++i) {
        const auto& mem = *(obj.MemberBegin() + i);
        out.emplace_back(mem.name.GetString(), mem.name.GetStringLength());
        out.push_back(json_text_of(mem.value));
    }
}

struct parsed_payload {
    rapidjson::Document doc;
    bool ok = false;
};

void parse_payload(std::string_view payload, parsed_payload& p) {
    p.ok = static_cast<bool>(parse_json_document(payload, p.doc));
}

error bad_message(std::string msg) {
    return error(errc::invalid_argument, retry_class::fatal, std::move(msg));
}

}  // namespace

bool key_template::has(kind k) const {
    for (const auto& p : parts) {
        if (p.k == k)
            return true;
    }
    return false;
}

result<key_template> parse_template(std::string_view text) {
    TRIB_ASSIGN_OR_RETURN(auto tokens, split_template(text));
    key_template t;
    for (auto& tok : tokens) {
        key_template::part p;
        const std::string_view name = tok.text;
        if (!tok.placeholder) {
            p.text = std::move(tok.text);
        } else if (name == "stream") {
            p.k = key_template::kind::stream;
        } else if (name == "topic") {
            p.k = key_template::kind::topic;
        } else if (name == "partition") {
            p.k = key_template::kind::partition;
        } else if (name == "offset") {
            p.k = key_template::kind::offset;
        } else if (name == "id") {
            p.k = key_template::kind::id;
        } else if (name.rfind("field:", 0) == 0 && name.size() > 6) {
            p.k = key_template::kind::field;
            p.text = std::string(name.substr(6));
        } else if (name.rfind("header:", 0) == 0 && name.size() > 7) {
            p.k = key_template::kind::header;
            p.text = std::string(name.substr(7));
        } else {
            return fail(errc::invalid_argument,
                        "unknown placeholder {" + std::string(name) +
                            "} (known: {stream} {topic} {partition} {offset} {id} {field:a.b} "
                            "{header:name})");
        }
        t.parts.push_back(std::move(p));
    }
    if (t.parts.empty())
        return fail(errc::invalid_argument, "empty template");
    return t;
}

result<std::string> render(const key_template& t, const render_input& in) {
    std::string out;
    for (const auto& p : t.parts) {
        switch (p.k) {
            case key_template::kind::literal:
                out += p.text;
                break;
            case key_template::kind::stream:
                out += in.stream;
                break;
            case key_template::kind::topic:
                out += in.topic;
                break;
            case key_template::kind::partition:
                out += std::to_string(in.partition);
                break;
            case key_template::kind::offset:
                out += std::to_string(in.msg->offset);
                break;
            case key_template::kind::id:
                out += to_hex(in.msg->id);
                break;
            case key_template::kind::field: {
                if (in.json == nullptr)
                    return unexpected(
                        bad_message("{field:" + p.text + "}: the payload is not valid JSON"));
                const auto* v =
                    json_member_at(*static_cast<const rapidjson::Value*>(in.json), p.text);
                std::optional<std::string> s;
                if (v != nullptr)
                    s = json_scalar_text(*v);
                if (!s)
                    return unexpected(bad_message("{field:" + p.text +
                                                  "}: the payload has no scalar at that path"));
                out += *s;
                break;
            }
            case key_template::kind::header: {
                const header* h = in.msg->find_header(p.text);
                if (h == nullptr)
                    return unexpected(
                        bad_message("{header:" + p.text + "}: the message has no such header"));
                out += header_text(*h);
                break;
            }
        }
    }
    return out;
}

std::string offset_entry_id(std::uint64_t offset, std::uint32_t partition) {
    return std::to_string(offset) + "-" + std::to_string(static_cast<std::uint64_t>(partition) + 1);
}

result<std::vector<command>> commands_for(const sink_layout& l, const sink_batch& b,
                                          const message& m) {
    const bool want_json = l.key.needs_json() || (l.member && l.member->needs_json()) ||
                           l.mode == sink_mode::hash ||
                           (l.mode == sink_mode::zset && !l.score_field.empty()) ||
                           (l.mode == sink_mode::stream && l.fields_from_payload);
    parsed_payload p;
    if (want_json)
        parse_payload(m.payload, p);
    render_input in{b.stream, b.topic, b.partition, &m, p.ok ? &p.doc : nullptr};
    TRIB_ASSIGN_OR_RETURN(std::string key, render(l.key, in));
    std::vector<command> out;
    auto expire = [&] {
        if (l.ttl.count() > 0)
            out.push_back({"PEXPIRE", key, std::to_string(l.ttl.count())});
    };
    switch (l.mode) {
        case sink_mode::stream: {
            command c{"XADD", key};
            if (l.max_len) {
                c.push_back("MAXLEN");
                c.push_back(l.max_len_approximate ? "~" : "=");
                c.push_back(std::to_string(*l.max_len));
            }
            c.push_back(l.offset_ids ? offset_entry_id(m.offset, b.partition) : "*");
            if (l.fields_from_payload) {
                if (!p.ok || !p.doc.IsObject())
                    return unexpected(
                        bad_message("fields_from_payload: the payload is not a JSON object"));
                if (p.doc.MemberCount() == 0)
                    return unexpected(bad_message("fields_from_payload: the JSON object is empty"));
                append_members(p.doc, c);
            } else {
                c.push_back(l.payload_field);
                c.emplace_back(m.payload);
            }
            if (l.include_metadata) {
                c.insert(c.end(),
                         {"iggy_stream", std::string(b.stream), "iggy_topic", std::string(b.topic),
                          "iggy_partition", std::to_string(b.partition), "iggy_offset",
                          std::to_string(m.offset), "iggy_message_id", to_hex(m.id),
                          "iggy_timestamp", std::to_string(m.timestamp_us)});
            }
            if (l.include_headers) {
                for (const auto& h : m.headers) {
                    c.push_back("header." + h.key);
                    c.push_back(header_text(h));
                }
            }
            out.push_back(std::move(c));
            break;
        }
        case sink_mode::list:
            out.push_back({l.list_left ? "LPUSH" : "RPUSH", key, std::string(m.payload)});
            expire();
            break;
        case sink_mode::publish:
            out.push_back({"PUBLISH", key, std::string(m.payload)});
            break;
        case sink_mode::hash: {
            if (!p.ok || !p.doc.IsObject())
                return unexpected(bad_message("hash mode: the payload is not a JSON object"));
            if (p.doc.MemberCount() == 0)
                return unexpected(bad_message("hash mode: the JSON object is empty"));
            command c{"HSET", key};
            append_members(p.doc, c);
            out.push_back(std::move(c));
            expire();
            break;
        }
        case sink_mode::set:
        case sink_mode::zset: {
            std::string member;
            if (l.member) {
                TRIB_ASSIGN_OR_RETURN(member, render(*l.member, in));
            } else {
                member = std::string(m.payload);
            }
            if (l.mode == sink_mode::set) {
                out.push_back({"SADD", key, std::move(member)});
            } else {
                std::string score = std::to_string(m.offset);
                if (!l.score_field.empty()) {
                    const rapidjson::Value* v =
                        p.ok ? json_member_at(p.doc, l.score_field) : nullptr;
                    if (v == nullptr || !v->IsNumber())
                        return unexpected(bad_message("score_field " + l.score_field +
                                                      ": the payload has no number there"));
                    score = *json_scalar_text(*v);
                }
                out.push_back({"ZADD", key, std::move(score), std::move(member)});
            }
            expire();
            break;
        }
        case sink_mode::string:
            if (l.ttl.count() > 0)
                out.push_back(
                    {"SET", key, std::string(m.payload), "PX", std::to_string(l.ttl.count())});
            else
                out.push_back({"SET", key, std::string(m.payload)});
            break;
    }
    return out;
}

namespace {

bool is_text(const redisReply* r) {
    return r != nullptr && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

error shape(std::string_view what) {
    return error(errc::protocol_error, retry_class::retryable,
                 "unexpected reply shape: " + std::string(what));
}

// [id, [f, v, f, v ...]] or [id, nil] (a deleted entry still pending).
result<stream_entry> entry_of(const redisReply* r, std::string_view key) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2 || !is_text(r->element[0]))
        return unexpected(shape("an entry is not [id, fields]"));
    stream_entry e;
    e.key = std::string(key);
    e.id = std::string(r->element[0]->str, r->element[0]->len);
    const redisReply* f = r->element[1];
    if (f == nullptr || f->type == REDIS_REPLY_NIL) {
        e.deleted = true;
        return e;
    }
    if (f->type != REDIS_REPLY_ARRAY || f->elements % 2 != 0)
        return unexpected(shape("entry fields are not pairs"));
    e.fields.reserve(f->elements / 2);
    for (std::size_t i = 0; i < f->elements; i += 2) {
        if (!is_text(f->element[i]) || !is_text(f->element[i + 1]))
            return unexpected(shape("an entry field is not a string"));
        e.fields.emplace_back(std::string(f->element[i]->str, f->element[i]->len),
                              std::string(f->element[i + 1]->str, f->element[i + 1]->len));
    }
    return e;
}

status append_entries(const redisReply* list, std::string_view key,
                      std::vector<stream_entry>& out) {
    if (list == nullptr || list->type != REDIS_REPLY_ARRAY)
        return unexpected(shape("entries are not an array"));
    for (std::size_t i = 0; i < list->elements; ++i) {
        TRIB_ASSIGN_OR_RETURN(auto e, entry_of(list->element[i], key));
        out.push_back(std::move(e));
    }
    return ok();
}

}  // namespace

result<std::vector<stream_entry>> entries_of_xread(const redisReply* r) {
    std::vector<stream_entry> out;
    if (r == nullptr || r->type == REDIS_REPLY_NIL)
        return out;
    if (r->type != REDIS_REPLY_ARRAY)
        return unexpected(shape("XREADGROUP did not answer an array"));
    for (std::size_t i = 0; i < r->elements; ++i) {
        const redisReply* s = r->element[i];
        if (s == nullptr || s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            !is_text(s->element[0]))
            return unexpected(shape("a stream is not [key, entries]"));
        TRIB_TRY(append_entries(s->element[1],
                                std::string_view(s->element[0]->str, s->element[0]->len), out));
    }
    return out;
}

result<std::vector<stream_entry>> entries_of_xautoclaim(const redisReply* r, std::string_view key,
                                                        std::string* next) {
    std::vector<stream_entry> out;
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 2 || !is_text(r->element[0]))
        return unexpected(shape("XAUTOCLAIM did not answer [cursor, entries, ...]"));
    if (next != nullptr)
        *next = std::string(r->element[0]->str, r->element[0]->len);
    TRIB_TRY(append_entries(r->element[1], key, out));
    return out;
}

std::optional<std::uint64_t> entry_id_millis(std::string_view id) {
    auto dash = id.find('-');
    if (dash == std::string_view::npos)
        return std::nullopt;
    if (!parse_u64(id.substr(dash + 1)))
        return std::nullopt;
    return parse_u64(id.substr(0, dash));
}

message message_of(const entry_layout& l, const stream_entry& e, message_batch& b) {
    message m;
    const std::pair<std::string, std::string>* payload = nullptr;
    for (const auto& f : e.fields) {
        if (f.first == l.payload_field) {
            payload = &f;
            break;
        }
    }
    if (payload != nullptr) {
        m.payload = b.own(payload->second);
    } else {
        std::string json = "{";
        for (std::size_t i = 0; i < e.fields.size(); ++i) {
            if (i != 0)
                json += ',';
            append_json_string(json, e.fields[i].first);
            json += ':';
            append_json_string(json, e.fields[i].second);
        }
        json += '}';
        m.payload = b.own(std::move(json));
    }
    m.headers.push_back({"redis_key", value_kind::string, e.key});
    m.headers.push_back({"redis_id", value_kind::string, e.id});
    if (l.fields_as_headers && payload != nullptr) {
        // Iggy has no empty header values and one value per key: an empty field (or name) is left
        // out and a repeated field name keeps its first value. Names or values over 255 bytes stay,
        // and the runtime sends such a message to the error policy (as for any source).
        for (const auto& f : e.fields) {
            if (&f == payload || f.first.empty() || f.second.empty() ||
                m.find_header(f.first) != nullptr)
                continue;
            m.headers.push_back(
                {f.first, valid_utf8(f.second) ? value_kind::string : value_kind::raw, f.second});
        }
    }
    message_id_builder ids("redis");
    ids.add_u64(static_cast<std::uint64_t>(l.database)).add(e.key).add(e.id);
    m.id = ids.finish();
    if (auto ms = entry_id_millis(e.id); ms && *ms < (1ull << 53) / 1000)
        m.origin_timestamp_us = *ms * 1000;
    return m;
}

}  // namespace trib::connectors::redis
