#include "connectors/iceberg/catalog.h"

#include <rapidjson/document.h>

#include <charconv>

#include "core/json_parse.h"
#include "core/json_text.h"
#include "core/url_encode.h"

namespace trib::connectors::iceberg {

namespace {

using json = rapidjson::Value;

error bad(std::string what) {
    return error(errc::invalid_argument, "iceberg catalog answer: " + std::move(what));
}

const json* member(const json& o, const char* name) {
    if (!o.IsObject())
        return nullptr;
    auto it = o.FindMember(name);
    return it == o.MemberEnd() ? nullptr : &it->value;
}

result<std::string> str_member(const json& o, const char* name) {
    const json* v = member(o, name);
    if (!v || !v->IsString())
        return unexpected(bad(std::string("\"") + name + "\" is not a string"));
    return std::string(v->GetString(), v->GetStringLength());
}

result<std::int64_t> int_member(const json& o, const char* name) {
    const json* v = member(o, name);
    if (!v || !v->IsInt64())
        return unexpected(bad(std::string("\"") + name + "\" is not an integer"));
    return v->GetInt64();
}

std::optional<std::int64_t> opt_int_member(const json& o, const char* name) {
    const json* v = member(o, name);
    if (!v || !v->IsInt64())
        return std::nullopt;
    return v->GetInt64();
}

result<std::int32_t> int32_member(const json& o, const char* name) {
    TRIB_ASSIGN_OR_RETURN(auto v, int_member(o, name));
    if (v < INT32_MIN || v > INT32_MAX)
        return unexpected(bad(std::string("\"") + name + "\" is out of range"));
    return static_cast<std::int32_t>(v);
}

result<snapshot> read_snapshot(const json& s) {
    snapshot out;
    TRIB_ASSIGN_OR_RETURN(out.id, int_member(s, "snapshot-id"));
    out.parent = opt_int_member(s, "parent-snapshot-id");
    out.sequence = opt_int_member(s, "sequence-number").value_or(0);
    TRIB_ASSIGN_OR_RETURN(out.manifest_list, str_member(s, "manifest-list"));
    if (const json* sum = member(s, "summary"); sum && sum->IsObject()) {
        for (auto it = sum->MemberBegin(); it != sum->MemberEnd(); ++it) {
            if (!it->value.IsString())
                continue;
            out.summary.emplace_back(
                std::string(it->name.GetString(), it->name.GetStringLength()),
                std::string(it->value.GetString(), it->value.GetStringLength()));
        }
    }
    return out;
}

}  // namespace

std::optional<std::string_view> snapshot::summary_value(std::string_view key) const {
    for (const auto& [k, v] : summary) {
        if (k == key)
            return std::string_view(v);
    }
    return std::nullopt;
}

const snapshot* table_meta::find(std::int64_t id) const {
    for (const auto& s : snapshots) {
        if (s.id == id)
            return &s;
    }
    return nullptr;
}

result<table_meta> parse_load_table(std::string_view body) {
    rapidjson::Document d;
    if (auto st = parse_json_document(body, d); !st)
        return unexpected(bad(st.error().message()));
    if (!d.IsObject())
        return unexpected(bad("not a JSON object"));
    table_meta t;
    if (const json* ml = member(d, "metadata-location"); ml && ml->IsString())
        t.metadata_location.assign(ml->GetString(), ml->GetStringLength());
    const json* m = member(d, "metadata");
    if (!m || !m->IsObject())
        return unexpected(bad("no \"metadata\" object"));
    TRIB_ASSIGN_OR_RETURN(auto fv, int_member(*m, "format-version"));
    if (fv < 1 || fv > 3)
        return unexpected(bad("format-version " + std::to_string(fv) + " is not 1, 2 or 3"));
    t.format_version = static_cast<int>(fv);
    TRIB_ASSIGN_OR_RETURN(t.uuid, str_member(*m, "table-uuid"));
    TRIB_ASSIGN_OR_RETURN(t.location, str_member(*m, "location"));
    t.last_sequence = opt_int_member(*m, "last-sequence-number").value_or(0);

    // The current schema's top-level fields.
    TRIB_ASSIGN_OR_RETURN(t.schema_id, int32_member(*m, "current-schema-id"));
    const json* schemas = member(*m, "schemas");
    if (!schemas || !schemas->IsArray())
        return unexpected(bad("no \"schemas\" list"));
    bool found = false;
    for (const auto& s : schemas->GetArray()) {
        auto id = opt_int_member(s, "schema-id");
        if (!id || *id != t.schema_id)
            continue;
        const json* fields = member(s, "fields");
        if (!fields || !fields->IsArray())
            return unexpected(bad("the current schema has no \"fields\" list"));
        for (const auto& f : fields->GetArray()) {
            field out;
            TRIB_ASSIGN_OR_RETURN(out.id, int32_member(f, "id"));
            TRIB_ASSIGN_OR_RETURN(out.name, str_member(f, "name"));
            const json* ty = member(f, "type");
            if (ty && ty->IsString())
                out.type.assign(ty->GetString(), ty->GetStringLength());
            else if (ty && ty->IsObject())
                out.type = str_member(*ty, "type").value_or("struct");
            else
                return unexpected(bad("field \"" + out.name + "\" has no type"));
            const json* req = member(f, "required");
            out.required = req && req->IsBool() && req->GetBool();
            t.fields.push_back(std::move(out));
        }
        found = true;
        break;
    }
    if (!found)
        return unexpected(
            bad("no schema with the current-schema-id " + std::to_string(t.schema_id)));

    // The default partition spec.
    t.spec_id = static_cast<std::int32_t>(opt_int_member(*m, "default-spec-id").value_or(0));
    if (const json* specs = member(*m, "partition-specs"); specs && specs->IsArray()) {
        for (const auto& s : specs->GetArray()) {
            auto id = opt_int_member(s, "spec-id");
            const json* f = member(s, "fields");
            if (id && *id == t.spec_id && f && f->IsArray())
                t.partitioned = !f->GetArray().Empty();
        }
    }

    // Snapshots and the main branch.
    if (const json* snaps = member(*m, "snapshots"); snaps && snaps->IsArray()) {
        for (const auto& s : snaps->GetArray()) {
            TRIB_ASSIGN_OR_RETURN(auto sn, read_snapshot(s));
            t.snapshots.push_back(std::move(sn));
        }
    }
    if (const json* refs = member(*m, "refs"); refs && refs->IsObject()) {
        if (const json* main = member(*refs, "main"))
            t.main = opt_int_member(*main, "snapshot-id");
    }
    if (!t.main) {
        auto cur = opt_int_member(*m, "current-snapshot-id");
        if (cur && *cur >= 0)
            t.main = cur;
    }
    if (t.main && !t.find(*t.main))
        return unexpected(bad("the main branch names snapshot " + std::to_string(*t.main) +
                              ", which is not in \"snapshots\""));
    return t;
}

result<std::string> parse_config_prefix(std::string_view body) {
    rapidjson::Document d;
    if (auto st = parse_json_document(body, d); !st)
        return unexpected(bad(st.error().message()));
    if (!d.IsObject())
        return unexpected(bad("config: not a JSON object"));
    for (const char* part : {"overrides", "defaults"}) {
        const json* o = member(d, part);
        if (!o)
            continue;
        const json* p = member(*o, "prefix");
        if (p && p->IsString())
            return std::string(p->GetString(), p->GetStringLength());
    }
    return std::string();
}

std::string error_message(std::string_view body) {
    rapidjson::Document d;
    if (parse_json_document(body, d) && d.IsObject()) {
        if (const json* e = member(d, "error")) {
            auto msg = str_member(*e, "message");
            auto type = str_member(*e, "type");
            if (msg)
                return type ? *type + ": " + *msg : *msg;
        }
    }
    return std::string(body.substr(0, 200));
}

std::string table_ident::text() const {
    std::string out;
    for (const auto& n : ns)
        out += n + ".";
    return out + name;
}

result<table_ident> parse_table_ident(std::string_view dotted) {
    table_ident t;
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        auto dot = dotted.find('.', start);
        auto part = dotted.substr(start, dot == std::string_view::npos ? dotted.npos : dot - start);
        if (part.empty())
            return fail(
                errc::invalid_argument,
                "table \"" + std::string(dotted) + "\": write it namespace.table (no empty parts)");
        parts.emplace_back(part);
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    if (parts.size() < 2)
        return fail(errc::invalid_argument,
                    "table \"" + std::string(dotted) + "\": write it namespace.table");
    t.name = parts.back();
    parts.pop_back();
    t.ns = std::move(parts);
    return t;
}

std::string path_segment(std::string_view s) {
    return percent_encode(s);
}

std::string namespace_path(const std::vector<std::string>& ns) {
    std::string out;
    for (std::size_t k = 0; k < ns.size(); ++k) {
        if (k)
            out += "%1F";
        out += path_segment(ns[k]);
    }
    return out;
}

std::string offset_property(std::string_view connector_key, std::string_view stream,
                            std::string_view topic, std::uint32_t partition) {
    std::string out = "tributary.offset.";
    out += connector_key;
    out += '/';
    out += stream;
    out += '/';
    out += topic;
    out += '/';
    out += std::to_string(partition);
    return out;
}

std::optional<std::uint64_t> committed_offset(const table_meta& t, std::string_view property) {
    std::optional<std::int64_t> id = t.main;
    // Bounded by the snapshot count: a cycle of parents cannot loop.
    for (std::size_t steps = 0; id && steps <= t.snapshots.size(); ++steps) {
        const snapshot* s = t.find(*id);
        if (!s)
            break;
        if (auto v = s->summary_value(property)) {
            std::uint64_t off = 0;
            auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), off);
            if (ec == std::errc() && p == v->data() + v->size())
                return off;
            return std::nullopt;
        }
        id = s->parent;
    }
    return std::nullopt;
}

