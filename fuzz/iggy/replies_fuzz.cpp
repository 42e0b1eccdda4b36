// Every reply decoder on hostile input: the first byte picks the decoder, the rest is the payload.
// Decoders must return an error (never crash or read past the input); what decodes must
// re-encode to bytes that decode to the same value.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "iggy/wire/header.h"
#include "iggy/wire/responses.h"

using namespace trib::iggy;

namespace {

template <class T>
void round_trip(bytes_view in) {
    auto r = T::decode(in);
    if (!r)
        return;
    bytes out;
    writer w(out);
    r->encode(w);
    // Compared as bytes: float fields may hold NaN, which never equals itself.
    auto again = T::decode(out);
    if (!again)
        std::abort();
    bytes out2;
    writer w2(out2);
    again->encode(w2);
    if (out2 != out)
        std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    bytes_view in(data + 1, size - 1);
    switch (data[0] % 24) {
        case 0: {  // a whole server frame, then the payload steps of section 1.7
            auto f = decode_server_frame(in);
            if (f && f->kind == frame_command::reply)
                (void)reply_payload(f->reply, f->body);
            (void)decode_reply(in);
            break;
        }
        case 1:
            round_trip<login_reply>(in);
            break;
        case 2:
            round_trip<stream_details>(in);
            break;
        case 3:
            round_trip<streams_reply>(in);
            break;
        case 4:
            round_trip<topic_details>(in);
            break;
        case 5:
            round_trip<topics_reply>(in);
            break;
        case 6:
            round_trip<consumer_group_details>(in);
            break;
        case 7:
            round_trip<consumer_groups_reply>(in);
            break;
        case 8:
            round_trip<sync_consumer_group_reply>(in);
            break;
        case 9:
            round_trip<consumer_offset_info>(in);
            break;
        case 10:
            round_trip<send_messages_reply>(in);
            break;
        case 11: {
            auto p = poll_reply::decode(in);
            if (p) {
                for (const auto& m : p->messages) {
                    // Views must lie inside the input.
                    if (m.payload.data() < in.data() ||
                        m.payload.data() + m.payload.size() > in.data() + in.size())
                        std::abort();
                    (void)decode_user_headers(m.user_headers);
                }
            }
            break;
        }
        case 12:
            round_trip<stats>(in);
            break;
        case 13:
            round_trip<client_details>(in);
            break;
        case 14:
            round_trip<clients_reply>(in);
            break;
        case 15:
            round_trip<cluster_metadata>(in);
            break;
        case 16:
            round_trip<user_details>(in);
            break;
        case 17:
            round_trip<users_reply>(in);
            break;
        case 18:
            round_trip<raw_personal_access_token>(in);
            break;
        case 19:
            round_trip<personal_access_tokens_reply>(in);
            break;
        case 20:
            round_trip<create_stream_reply>(in);
            break;
        case 21:
            (void)read_frame_prefix(in);
            (void)request_header::decode(in);
            (void)eviction_header::decode(in);
            break;
        default: {
            std::uint32_t code = in.size() >= 2 ? (in[0] | (in[1] << 8)) : 0;
            (void)decode_reply_payload(code, in.size() >= 2 ? in.subspan(2) : in);
            break;
        }
    }
    return 0;
}
