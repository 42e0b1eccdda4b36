// The CDC source's relations, keys and change events turned into messages (Debezium envelopes
// or Iggy's DatabaseRecord); state in cdc_impl.h.

#include <poll.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "connectors/postgres/cdc_impl.h"
#include "connectors/postgres/errors.h"
#include "connectors/postgres/json.h"
#include "connectors/postgres/pg.h"
#include "connectors/postgres/pgoutput.h"
#include "connectors/postgres/source.h"
#include "connectors/postgres/source_common.h"
#include "connectors/postgres/state.h"
#include "core/json_text.h"
#include "core/parse_number.h"

namespace trib::connectors::postgres {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
using namespace cdc_detail;

// ---- relations and keys ------------------------------------------------------------------

std::vector<std::string> cdc_source::impl::primary_key(std::uint32_t oid,
                                                       const std::string& qualified) {
    std::vector<std::string> out;
    if (!connect_meta())
        return out;
    std::string oid_text = std::to_string(oid);
    auto r = oid != 0 ? meta.exec_params(
                            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                            "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = $1::oid "
                            "AND i.indisprimary ORDER BY array_position(i.indkey::int2[], "
                            "a.attnum)",
                            {oid_text.c_str()})
                      : meta.exec_params(
                            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = "
                            "i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = "
                            "$1::regclass AND i.indisprimary ORDER BY "
                            "array_position(i.indkey::int2[], a.attnum)",
                            {qualified.c_str()});
    if (!r) {
        if (is_connection_error(r.error()))
            meta = db_conn();
        return out;
    }
    for (int i = 0; i < r->rows(); ++i)
        out.push_back(r->str(i, 0));
    return out;
}

void cdc_source::impl::set_keys(rel_info& rel, const std::vector<std::string>& pk) {
    rel.key.clear();
    for (const auto& k : pk) {
        for (std::size_t i = 0; i < rel.columns.size(); ++i) {
            if (rel.columns[i].name == k)
                rel.key.push_back(i);
        }
    }
    if (rel.key.empty() && rel.replica_identity != 'f') {
        // No primary key: the replica identity index columns (REPLICA IDENTITY USING INDEX).
        for (std::size_t i = 0; i < rel.columns.size(); ++i) {
            if (rel.columns[i].key)
                rel.key.push_back(i);
        }
    }
}

// Columns and key of a table by name (snapshot, wal2json), cached.
result<const rel_info*> cdc_source::impl::rel_by_name(const std::string& schema,
                                                      const std::string& name) {
    std::string qn = quote_ident(schema) + "." + quote_ident(name);
    auto it = rels_by_name.find(qn);
    if (it != rels_by_name.end())
        return &it->second;
    TRIB_TRY(connect_meta());
    auto r = meta.exec_params(
        "SELECT a.attname, a.atttypid, c.relreplident FROM pg_attribute a JOIN pg_class c ON "
        "c.oid = a.attrelid WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT "
        "a.attisdropped ORDER BY a.attnum",
        {qn.c_str()});
    if (!r)
        return unexpected(r.error());
    rel_info rel;
    rel.schema = schema;
    rel.name = name;
    for (int i = 0; i < r->rows(); ++i) {
        pgoutput::column c;
        c.name = r->str(i, 0);
        auto oid = parse_u32(r->value(i, 1));
        if (!oid) {
            return fail(errc::protocol_error, "type oid of column " + c.name + " of " + qn +
                                                  " is not a number: " + r->str(i, 1));
        }
        c.type_oid = *oid;
        rel.columns.push_back(std::move(c));
        rel.replica_identity = r->value(i, 2).empty() ? 'd' : r->value(i, 2)[0];
    }
    set_keys(rel, primary_key(0, qn));
    auto [ins, _] = rels_by_name.emplace(qn, std::move(rel));
    return &ins->second;
}

std::string cdc_source::impl::partition_key(const rel_info& rel,
                                            const std::vector<std::string>& keyvals) const {
    // Every change of one row lands in one partition, so its order survives partitioning.
    std::string k = rel.schema + "." + rel.name;
    for (const auto& v : keyvals) {
        k += '\x1f';
        k += v;
    }
    return k;
}

// ---- events to messages ------------------------------------------------------------------

void cdc_source::impl::emit(message_batch& batch, const change_event& ev, message_id id,
                            bool snapshot) {
    std::string out;
    out.reserve(ev.before.size() + ev.after.size() + 256);
    const std::uint64_t now = unix_now_us();
    if (o.format == cdc_format::record) {
        // Iggy's DatabaseRecord.
        const char* op_type = ev.op == 'c'   ? "INSERT"
                              : ev.op == 'u' ? "UPDATE"
                              : ev.op == 'd' ? "DELETE"
                              : ev.op == 't' ? "TRUNCATE"
                                             : "SELECT";
        out += "{\"table_name\":";
        append_json_string(out, ev.rel->name);
        out += ",\"operation_type\":\"";
        out += op_type;
        out += "\",\"timestamp\":";
        append_json_string(out, detail::rfc3339(commit_time_us ? commit_time_us : now));
        out += ",\"data\":";
        const std::string& data = ev.op == 'd' ? ev.before : ev.after;
        out += data.empty() ? "null" : data;
        out += ",\"old_data\":";
        out += (ev.op == 'u' && !ev.before.empty()) ? ev.before : "null";
        out += '}';
    } else {
        out += "{\"before\":";
        out += ev.before.empty() ? "null" : ev.before;
        out += ",\"after\":";
        out += ev.after.empty() ? "null" : ev.after;
        out += ",\"source\":{\"version\":\"" TRIB_VERSION
               "\",\"connector\":\"postgresql\","
               "\"name\":";
        append_json_string(out, server_name);
        out += ",\"ts_ms\":" + std::to_string((commit_time_us ? commit_time_us : now) / 1000);
        out += ",\"snapshot\":";
        out += snapshot ? "\"true\"" : "\"false\"";
        out += ",\"db\":";
        append_json_string(out, dbname);
        out += ",\"schema\":";
        append_json_string(out, ev.rel->schema);
        out += ",\"table\":";
        append_json_string(out, ev.rel->name);
        out += ",\"txId\":";
        out += snapshot ? "null" : std::to_string(xid);
        out += ",\"lsn\":" + std::to_string(ev.lsn);
        out += "},\"op\":\"";
        out += ev.op;
        out += "\",\"ts_ms\":" + std::to_string(now / 1000) + "}";
    }
    if (!snapshot)
        txn_had_messages = true;
    message m;
    m.id = id;
    m.key = ev.key;
    m.origin_timestamp_us = commit_time_us;
    m.payload = batch.own(std::move(out));
    batch.messages.push_back(std::move(m));
}

// A pgoutput tuple as a JSON object; unchanged TOAST values come from `fallback` (the old
// row, with REPLICA IDENTITY FULL) or are left out.
std::string cdc_source::impl::tuple_json(const rel_info& rel, const pgoutput::tuple& t,
                                         const pgoutput::tuple* fallback,
                                         std::vector<std::string>* keyvals) {
    std::string s = "{";
    bool first = true;
    for (std::size_t i = 0; i < t.values.size() && i < rel.columns.size(); ++i) {
        const pgoutput::value* v = &t.values[i];
        if (v->kind == 'u' && fallback != nullptr && i < fallback->values.size() &&
            fallback->values[i].kind == 't')
            v = &fallback->values[i];
        if (v->kind == 'u')
            continue;
        if (!first)
            s += ',';
        first = false;
        append_json_string(s, rel.columns[i].name);
        s += ':';
        if (v->kind == 'n')
            s += "null";
        else
            json::append_pg_value(s, rel.columns[i].type_oid, v->data);
    }
    s += '}';
    if (keyvals != nullptr) {
        keyvals->clear();
        for (auto k : rel.key) {
            if (k < t.values.size() && t.values[k].kind == 't')
                keyvals->emplace_back(t.values[k].data);
            else
                keyvals->emplace_back();
        }
    }
    return s;
}

// Handles one pgoutput message; appends messages for changes.
status cdc_source::impl::on_pgoutput(const pgoutput::xlog_data& x, message_batch& batch,
                                     std::uint64_t& batch_end, std::uint64_t& batch_commit) {
    TRIB_ASSIGN_OR_RETURN(auto m, pgoutput::decode(x.payload));
    switch (m.type) {
        case 'B':
            begin_txn(m.begin.final_lsn, m.begin.xid,
                      static_cast<std::uint64_t>(m.begin.commit_time + pgoutput::pg_epoch_us));
            break;
        case 'C':
            end_txn(m.commit.commit_lsn, m.commit.end_lsn, batch_end, batch_commit);
            break;
        case 'R': {
            rel_info rel;
            rel.oid = m.relation.oid;
            rel.schema = m.relation.schema;
            rel.name = m.relation.name;
            rel.replica_identity = m.relation.replica_identity;
            rel.columns = m.relation.columns;
            set_keys(rel, primary_key(rel.oid, ""));
            rels[rel.oid] = std::move(rel);
            break;
        }
        case 'I':
        case 'U':
        case 'D': {
            if (skip_txn)
                break;
            const char* what = m.type == 'I' ? "INSERT" : m.type == 'U' ? "UPDATE" : "DELETE";
            if (!captures(what))
                break;
            auto it = rels.find(m.change.relation_oid);
            if (it == rels.end())
                return fail(errc::protocol_error, "change for an unknown relation " +
                                                      std::to_string(m.change.relation_oid));
            const rel_info& rel = it->second;
            change_event ev;
            ev.rel = &rel;
            ev.lsn = x.data_start;
            std::vector<std::string> keyvals;
            const pgoutput::tuple* old_t = m.change.old_kind ? &m.change.old_tuple : nullptr;
            if (m.type == 'I') {
                ev.op = 'c';
                ev.after = tuple_json(rel, m.change.new_tuple, nullptr, &keyvals);
            } else if (m.type == 'U') {
                ev.op = 'u';
                ev.after = tuple_json(rel, m.change.new_tuple, old_t, &keyvals);
                if (old_t != nullptr)
                    ev.before = tuple_json(rel, *old_t, nullptr, nullptr);
            } else {
                ev.op = 'd';
                ev.before = tuple_json(rel, *old_t, nullptr, &keyvals);
            }
            ev.key = partition_key(rel, keyvals);
            emit(batch, ev, message_id{++ordinal, x.data_start}, false);
            break;
        }
        case 'T': {
            if (skip_txn || !captures("TRUNCATE"))
                break;
            for (auto oid : m.truncate.relation_oids) {
                auto it = rels.find(oid);
                if (it == rels.end())
                    continue;
                change_event ev;
                ev.op = 't';
                ev.rel = &it->second;
                ev.lsn = x.data_start;
                ev.key = partition_key(it->second, {});
                emit(batch, ev, message_id{++ordinal, x.data_start}, false);
            }
            break;
        }
        default:
            break;  // Origin, Type, Message: nothing to deliver
    }
    return ok();
}

void cdc_source::impl::begin_txn(std::uint64_t final_lsn, std::uint32_t txid,
                                 std::uint64_t commit_us) {
    in_txn = true;
    xid = txid;
    commit_time_us = commit_us;
    txn_final_lsn = final_lsn;
    ordinal = 0;
    txn_had_messages = false;
    // Transactions already in Iggy (replayed after a reconnect or a restart) are skipped.
    std::uint64_t done = std::max(emitted_commit, state_commit);
    skip_txn = final_lsn != 0 && final_lsn <= done;
    if (skip_txn)
        st.skipped_txns++;
}

void cdc_source::impl::end_txn(std::uint64_t commit_lsn, std::uint64_t end_lsn,
                               std::uint64_t& batch_end, std::uint64_t& batch_commit) {
    in_txn = false;
    consumed = std::max(consumed, end_lsn);
    if (skip_txn) {
        skip_txn = false;
        return;
    }
    if (!txn_had_messages)
        return;  // nothing of it was delivered: `consumed` covers it when idle
    batch_end = end_lsn;
    batch_commit = commit_lsn != 0 ? commit_lsn : txn_final_lsn;
}

// wal2json format-version 2: one JSON document per message.
status cdc_source::impl::on_wal2json(const pgoutput::xlog_data& x, message_batch& batch,
                                     std::uint64_t& batch_end, std::uint64_t& batch_commit) {
    json::document d;
    TRIB_TRY(d.parse(x.payload));
    const json::node& root = d.root();
    const json::node* action = d.member(root, "action");
    if (action == nullptr || action->k != json::kind::string)
        return fail(errc::protocol_error, "wal2json message without action");
    std::string_view a = action->text;
    auto num = [&](const char* name) -> std::uint64_t {
        const json::node* n = d.member(root, name);
        if (n == nullptr)
            return 0;
        if (n->k == json::kind::number)
            return parse_u64(n->text).value_or(0);
        if (n->k == json::kind::string)
            return parse_lsn(n->text).value_or(0);
        return 0;
    };
    if (a == "B") {
        // format-version 2 with include-lsn: "lsn" is the commit record, "nextlsn" its end.
        const json::node* ts = d.member(root, "timestamp");
        std::uint64_t us =
            ts && ts->k == json::kind::string ? parse_pg_timestamp(ts->text) : unix_now_us();
        begin_txn(num("lsn"), static_cast<std::uint32_t>(num("xid")), us);
        return ok();
    }
    if (a == "C") {
        std::uint64_t end = num("nextlsn");
        end_txn(num("lsn"), end != 0 ? end : x.data_start, batch_end, batch_commit);
        return ok();
    }
    if (a == "M" || skip_txn)
        return ok();
    const char* what = a == "I"   ? "INSERT"
                       : a == "U" ? "UPDATE"
                       : a == "D" ? "DELETE"
                       : a == "T" ? "TRUNCATE"
                                  : nullptr;
    if (what == nullptr || !captures(what))
        return ok();
    const json::node* schema = d.member(root, "schema");
    const json::node* table = d.member(root, "table");
    if (schema == nullptr || table == nullptr)
        return fail(errc::protocol_error, "wal2json change without schema/table");
    TRIB_ASSIGN_OR_RETURN(const rel_info* rel,
                          rel_by_name(std::string(schema->text), std::string(table->text)));
    change_event ev;
    ev.rel = rel;
    ev.lsn = x.data_start;
    std::vector<std::string> keyvals(rel->key.size());
    auto object = [&](const json::node* cols, bool take_keys) {
        std::string s = "{";
        bool first = true;
        if (cols == nullptr || cols->k != json::kind::array)
            return std::string();
        for (std::int32_t i = cols->first; i >= 0; i = d.at(i).next) {
            const json::node& c = d.at(i);
            const json::node* name = d.member(c, "name");
            const json::node* value = d.member(c, "value");
            const json::node* oid = d.member(c, "typeoid");
            if (name == nullptr || value == nullptr)
                continue;
            if (!first)
                s += ',';
            first = false;
            append_json_string(s, name->text);
            s += ':';
            std::uint32_t type =
                oid && oid->k == json::kind::number ? parse_u32(oid->text).value_or(0) : 0;
            if (value->k == json::kind::string && type != 0)
                json::append_pg_value(s, type, value->text);
            else
                d.write(*value, s);
            if (take_keys) {
                for (std::size_t k = 0; k < rel->key.size(); ++k) {
                    if (rel->columns[rel->key[k]].name == name->text) {
                        std::string v;
                        if (value->k == json::kind::string)
                            v.assign(value->text);
                        else
                            d.write(*value, v);
                        keyvals[k] = v;
                    }
                }
            }
        }
        return s + "}";
    };
    if (a == "I") {
        ev.op = 'c';
        ev.after = object(d.member(root, "columns"), true);
    } else if (a == "U") {
        ev.op = 'u';
        ev.after = object(d.member(root, "columns"), true);
        ev.before = object(d.member(root, "identity"), false);
    } else if (a == "D") {
        ev.op = 'd';
        ev.before = object(d.member(root, "identity"), true);
    } else {
        ev.op = 't';
    }
    ev.key = partition_key(*rel, ev.op == 't' ? std::vector<std::string>{} : keyvals);
    emit(batch, ev, message_id{++ordinal, x.data_start}, false);
    return ok();
}

}  // namespace trib::connectors::postgres
