#pragma once
// The CDC source's implementation, shared by cdc.cpp (set-up, snapshot, streaming, the public
// functions) and cdc_events.cpp (relations, keys, and changes turned into messages). Internal to
// connectors/postgres.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "connectors/postgres/json.h"
#include "connectors/postgres/pg.h"
#include "connectors/postgres/pgoutput.h"
#include "connectors/postgres/source.h"

namespace trib::connectors::postgres {

namespace cdc_detail {

// A table as the change events describe it.
struct rel_info {
    std::uint32_t oid = 0;
    std::string schema;
    std::string name;
    char replica_identity = 'd';
    std::vector<pgoutput::column> columns;
    std::vector<std::size_t> key;  // primary key column positions (identity columns if none)
};

struct flight {
    std::uint64_t seq = 0;
    std::uint64_t end_lsn = 0;     // end of the last transaction completed in this batch (0: none)
    std::uint64_t commit_lsn = 0;  // its commit record's LSN
};

// A change about to become a message.
struct change_event {
    char op = 'c';  // c, u, d, r, t
    const rel_info* rel = nullptr;
    std::string before;  // JSON object or empty (null)
    std::string after;
    std::string key;  // partitioning key
    std::uint64_t lsn = 0;
};

std::string lower(std::string s);
// wal2json's add-tables wants schema.table with '.' ',' '*' and '\' escaped by a backslash.
std::string wal2json_table(const std::string& schema, const std::string& name);
// "2024-01-15 10:30:00.123456+00" -> µs since the epoch (wal2json's commit timestamp).
std::uint64_t parse_pg_timestamp(std::string_view s);

}  // namespace cdc_detail

struct cdc_source::impl {
    using clock = std::chrono::steady_clock;
    using rel_info = cdc_detail::rel_info;
    using flight = cdc_detail::flight;
    using change_event = cdc_detail::change_event;

    source_options o;
    source_stats& st;
    std::string server_name;
    std::string publication;
    std::string dbname;

    db_conn meta;  // SQL: setup, primary keys, snapshot (poll thread)
    db_conn repl;  // the replication stream (poll thread)
    bool streaming = false;

    struct table_ref {
        std::string schema;
        std::string name;
    };
    std::vector<table_ref> tables;  // resolved configured tables (empty: all)

    std::unordered_map<std::uint32_t, rel_info> rels;        // pgoutput relation cache
    std::unordered_map<std::string, rel_info> rels_by_name;  // wal2json and snapshot

    // The transaction being received.
    bool in_txn = false;
    bool skip_txn = false;
    std::uint32_t xid = 0;
    std::uint64_t commit_time_us = 0;
    std::uint64_t txn_final_lsn = 0;
    std::uint32_t ordinal = 0;
    bool txn_had_messages = false;  // some of its changes went into a batch

    // Positions (poll thread). "emitted": the last transaction handed out in a batch.
    std::uint64_t emitted_end = 0;
    std::uint64_t emitted_commit = 0;
    std::uint64_t state_commit = 0;  // from the persisted state: transactions up to it are done
    std::uint64_t consumed = 0;      // received and nothing to deliver up to here (idle)
    bool snapshot_done = false;

    // Shared with ack()/nack().
    std::mutex mu;
    std::deque<flight> flights;
    std::uint64_t next_seq = 1;
    std::uint64_t acked_end = 0;
    std::uint64_t acked_commit = 0;
    bool rewind = false;

    // Status updates.
    clock::time_point last_status{};
    std::uint64_t last_sent_flush = 0;
    clock::time_point reconnect_after{};

    // Snapshot.
    bool snapshot_active = false;
    db_conn snap;
    std::size_t snap_table = 0;
    bool snap_cursor = false;
    std::uint64_t snap_lsn = 0;
    std::uint64_t snap_ordinal = 0;
    std::vector<table_ref> snap_tables;

    impl(source_options opts, source_stats& s) : o(std::move(opts)), st(s) {
        publication = o.publication_name.empty() ? o.replication_slot + "_pub" : o.publication_name;
    }

    bool captures(const char* op) const {
        return std::any_of(
            o.capture_operations.begin(), o.capture_operations.end(),
            [&](const std::string& c) { return cdc_detail::lower(c) == cdc_detail::lower(op); });
    }

    // ---- set-up ------------------------------------------------------------------------------

    status connect_meta();

    std::string state_json() const;

    status load_state(std::string_view state);

    status resolve_tables();

    std::string table_list_sql(const std::vector<table_ref>& ts) const;

    status ensure_publication();

    void warn_replica_identity();

    const char* plugin_name() const;

    status connect_repl();

    // Creates the slot when missing; with `export_snapshot` the snapshot name is returned and
    // stays valid until the replication connection runs its next command.
    result<std::string> ensure_slot(bool export_snapshot, bool& created);

    status open(connector_context& ctx, std::string_view state);

    // ---- snapshot ----------------------------------------------------------------------------

    status begin_snapshot(const std::string& snapshot_name);

    result<source_batch> snapshot_batch();

    // ---- relations and keys ------------------------------------------------------------------

    std::vector<std::string> primary_key(std::uint32_t oid, const std::string& qualified);

    void set_keys(rel_info& rel, const std::vector<std::string>& pk);

    // Columns and key of a table by name (snapshot, wal2json), cached.
    result<const rel_info*> rel_by_name(const std::string& schema, const std::string& name);

    std::string partition_key(const rel_info& rel, const std::vector<std::string>& keyvals) const;

    // ---- events to messages ------------------------------------------------------------------

    void emit(message_batch& batch, const change_event& ev, message_id id, bool snapshot);

    // A pgoutput tuple as a JSON object; unchanged TOAST values come from `fallback` (the old
    // row, with REPLICA IDENTITY FULL) or are left out.
    std::string tuple_json(const rel_info& rel, const pgoutput::tuple& t,
                           const pgoutput::tuple* fallback, std::vector<std::string>* keyvals);

    // Handles one pgoutput message; appends messages for changes.
    status on_pgoutput(const pgoutput::xlog_data& x, message_batch& batch, std::uint64_t& batch_end,
                       std::uint64_t& batch_commit);

    void begin_txn(std::uint64_t final_lsn, std::uint32_t txid, std::uint64_t commit_us);

    void end_txn(std::uint64_t commit_lsn, std::uint64_t end_lsn, std::uint64_t& batch_end,
                 std::uint64_t& batch_commit);

    // wal2json format-version 2: one JSON document per message.
    status on_wal2json(const pgoutput::xlog_data& x, message_batch& batch, std::uint64_t& batch_end,
                       std::uint64_t& batch_commit);

    // ---- streaming ---------------------------------------------------------------------------

    status start_streaming();

    void drop_stream();

    // The LSN to report as flushed: the end of what Iggy acknowledged, or, when nothing is in
    // flight and no transaction is open, everything received (so that idle WAL is released).
    std::uint64_t flush_lsn(bool building_empty);

    status send_status(bool force, bool building_empty);

    result<source_batch> poll(std::chrono::milliseconds max_wait);

    void ack(std::uint64_t seq);

    void nack(std::uint64_t seq);

    void close();
};

}  // namespace trib::connectors::postgres
