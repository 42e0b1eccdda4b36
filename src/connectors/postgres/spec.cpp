// The PostgreSQL sink and source specs (option names shared with Iggy's postgres_sink and
// postgres_source where both have them; the prose and options are data in spec.toml, this file
// keeps the rules one option cannot express) and their translation into option structs.

#include <algorithm>

#include "config/spec_data.h"
#include "connectors/postgres/postgres.h"
#include "connectors/postgres/sink.h"
#include "connectors/postgres/source.h"
#include "embedded/postgres_spec.h"

namespace trib::connectors {

namespace {

postgres::conn_settings conn_from(const config::values& v) {
    postgres::conn_settings c;
    c.connection_string = v.str("connection_string");
    c.tls.sslmode = v.opt_str("sslmode").value_or("");
    c.tls.sslrootcert = v.opt_str("sslrootcert").value_or("");
    c.tls.sslcert = v.opt_str("sslcert").value_or("");
    c.tls.sslkey = v.opt_str("sslkey").value_or("");
    c.tls.sslcrl = v.opt_str("sslcrl").value_or("");
    c.connect_timeout = std::chrono::duration_cast<std::chrono::seconds>(
        std::max(v.duration("connect_timeout"), std::chrono::milliseconds(1000)));
    return c;
}

}  // namespace

config::spec postgres_sink_spec() {
    auto s = config::builtin_spec(embedded::postgres_spec, embedded::postgres_spec_file, "sink");
    s.check = [](const config::values& v, const config::check_report& report) {
        const bool mapped = v.str("mode") == "mapped";
        if (!mapped) {
            if (v.str("upsert") != "none")
                report("upsert",
                       "applies to mode = \"mapped\" (append mode is idempotent through "
                       "the id primary key)");
            if (v.str("envelope") != "none")
                report("envelope", "applies to mode = \"mapped\"");
            if (!v.map("field_mapping").empty())
                report("field_mapping", "applies to mode = \"mapped\"");
        } else if (v.boolean("auto_create_table")) {
            report("auto_create_table",
                   "creates the append-mode table only; mapped mode writes to an existing table");
        }
    };
    return s;
}

config::spec postgres_source_spec() {
    auto s = config::builtin_spec(embedded::postgres_spec, embedded::postgres_spec_file, "source");
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.str("tracking_mode") == "timestamp" && !v.opt_str("primary_key_column") &&
            !v.opt_str("custom_query")) {
            report("primary_key_column",
                   "timestamp tracking needs primary_key_column to order rows that share a "
                   "timestamp (without it rows at a page boundary could be skipped)");
        }
        for (const auto& op : v.list("capture_operations")) {
            std::string u = op;
            for (auto& c : u)
                c = static_cast<char>((c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c);
            if (u != "INSERT" && u != "UPDATE" && u != "DELETE" && u != "TRUNCATE")
                report("capture_operations",
                       "unknown operation '" + op + "' (INSERT, UPDATE, DELETE, TRUNCATE)");
        }
    };
    return s;
}

