// WebHDFS's JSON answers (pure).

#include "connectors/s3/hdfs_util.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>

#include "connectors/s3/json_member.h"
#include "core/json_parse.h"

namespace trib::connectors::s3_detail {
namespace {

std::string member_str(const rapidjson::Value& o, const char* name) {
    return json_member_str(o, name);
}

result<hdfs_entry> entry_of(const rapidjson::Value& v) {
    if (!v.IsObject())
        return fail(errc::protocol_error, "a WebHDFS FileStatus is not an object");
    hdfs_entry e;
    e.name = member_str(v, "pathSuffix");
    e.directory = member_str(v, "type") == "DIRECTORY";
    if (const auto* l = json_member(v, "length"); l && l->IsUint64())
        e.length = l->GetUint64();
    if (const auto* m = json_member(v, "modificationTime"); m && m->IsInt64())
        e.modification_time = m->GetInt64();
    return e;
}

}  // namespace

result<std::vector<hdfs_entry>> parse_hdfs_statuses(std::string_view json) {
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st || !d.IsObject())
        return fail(errc::protocol_error, "the WebHDFS answer is not a JSON object");
    std::vector<hdfs_entry> out;
    if (const auto* statuses = json_member(d, "FileStatuses")) {
        const auto* list = json_member(*statuses, "FileStatus");
        if (list == nullptr || !list->IsArray())
            return fail(errc::protocol_error, "the WebHDFS LISTSTATUS answer has no FileStatus");
        for (const auto& v : list->GetArray()) {
            TRIB_ASSIGN_OR_RETURN(auto e, entry_of(v));
            if (e.name.empty() || e.name.find('/') != std::string::npos)
                return fail(errc::protocol_error, "a WebHDFS entry has a bad pathSuffix");
            out.push_back(std::move(e));
        }
        return out;
    }
    if (const auto* one = json_member(d, "FileStatus")) {
        TRIB_ASSIGN_OR_RETURN(auto e, entry_of(*one));
        out.push_back(std::move(e));
        return out;
    }
    return fail(errc::protocol_error, "the WebHDFS answer has no FileStatuses");
}

result<bool> parse_hdfs_boolean(std::string_view json) {
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st || !d.IsObject())
        return fail(errc::protocol_error, "the WebHDFS answer is not a JSON object");
    const auto* b = json_member(d, "boolean");
    if (b == nullptr || !b->IsBool())
        return fail(errc::protocol_error, "the WebHDFS answer has no boolean");
    return b->GetBool();
}

hdfs_error_body parse_hdfs_error(std::string_view json) {
    hdfs_error_body e;
    rapidjson::Document d;
    if (auto st = parse_json_document(json, d); !st || !d.IsObject())
        return e;
    const auto* re = json_member(d, "RemoteException");
    if (re == nullptr)
        return e;
    e.exception = member_str(*re, "exception").substr(0, 128);
    e.message = member_str(*re, "message").substr(0, 512);
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
