// Feeds arbitrary payloads to the SQLite sink's row builders (append cells in every payload
// format, mapped rows with and without a field mapping, strict fields and a message id column)
// and checks what they promise: mapped columns are in table order without repeats, one cell per
// column, the id column holds the message id.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "connectors/sqlite/rows.h"

using namespace trib;
using namespace trib::connectors::sqlite;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view payload(reinterpret_cast<const char*>(data), size);
    message m;
    m.payload = payload;
    m.id = {size, 7};
    for (auto pf : {payload_format::blob, payload_format::json, payload_format::text}) {
        const auto cols = append_columns(true, true, true, pf);
        auto c = append_cells(cols, m, "s", "t", 1, pf);
        if (c && c->size() != cols.size())
            std::abort();
    }
    mapping plain;
    plain.table_columns = {"a", "b", "c", "iggy_message_id"};
    plain.message_id_column = 3;
    mapping mapped;
    mapped.table_columns = {"x", "y"};
    mapped.field_mapping = {{"x", "a.b"}, {"y", "c"}};
    mapping strict;
    strict.table_columns = {"a", "b"};
    strict.strict_fields = true;
    for (const mapping* mp : {&plain, &mapped, &strict}) {
        auto r = map_json(*mp, payload, m.id);
        if (!r)
            continue;
        if (r->cols.empty() || r->cols.size() != r->cells.size())
            std::abort();
        for (std::size_t i = 0; i < r->cols.size(); ++i) {
            if (r->cols[i] >= mp->table_columns.size() || (i > 0 && r->cols[i] <= r->cols[i - 1]))
                std::abort();
            if (mp->message_id_column && r->cols[i] == *mp->message_id_column &&
                r->cells[i].data() != id_text(m.id))
                std::abort();
        }
    }
    return 0;
}
