#pragma once
// Reading one field of a parsed JSON payload as text: the connectors that build topic names,
// object paths or keys from payload fields (`{field:a.b}` in the MQTT sink's topic, the S3
// sink's path template) share these, so that a number renders the same everywhere.
//
// This header includes RapidJSON: only libraries that link trib_rapidjson include it.

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace trib {

/// The value below `root` at `parts` (object member names, outermost first); nullptr when a
/// member is missing or a value on the way is not an object. No parts: `root` itself.
const rapidjson::Value* json_member_at(const rapidjson::Value& root,
                                       const std::vector<std::string>& parts);
/// The same for a dotted path ("a.b.c").
const rapidjson::Value* json_member_at(const rapidjson::Value& root, std::string_view dotted);

/// A JSON scalar as text: a string as it is, `true`/`false`, an integer in decimal, a double in
/// the shortest form that reads back the same; nullopt for null, arrays and objects.
std::optional<std::string> json_scalar_text(const rapidjson::Value& v);

}  // namespace trib
