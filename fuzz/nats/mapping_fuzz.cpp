// Feeds arbitrary bytes to the NATS connector's pure mapping: the input's lines are NATS headers
// ("name:value,value"), which become Iggy headers (both unfit policies) and go back to NATS
// headers; the input is also a subject template, rendered against a message whose payload and
// header are the input. Checks the invariants: Iggy headers fit Iggy's limits, NATS header text
// holds no CR/LF/NUL, and a rendered subject is one NATS accepts.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/nats/mapping.h"

using namespace trib;
using namespace trib::connectors::nats;

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    std::size_t start = 0;
    for (;;) {
        const std::size_t at = s.find(sep, start);
        out.push_back(
            s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
        if (at == std::string_view::npos)
            return out;
        start = at + 1;
    }
}

void check_out(const message& m, bool msg_id) {
    auto out = nats_headers({}, m, msg_id);
    if (!out)
        return;
    for (const auto& [k, v] : *out) {
        if (k.empty() || k.find_first_of(":\r\n ") != std::string::npos)
            std::abort();
        if (v.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
            std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<nats_header> headers;
    for (auto line : split(in, '\n')) {
        const std::size_t colon = line.find(':');
        nats_header h{line.substr(0, colon), {}};
        if (colon != std::string_view::npos)
            h.values = split(line.substr(colon + 1), ',');
        headers.push_back(std::move(h));
    }
    for (auto policy : {unfit_policy::reject, unfit_policy::skip}) {
        auto r = iggy_headers(headers, in.substr(0, 300), in.substr(0, 10), size, true, policy);
        if (!r) {
            if (policy == unfit_policy::skip)
                std::abort();  // skipping never fails
            continue;
        }
        for (const auto& h : *r) {
            if (h.key.empty() || h.key.size() > max_header_bytes || h.value.empty() ||
                h.value.size() > max_header_bytes)
                std::abort();
        }
        message m;
        m.id = jetstream_message_id(in, size);
        m.headers = std::move(*r);
        check_out(m, true);
        check_out(m, false);
    }
    if (auto t = parse_subject(in)) {
        message_batch mb;
        message m;
        m.payload = in;
        m.headers = {header{"h", value_kind::string, std::string(in)}};
        sink_batch b;
        b.stream = "s";
        b.topic = "t";
        b.messages = &mb;
        if (auto s = render_subject(*t, b, m); s && !check_publish_subject(*s))
            std::abort();
    }
    (void)check_subscribe_subject(in);
    return 0;
}
