#include "connectors/postgres/sink_encoder.h"

#include <algorithm>
#include <cstdio>

#include "core/base64.h"
#include "core/header_json.h"
#include "core/hex.h"

namespace trib::connectors::postgres {

namespace {

std::string render_headers_json(const std::vector<header>& headers) {
    std::string out;
    append_headers_json(out, headers);
    return out;
}

}  // namespace

bool row_encoder::append_binary() const {
    return o.method == write_method::insert || o.copy == copy_format::binary;
}

void row_encoder::encode_append(const sink_batch& b, batch_plan& plan) {
    std::vector<std::size_t> cols(append_cols.size());
    for (std::size_t i = 0; i < cols.size(); ++i)
        cols[i] = i;
    bool bin = append_binary();
    row_group& g = plan.group(row_group::kind::upsert, cols, bin);
    const auto& msgs = b.messages->messages;
    g.msg.reserve(msgs.size());
    g.alive.reserve(msgs.size());
    g.cells.reserve(msgs.size() * cols.size());
    g.data.reserve(b.messages->payload_bytes() +
                   msgs.size() * (64 + b.stream.size() + b.topic.size()));
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        const message& m = msgs[i];
        g.begin_row(static_cast<std::uint32_t>(i));
        for (const auto& ac : append_cols) {
            if (bin)
                append_binary_cell(g, ac, m, b);
            else
                append_text_cell(g, ac, m, b);
        }
    }
}

void row_encoder::append_binary_cell(row_group& g, const append_column& ac, const message& m,
                                     const sink_batch& b) {
    std::string& d = g.data;
    std::size_t st = g.begin_cell();
    auto timestamp = [&](std::uint64_t us) {
        if (ac.oid == oid_int8)
            binary::put64(d, us);
        else
            binary::put64(d, static_cast<std::uint64_t>(binary::pg_timestamp(us)));
    };
    switch (ac.what) {
        case acol::id:
            if (ac.oid == oid_numeric)
                binary::numeric_u128(d, m.id.hi, m.id.lo);
            else if (ac.oid == oid_uuid) {
                binary::put64(d, m.id.hi);
                binary::put64(d, m.id.lo);
            } else
                d += u128_to_decimal(m.id.hi, m.id.lo);
            break;
        case acol::offset:
            if (ac.oid == oid_int8)
                binary::put64(d, m.offset);
            else if (ac.oid == oid_numeric)
                binary::numeric_u128(d, 0, m.offset);
            else
                d += std::to_string(m.offset);
            break;
        case acol::timestamp:
            timestamp(m.timestamp_us);
            break;
        case acol::origin_ts:
            if (m.origin_timestamp_us == 0) {
                g.null();
                return;
            }
            timestamp(m.origin_timestamp_us);
            break;
        case acol::stream:
            d.append(b.stream);
            break;
        case acol::topic:
            d.append(b.topic);
            break;
        case acol::partition:
            if (ac.oid == oid_int8)
                binary::put64(d, b.partition);
            else
                binary::put32(d, b.partition);
            break;
        case acol::checksum:
            // The pipeline's message does not carry Iggy's frame checksum.
            g.null();
            return;
        case acol::headers:
            if (m.headers.empty()) {
                g.null();
                return;
            }
            if (ac.oid == oid_jsonb)
                d.push_back('\1');
            append_headers_json(d, m.headers);
            break;
        case acol::payload:
            if (ac.oid == oid_jsonb)
                d.push_back('\1');
            d.append(m.payload);
            break;
    }
    g.end_cell(st);
}

void row_encoder::append_text_cell(row_group& g, const append_column& ac, const message& m,
                                   const sink_batch& b) {
    auto ts = [&](std::uint64_t us) {
        return ac.oid == oid_int8 ? std::to_string(us) : iso_timestamp(us);
    };
    switch (ac.what) {
        case acol::id:
            if (ac.oid == oid_uuid) {
                char buf[40];
                std::snprintf(buf, sizeof buf, "%016llx%016llx",
                              static_cast<unsigned long long>(m.id.hi),
                              static_cast<unsigned long long>(m.id.lo));
                g.text(buf);
            } else {
                g.text(u128_to_decimal(m.id.hi, m.id.lo));
            }
            return;
        case acol::offset:
            g.text(std::to_string(m.offset));
            return;
        case acol::timestamp:
            g.text(ts(m.timestamp_us));
            return;
        case acol::origin_ts:
            if (m.origin_timestamp_us == 0)
                g.null();
            else
                g.text(ts(m.origin_timestamp_us));
            return;
        case acol::stream:
            g.text(b.stream);
            return;
        case acol::topic:
            g.text(b.topic);
            return;
        case acol::partition:
            g.text(std::to_string(b.partition));
            return;
        case acol::checksum:
            g.null();
            return;
        case acol::headers:
            if (m.headers.empty())
                g.null();
            else
                g.text(render_headers_json(m.headers));
            return;
        case acol::payload:
            if (ac.oid == oid_bytea)
                g.text("\\x" + hex_encode(m.payload));
            else
                g.text(m.payload);
            return;
    }
}