namespace postgres {

result<sink_options> sink_options_from(const config::values& v) {
    sink_options o;
    o.conn = conn_from(v);
    o.target_table = v.str("target_table");
    o.batch_size = static_cast<std::size_t>(v.integer("batch_size"));
    o.max_connections = static_cast<std::size_t>(v.integer("max_connections"));
    o.auto_create_table = v.boolean("auto_create_table");
    o.include_metadata = v.boolean("include_metadata");
    o.include_checksum = v.boolean("include_checksum");
    o.include_origin_timestamp = v.boolean("include_origin_timestamp");
    o.include_headers = v.boolean("include_headers");
    std::string pf = v.str("payload_format");
    o.payload = pf == "json" || pf == "jsonb" ? payload_format::json
                : pf == "text"                ? payload_format::text
                                              : payload_format::bytea;
    o.mode = v.str("mode") == "mapped" ? sink_mode::mapped : sink_mode::append;
    o.method = v.str("write_method") == "insert" ? write_method::insert : write_method::copy;
    o.copy = v.str("copy_format") == "text" ? copy_format::text : copy_format::binary;
    std::string up = v.str("upsert");
    o.upsert = up == "key"          ? upsert_mode::key
               : up == "message_id" ? upsert_mode::message_id
                                    : upsert_mode::none;
    o.upsert_key = v.list("upsert_key");
    o.message_id_column = v.str("message_id_column");
    o.field_mapping = v.map("field_mapping");
    o.envelope = v.str("envelope") == "debezium" ? envelope_kind::debezium : envelope_kind::none;
    o.strict_fields = v.boolean("strict_fields");
    o.verbose_logging = v.boolean("verbose_logging");
    return o;
}

result<source_options> source_options_from(const config::values& v) {
    source_options o;
    o.conn = conn_from(v);
    o.mode = v.str("mode") == "cdc" ? source_mode::cdc : source_mode::polling;
    o.tables = v.list("tables");
    o.poll_interval = v.duration("poll_interval");
    o.batch_size = static_cast<std::size_t>(v.integer("batch_size"));
    o.tracking_column = v.str("tracking_column");
    if (auto io = v.opt_str("initial_offset")) {
        o.initial_offset = *io;
        o.has_initial_offset = true;
    }
    o.tracking = v.str("tracking_mode") == "timestamp" ? tracking_mode::timestamp
                                                       : tracking_mode::incrementing;
    o.timestamp_delay = v.duration("timestamp_delay");
    o.max_connections = static_cast<std::size_t>(v.integer("max_connections"));
    o.custom_query = v.opt_str("custom_query").value_or("");
    o.snake_case_columns = v.boolean("snake_case_columns");
    o.include_metadata = v.boolean("include_metadata");
    o.payload_column = v.opt_str("payload_column").value_or("");
    std::string pf = v.str("payload_format");
    if (o.payload_column.empty())
        o.payload = source_payload::json;
    else if (pf == "bytea" || pf == "raw")
        o.payload = source_payload::bytea;
    else if (pf == "text")
        o.payload = source_payload::text;
    else
        o.payload = source_payload::json_direct;
    o.delete_after_read = v.boolean("delete_after_read");
    o.processed_column = v.opt_str("processed_column").value_or("");
    o.primary_key_column = v.opt_str("primary_key_column").value_or("");
    o.replication_slot = v.str("replication_slot");
    o.capture_operations = v.list("capture_operations");
    o.plugin = v.str("cdc_plugin") == "wal2json" ? cdc_plugin::wal2json : cdc_plugin::pgoutput;
    o.publication_name = v.opt_str("publication_name").value_or("");
    o.create_publication = v.boolean("create_publication");
    o.snapshot =
        v.str("snapshot_mode") == "initial" ? snapshot_mode::initial : snapshot_mode::never;
    o.format = v.str("cdc_format") == "record" ? cdc_format::record : cdc_format::debezium;
    o.status_interval = v.duration("status_interval");
    o.server_name = v.opt_str("server_name").value_or("");
    o.verbose_logging = v.boolean("verbose_logging");
    for (const auto& op : o.capture_operations) {
        std::string u = op;
        for (auto& c : u)
            c = static_cast<char>((c >= 'a' && c <= 'z') ? c - 'a' + 'A' : c);
        if (u != "INSERT" && u != "UPDATE" && u != "DELETE" && u != "TRUNCATE")
            return fail(errc::invalid_argument, "capture_operations: unknown operation '" + op +
                                                    "' (INSERT, UPDATE, DELETE, TRUNCATE)");
    }
    return o;
}

}  // namespace postgres

result<std::unique_ptr<sink>> make_postgres_sink(const config::values& v) {
    TRIB_ASSIGN_OR_RETURN(auto o, postgres::sink_options_from(v));
    return std::unique_ptr<sink>(std::make_unique<postgres::postgres_sink>(std::move(o)));
}

result<std::unique_ptr<source>> make_postgres_source(const config::values& v) {
    TRIB_ASSIGN_OR_RETURN(auto o, postgres::source_options_from(v));
    return postgres::make_source(std::move(o));
}

}  // namespace trib::connectors
