#pragma once
// Messages to rows: append mode (Iggy's metadata columns and the payload, binary or text cells)
// and mapped mode (JSON fields to columns, Debezium envelopes to upserts and deletes, a later
// change of a key superseding an earlier one in the batch). Pure: a table description in, a
// batch plan out; tested without a server.

#include <string>
#include <vector>

#include "connectors/postgres/json.h"
#include "connectors/postgres/sink_rows.h"
#include "connectors/postgres/sink_table.h"
#include "core/connector.h"

namespace trib::connectors::postgres {

struct row_encoder : sink_table {
    json::document doc;  // reused per message (not re-entrant: one write at a time)
    std::string scratch;

    explicit row_encoder(const sink_options& opts) : sink_table(opts) {}

    /// Encodes `b` into `plan` (append or mapped mode per the options); messages that cannot be
    /// rows go to plan.rejected with the reason.
    void encode(const sink_batch& b, batch_plan& plan) {
        if (o.mode == sink_mode::append)
            encode_append(b, plan);
        else
            encode_mapped(b, plan);
    }

    bool append_binary() const;

    void encode_append(const sink_batch& b, batch_plan& plan);

    void append_binary_cell(row_group& g, const append_column& ac, const message& m,
                            const sink_batch& b);

    void append_text_cell(row_group& g, const append_column& ac, const message& m,
                          const sink_batch& b);

    // One JSON value as the text input of a column; false with `why` if it cannot be.
    bool value_text(const json::node& n, const column_info& col, std::string& out,
                    std::string& why);

    // Adds one row of `obj`'s fields (or only the key fields) to a group; the message is
    // rejected with the reason if a value does not fit. Returns the key text when keyed.
    bool add_row(batch_plan& plan, row_group::kind k, const json::node& obj, std::uint32_t mi,
                 const message& m, bool keys_only, std::string& key_out);

    void encode_mapped(const sink_batch& b, batch_plan& plan);
};

}  // namespace trib::connectors::postgres
