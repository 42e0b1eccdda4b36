// Feeds arbitrary bytes to the MQTT frame splitter and packet decoder (both protocol versions),
// and checks that whatever decodes re-encodes to bytes that decode to the same packet. Also
// exercises the topic name/filter helpers, which see broker-supplied topics.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connectors/mqtt/codec.h"

using namespace trib::mqtt;

namespace {

void round_trip(const frame& f, protocol_version v) {
    auto p = decode(f, v);
    if (!p)
        return;
    // A CONNECT carries its own version.
    protocol_version enc_v = v;
    if (auto* c = std::get_if<connect_packet>(&*p))
        enc_v = c->version;
    std::string again;
    encode(again, *p, enc_v);
    auto f2 = next_frame(again);
    if (!f2 || !*f2 || (*f2)->size != again.size())
        std::abort();
    auto p2 = decode(**f2, enc_v);
    if (!p2 || !(*p2 == *p))
        std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    // A stream of packets, as the client reads them from the socket.
    std::string_view rest = in;
    for (int i = 0; i < 64 && !rest.empty(); ++i) {
        auto f = next_frame(rest, 1 << 20);
        if (!f || !*f)
            break;
        round_trip(**f, protocol_version::v311);
        round_trip(**f, protocol_version::v5);
        rest = rest.substr((*f)->size);
    }
    // Topic helpers: split the input into a filter and a topic at the first newline.
    auto nl = in.find('\n');
    std::string_view filter = in.substr(0, nl);
    std::string_view topic = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    bool valid = valid_topic_filter(filter);
    bool matches = topic_matches(filter, topic);
    (void)valid_topic_name(topic);
    (void)strip_share(filter);
    // A filter equal to a valid topic name matches that topic.
    if (valid && valid_topic_name(filter) && filter.substr(0, 1) != "$" && !matches &&
        filter == topic)
        std::abort();
    return 0;
}