// One JSON value as the text input of a column; false with `why` if it cannot be.
bool row_encoder::value_text(const json::node& n, const column_info& col, std::string& out,
                             std::string& why) {
    out.clear();
    if (col.oid == oid_json || col.oid == oid_jsonb) {
        doc.write(n, out);
        return true;
    }
    switch (n.k) {
        case json::kind::null:
            return true;  // the caller writes NULL
        case json::kind::boolean:
            out = n.b ? "true" : "false";
            return true;
        case json::kind::number:
            out.assign(n.text);
            return true;
        case json::kind::string:
            if (col.oid == oid_bytea) {
                if (n.text.substr(0, 2) == "\\x") {
                    out.assign(n.text);
                    return true;
                }
                std::string raw;
                if (!decode_base64(n.text, raw)) {
                    why = "column " + col.name + " is bytea and the value is not base64";
                    return false;
                }
                out = "\\x" + hex_encode(raw);
                return true;
            }
            if (n.text.find('\0') != std::string_view::npos) {
                why = "column " + col.name + ": text cannot hold a NUL character";
                return false;
            }
            out.assign(n.text);
            return true;
        case json::kind::array:
            if (col.is_array) {
                json_array_literal(doc, n, out);
                return true;
            }
            doc.write(n, out);
            return true;
        case json::kind::object:
            doc.write(n, out);
            return true;
    }
    return true;
}

