// The object source's persisted position as JSON.

#include "connectors/s3/source_state.h"

#include "connectors/s3/json_member.h"
#include "core/json_members.h"
#include "core/json_parse.h"
#include "core/json_text.h"

namespace trib::connectors::s3_detail {
namespace {

const rapidjson::Value* member(const rapidjson::Value& o, std::string_view name) {
    return json_member(o, name);
}

}  // namespace

std::string encode_position(const source_position& p) {
    std::string out = "{";
    json_members(out)
        .uint("v", 1)
        .str("done", p.done_key)
        .str("key", p.key)
        .str("etag", p.etag)
        .uint("pos", p.pos);
    if (p.block != 0)
        json_members(out, false).uint("block", p.block).uint("brow", p.block_row);
    out += '}';
    return out;
}

result<source_position> decode_position(std::string_view text) {
    auto bad = [](std::string why) {
        return unexpected(error(errc::data_loss, retry_class::fatal,
                                "the saved s3_source position is unreadable: " + why));
    };
    if (text.size() > 8192)
        return bad("too long");
    rapidjson::Document d;
    if (auto st = parse_json_document(text, d); !st)
        return bad(st.error().message());
    if (!d.IsObject())
        return bad("not a JSON object");
    auto str = [&](const char* name, std::string& out) -> bool {
        const auto* m = member(d, name);
        if (!m || !m->IsString() || m->GetStringLength() > 1024)
            return false;
        out.assign(m->GetString(), m->GetStringLength());
        return true;
    };
    const auto* v = member(d, "v");
    if (!v || !v->IsUint() || v->GetUint() != 1)
        return bad("unknown version");
    source_position p;
    if (!str("done", p.done_key) || !str("key", p.key) || !str("etag", p.etag))
        return bad("a key or ETag is missing or not a string");
    const auto* pos = member(d, "pos");
    if (!pos || !pos->IsUint64())
        return bad("pos is missing or not an unsigned integer");
    p.pos = pos->GetUint64();
    const auto* block = member(d, "block");
    const auto* brow = member(d, "brow");
    if ((block == nullptr) != (brow == nullptr))
        return bad("block and brow go together");
    if (block != nullptr) {
        if (!block->IsUint64() || !brow->IsUint64())
            return bad("block or brow is not an unsigned integer");
        p.block = block->GetUint64();
        p.block_row = brow->GetUint64();
        if (p.block_row > p.pos)
            return bad("the block's first record is after the position");
    }
    if (p.key.empty() && (p.pos != 0 || p.block != 0))
        return bad("a position without an object");
    return p;
}

}  // namespace trib::connectors::s3_detail
