#pragma once
// A MySQL text-protocol cell as JSON by its column type (Iggy's mysql_source table): integers,
// decimals and floats as numbers, BIT as an unsigned number, binary strings as base64, MySQL's
// JSON type as the JSON itself, everything else (dates, times, text, ENUM, SET) as a string.
// Pure; tested without a server.

#include <string>
#include <string_view>

#include "connectors/mysql/conn.h"

namespace trib::connectors::mysql {

void append_cell_json(std::string& out, const query_result::column& col, std::string_view v);

}  // namespace trib::connectors::mysql
