// The PostgreSQL sink and source specs (option names shared with Iggy's postgres_sink and
// postgres_source where both have them) and their translation into option structs.

#include <algorithm>

#include "config/spec.h"
#include "connectors/postgres/postgres.h"
#include "connectors/postgres/sink.h"
#include "connectors/postgres/source.h"

namespace trib::connectors {

namespace {

using config::opt_type;

config::option required(std::string name, opt_type type, std::string doc) {
    config::option o = config::opt_or_absent(std::move(name), type, std::move(doc));
    o.optional = false;
    return o;
}

config::option enumeration(std::string name, std::vector<std::string> choices, std::string doc,
                           std::string def) {
    config::option o = config::opt_or_absent(std::move(name), opt_type::enumeration, std::move(doc),
                                             "\"" + def + "\"");
    o.choices = std::move(choices);
    return o;
}

config::option ranged(config::option o, double min, std::optional<double> max = std::nullopt) {
    o.min = min;
    o.max = max;
    return o;
}

config::option advanced(config::option o) {
    o.advanced = true;
    return o;
}

// Connection and TLS options shared by the sink and the source.
void connection_options(config::spec& s) {
    s.options.push_back(required(
        "connection_string", opt_type::secret,
        "libpq connection URI or keyword/value string, e.g. "
        "`postgresql://user:pass@localhost:5432/db` or `host=db user=app dbname=app`. Accepts "
        "`${env:NAME}` and `${file:/path}`; never logged."));
    s.options.push_back(ranged(
        config::opt_or_absent(
            "max_connections", opt_type::integer,
            "Most connections the connector opens to PostgreSQL (a pool; idle connections are "
            "reused, broken ones replaced).",
            "10"),
        1, 1000));
    s.options.push_back(enumeration(
        "sslmode", {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"},
        "TLS mode (libpq `sslmode`); overrides the connection string. `verify-full` checks the "
        "certificate chain against `sslrootcert` and the host name.",
        "prefer"));
    s.options.back().default_value.reset();
    s.options.back().optional = true;
    s.options.push_back(config::opt_or_absent(
        "sslrootcert", opt_type::string, "CA certificate file for `verify-ca` / `verify-full`."));
    s.options.push_back(advanced(config::opt_or_absent(
        "sslcert", opt_type::string, "Client certificate file (TLS client auth).")));
    s.options.push_back(
        advanced(config::opt_or_absent("sslkey", opt_type::secret, "Client private key file.")));
    s.options.push_back(advanced(
        config::opt_or_absent("sslcrl", opt_type::string, "Certificate revocation list file.")));
    s.options.push_back(
        advanced(ranged(config::opt_or_absent("connect_timeout", opt_type::duration,
                                              "Timeout of one connection attempt.", "\"10s\""),
                        1000)));
    s.options.push_back(config::opt_or_absent("verbose_logging", opt_type::boolean,
                                              "Log every batch at info level (Iggy's option).",
                                              "false"));
    s.options.push_back(advanced(config::opt_or_absent(
        "max_retries", opt_type::integer,
        "Accepted for compatibility with Iggy's connector. Retries belong to the runtime's error "
        "policy here (per connector `[error_policy]`), driven by each error's retry class.",
        "3")));
    s.options.push_back(
        advanced(config::opt_or_absent("retry_delay", opt_type::duration,
                                       "Accepted for compatibility with Iggy's connector; see "
                                       "max_retries.",
                                       "\"1s\"")));
}

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
    config::spec s;
    s.name = "postgres";
    s.kind = config::spec_kind::sink;
    s.guarantee =
        "exactly-once effect in append mode (the `id` primary key) and mapped with an upsert or "
        "the debezium envelope; at-least-once for a plain mapped insert";
    s.summary =
        "Writes Iggy messages to PostgreSQL with COPY or INSERT, appended or mapped to "
        "columns, with upserts";
    s.description =
        "Each batch the runtime hands over is written in **one transaction** (COPY FROM STDIN, or "
        "multi-row INSERT), and the runtime commits the Iggy offsets only after COMMIT returned: "
        "a crash replays, it never loses.\n\n"
        "`mode = \"append\"` (the default) stores one row per message: the payload (`bytea`, "
        "`jsonb` or `text`) and Iggy's metadata columns (`id` = the message id as "
        "`DECIMAL(39,0)`, `iggy_offset`, `iggy_timestamp`, `iggy_stream`, `iggy_topic`, "
        "`iggy_partition_id`, `iggy_checksum`, `iggy_origin_timestamp`, optionally "
        "`iggy_headers`), the table Iggy's postgres sink creates. With `id` the primary key, a "
        "replay skips messages already written: **exactly-once effect**.\n\n"
        "`mode = \"mapped\"` writes JSON fields to the columns of an existing table (by name, or "
        "through `field_mapping`), optionally as upserts: `upsert = \"key\"` (ON CONFLICT on "
        "`upsert_key` or the primary key, DO UPDATE) or `upsert = \"message_id\"` (the message id "
        "in `message_id_column`, ON CONFLICT DO NOTHING). `envelope = \"debezium\"` applies change "
        "events (`op` c/r/u upsert `after`, d deletes `before`, t truncates), such as those of "
        "Tributary's postgres source in CDC mode: the table becomes a replica.\n\n"
        "A message that cannot be written (bad JSON for a jsonb column, a constraint violation) "
        "is found by bisection under savepoints and reported alone to the error policy; the rest "
        "of the batch commits. Connection loss, serialization failures and deadlocks are "
        "retryable, resource shortage (SQLSTATE 53xxx) is throttled, data and constraint errors "
        "(22xxx, 23xxx) are fatal for the one message.";
    s.idempotent = true;  // append with the id primary key, or mapped with an upsert
    s.plugin_aliases = {"iggy_connector_postgres_sink"};
    s.example = R"(type = "sink"
key = "postgres"
enabled = true
version = 0
name = "PostgreSQL sink"
path = "target/release/libiggy_connector_postgres_sink"

[[streams]]
stream = "user_events"
topics = ["users", "orders"]
schema = "json"
batch_length = 1000
poll_interval = "5ms"
consumer_group = "postgres_sink"

[plugin_config]
connection_string = "${env:PG_URL}"
target_table = "iggy_messages"
auto_create_table = true
payload_format = "json"
include_headers = true)";

