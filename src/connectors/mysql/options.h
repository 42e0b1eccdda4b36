#pragma once
// The MySQL/MariaDB connector's options as plain structs: spec.cpp fills them from validated
// config values (names shared with Iggy's mysql_source and with Tributary's postgres connector
// where they overlap); tests and benchmarks fill them directly.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trib::connectors::mysql {

/// TLS of the client connection (Connector/C's MYSQL_OPT_SSL_* options).
/// disabled: plain TCP. preferred: TLS when the server offers it. required: TLS, certificate not
/// checked. verify_ca: TLS, chain checked against `ca`. verify_identity: also the host name.
enum class ssl_mode { disabled, preferred, required, verify_ca, verify_identity };

struct tls_options {
    ssl_mode mode = ssl_mode::preferred;
    std::string ca;
    std::string cert;
    std::string key;
    std::string crl;
};

/// Where and how to connect. The URL is Iggy's `mysql://user:pass@host:port/db`.
struct conn_settings {
    std::string connection_string;
    tls_options tls;
    std::chrono::seconds connect_timeout{10};
    /// Read and write timeout of one statement's I/O (Connector/C's MYSQL_OPT_READ_TIMEOUT).
    std::chrono::seconds io_timeout{60};
};

/// The parts of a connection URL.
struct conn_target {
    std::string host = "127.0.0.1";
    std::uint16_t port = 3306;
    std::string user;
    std::string password;
    std::string database;
    std::string unix_socket;  // ?socket=/path
};

// ---- sink -------------------------------------------------------------------------------------

/// append: one row per message, payload plus metadata columns. mapped: JSON fields to columns.
enum class sink_mode { append, mapped };
/// How the payload column is typed when the append table is created.
enum class payload_format { blob, json, text };
/// insert: multi-row INSERT statements. load_data: LOAD DATA LOCAL INFILE fed from memory
/// (append mode only).
enum class write_method { insert, load_data };
/// none: plain insert. key: ON DUPLICATE KEY UPDATE (the table's primary key or a unique key).
/// message_id: the Iggy message id in a unique column, a replay is a no-op.
enum class upsert_mode { none, key, message_id };
/// none: the payload is the row. debezium: a change event applied as upsert or delete.
enum class envelope_kind { none, debezium };

struct sink_options {
    conn_settings conn;
    std::string target_table;
    std::size_t batch_size = 1000;  // rows per statement
    bool auto_create_table = false;
    bool include_metadata = true;
    bool include_checksum = true;
    bool include_origin_timestamp = true;
    bool include_headers = false;
    payload_format payload = payload_format::blob;
    sink_mode mode = sink_mode::append;
    write_method method = write_method::insert;
    upsert_mode upsert = upsert_mode::none;
    std::string message_id_column = "iggy_message_id";
    std::map<std::string, std::string> field_mapping;  // column -> dotted JSON path
    envelope_kind envelope = envelope_kind::none;
    bool strict_fields = false;
    bool verbose_logging = false;
};

// ---- polling source ---------------------------------------------------------------------------

enum class source_payload { json, blob, text, json_direct };
/// polling: query the tables. cdc: read the binlog (ROW format) as a replica does.
enum class source_mode { polling, cdc };
enum class snapshot_mode { never, initial };
enum class tracking_mode { incrementing, timestamp };

struct source_options {
    conn_settings conn;
    std::vector<std::string> tables;
    std::chrono::milliseconds poll_interval{10000};
    std::size_t batch_size = 1000;
    std::string tracking_column = "id";
    std::string initial_offset;
    bool has_initial_offset = false;
    tracking_mode tracking = tracking_mode::incrementing;
    std::string custom_query;
    bool snake_case_columns = false;
    bool include_metadata = true;
    std::string payload_column;
    source_payload payload = source_payload::json;
    bool delete_after_read = false;
    std::string processed_column;
    std::string primary_key_column;  // empty: tracking_column
    bool verbose_logging = false;
    // CDC
    source_mode mode = source_mode::polling;
    snapshot_mode snapshot = snapshot_mode::never;
    std::uint32_t server_id = 6417;  // the replica id this reader announces (unique per server)
    std::string server_name;         // Debezium source.name; empty: the connector key
};

}  // namespace trib::connectors::mysql