namespace {

void ns_array(std::string& out, const std::vector<std::string>& ns) {
    out += '[';
    for (std::size_t k = 0; k < ns.size(); ++k) {
        if (k)
            out += ',';
        append_json_string(out, ns[k]);
    }
    out += ']';
}

}  // namespace

std::string create_namespace_body(const std::vector<std::string>& ns) {
    std::string out = R"({"namespace":)";
    ns_array(out, ns);
    out += '}';
    return out;
}

std::string schema_json(const std::vector<field>& fields, std::int32_t schema_id) {
    std::string out =
        R"({"type":"struct","schema-id":)" + std::to_string(schema_id) + R"(,"fields":[)";
    for (std::size_t k = 0; k < fields.size(); ++k) {
        if (k)
            out += ',';
        out += R"({"id":)" + std::to_string(fields[k].id) + R"(,"name":)";
        append_json_string(out, fields[k].name);
        out += R"(,"required":)";
        out += fields[k].required ? "true" : "false";
        out += R"(,"type":)";
        append_json_string(out, fields[k].type);
        out += '}';
    }
    out += "]}";
    return out;
}

std::string create_table_body(std::string_view name, const std::vector<field>& fields) {
    std::string out = R"({"name":)";
    append_json_string(out, name);
    out += R"(,"schema":)" + schema_json(fields, 0);
    out += R"(,"partition-spec":{"spec-id":0,"fields":[]},)";
    out += R"("write-order":{"order-id":0,"fields":[]},)";
    out += R"("properties":{"format-version":"2","write.format.default":"parquet"}})";
    return out;
}