    connection_options(s);
    s.options.push_back(
        required("target_table", opt_type::string,
                 "Table to write to; `schema.table` or `\"Quoted\".\"Name\"` work too."));
    s.options.push_back(ranged(
        config::opt_or_absent(
            "batch_size", opt_type::integer,
            "Rows per INSERT statement (`write_method = \"insert\"`; bounded by PostgreSQL's "
            "65535 parameters). The runtime batch (`batch_length`) is one transaction either way; "
            "COPY sends it in one statement.",
            "1000"),
        1, 1000000));
    s.options.push_back(config::opt_or_absent(
        "auto_create_table", opt_type::boolean,
        "Create the append-mode table (and its schema) if missing.", "false"));
    s.options.push_back(
        config::opt_or_absent("include_metadata", opt_type::boolean,
                              "Append mode: write iggy_offset, iggy_timestamp, iggy_stream, "
                              "iggy_topic and iggy_partition_id.",
                              "true"));
    s.options.push_back(
        config::opt_or_absent("include_checksum", opt_type::boolean,
                              "Append mode: an `iggy_checksum` column (left NULL: the runtime's "
                              "messages do not carry Iggy's frame checksum).",
                              "true"));
    s.options.push_back(config::opt_or_absent("include_origin_timestamp", opt_type::boolean,
                                              "Append mode: write `iggy_origin_timestamp`.",
                                              "true"));
    s.options.push_back(
        config::opt_or_absent("include_headers", opt_type::boolean,
                              "Append mode: write the user headers as a JSON object to "
                              "`iggy_headers` (a Tributary addition).",
                              "false"));
    s.options.push_back(enumeration(
        "payload_format", {"bytea", "json", "jsonb", "text"},
        "Append mode: the payload column's type when the table is created (`json` and `jsonb` "
        "both mean JSONB). Writes adapt to the actual column type.",
        "bytea"));
    s.options.push_back(enumeration("mode", {"append", "mapped"},
                                    "append: payload + metadata per message (Iggy's table). "
                                    "mapped: JSON fields to the table's columns.",
                                    "append"));
    s.options.push_back(enumeration(
        "write_method", {"copy", "insert"},
        "copy: COPY FROM STDIN (into a temp table, then INSERT ... SELECT ... ON CONFLICT, when "
        "an upsert is needed). insert: multi-row INSERT statements.",
        "copy"));
    s.options.push_back(advanced(enumeration(
        "copy_format", {"binary", "text"},
        "Append mode: COPY's format. Mapped mode always uses text (the JSON values are text).",
        "binary")));
    s.options.push_back(enumeration(
        "upsert", {"none", "key", "message_id"},
        "Mapped mode: none (plain INSERT), key (ON CONFLICT on upsert_key DO UPDATE) or "
        "message_id (the Iggy message id in message_id_column, ON CONFLICT DO NOTHING). Both "
        "make replays idempotent.",
        "none"));
    {
        auto o = config::opt_or_absent(
            "upsert_key", opt_type::list,
            "Mapped mode: conflict columns of the upsert (and the delete key with "
            "`envelope = \"debezium\"`); empty: the table's primary key.");
        o.default_value = "[]";
        o.optional = false;
        s.options.push_back(o);
    }
    s.options.push_back(
        config::opt_or_absent("message_id_column", opt_type::string,
                              "Mapped mode, `upsert = \"message_id\"`: the column (with a unique "
                              "index) holding the Iggy message id as a decimal number.",
                              "\"iggy_message_id\""));
    s.options.push_back(
        config::opt_or_absent("field_mapping", opt_type::map,
                              "Mapped mode: column = \"dotted.json.path\". Without it, top-level "
                              "fields go to the columns of the same name."));
    s.options.push_back(enumeration(
        "envelope", {"none", "debezium"},
        "Mapped mode: none (the payload is the row) or debezium (a change event with before, "
        "after and op, also wrapped as {schema, payload}).",
        "none"));
    s.options.push_back(
        config::opt_or_absent("strict_fields", opt_type::boolean,
                              "Mapped mode: reject a message with a field that names no column "
                              "(otherwise such fields are ignored).",
                              "false"));

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
    config::spec s;
    s.name = "postgres";
    s.kind = config::spec_kind::source;
    s.guarantee =
        "at-least-once; row ids (polling: table, key, tracking value; CDC: LSN, position) let a "
        "de-duplicating Iggy server drop replays (exactly-once effect with an idempotent sink)";
    s.summary =
        "Reads PostgreSQL tables into Iggy by polling or by change data capture "
        "(logical replication)";
    s.description =
        "`mode = \"polling\"` selects the rows after the last position of each table, ordered by "
        "`tracking_column` (an incrementing id, or a timestamp with `tracking_mode = "
        "\"timestamp\"`, ties broken by `primary_key_column`). The position is the source's "
        "state, persisted by the runtime only after Iggy acknowledged the batch; "
        "`delete_after_read` and `processed_column` act on delivered rows only after that "
        "acknowledgement too. Rows are Iggy's `DatabaseRecord` JSON "
        "(`{table_name, operation_type, timestamp, data, old_data}`), just the row with "
        "`include_metadata = false`, or one column's bytes with `payload_column`.\n\n"
        "`mode = \"cdc\"` streams a logical replication slot (`replication_slot`, created if "
        "missing) with the `pgoutput` plugin through a publication (`publication_name`, created "
        "or extended with `tables`), or with `wal2json`. Every insert, update, delete (and "
        "truncate, if captured) becomes a Debezium-style envelope `{before, after, source: {db, "
        "schema, table, lsn, txId, ts_ms, ...}, op: c|u|d|r|t, ts_ms}` keyed by table and "
        "primary key, so one row's changes stay in order in one partition. The LSN is confirmed "
        "to PostgreSQL only after Iggy acknowledged the changes: after a crash the slot replays "
        "(duplicates are possible, loss is not). `snapshot_mode = \"initial\"` first reads the "
        "tables under the slot's exported snapshot (`op = r`). Needs `wal_level = logical`; "
        "`before` holds the whole old row only with `REPLICA IDENTITY FULL` (otherwise the key).";
    s.plugin_aliases = {"iggy_connector_postgres_source"};
    s.example = R"(type = "source"
key = "pg_cdc"
enabled = true
version = 0
name = "PostgreSQL CDC"
path = "target/release/libiggy_connector_postgres_source"

[[streams]]
stream = "db"
topic = "changes"
schema = "json"
batch_length = 1000

[plugin_config]
connection_string = "${env:PG_URL}"
mode = "cdc"
tables = ["public.users", "public.orders"]
replication_slot = "iggy_orders"
snapshot_mode = "initial")";

