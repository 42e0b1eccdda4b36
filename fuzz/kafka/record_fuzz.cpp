// Fuzzes map_record with records whose key, value and headers come from the input: nothing may
// crash, and what comes out must fit Iggy (header names and values of 1..255 bytes).

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "connectors/kafka/record.h"

using namespace trib::connectors::kafka;

namespace {

// The input as fields separated by 0xff bytes; a field of exactly "\xfe" stands for null.
std::optional<std::string_view> next(std::string_view& in, bool& more) {
    const auto p = in.find('\xff');
    std::string_view f = in.substr(0, p);
    more = p != std::string_view::npos;
    in = more ? in.substr(p + 1) : std::string_view{};
    if (f == "\xfe")
        return std::nullopt;
    return f;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3)
        return 0;
    const std::uint8_t flags = data[0];
    std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);
    record_view r;
    bool more = true;
    r.topic = next(in, more).value_or("t");
    r.partition = static_cast<std::int32_t>(flags & 0x0f);
    r.offset = static_cast<std::int64_t>(size) * 7;
    r.timestamp_ms = (flags & 0x10) != 0 ? -1 : static_cast<std::int64_t>(size);
    if (more)
        r.key = next(in, more);
    if (more)
        r.value = next(in, more);
    while (more) {
        auto name = next(in, more);
        std::optional<std::string_view> value;
        if (more)
            value = next(in, more);
        r.headers.emplace_back(name.value_or(""), value);
    }
    mapping_options o;
    o.unfit_headers = (flags & 0x20) != 0 ? unfit_policy::skip : unfit_policy::reject;
    o.empty_values = (flags & 0x40) != 0 ? unfit_policy::skip : unfit_policy::reject;
    o.metadata_headers = (flags & 0x80) == 0;
    o.key_header = o.metadata_headers;
    auto m = map_record(r, "cluster", o);
    if (m.what == mapped::kind::message) {
        if (m.msg.payload.empty())
            std::abort();
        for (const auto& h : m.msg.headers) {
            if (h.key.empty() || h.key.size() > max_header_bytes || h.value.empty() ||
                h.value.size() > max_header_bytes)
                std::abort();
        }
        if (m.msg.id.is_zero())
            std::abort();
    }
    return 0;
}