std::string commit_body(const table_ident& t, std::string_view uuid, const new_snapshot& s) {
    std::string out = R"({"identifier":{"namespace":)";
    ns_array(out, t.ns);
    out += R"(,"name":)";
    append_json_string(out, t.name);
    out += R"(},"requirements":[{"type":"assert-table-uuid","uuid":)";
    append_json_string(out, uuid);
    out += R"(},{"type":"assert-ref-snapshot-id","ref":"main","snapshot-id":)";
    out += s.parent ? std::to_string(*s.parent) : "null";
    out += R"(}],"updates":[{"action":"add-snapshot","snapshot":{"snapshot-id":)";
    out += std::to_string(s.id);
    if (s.parent)
        out += R"(,"parent-snapshot-id":)" + std::to_string(*s.parent);
    out += R"(,"sequence-number":)" + std::to_string(s.sequence);
    out += R"(,"timestamp-ms":)" + std::to_string(s.timestamp_ms);
    out += R"(,"manifest-list":)";
    append_json_string(out, s.manifest_list);
    out += R"(,"schema-id":)" + std::to_string(s.schema_id);
    out += R"(,"summary":{"operation":"append")";
    for (const auto& [k, v] : s.summary) {
        out += ',';
        append_json_string(out, k);
        out += ':';
        append_json_string(out, v);
    }
    out += R"(}}},{"action":"set-snapshot-ref","ref-name":"main","type":"branch","snapshot-id":)";
    out += std::to_string(s.id);
    out += "}]}";
    return out;
}

}  // namespace trib::connectors::iceberg
