// The object-store connectors' parsers (S3, Azure Blob, GCS, WebHDFS answers): the first byte
// picks one; the rest is its input. The framers are
// fed in chunks whose sizes come from the input too, and each record must stay within its limit.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "connectors/s3/azure_util.h"
#include "connectors/s3/gcs_util.h"
#include "connectors/s3/hdfs_util.h"
#include "connectors/s3/records.h"
#include "connectors/s3/source_state.h"
#include "connectors/s3/xml.h"

using namespace trib::connectors::s3_detail;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2)
        return 0;
    const std::uint8_t sel = data[0];
    const std::uint8_t chunk = static_cast<std::uint8_t>(data[1] | 1);
    std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
    switch (sel % 6) {
        case 0:
            (void)parse_list_result(in, (sel & 0x80) != 0);
            break;
        case 1:
            (void)parse_error(in);
            (void)parse_upload_id(in);
            // The other stores' answers: Azure's XML list, GCS's and WebHDFS's JSON, Azure
            // connection strings.
            (void)parse_azure_list(in);
            (void)parse_gcs_list(in);
            (void)parse_gcs_error(in);
            (void)parse_gcs_object(in);
            (void)parse_gcs_token(in);
            (void)parse_gcs_rewrite(in);
            (void)parse_gcs_service_account(in);
            (void)parse_hdfs_statuses(in);
            (void)parse_hdfs_error(in);
            (void)parse_hdfs_boolean(in);
            (void)hdfs_etag_length(in);
            (void)parse_azure_connection_string(in);
            break;
        case 2: {
            auto p = decode_position(in);
            if (p && decode_position(encode_position(*p)).value() != *p)
                std::abort();
            break;
        }
        default: {
            const auto f = sel % 6 == 3   ? record_format::lines
                           : sel % 6 == 4 ? record_format::json_array
                                          : record_format::csv;
            const std::size_t max = 1 + (sel >> 3);
            record_framer fr(f, (sel & 0x40) ? "||" : "\n", max);
            fr.reset(true);
            std::string buf;
            std::size_t fed = 0;
            for (int guard = 0; guard < 1000000; ++guard) {
                auto s = fr.next(buf, fed == in.size());
                using k = record_framer::kind;
                if (s.what == k::need_more) {
                    if (fed == in.size())
                        std::abort();  // need_more at eof: it would never finish
                    const auto n = std::min<std::size_t>(chunk, in.size() - fed);
                    buf.append(in.substr(fed, n));
                    fed += n;
                    continue;
                }
                if (s.what == k::end || s.what == k::malformed)
                    break;
                if (s.consumed > buf.size() || s.end < s.begin || s.end > buf.size())
                    std::abort();
                if ((s.what == k::record || s.what == k::too_long) && s.end - s.begin > max)
                    std::abort();
                if (s.what == k::record && f == record_format::csv)
                    (void)csv_row_json({"a", "b"},
                                       std::string_view(buf).substr(s.begin, s.end - s.begin));
                buf.erase(0, s.consumed);
            }
            break;
        }
    }
    return 0;
}
