// The Kafka sink's record builder on hostile input: a topic template from the config, and a
// message payload and headers from Iggy (any bytes). Layout: byte 0 picks the key/partition/
// timestamp sources, then three parts separated by 0xff: the template, a header value, the
// payload.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/kafka/sink_record.h"

using namespace trib;
using namespace trib::connectors::kafka_sink;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1)
        return 0;
    const std::uint8_t sel = data[0];
    std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
    auto cut = [&]() {
        auto p = rest.find('\xff');
        std::string_view part = rest.substr(0, p);
        rest = p == std::string_view::npos ? std::string_view() : rest.substr(p + 1);
        return part;
    };
    const std::string_view tmpl = cut();
    const std::string_view hval = cut();
    const std::string_view payload = rest;

    auto t = topic_template::parse(tmpl);
    if (!t)
        return 0;
    record_options o;
    o.topic = std::move(*t);
    o.key = static_cast<key_source>(sel % 6);
    o.key_name = (sel & 0x40) ? "a.b" : "k";
    o.partition = static_cast<partition_source>((sel >> 3) % 3);
    o.partition_header = "k";
    o.timestamp = static_cast<timestamp_source>((sel >> 5) % 4);
    o.timestamp_header = "k";
    o.exclude_headers = {"x*"};

    message_batch b;
    message m;
    m.payload = b.own(std::string(payload));
    m.headers.push_back(header{"k", static_cast<value_kind>(1 + sel % 15), std::string(hval)});
    m.headers.push_back(header{"xk", value_kind::raw, std::string(hval)});
    b.messages.push_back(std::move(m));
    sink_batch sb{"s", "t", 1, "raw", &b};
    auto r = build_record(o, sb, b.messages[0]);
    if (r) {
        (void)check_topic_name(r->topic);
    }
    return 0;
}
