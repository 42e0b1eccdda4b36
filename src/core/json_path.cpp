#include "core/json_path.h"

#include <charconv>

namespace trib {
namespace {

const rapidjson::Value* member(const rapidjson::Value* v, std::string_view name) {
    if (v == nullptr || !v->IsObject())
        return nullptr;
    auto it =
        v->FindMember(rapidjson::Value(name.data(), static_cast<rapidjson::SizeType>(name.size())));
    return it == v->MemberEnd() ? nullptr : &it->value;
}

}  // namespace

const rapidjson::Value* json_member_at(const rapidjson::Value& root,
                                       const std::vector<std::string>& parts) {
    const rapidjson::Value* v = &root;
    for (const auto& p : parts)
        v = member(v, p);
    return v;
}

const rapidjson::Value* json_member_at(const rapidjson::Value& root, std::string_view dotted) {
    const rapidjson::Value* v = &root;
    while (v != nullptr && !dotted.empty()) {
        const auto dot = dotted.find('.');
        v = member(v, dotted.substr(0, dot));
        dotted = dot == std::string_view::npos ? std::string_view{} : dotted.substr(dot + 1);
    }
    return v;
}

std::optional<std::string> json_scalar_text(const rapidjson::Value& v) {
    if (v.IsString())
        return std::string(v.GetString(), v.GetStringLength());
    if (v.IsBool())
        return v.GetBool() ? "true" : "false";
    if (v.IsInt64())
        return std::to_string(v.GetInt64());
    if (v.IsUint64())
        return std::to_string(v.GetUint64());
    if (v.IsDouble()) {
        char buf[32];
        auto r = std::to_chars(buf, buf + sizeof buf, v.GetDouble());
        return std::string(buf, r.ptr);
    }
    return std::nullopt;
}

}  // namespace trib
