// RESP bytes -> hiredis reader -> XREADGROUP / XAUTOCLAIM entries -> Iggy messages, and the same
// bytes as a key template rendered against a message. Nothing may crash, leak or hang; a reply
// of the wrong shape must come back as an error.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/redis/codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace trib::connectors::redis;
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    redisReader* rd = redisReaderCreate();
    if (rd == nullptr)
        return 0;
    if (redisReaderFeed(rd, in.data(), in.size()) == REDIS_OK) {
        for (int i = 0; i < 4; ++i) {
            void* r = nullptr;
            if (redisReaderGetReply(rd, &r) != REDIS_OK || r == nullptr)
                break;
            auto* reply = static_cast<redisReply*>(r);
            entry_layout l;
            trib::message_batch b;
            if (auto e = entries_of_xread(reply)) {
                for (const auto& en : *e)
                    (void)message_of(l, en, b);
            }
            std::string next;
            if (auto e = entries_of_xautoclaim(reply, "k", &next)) {
                l.fields_as_headers = false;
                for (const auto& en : *e)
                    (void)message_of(l, en, b);
            }
            freeReplyObject(reply);
        }
    }
    redisReaderFree(rd);

    if (auto t = parse_template(in.substr(0, 256))) {
        trib::message_batch b;
        trib::message m;
        m.payload = b.own(std::string(in.substr(std::min<std::size_t>(in.size(), 256))));
        m.headers.push_back({"h", trib::value_kind::int32, std::string(4, '\1')});
        render_input ri{"s", "t", 1, &m, nullptr};
        (void)render(*t, ri);
        sink_layout sl;
        sl.key = *t;
        sl.fields_from_payload = true;
        trib::sink_batch sb;
        sb.stream = "s";
        sb.topic = "t";
        sb.messages = &b;
        (void)commands_for(sl, sb, m);
        sl.mode = sink_mode::hash;
        (void)commands_for(sl, sb, m);
    }
    return 0;
}
