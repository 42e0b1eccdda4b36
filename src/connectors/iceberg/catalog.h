#pragma once
// The Iceberg REST catalog's answers read, and its requests written, as pure functions (no I/O):
// the table metadata of a load-table answer, the prefix of a config answer, the bodies of
// create-namespace, create-table and commit-table requests, and the Iggy offsets this sink keeps
// in snapshot summaries. Internal to connectors/iceberg; public to its tests and fuzz target.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"

namespace trib::connectors::iceberg {

/// A column of the table's current schema (top-level fields only).
struct field {
    std::int32_t id = 0;
    std::string name;
    std::string type;  // Iceberg's primitive type name ("long", "string", ...); nested: "struct"
    bool required = false;
};

struct snapshot {
    std::int64_t id = 0;
    std::optional<std::int64_t> parent;
    std::int64_t sequence = 0;
    std::string manifest_list;
    std::vector<std::pair<std::string, std::string>> summary;
    std::optional<std::string_view> summary_value(std::string_view key) const;
};

/// What the sink needs of a table's metadata (the "metadata" object of a load-table answer).
struct table_meta {
    std::string metadata_location;
    std::string uuid;
    std::string location;  // the table's base location (file:///..., s3://...)
    int format_version = 2;
    std::int32_t schema_id = 0;
    std::vector<field> fields;
    std::int32_t spec_id = 0;
    bool partitioned = false;          // the default spec has fields
    std::optional<std::int64_t> main;  // the snapshot refs.main (or current-snapshot-id) names
    std::int64_t last_sequence = 0;
    std::vector<snapshot> snapshots;

    const snapshot* find(std::int64_t id) const;
};

/// Reads a load-table (or create-table, commit-table) answer. Anything that is not the
/// documented shape is invalid_argument (fatal) naming the member.
result<table_meta> parse_load_table(std::string_view body);

/// The catalog's path prefix from a GET /v1/config answer (overrides.prefix, else
/// defaults.prefix, else empty).
result<std::string> parse_config_prefix(std::string_view body);

/// The error text of a catalog error answer ({"error": {"message", "type", "code"}}), or the
/// body's start when it has none.
std::string error_message(std::string_view body);

/// "a.b.c" -> namespace {a, b}, name c. Empty parts are refused.
struct table_ident {
    std::vector<std::string> ns;
    std::string name;
    std::string text() const;  // "a.b.c"
};
result<table_ident> parse_table_ident(std::string_view dotted);

/// The namespace as one URL path segment: the levels joined by the unit separator, each
/// percent-encoded ("a%1Fb").
std::string namespace_path(const std::vector<std::string>& ns);
/// A path segment percent-encoded (RFC 3986 unreserved characters stay).
std::string path_segment(std::string_view s);

/// The summary property that holds the last Iggy offset committed for one partition.
std::string offset_property(std::string_view connector_key, std::string_view stream,
                            std::string_view topic, std::uint32_t partition);
/// The last offset committed for `property` in the main branch: the newest snapshot of the main
/// ancestry whose summary has it (snapshots written by other writers carry none). Parents that
/// are not in the metadata (expired) end the walk.
std::optional<std::uint64_t> committed_offset(const table_meta& t, std::string_view property);

/// Request bodies.
std::string create_namespace_body(const std::vector<std::string>& ns);
/// `fields` as an Iceberg schema object (type struct, top-level fields).
std::string schema_json(const std::vector<field>& fields, std::int32_t schema_id);
/// `fields` as a schema (schema-id 0), unpartitioned, format version 2.
std::string create_table_body(std::string_view name, const std::vector<field>& fields);

struct new_snapshot {
    std::int64_t id = 0;
    std::optional<std::int64_t> parent;
    std::int64_t sequence = 0;
    std::int64_t timestamp_ms = 0;
    std::string manifest_list;
    std::int32_t schema_id = 0;
    std::vector<std::pair<std::string, std::string>> summary;  // besides "operation"
};
/// An append commit: requirements assert-table-uuid and assert-ref-snapshot-id (main at
/// `s.parent`, or absent), updates add-snapshot and set-snapshot-ref main.
std::string commit_body(const table_ident& t, std::string_view uuid, const new_snapshot& s);

}  // namespace trib::connectors::iceberg
