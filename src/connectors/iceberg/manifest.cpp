#include "connectors/iceberg/manifest.h"

#include <cstring>

#include "codecs/avro.h"
#include "codecs/value.h"
#include "config/node.h"
#include "config/problems.h"
#include "config/validate.h"
#include "core/json_text.h"

namespace trib::connectors::iceberg {

namespace {

// --- the Avro binary encoding (zig-zag varints, length-prefixed bytes) -----------------------

void put_long(std::string& out, std::int64_t v) {
    auto z = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
    while (z >= 0x80) {
        out += static_cast<char>((z & 0x7f) | 0x80);
        z >>= 7;
    }
    out += static_cast<char>(z);
}

void put_bytes(std::string& out, std::string_view s) {
    put_long(out, static_cast<std::int64_t>(s.size()));
    out += s;
}

void put_bool(std::string& out, bool b) {
    out += static_cast<char>(b ? 1 : 0);
}

// A union ["null", T]: branch 0 for null, 1 then the value.
void put_null(std::string& out) {
    put_long(out, 0);
}
void put_some(std::string& out) {
    put_long(out, 1);
}

void put_opt_bytes(std::string& out, const std::optional<std::string>& s) {
    if (!s) {
        put_null(out);
        return;
    }
    put_some(out);
    put_bytes(out, *s);
}

/// The object container file: header (magic, metadata, sync marker), one block of `count`
/// datums, uncompressed.
std::string container(const std::vector<std::pair<std::string, std::string>>& meta,
                      std::string_view sync, std::int64_t count, std::string_view datums) {
    std::string out("Obj\x01", 4);
    put_long(out, static_cast<std::int64_t>(meta.size()));
    for (const auto& [k, v] : meta) {
        put_bytes(out, k);
        put_bytes(out, v);
    }
    put_long(out, 0);
    out += sync;
    if (count > 0) {
        put_long(out, count);
        put_long(out, static_cast<std::int64_t>(datums.size()));
        out += datums;
        out += sync;
    }
    return out;
}

/// A deterministic 16-byte sync marker (the marker only has to be unlikely in the data).
std::string sync_marker(std::int64_t seed, std::uint64_t salt) {
    std::string s(16, '\0');
    std::uint64_t x = static_cast<std::uint64_t>(seed) ^ salt;
    for (int k = 0; k < 2; ++k) {
        // splitmix64
        x += 0x9e3779b97f4a7c15ull;
        std::uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        std::memcpy(s.data() + 8 * k, &z, 8);
    }
    return s;
}

std::string map_of(const char* name, int key_id, int value_id, const char* value_type,
                   int field_id) {
    std::string k = std::to_string(key_id), v = std::to_string(value_id);
    return std::string(R"({"name":")") + name +
           R"(","type":["null",{"type":"array","logicalType":"map","items":{"type":"record","name":"k)" +
           k + "_v" + v + R"(","fields":[{"name":"key","type":"int","field-id":)" + k +
           R"(},{"name":"value","type":")" + value_type + R"(","field-id":)" + v +
           R"(}]}}],"default":null,"field-id":)" + std::to_string(field_id) + "}";
}

const std::string& manifest_schema() {
    static const std::string s =
        std::string(R"({"type":"record","name":"manifest_entry","fields":[)") +
        R"({"name":"status","type":"int","field-id":0},)" +
        R"({"name":"snapshot_id","type":["null","long"],"default":null,"field-id":1},)" +
        R"({"name":"sequence_number","type":["null","long"],"default":null,"field-id":3},)" +
        R"({"name":"file_sequence_number","type":["null","long"],"default":null,"field-id":4},)" +
        R"({"name":"data_file","field-id":2,"type":{"type":"record","name":"r2","fields":[)" +
        R"({"name":"content","type":"int","field-id":134},)" +
        R"({"name":"file_path","type":"string","field-id":100},)" +
        R"({"name":"file_format","type":"string","field-id":101},)" +
        R"({"name":"partition","type":{"type":"record","name":"r102","fields":[]},"field-id":102},)" +
        R"({"name":"record_count","type":"long","field-id":103},)" +
        R"({"name":"file_size_in_bytes","type":"long","field-id":104},)" +
        map_of("column_sizes", 117, 118, "long", 108) + "," +
        map_of("value_counts", 119, 120, "long", 109) + "," +
        map_of("null_value_counts", 121, 122, "long", 110) + "," +
        map_of("nan_value_counts", 138, 139, "long", 137) + "," +
        map_of("lower_bounds", 126, 127, "bytes", 125) + "," +
        map_of("upper_bounds", 129, 130, "bytes", 128) + "," +
        R"({"name":"key_metadata","type":["null","bytes"],"default":null,"field-id":131},)" +
        R"({"name":"split_offsets","type":["null",{"type":"array","items":"long","element-id":133}],"default":null,"field-id":132},)" +
        R"({"name":"equality_ids","type":["null",{"type":"array","items":"int","element-id":136}],"default":null,"field-id":135},)" +
        R"({"name":"sort_order_id","type":["null","int"],"default":null,"field-id":140})" + "]}}]}";
    return s;
}

const std::string& manifest_list_schema() {
    static const std::string s =
        std::string(R"({"type":"record","name":"manifest_file","fields":[)") +
        R"({"name":"manifest_path","type":"string","field-id":500},)" +
        R"({"name":"manifest_length","type":"long","field-id":501},)" +
        R"({"name":"partition_spec_id","type":"int","field-id":502},)" +
        R"({"name":"content","type":"int","field-id":517},)" +
        R"({"name":"sequence_number","type":"long","field-id":515},)" +
        R"({"name":"min_sequence_number","type":"long","field-id":516},)" +
        R"({"name":"added_snapshot_id","type":"long","field-id":503},)" +
        R"({"name":"added_files_count","type":"int","field-id":504},)" +
        R"({"name":"existing_files_count","type":"int","field-id":505},)" +
        R"({"name":"deleted_files_count","type":"int","field-id":506},)" +
        R"({"name":"added_rows_count","type":"long","field-id":512},)" +
        R"({"name":"existing_rows_count","type":"long","field-id":513},)" +
        R"({"name":"deleted_rows_count","type":"long","field-id":514},)" +
        R"({"name":"partitions","type":["null",{"type":"array","element-id":508,"items":{"type":"record","name":"r508","fields":[)" +
        R"({"name":"contains_null","type":"boolean","field-id":509},)" +
        R"({"name":"contains_nan","type":["null","boolean"],"default":null,"field-id":518},)" +
        R"({"name":"lower_bound","type":["null","bytes"],"default":null,"field-id":510},)" +
        R"({"name":"upper_bound","type":["null","bytes"],"default":null,"field-id":511})" +
        R"(]}}],"default":null,"field-id":507},)" +
        R"({"name":"key_metadata","type":["null","bytes"],"default":null,"field-id":519})" + "]}";
    return s;
}

template <class Get>
void put_int_map(std::string& out, const std::vector<column_stats>& stats, Get get) {
    put_some(out);
    if (!stats.empty()) {
        put_long(out, static_cast<std::int64_t>(stats.size()));
        for (const auto& s : stats) {
            put_long(out, s.field_id);
            put_long(out, get(s));
        }
    }
    put_long(out, 0);
}

void put_bound_map(std::string& out, const std::vector<column_stats>& stats, bool lower) {
    std::int64_t n = 0;
    for (const auto& s : stats)
        n += (lower ? s.lower : s.upper) ? 1 : 0;
    put_some(out);
    if (n > 0) {
        put_long(out, n);
        for (const auto& s : stats) {
            const auto& b = lower ? s.lower : s.upper;
            if (!b)
                continue;
            put_long(out, s.field_id);
            put_bytes(out, *b);
        }
    }
    put_long(out, 0);
}

}  // namespace

std::string bound_long(std::int64_t v) {
    std::string s(8, '\0');
    auto u = static_cast<std::uint64_t>(v);
    for (int k = 0; k < 8; ++k)
        s[static_cast<std::size_t>(k)] = static_cast<char>((u >> (8 * k)) & 0xff);
    return s;
}

std::string bound_int(std::int32_t v) {
    return bound_long(v).substr(0, 4);
}

std::string bound_double(double v) {
    std::uint64_t u = 0;
    std::memcpy(&u, &v, 8);
    return bound_long(static_cast<std::int64_t>(u));
}

std::string write_manifest(const std::vector<field>& fields, std::int32_t schema_id,
                           std::int32_t spec_id, std::int64_t snapshot_id,
                           const std::vector<data_file>& files) {
    std::string datums;
    for (const auto& f : files) {
        put_long(datums, 1);  // status: added
        put_some(datums);
        put_long(datums, snapshot_id);
        put_null(datums);     // sequence_number: inherited from the manifest list
        put_null(datums);     // file_sequence_number: inherited
        put_long(datums, 0);  // content: data
        put_bytes(datums, f.path);
        put_bytes(datums, "PARQUET");
        // partition: an empty record (unpartitioned) encodes as nothing
        put_long(datums, f.records);
        put_long(datums, f.size);
        put_null(datums);  // column_sizes
        put_int_map(datums, f.stats, [](const column_stats& s) { return s.values; });
        put_int_map(datums, f.stats, [](const column_stats& s) { return s.nulls; });
        put_null(datums);  // nan_value_counts
        put_bound_map(datums, f.stats, true);
        put_bound_map(datums, f.stats, false);
        put_null(datums);  // key_metadata
        put_null(datums);  // split_offsets
        put_null(datums);  // equality_ids
        put_null(datums);  // sort_order_id
    }
    std::vector<std::pair<std::string, std::string>> meta = {
        {"avro.schema", manifest_schema()},
        {"avro.codec", "null"},
        {"schema", schema_json(fields, schema_id)},
        {"schema-id", std::to_string(schema_id)},
        {"partition-spec", "[]"},
        {"partition-spec-id", std::to_string(spec_id)},
        {"format-version", "2"},
        {"content", "data"},
    };
    return container(meta, sync_marker(snapshot_id, 0x6d616e6966657374ull),
                     static_cast<std::int64_t>(files.size()), datums);
}

std::string write_manifest_list(std::int64_t snapshot_id, std::optional<std::int64_t> parent,
                                std::int64_t sequence,
                                const std::vector<manifest_entry>& manifests) {
    std::string datums;
    for (const auto& m : manifests) {
        put_bytes(datums, m.path);
        put_long(datums, m.length);
        put_long(datums, m.spec_id);
        put_long(datums, m.content);
        put_long(datums, m.sequence);
        put_long(datums, m.min_sequence);
        put_long(datums, m.added_snapshot_id);
        put_long(datums, m.added_files);
        put_long(datums, m.existing_files);
        put_long(datums, m.deleted_files);
        put_long(datums, m.added_rows);
        put_long(datums, m.existing_rows);
        put_long(datums, m.deleted_rows);
        if (!m.partitions) {
            put_null(datums);
        } else {
            put_some(datums);
            if (!m.partitions->empty()) {
                put_long(datums, static_cast<std::int64_t>(m.partitions->size()));
                for (const auto& p : *m.partitions) {
                    put_bool(datums, p.contains_null);
                    if (p.contains_nan) {
                        put_some(datums);
                        put_bool(datums, *p.contains_nan);
                    } else {
                        put_null(datums);
                    }
                    put_opt_bytes(datums, p.lower);
                    put_opt_bytes(datums, p.upper);
                }
            }
            put_long(datums, 0);
        }
        put_opt_bytes(datums, m.key_metadata);
    }
    std::vector<std::pair<std::string, std::string>> meta = {
        {"avro.schema", manifest_list_schema()},
        {"avro.codec", "null"},
        {"snapshot-id", std::to_string(snapshot_id)},
        {"parent-snapshot-id", parent ? std::to_string(*parent) : "null"},
        {"sequence-number", std::to_string(sequence)},
        {"format-version", "2"},
    };
    return container(meta, sync_marker(snapshot_id, 0x6c697374ull),
                     static_cast<std::int64_t>(manifests.size()), datums);
}

namespace {

using codecs::value;
using codecs::value_type;

const value* field_of(const value& rec, std::string_view name) {
    if (rec.type != value_type::record)
        return nullptr;
    for (std::uint32_t k = 0; k < rec.n; ++k) {
        const auto& e = rec.entries[k];
        if (e.key.type == value_type::string && e.key.str() == name)
            return &e.val;
    }
    return nullptr;
}

std::optional<std::int64_t> int_of(const value& rec, std::string_view name,
                                   std::string_view alias = {}) {
    const value* v = field_of(rec, name);
    if ((!v || v->type == value_type::null) && !alias.empty())
        v = field_of(rec, alias);
    if (!v || v->type != value_type::int64)
        return std::nullopt;
    return v->i;
}

std::optional<std::string> bytes_of(const value& rec, std::string_view name) {
    const value* v = field_of(rec, name);
    if (!v || (v->type != value_type::bytes && v->type != value_type::string))
        return std::nullopt;
    return std::string(v->str());
}

error bad_list(std::string what) {
    return error(errc::invalid_argument, "iceberg manifest list: " + std::move(what));
}

}  // namespace

result<std::vector<manifest_entry>> read_manifest_list(std::string_view file) {
    // The avro codec reads the file with the writer schema in its header; the configured schema
    // (ours) is only what the codec needs to be made.
    auto n = config::node::make_table();
    n.set("schema_json", config::node::make_string(manifest_list_schema()));
    n.set("framing", config::node::make_string("container"));
    config::problems pr;
    auto v = config::validate(codecs::avro_codec_spec(), n, "iceberg sink", "manifest list", pr);
    if (pr.has_errors())
        return fail(errc::internal, pr.errors_to_string());
    TRIB_ASSIGN_OR_RETURN(auto codec, codecs::make_avro_codec(v));
    codecs::arena a;
    codecs::record r;
    if (auto st = codec->decode(file, a, r); !st)
        return unexpected(bad_list(st.error().message()));
    codecs::value root;
    if (auto st = codecs::to_typed(r, a, root); !st)
        return unexpected(bad_list(st.error().message()));
    if (root.type != value_type::list)
        return unexpected(bad_list("not a list of records"));
    std::vector<manifest_entry> out;
    for (std::uint32_t k = 0; k < root.n; ++k) {
        const value& rec = root.items[k];
        manifest_entry m;
        auto path = bytes_of(rec, "manifest_path");
        auto length = int_of(rec, "manifest_length");
        auto spec = int_of(rec, "partition_spec_id");
        auto snap = int_of(rec, "added_snapshot_id");
        if (!path || !length || !spec || !snap)
            return unexpected(bad_list("entry " + std::to_string(k) +
                                       " lacks manifest_path, manifest_length, partition_spec_id "
                                       "or added_snapshot_id"));
        m.path = *path;
        m.length = *length;
        m.spec_id = static_cast<std::int32_t>(*spec);
        m.added_snapshot_id = *snap;
        m.content = static_cast<std::int32_t>(int_of(rec, "content").value_or(0));
        m.sequence = int_of(rec, "sequence_number").value_or(0);
        m.min_sequence = int_of(rec, "min_sequence_number").value_or(0);
        m.added_files = static_cast<std::int32_t>(
            int_of(rec, "added_files_count", "added_data_files_count").value_or(0));
        m.existing_files = static_cast<std::int32_t>(
            int_of(rec, "existing_files_count", "existing_data_files_count").value_or(0));
        m.deleted_files = static_cast<std::int32_t>(
            int_of(rec, "deleted_files_count", "deleted_data_files_count").value_or(0));
        m.added_rows = int_of(rec, "added_rows_count").value_or(0);
        m.existing_rows = int_of(rec, "existing_rows_count").value_or(0);
        m.deleted_rows = int_of(rec, "deleted_rows_count").value_or(0);
        m.key_metadata = bytes_of(rec, "key_metadata");
        if (const value* parts = field_of(rec, "partitions");
            parts && parts->type == value_type::list) {
            std::vector<partition_summary> ps;
            for (std::uint32_t j = 0; j < parts->n; ++j) {
                const value& p = parts->items[j];
                partition_summary s;
                const value* cn = field_of(p, "contains_null");
                s.contains_null = cn && cn->type == value_type::boolean && cn->b;
                if (const value* nan = field_of(p, "contains_nan");
                    nan && nan->type == value_type::boolean)
                    s.contains_nan = nan->b;
                s.lower = bytes_of(p, "lower_bound");
                s.upper = bytes_of(p, "upper_bound");
                ps.push_back(std::move(s));
            }
            m.partitions = std::move(ps);
        }
        out.push_back(std::move(m));
    }
    return out;
}

}  // namespace trib::connectors::iceberg
