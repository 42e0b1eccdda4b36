// The MySQL sink and source specs (option names of Iggy's mysql_source where it has them, and
// of Tributary's postgres connector otherwise; prose and options are data in spec.toml) and
// their translation into option structs.

#include <algorithm>

#include "config/enum_option.h"
#include "config/spec_data.h"
#include "connectors/mysql/mysql.h"
#include "connectors/mysql/sink.h"
#include "connectors/mysql/source.h"
#include "embedded/mysql_spec.h"

namespace trib::connectors {

namespace {

mysql::conn_settings conn_from(const config::values& v) {
    mysql::conn_settings c;
    c.connection_string = v.str("connection_string");
    c.tls.mode = config::enum_option<mysql::ssl_mode>(
        v, "sslmode",
        {{"preferred", mysql::ssl_mode::preferred},
         {"disabled", mysql::ssl_mode::disabled},
         {"required", mysql::ssl_mode::required},
         {"verify_ca", mysql::ssl_mode::verify_ca},
         {"verify_identity", mysql::ssl_mode::verify_identity}});
    c.tls.ca = v.opt_str("ssl_ca").value_or("");
    c.tls.cert = v.opt_str("ssl_cert").value_or("");
    c.tls.key = v.opt_str("ssl_key").value_or("");
    c.tls.crl = v.opt_str("ssl_crl").value_or("");
    c.connect_timeout = std::chrono::duration_cast<std::chrono::seconds>(
        std::max(v.duration("connect_timeout"), std::chrono::milliseconds(1000)));
    c.io_timeout = std::chrono::duration_cast<std::chrono::seconds>(
        std::max(v.duration("io_timeout"), std::chrono::milliseconds(1000)));
    return c;
}

}  // namespace

config::spec mysql_sink_spec() {
    auto s = config::builtin_spec(embedded::mysql_spec, embedded::mysql_spec_file, "sink");
    s.check = [](const config::values& v, const config::check_report& report) {
        const bool mapped = v.str("mode") == "mapped";
        if (!mapped) {
            if (v.str("upsert") != "none")
                report("upsert",
                       "applies to mode = \"mapped\" (append mode is idempotent through the id "
                       "primary key)");
            if (v.str("envelope") != "none")
                report("envelope", "applies to mode = \"mapped\"");
            if (!v.map("field_mapping").empty())
                report("field_mapping", "applies to mode = \"mapped\"");
        } else {
            if (v.boolean("auto_create_table"))
                report("auto_create_table",
                       "creates the append-mode table only; mapped mode writes to an existing "
                       "table");
            if (v.str("write_method") == "load_data")
                report("write_method", "load_data applies to mode = \"append\"");
        }
        if ((v.str("sslmode") == "verify_ca" || v.str("sslmode") == "verify_identity") &&
            !v.opt_str("ssl_ca"))
            report("ssl_ca", "verify_ca and verify_identity need the CA certificate (ssl_ca)");
    };
    return s;
}

config::spec mysql_source_spec() {
    auto s = config::builtin_spec(embedded::mysql_spec, embedded::mysql_spec_file, "source");
    s.check = [](const config::values& v, const config::check_report& report) {
        if (v.str("mode") == "polling" && v.list("tables").empty() && !v.opt_str("custom_query"))
            report("tables", "name at least one table (or give a custom_query)");
        if (v.str("tracking_mode") == "timestamp" && !v.opt_str("primary_key_column") &&
            !v.opt_str("custom_query"))
            report("primary_key_column",
                   "timestamp tracking needs primary_key_column to order rows that share a "
                   "timestamp (without it rows at a page boundary could be skipped)");
        if (v.boolean("delete_after_read") && v.opt_str("processed_column"))
            report("processed_column", "either delete_after_read or processed_column, not both");
    };
    return s;
}

namespace mysql {

result<source_options> source_options_from(const config::values& v) {
    source_options o;
    o.conn = conn_from(v);
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
    o.custom_query = v.opt_str("custom_query").value_or("");
    o.snake_case_columns = v.boolean("snake_case_columns");
    o.include_metadata = v.boolean("include_metadata");
    o.payload_column = v.opt_str("payload_column").value_or("");
    std::string pf = v.str("payload_format");
    if (o.payload_column.empty())
        o.payload = source_payload::json;
    else if (pf == "bytea" || pf == "raw")
        o.payload = source_payload::blob;
    else if (pf == "text")
        o.payload = source_payload::text;
    else
        o.payload = source_payload::json_direct;
    o.delete_after_read = v.boolean("delete_after_read");
    o.processed_column = v.opt_str("processed_column").value_or("");
    o.primary_key_column = v.opt_str("primary_key_column").value_or("");
    o.verbose_logging = v.boolean("verbose_logging");
    o.mode = v.str("mode") == "cdc" ? source_mode::cdc : source_mode::polling;
    o.snapshot =
        v.str("snapshot_mode") == "initial" ? snapshot_mode::initial : snapshot_mode::never;
    o.server_id = static_cast<std::uint32_t>(v.integer("server_id"));
    o.server_name = v.opt_str("server_name").value_or("");
    return o;
}

result<sink_options> sink_options_from(const config::values& v) {
    sink_options o;
    o.conn = conn_from(v);
    o.target_table = v.str("target_table");
    o.batch_size = static_cast<std::size_t>(v.integer("batch_size"));
    o.auto_create_table = v.boolean("auto_create_table");
    o.include_metadata = v.boolean("include_metadata");
    o.include_checksum = v.boolean("include_checksum");
    o.include_origin_timestamp = v.boolean("include_origin_timestamp");
    o.include_headers = v.boolean("include_headers");
    o.payload = config::enum_option<payload_format>(v, "payload_format",
                                                    {{"blob", payload_format::blob},
                                                     {"bytea", payload_format::blob},
                                                     {"json", payload_format::json},
                                                     {"text", payload_format::text}});
    o.mode = v.str("mode") == "mapped" ? sink_mode::mapped : sink_mode::append;
    o.method =
        v.str("write_method") == "load_data" ? write_method::load_data : write_method::insert;
    o.upsert = config::enum_option<upsert_mode>(v, "upsert",
                                                {{"none", upsert_mode::none},
                                                 {"key", upsert_mode::key},
                                                 {"message_id", upsert_mode::message_id}});
    o.message_id_column = v.str("message_id_column");
    o.field_mapping = v.map("field_mapping");
    o.envelope = v.str("envelope") == "debezium" ? envelope_kind::debezium : envelope_kind::none;
    o.strict_fields = v.boolean("strict_fields");
    o.verbose_logging = v.boolean("verbose_logging");
    return o;
}

}  // namespace mysql

result<std::unique_ptr<source>> make_mysql_source(const config::values& v) {
    TRIB_ASSIGN_OR_RETURN(auto o, mysql::source_options_from(v));
    return mysql::make_source(std::move(o));
}

result<std::unique_ptr<sink>> make_mysql_sink(const config::values& v) {
    TRIB_ASSIGN_OR_RETURN(auto o, mysql::sink_options_from(v));
    return std::unique_ptr<sink>(std::make_unique<mysql::mysql_sink>(std::move(o)));
}

}  // namespace trib::connectors
