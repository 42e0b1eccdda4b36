// Confluent framing on arbitrary bytes: the header and the Protobuf message indexes must be read
// without crashing or allocating beyond the input, and what is read must write back to the same
// bytes (the [0] shortcut aside). Bodies whose indexes name a message of a small in-memory .proto
// (the registry path: schema text, not files) are decoded too.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "codecs/codec.h"
#include "codecs/registry/framing.h"

namespace {

const char* const schema_text =
    "syntax = \"proto3\";\npackage trib.reg;\n"
    "message Reading { string device = 1; double temp = 2; int64 ts = 3; repeated string tags "
    "= 4;\n  message Point { int32 x = 1; int32 y = 2; } }\n"
    "message Alert { int32 code = 1; string text = 2; }\n";

std::map<std::vector<std::int32_t>, std::unique_ptr<trib::codecs::codec>> codecs() {
    std::map<std::vector<std::int32_t>, std::unique_ptr<trib::codecs::codec>> out;
    trib::codecs::proto_text_source src;
    src.main_text = schema_text;
    for (std::vector<std::int32_t> idx :
         {std::vector<std::int32_t>{0}, std::vector<std::int32_t>{0, 0},
          std::vector<std::int32_t>{1}}) {
        auto c = trib::codecs::make_proto_codec_from_text(src, "", idx);
        if (!c) {
            std::fprintf(stderr, "%s\n", c.error().to_string().c_str());
            std::abort();
        }
        out.emplace(idx, std::move(c->inner));
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace trib::codecs::registry;
    static const auto by_index = codecs();
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    auto f = read_frame(in);
    if (!f)
        return 0;
    std::string header;
    write_frame_header(f->schema_id, header);
    if (header != in.substr(0, header_size))
        std::abort();
    std::string_view body = f->body;
    auto idx = read_message_indexes(body);
    if (!idx) {
        if (body != f->body)  // not advanced on failure
            std::abort();
        return 0;
    }
    if (idx->empty() || idx->size() > max_message_indexes)
        std::abort();
    std::string again;
    write_message_indexes(*idx, again);
    std::string_view reread = again;
    auto idx2 = read_message_indexes(reread);
    if (!idx2 || *idx2 != *idx || !reread.empty())
        std::abort();
    auto it = by_index.find(*idx);
    if (it != by_index.end()) {
        trib::codecs::arena a;
        trib::codecs::record r;
        (void)it->second->decode(body, a, r);
    }
    return 0;
}
