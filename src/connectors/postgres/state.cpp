#include "connectors/postgres/state.h"

#include <fmt/format.h>
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>

#include "connectors/postgres/pg.h"
#include "core/parse_number.h"

namespace trib::connectors::postgres {
namespace {

// The parser keeps no recursion, so nesting cannot exhaust the stack.
constexpr unsigned k_flags = rapidjson::kParseIterativeFlag | rapidjson::kParseValidateEncodingFlag;

template <unsigned Flags>
status parse_object(std::string_view text, const char* what, rapidjson::Document& d) {
    // JSON has no raw NUL byte; RapidJSON would take one as the end and ignore what follows.
    if (const auto nul = text.find('\0'); nul != std::string_view::npos)
        return fail(errc::data_loss, fmt::format("{} has a NUL byte at {}", what, nul));
    d.Parse<Flags>(text.data(), text.size());
    if (d.HasParseError()) {
        return fail(errc::data_loss,
                    fmt::format("{} is not JSON (at byte {}: {})", what, d.GetErrorOffset(),
                                rapidjson::GetParseError_En(d.GetParseError())));
    }
    if (!d.IsObject())
        return fail(errc::data_loss, fmt::format("{} is not a JSON object", what));
    return ok();
}

/// The member `name` of object `obj`, or nullptr. (HasMember and [], not FindMember: comparing
/// its iterators is ambiguous in C++20.)
const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
    return obj.HasMember(name) ? &obj[name] : nullptr;
}

std::string_view text_of(const rapidjson::Value& v) {
    return {v.GetString(), v.GetStringLength()};
}

}  // namespace

result<cdc_state> parse_cdc_state(std::string_view text) {
    constexpr const char* what = "postgres cdc state";
    rapidjson::Document d;
    TRIB_TRY(parse_object<k_flags>(text, what, d));
    cdc_state s;
    auto lsn = [&](const char* name, std::uint64_t& out) -> status {
        const rapidjson::Value* m = member(d, name);
        if (m == nullptr)
            return ok();
        const auto v = m->IsString() ? parse_lsn(text_of(*m)) : std::nullopt;
        if (!v)
            return fail(errc::data_loss, fmt::format("{}: `{}` is not an LSN \"X/Y\"", what, name));
        out = *v;
        return ok();
    };
    TRIB_TRY(lsn("lsn", s.lsn));
    TRIB_TRY(lsn("commit_lsn", s.commit_lsn));
    if (const rapidjson::Value* m = member(d, "snapshot_done")) {
        if (!m->IsBool())
            return fail(errc::data_loss, fmt::format("{}: `snapshot_done` is not a boolean", what));
        s.snapshot_done = m->GetBool();
    }
    if (const rapidjson::Value* m = member(d, "slot")) {
        if (!m->IsString())
            return fail(errc::data_loss, fmt::format("{}: `slot` is not a string", what));
        s.slot.assign(text_of(*m));
    }
    return s;
}

result<polling_state> parse_polling_state(std::string_view text) {
    return parse_poll_state(text, "postgres source state");
}

}  // namespace trib::connectors::postgres
