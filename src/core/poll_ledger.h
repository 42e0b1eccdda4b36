#pragma once
// What the SQL polling sources share (postgres and mysql): each table's position (the last
// tracking value and, in timestamp mode, the key of the last row), the batches in flight with
// the position before them, the acknowledged deletes/marks waiting to run, the persisted state
// as JSON ({"tracking_offsets":{..},"tie_breakers":{..},"processed_rows":N}), and the helpers of
// Iggy's DatabaseRecord (RFC 3339 times, snake_case column names).
//
// The ledger is the ack gate: a poll reads from a snapshot of the positions and commits the new
// ones as a flight; ack(seq) releases the flight's row operations, nack(seq) rewinds the
// positions to before it, and a poll that ran across a nack is discarded. Thread-safe:
// poll-side calls from the source's thread, ack()/nack() from the runtime's producer thread.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.h"
#include "core/message.h"

namespace trib {

struct table_position {
    std::string offset;  // the last tracking value delivered (as text)
    bool has_offset = false;
    std::string tie;  // the key of the last row (timestamp mode: ties of the tracking value)
    bool has_tie = false;
};

/// Rows delivered from one table: deleted or marked once Iggy acknowledged them.
struct delivered_rows {
    std::size_t table = 0;
    std::vector<std::string> keys;
    std::string max_offset;  // a row changed after it was read (newer tracking value) stays
    bool has_max_offset = false;
};

/// The persisted state. Values may be strings or numbers (kept as written); null means none.
struct poll_state {
    std::map<std::string, std::string> offsets;  // table key -> last tracking value
    std::map<std::string, std::string> ties;     // table key -> primary key of the last row
    std::uint64_t processed_rows = 0;
};
/// Anything but the layout above: errc::data_loss naming `what` and the reason. Iterative
/// parse; numbers keep their text (a numeric tracking column never goes through a double).
result<poll_state> parse_poll_state(std::string_view text, std::string_view what);

class poll_ledger {
  public:
    using clock = std::chrono::steady_clock;

    /// The tables' keys as configured (the state's keys), and the persisted state (may be empty).
    status init(std::vector<std::string> table_keys, std::string_view state, std::string_view what);

    /// What a poll starts from.
    struct start {
        std::vector<table_position> pos;
        std::uint64_t generation = 0;
        clock::time_point not_before{};
        bool has_todo = false;
    };
    start begin() const;

    /// Acknowledged row operations, oldest first; give back what failed with requeue().
    std::deque<delivered_rows> take_todo();
    void requeue(std::deque<delivered_rows> ops);

    /// Ends a poll that read `rows` rows, moving from `from` to `to`. `full`: a page was full
    /// (poll again at once), else wait `interval`. Returns the state to persist with the batch,
    /// or nullopt when there is nothing to send (no rows, or a nack ran during the poll: the
    /// rows will be read again).
    std::optional<std::string> commit(const start& from, std::vector<table_position> to,
                                      std::vector<delivered_rows> ops, std::size_t rows, bool full,
                                      clock::duration interval);

    void ack(std::uint64_t seq);
    void nack(std::uint64_t seq);

    /// The state JSON of `pos`.
    std::string state_json(const std::vector<table_position>& pos, std::uint64_t rows) const;

  private:
    struct flight {
        std::uint64_t seq = 0;
        std::vector<table_position> before;
        std::vector<delivered_rows> ops;
    };
    mutable std::mutex mu_;
    std::vector<std::string> keys_;
    std::vector<table_position> pos_;
    std::deque<flight> flights_;
    std::deque<delivered_rows> todo_;
    std::uint64_t next_seq_ = 1;
    std::uint64_t generation_ = 0;
    std::uint64_t processed_ = 0;
    clock::time_point next_query_{};
};

/// The columns a polling source needs in every table, by the option that names them (empty:
/// not needed).
struct poll_columns {
    std::string tracking;   // tracking_column
    std::string key;        // primary_key_column (deletes, marks, timestamp ties)
    std::string processed;  // processed_column
    std::string payload;    // payload_column
};
/// Adds "<table> has no column 'c' (option)" to `problems` for each needed column `has` denies.
void check_poll_columns(const poll_columns& need, std::string_view table,
                        const std::function<bool(const std::string&)>& has,
                        std::vector<std::string>& problems);
/// All problems in one failed_precondition error; ok when there are none.
status poll_columns_status(const std::vector<std::string>& problems);

/// A polled row's message id: (`domain`, the table as configured, the primary key's text, the
/// tracking column's text), each value with a 0/1 NULL flag first; a row whose key is NULL adds
/// its payload. The same row read again (a crash before the position was saved) gets the same
/// id; the same key with a newer tracking value (an update, in timestamp mode) a new one.
message_id polled_row_id(std::string_view domain, std::string_view table,
                         std::optional<std::string_view> key,
                         std::optional<std::string_view> tracking, std::string_view payload);

/// Iggy's custom_query placeholders: $table, $offset, $limit, $now (RFC 3339) and $now_unix.
std::string expand_poll_query(std::string query, std::string_view table_sql,
                              std::string_view offset, std::size_t limit, std::uint64_t now_us);

/// "2024-01-15T10:30:00.123456Z" (Iggy's DatabaseRecord timestamp).
std::string rfc3339_us(std::uint64_t unix_us);
/// Iggy's snake_case_columns: "UserName" -> "user_name", "user-id" -> "user_id".
std::string snake_case(std::string_view s);

}  // namespace trib
