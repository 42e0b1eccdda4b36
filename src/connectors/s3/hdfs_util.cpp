// WebHDFS's JSON answers (pure).

#include "connectors/s3/hdfs_util.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "core/json_parse.h"

namespace trib::connectors::s3_detail {
namespace {

std::string member_str(const rapidjson::Value& o, const char* name) {
    if (!o.IsObject())
        return {};
    auto it = o.FindMember(name);
    if (it == o.MemberEnd() || !it->value.IsString())
        return {};
    return std::string(it->value.GetString(), it->value.GetStringLength());
}

result<hdfs_entry> entry_of(const rapidjson::Value& v) {
    if (!v.IsObject())
        return fail(errc::protocol_error, "a WebHDFS FileStatus is not an object");
    hdfs_entry e;
    e.name = member_str(v, "pathSuffix");
    e.directory = member_str(v, "type") == "DIRECTORY";
    if (auto it = v.FindMember("length"); it != v.MemberEnd() && it->value.IsUint64())
        e.length = it->value.GetUint64();
    if (auto it = v.FindMember("modificationTime"); it != v.MemberEnd() && it->value.IsInt64())
        e.modification_time = it->value.GetInt64();
    return e;
}

}  // namespace

result<std::vector<hdfs_entry>> parse_hdfs_statuses(std::string_view json) {
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st || !d.IsObject())
        return fail(errc::protocol_error, "the WebHDFS answer is not a JSON object");
    std::vector<hdfs_entry> out;
    if (auto it = d.FindMember("FileStatuses"); it != d.MemberEnd()) {
        auto list =
            it->value.IsObject() ? it->value.FindMember("FileStatus") : it->value.MemberEnd();
        if (!it->value.IsObject() || list == it->value.MemberEnd() || !list->value.IsArray())
            return fail(errc::protocol_error, "the WebHDFS LISTSTATUS answer has no FileStatus");
        for (const auto& v : list->value.GetArray()) {
            TRIB_ASSIGN_OR_RETURN(auto e, entry_of(v));
            if (e.name.empty() || e.name.find('/') != std::string::npos)
                return fail(errc::protocol_error, "a WebHDFS entry has a bad pathSuffix");
            out.push_back(std::move(e));
        }
        return out;
    }
    if (auto it = d.FindMember("FileStatus"); it != d.MemberEnd()) {
        TRIB_ASSIGN_OR_RETURN(auto e, entry_of(it->value));
        out.push_back(std::move(e));
        return out;
    }
    return fail(errc::protocol_error, "the WebHDFS answer has no FileStatuses");
}

result<bool> parse_hdfs_boolean(std::string_view json) {
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st || !d.IsObject())
        return fail(errc::protocol_error, "the WebHDFS answer is not a JSON object");
    auto it = d.FindMember("boolean");
    if (it == d.MemberEnd() || !it->value.IsBool())
        return fail(errc::protocol_error, "the WebHDFS answer has no boolean");
    return it->value.GetBool();
}

hdfs_error_body parse_hdfs_error(std::string_view json) {
    hdfs_error_body e;
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st || !d.IsObject())
        return e;
    auto it = d.FindMember("RemoteException");
    if (it == d.MemberEnd())
        return e;
    e.exception = member_str(it->value, "exception").substr(0, 128);
    e.message = member_str(it->value, "message").substr(0, 512);
    return e;
}

std::string hdfs_etag(const hdfs_entry& e) {
    return fmt::format("{}-{}", e.length, e.modification_time);
}

std::optional<std::uint64_t> hdfs_etag_length(std::string_view etag) {
    const auto dash = etag.find('-');
    if (dash == std::string_view::npos || dash == 0)
        return std::nullopt;
    std::uint64_t n = 0;
    auto [p, ec] = std::from_chars(etag.data(), etag.data() + dash, n);
    if (ec != std::errc{} || p != etag.data() + dash)
        return std::nullopt;
    return n;
}

}  // namespace trib::connectors::s3_detail
