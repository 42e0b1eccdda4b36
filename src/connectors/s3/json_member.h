#pragma once
// Member look-up in a RapidJSON object without iterator comparisons (clang's C++20 mode finds
// RapidJSON's iterator operator== ambiguous). Internal to connectors/s3; its users link
// trib_rapidjson.

#include <rapidjson/document.h>

#include <string>
#include <string_view>

namespace trib::connectors::s3_detail {

/// The member `name` of `o`, or nullptr (also when `o` is not an object).
inline const rapidjson::Value* json_member(const rapidjson::Value& o, std::string_view name) {
    if (!o.IsObject())
        return nullptr;
    for (rapidjson::SizeType i = 0; i < o.MemberCount(); ++i) {
        const auto& m = *(o.MemberBegin() + i);
        if (std::string_view(m.name.GetString(), m.name.GetStringLength()) == name)
            return &m.value;
    }
    return nullptr;
}

/// The string member `name` of `o`, or "" when absent or not a string.
inline std::string json_member_str(const rapidjson::Value& o, std::string_view name) {
    const auto* v = json_member(o, name);
    if (v == nullptr || !v->IsString())
        return {};
    return std::string(v->GetString(), v->GetStringLength());
}

}  // namespace trib::connectors::s3_detail
