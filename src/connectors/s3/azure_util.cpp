// Azure Blob's SharedKey signature and connection strings (pure).

#include "connectors/s3/azure_util.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <vector>

#include "core/base64.h"
#include "core/text.h"

namespace trib::connectors::s3_detail {

result<azure_connection> parse_azure_connection_string(std::string_view s) {
    std::map<std::string, std::string> kv;
    while (!s.empty()) {
        const auto semi = s.find(';');
        auto part = trim(s.substr(0, semi));
        s = semi == std::string_view::npos ? std::string_view{} : s.substr(semi + 1);
        if (part.empty())
            continue;
        const auto eq = part.find('=');
        if (eq == std::string_view::npos || eq == 0)
            return fail(errc::invalid_argument,
                        "connection_string: a part is not Key=Value (parts are separated by ';')");
        kv[ascii_lower(trim(part.substr(0, eq)))] = std::string(trim(part.substr(eq + 1)));
    }
    azure_connection c;
    if (kv.count("usedevelopmentstorage") && ascii_lower(kv["usedevelopmentstorage"]) == "true") {
        // Azurite's documented development account.
        c.account = "devstoreaccount1";
        c.key =
            "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
            "KBHBeksoGMGw==";
        c.blob_endpoint = "http://127.0.0.1:10000/devstoreaccount1";
    }
    if (auto it = kv.find("accountname"); it != kv.end())
        c.account = it->second;
    if (auto it = kv.find("accountkey"); it != kv.end())
        c.key = it->second;
    if (auto it = kv.find("sharedaccesssignature"); it != kv.end())
        c.sas = it->second.starts_with('?') ? it->second.substr(1) : it->second;
    if (auto it = kv.find("blobendpoint"); it != kv.end())
        c.blob_endpoint = it->second;
    if (c.blob_endpoint.empty()) {
        if (c.account.empty())
            return fail(errc::invalid_argument,
                        "connection_string: has neither AccountName nor BlobEndpoint");
        const auto proto = kv.count("defaultendpointsprotocol") ? kv["defaultendpointsprotocol"]
                                                                : std::string("https");
        const auto suffix =
            kv.count("endpointsuffix") ? kv["endpointsuffix"] : std::string("core.windows.net");
        c.blob_endpoint = fmt::format("{}://{}.blob.{}", proto, c.account, suffix);
    }
    while (c.blob_endpoint.ends_with('/'))
        c.blob_endpoint.pop_back();
    if (!c.key.empty() && c.account.empty())
        return fail(errc::invalid_argument, "connection_string: AccountKey needs AccountName");
    if (c.key.empty() && c.sas.empty())
        return fail(errc::invalid_argument,
                    "connection_string: has neither AccountKey nor SharedAccessSignature");
    return c;
}

std::string azure_string_to_sign(const azure_request_view& r, std::string_view account) {
    std::map<std::string, std::string> h;
    for (const auto& [k, v] : r.headers)
        h[ascii_lower(k)] = std::string(trim(v));
    auto get = [&](const char* name) {
        auto it = h.find(name);
        return it == h.end() ? std::string() : it->second;
    };
    std::string out;
    out += r.method;
    out += '\n';
    out += get("content-encoding") + '\n';
    out += get("content-language") + '\n';
    out += (r.content_length > 0 ? std::to_string(r.content_length) : std::string()) + '\n';
    out += get("content-md5") + '\n';
    out += get("content-type") + '\n';
    out += get("date") + '\n';
    out += get("if-modified-since") + '\n';
    out += get("if-match") + '\n';
    out += get("if-none-match") + '\n';
    out += get("if-unmodified-since") + '\n';
    out += get("range") + '\n';
    for (const auto& [k, v] : h) {  // sorted by the lower-cased name
        if (k.starts_with("x-ms-"))
            out += k + ":" + v + "\n";
    }
    out += "/";
    out += account;
    out += r.path.empty() ? std::string_view("/") : r.path;
    std::map<std::string, std::string> q;
    for (const auto& [k, v] : r.query)
        q[ascii_lower(k)] = v;
    for (const auto& [k, v] : q)
        out += "\n" + k + ":" + v;
    return out;
}

result<std::string> azure_shared_key_header(std::string_view account, std::string_view key_b64,
                                            std::string_view to_sign) {
    auto key = base64_decode(key_b64);
    if (!key || key->empty())
        return fail(errc::invalid_argument, "the Azure account key is not base64");
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (!HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
              reinterpret_cast<const unsigned char*>(to_sign.data()), to_sign.size(), mac, &len))
        return fail(errc::internal, "HMAC-SHA256 failed");
    return fmt::format("SharedKey {}:{}", account,
                       base64_encode(std::string_view(reinterpret_cast<const char*>(mac), len)));
}

std::string http_date(std::int64_t unix_seconds) {
    const std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    return fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", days[tm.tm_wday % 7], tm.tm_mday,
                       months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string azure_block_id(std::uint64_t n) {
    return base64_encode(fmt::format("tributary-{:010}", n));
}

}  // namespace trib::connectors::s3_detail
