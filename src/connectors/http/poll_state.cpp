#include "connectors/http/poll_state.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include <fmt/format.h>

#include "core/json_text.h"

namespace trib::connectors::http_detail {

std::string to_state(const poll_position& p) {
    std::string s = "{\"cursor\":";
    append_json_string(s, p.cursor);
    s += ",\"next_url\":";
    append_json_string(s, p.next_url);
    s += '}';
    return s;
}

result<poll_position> from_state(std::string_view state) {
    poll_position p;
    // JSON has no raw NUL byte; RapidJSON would take one as the end and ignore what follows.
    if (const auto nul = state.find('\0'); nul != std::string_view::npos)
        return fail(errc::data_loss, fmt::format("http_poll state has a NUL byte at {}", nul));
    rapidjson::Document d;
    d.Parse<rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag>(state.data(),
                                                                                    state.size());
    if (d.HasParseError()) {
        return fail(errc::data_loss,
                    fmt::format("http_poll state is not JSON (at byte {}: {})", d.GetErrorOffset(),
                                rapidjson::GetParseError_En(d.GetParseError())));
    }
    if (!d.IsObject())
        return fail(errc::data_loss, "http_poll state is not a JSON object");
    for (auto [name, out] : {std::pair{"cursor", &p.cursor}, std::pair{"next_url", &p.next_url}}) {
        // HasMember and [], not FindMember: comparing its iterators is ambiguous in C++20.
        if (!d.HasMember(name))
            continue;
        const rapidjson::Value& v = d[name];
        if (!v.IsString())
            return fail(errc::data_loss,
                        fmt::format("http_poll state: `{}` is not a string", name));
        out->assign(v.GetString(), v.GetStringLength());
    }
    return p;
}

}  // namespace trib::connectors::http_detail