    connection_options(s);
    s.options.push_back(required("mode", opt_type::enumeration,
                                 "polling: query the tables for new rows. cdc: stream changes "
                                 "through logical replication."));
    s.options.back().choices = {"polling", "cdc"};
    s.options.push_back(required(
        "tables", opt_type::list,
        "Tables to read (`table` or `schema.table`). CDC: the publication's tables (empty: all "
        "tables)."));
    s.options.push_back(ranged(
        config::opt_or_absent(
            "poll_interval", opt_type::duration,
            "Polling: time between queries when the last one returned less than a full batch.",
            "\"10s\""),
        0));
    s.options.push_back(ranged(
        config::opt_or_absent(
            "batch_size", opt_type::integer,
            "Most rows per table and poll (polling), changes per batch (CDC), rows per snapshot "
            "fetch.",
            "1000"),
        1, 1000000));
    s.options.push_back(config::opt_or_absent(
        "tracking_column", opt_type::string,
        "Polling: the column whose value orders rows and marks the position.", "\"id\""));
    s.options.push_back(
        config::opt_or_absent("initial_offset", opt_type::string,
                              "Polling: start after this tracking value (first start only)."));
    s.options.push_back(enumeration(
        "tracking_mode", {"incrementing", "timestamp"},
        "Polling: incrementing (a strictly growing column) or timestamp (a modification time: "
        "ties are broken by primary_key_column, and timestamp_delay leaves recent rows for "
        "later).",
        "incrementing"));
    s.options.push_back(ranged(
        config::opt_or_absent(
            "timestamp_delay", opt_type::duration,
            "Polling, timestamp mode: read only rows at least this old, so that transactions "
            "still committing with an earlier timestamp are not passed by.",
            "\"0ms\""),
        0));
    s.options.push_back(
        config::opt_or_absent("custom_query", opt_type::string,
                              "Polling: your own SELECT, with $table, $offset, $limit, $now "
                              "(RFC 3339) and $now_unix substituted (Iggy's placeholders)."));
    s.options.push_back(config::opt_or_absent("snake_case_columns", opt_type::boolean,
                                              "Polling: column names in snake_case in the JSON.",
                                              "false"));
    s.options.push_back(
        config::opt_or_absent("include_metadata", opt_type::boolean,
                              "Polling: wrap rows in Iggy's DatabaseRecord; false: the row object "
                              "alone.",
                              "true"));
    s.options.push_back(
        config::opt_or_absent("payload_column", opt_type::string,
                              "Polling: send this column's value as the payload instead of JSON."));
    s.options.push_back(enumeration(
        "payload_format", {"bytea", "raw", "text", "json_direct", "jsonb", "jsonb_direct", "json"},
        "Polling with payload_column: bytea/raw (the bytes), text, json_direct/jsonb (the JSON "
        "text).",
        "bytea"));
    s.options.push_back(config::opt_or_absent(
        "delete_after_read", opt_type::boolean,
        "Polling: delete delivered rows once Iggy acknowledged them.", "false"));
    s.options.push_back(
        config::opt_or_absent("processed_column", opt_type::string,
                              "Polling: a boolean column set to TRUE for delivered rows once Iggy "
                              "acknowledged them; rows where it is TRUE are not read."));
    s.options.push_back(
        config::opt_or_absent("primary_key_column", opt_type::string,
                              "Polling: the key for deletes, marks and timestamp ties (default: "
                              "tracking_column)."));
    s.options.push_back(config::opt_or_absent(
        "replication_slot", opt_type::string,
        "CDC: the logical replication slot (one per connector).", "\"iggy_slot\""));
    {
        auto o =
            config::opt_or_absent("capture_operations", opt_type::list,
                                  "CDC: operations to deliver: INSERT, UPDATE, DELETE, TRUNCATE.");
        o.default_value = "[\"INSERT\", \"UPDATE\", \"DELETE\"]";
        o.optional = false;
        s.options.push_back(o);
    }
    s.options.push_back(advanced(enumeration(
        "cdc_backend", {"builtin", "pg_replicate"},
        "Accepted for compatibility with Iggy's source; both use the streaming decoder chosen "
        "by cdc_plugin.",
        "builtin")));
    s.options.push_back(enumeration("cdc_plugin", {"pgoutput", "wal2json"},
                                    "CDC: the output plugin of the slot. pgoutput is built in; "
                                    "wal2json (format-version 2) must be installed.",
                                    "pgoutput"));
    s.options.push_back(config::opt_or_absent("publication_name", opt_type::string,
                                              "CDC with pgoutput: the publication (default: "
                                              "`<replication_slot>_pub`)."));
    s.options.push_back(
        config::opt_or_absent("create_publication", opt_type::boolean,
                              "CDC: create the publication if missing and add missing tables to "
                              "it; false: it must exist as needed.",
                              "true"));
    s.options.push_back(enumeration("snapshot_mode", {"never", "initial"},
                                    "CDC: initial reads the tables first (op = r) under the "
                                    "slot's snapshot, then streams; never streams only.",
                                    "never"));
    s.options.push_back(enumeration("cdc_format", {"debezium", "record"},
                                    "CDC: debezium envelopes, or Iggy's DatabaseRecord.",
                                    "debezium"));
    s.options.push_back(advanced(
        ranged(config::opt_or_absent(
                   "status_interval", opt_type::duration,
                   "CDC: the longest time between standby status updates (keep below the server's "
                   "wal_sender_timeout).",
                   "\"10s\""),
               100)));
    s.options.push_back(
        config::opt_or_absent("server_name", opt_type::string,
                              "CDC: `source.name` in the envelopes (default: the connector key)."));
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
