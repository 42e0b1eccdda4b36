#pragma once
// The logical replication wire messages the CDC source reads, decoded by hand because libpq
// stops at the COPY BOTH stream: the streaming frames ('w' XLogData, 'k' keepalive, 'r' standby
// status update) and the pgoutput protocol version 1 messages inside XLogData (Begin, Commit,
// Origin, Relation, Type, Insert, Update, Delete, Truncate, Message), as documented in
// PostgreSQL's "Logical Replication Message Formats". Pure functions over bytes: no I/O.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"

namespace trib::connectors::postgres::pgoutput {

/// µs between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
inline constexpr std::int64_t pg_epoch_us = 946684800LL * 1000000LL;

// ---- streaming frames (inside CopyData) -------------------------------------------------------

struct xlog_data {
    std::uint64_t data_start = 0;  // LSN of the record this message decodes (commit: its end)
    std::uint64_t wal_end = 0;
    std::int64_t send_time = 0;  // µs since 2000-01-01
    std::string_view payload;
};

struct keepalive {
    std::uint64_t wal_end = 0;
    std::int64_t send_time = 0;
    bool reply_requested = false;
};

struct frame {
    char type = 0;  // 'w' or 'k'
    xlog_data data;
    keepalive alive;
};

result<frame> decode_frame(std::string_view copy_data);

/// The 34-byte standby status update: written, flushed and applied LSN, client time, reply flag.
std::string status_update(std::uint64_t written, std::uint64_t flushed, std::uint64_t applied,
                          std::int64_t client_time_pg_us, bool reply_requested = false);

// ---- pgoutput messages -----------------------------------------------------------------------

struct column {
    std::string name;
    std::uint32_t type_oid = 0;
    std::int32_t type_modifier = -1;
    bool key = false;  // part of the replica identity
};

struct relation {
    std::uint32_t oid = 0;
    std::string schema;
    std::string name;
    char replica_identity = 'd';  // d default, n nothing, f full, i index
    std::vector<column> columns;
};

/// One column value of a tuple.
struct value {
    char kind = 'n';  // 'n' null, 'u' unchanged TOAST (not sent), 't' text, 'b' binary
    std::string_view data;
};

struct tuple {
    std::vector<value> values;
};

struct begin {
    std::uint64_t final_lsn = 0;   // LSN of the commit record
    std::int64_t commit_time = 0;  // µs since 2000-01-01
    std::uint32_t xid = 0;
};

struct commit {
    std::uint8_t flags = 0;
    std::uint64_t commit_lsn = 0;
    std::uint64_t end_lsn = 0;
    std::int64_t commit_time = 0;
};

/// Insert, update or delete.
struct change {
    std::uint32_t relation_oid = 0;
    char old_kind = 0;  // 0: no old tuple, 'K': key columns, 'O': the whole old row
    tuple old_tuple;
    bool has_new = false;
    tuple new_tuple;
};

struct truncate {
    std::uint8_t options = 0;  // 1: CASCADE, 2: RESTART IDENTITY
    std::vector<std::uint32_t> relation_oids;
};

struct type_info {
    std::uint32_t oid = 0;
    std::string schema;
    std::string name;
};

/// A decoded message; which member is filled follows `type` ('B', 'C', 'O', 'R', 'Y', 'I',
/// 'U', 'D', 'T', 'M'). Views point into the decoded payload.
struct message {
    char type = 0;
    struct begin begin;
    struct commit commit;
    struct relation relation;
    struct change change;
    struct truncate truncate;
    type_info type_msg;
};

/// Decodes one pgoutput (proto_version 1) message. Malformed input is an error, never UB.
result<message> decode(std::string_view payload);

}  // namespace trib::connectors::postgres::pgoutput