// Adds one row of `obj`'s fields (or only the key fields) to a group; the message is
// rejected with the reason if a value does not fit. Returns the key text when keyed.
bool row_encoder::add_row(batch_plan& plan, row_group::kind k, const json::node& obj,
                          std::uint32_t mi, const message& m, bool keys_only,
                          std::string& key_out) {
    std::vector<std::pair<std::size_t, const json::node*>> fields;
    std::string why;
    if (obj.k != json::kind::object) {
        plan.rejected.push_back(
            {mi, error(errc::invalid_argument, "message is not a JSON object (mapped mode)")});
        return false;
    }
    if (keys_only) {
        for (auto kc : key_cols) {
            const json::node* n = doc.member(obj, columns[kc].name);
            if (auto mp = std::find_if(mapping.begin(), mapping.end(),
                                       [&](const auto& p) { return p.first == kc; });
                mp != mapping.end())
                n = doc.path(obj, mp->second);
            fields.emplace_back(kc, n);
        }
    } else if (!mapping.empty()) {
        for (const auto& [ci, path] : mapping) {
            if (const json::node* n = doc.path(obj, path))
                fields.emplace_back(ci, n);
        }
    } else {
        for (std::int32_t i = obj.first; i >= 0; i = doc.at(i).next) {
            const json::node& f = doc.at(i);
            auto it = column_by_name.find(std::string(f.key));
            if (it == column_by_name.end()) {
                if (o.strict_fields) {
                    plan.rejected.push_back(
                        {mi, error(errc::invalid_argument, "field '" + std::string(f.key) +
                                                               "' names no column of " +
                                                               table.text())});
                    return false;
                }
                continue;
            }
            fields.emplace_back(it->second, &f);
        }
    }
    if (!keys_only && message_id_col) {
        fields.erase(std::remove_if(fields.begin(), fields.end(),
                                    [&](const auto& f) { return f.first == *message_id_col; }),
                     fields.end());
        fields.emplace_back(*message_id_col, nullptr);
    }
    std::sort(fields.begin(), fields.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    fields.erase(std::unique(fields.begin(), fields.end(),
                             [](const auto& a, const auto& b) { return a.first == b.first; }),
                 fields.end());
    if (keyed()) {
        for (auto kc : key_cols) {
            auto f = std::find_if(fields.begin(), fields.end(),
                                  [&](const auto& p) { return p.first == kc; });
            if (f == fields.end() || f->second == nullptr || f->second->k == json::kind::null) {
                plan.rejected.push_back(
                    {mi, error(errc::invalid_argument,
                               "key column '" + columns[kc].name + "' is missing or null")});
                return false;
            }
        }
    }
    if (fields.empty()) {
        plan.rejected.push_back(
            {mi, error(errc::invalid_argument,
                       "no field of the message names a column of " + table.text())});
        return false;
    }
    std::vector<std::size_t> cols;
    cols.reserve(fields.size());
    for (const auto& f : fields)
        cols.push_back(f.first);
    row_group& g = plan.group(k, cols, false);
    std::size_t data0 = g.data.size();
    std::size_t cells0 = g.cells.size();
    g.begin_row(mi);
    for (const auto& [ci, n] : fields) {
        if (n == nullptr) {  // the message id column
            g.text(u128_to_decimal(m.id.hi, m.id.lo));
            continue;
        }
        if (n->k == json::kind::null) {
            g.null();
            continue;
        }
        if (!value_text(*n, columns[ci], scratch, why)) {
            g.drop_partial_row(data0, cells0);
            plan.rejected.push_back({mi, error(errc::invalid_argument, why)});
            return false;
        }
        g.text(scratch);
    }
    if (keyed()) {
        key_out.clear();
        std::size_t row = g.rows() - 1;
        for (auto kc : key_cols) {
            auto pos = static_cast<std::size_t>(std::find(g.cols.begin(), g.cols.end(), kc) -
                                                g.cols.begin());
            key_out += g.value(row, pos);
            key_out += '\x1f';
        }
        // A later change of the same row supersedes this one within the batch (one
        // statement cannot touch a row twice with ON CONFLICT DO UPDATE).
        std::size_t gi = plan.index_of(g);
        auto [it, inserted] = plan.last_by_key.try_emplace(key_out, gi, row);
        if (!inserted) {
            plan.groups[it->second.first].alive[it->second.second] = 0;
            it->second = {gi, row};
        }
    }
    return true;
}

void row_encoder::encode_mapped(const sink_batch& b, batch_plan& plan) {
    const auto& msgs = b.messages->messages;
    std::string key, before_key;
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        auto mi = static_cast<std::uint32_t>(i);
        const message& m = msgs[i];
        if (auto st = doc.parse(m.payload); !st) {
            plan.rejected.push_back({i, st.error()});
            continue;
        }
        const json::node* root = &doc.root();
        if (o.envelope == envelope_kind::none) {
            (void)add_row(plan, row_group::kind::upsert, *root, mi, m, false, key);
            continue;
        }
        // Debezium: {"before", "after", "op", ...}, or wrapped as {"schema", "payload"}.
        if (const json::node* p = doc.member(*root, "payload");
            p != nullptr && p->k == json::kind::object && doc.member(*root, "schema")) {
            root = p;
        }
        const json::node* op = doc.member(*root, "op");
        if (op == nullptr || op->k != json::kind::string) {
            plan.rejected.push_back(
                {i, error(errc::invalid_argument, "change envelope without \"op\"")});
            continue;
        }
        const json::node* before = doc.member(*root, "before");
        const json::node* after = doc.member(*root, "after");
        std::string_view o_ = op->text;
        if (o_ == "c" || o_ == "r" || o_ == "u") {
            if (after == nullptr || after->k != json::kind::object) {
                plan.rejected.push_back(
                    {i, error(errc::invalid_argument, "change without \"after\" image")});
                continue;
            }
            if (o_ == "u" && before != nullptr && before->k == json::kind::object) {
                // A key change: the old row goes away, the new one is upserted.
                bool key_changed = false;
                for (auto kc : key_cols) {
                    const json::node* a = doc.member(*after, columns[kc].name);
                    const json::node* bn = doc.member(*before, columns[kc].name);
                    if (bn == nullptr)
                        continue;  // the before image does not carry the key: unchanged
                    std::string sa, sb, why;
                    if (a != nullptr)
                        (void)value_text(*a, columns[kc], sa, why);
                    (void)value_text(*bn, columns[kc], sb, why);
                    if (a == nullptr || sa != sb)
                        key_changed = true;
                }
                if (key_changed &&
                    !add_row(plan, row_group::kind::remove, *before, mi, m, true, before_key))
                    continue;
            }
            (void)add_row(plan, row_group::kind::upsert, *after, mi, m, false, key);
        } else if (o_ == "d") {
            if (before == nullptr || before->k != json::kind::object) {
                plan.rejected.push_back(
                    {i, error(errc::invalid_argument,
                              "delete without \"before\" image (REPLICA IDENTITY NOTHING?)")});
                continue;
            }
            (void)add_row(plan, row_group::kind::remove, *before, mi, m, true, key);
        } else if (o_ == "t") {
            for (auto& g : plan.groups)
                std::fill(g.alive.begin(), g.alive.end(), 0);
            plan.last_by_key.clear();
            plan.truncate = true;
        } else if (o_ == "m") {
            continue;  // a logical decoding message: nothing to apply
        } else {
            plan.rejected.push_back(
                {i, error(errc::invalid_argument, "unknown op \"" + std::string(o_) + "\"")});
        }
    }
}

}  // namespace trib::connectors::postgres
