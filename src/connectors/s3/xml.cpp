// The S3 API's XML answers through expat: one pass collects leaf elements by their path.

#include "connectors/s3/xml.h"

#include <expat.h>
#include <fmt/format.h>

#include <charconv>
#include <memory>

#include "core/hex.h"

namespace trib::connectors::s3_detail {
namespace {

/// Leaves of the document as (path, text): "ListBucketResult/Contents/Key" -> "a/b.json".
/// `on_close` sees each element's path when it closes (to group repeated children).
struct collector {
    std::vector<std::string> stack;
    std::string text;
    std::vector<std::pair<std::string, std::string>> leaves;
    std::size_t max_leaves = 200000;
    bool too_many = false;
    std::vector<std::size_t> closes;  // index into leaves at which a "Contents" element closed

    static std::string path_of(const std::vector<std::string>& st) {
        std::string p;
        for (const auto& s : st) {
            if (!p.empty())
                p += '/';
            p += s;
        }
        return p;
    }
};

std::string_view local_name(const XML_Char* n) {
    std::string_view s(n);
    const auto sep = s.rfind('|');  // namespace separator set below
    return sep == std::string_view::npos ? s : s.substr(sep + 1);
}

void XMLCALL on_start(void* ud, const XML_Char* name, const XML_Char**) {
    auto* c = static_cast<collector*>(ud);
    c->stack.emplace_back(local_name(name));
    c->text.clear();
}

void XMLCALL on_end(void* ud, const XML_Char* name) {
    auto* c = static_cast<collector*>(ud);
    if (c->leaves.size() >= c->max_leaves) {
        c->too_many = true;
    } else {
        c->leaves.emplace_back(collector::path_of(c->stack), c->text);
    }
    if (local_name(name) == "Contents" || local_name(name) == "Blob")
        c->closes.push_back(c->leaves.size());
    c->text.clear();
    if (!c->stack.empty())
        c->stack.pop_back();
}

void XMLCALL on_text(void* ud, const XML_Char* s, int len) {
    auto* c = static_cast<collector*>(ud);
    if (c->text.size() < (1u << 20))
        c->text.append(s, static_cast<std::size_t>(len));
}

struct parser_deleter {
    void operator()(XML_Parser p) const { XML_ParserFree(p); }
};

result<collector> collect(std::string_view xml) {
    std::unique_ptr<std::remove_pointer_t<XML_Parser>, parser_deleter> p(
        XML_ParserCreateNS(nullptr, '|'));
    if (!p)
        return fail(errc::resource_exhausted, "cannot create an XML parser");
    collector c;
    XML_SetUserData(p.get(), &c);
    XML_SetElementHandler(p.get(), on_start, on_end);
    XML_SetCharacterDataHandler(p.get(), on_text);
    if (xml.size() > static_cast<std::size_t>(INT32_MAX))
        return fail(errc::resource_exhausted, "XML answer too large");
    if (XML_Parse(p.get(), xml.data(), static_cast<int>(xml.size()), 1) == XML_STATUS_ERROR) {
        return fail(errc::protocol_error,
                    fmt::format("the S3 answer is not valid XML: {} at line {}",
                                XML_ErrorString(XML_GetErrorCode(p.get())),
                                XML_GetCurrentLineNumber(p.get())));
    }
    if (c.too_many)
        return fail(errc::resource_exhausted, "the S3 answer has too many elements");
    return c;
}

bool ends_with_path(std::string_view path, std::string_view tail) {
    return path == tail || (path.size() > tail.size() && path.ends_with(tail) &&
                            path[path.size() - tail.size() - 1] == '/');
}

}  // namespace

namespace {

/// Where a listing answer keeps its parts, and how its errors read.
struct listing_shape {
    std::string_view root;       // the answer's root element
    std::string_view key;        // an entry's key
    std::string_view etag;       // an entry's ETag
    std::string_view size;       // an entry's size in bytes
    std::string_view truncated;  // "true" when more pages follow; empty: a non-empty token says so
    std::string_view token;      // the next page's token
    const char* not_a_listing;   // the errors, as each store's own names put them
    const char* bad_size;
    const char* no_key;
};

/// One walk over the collected leaves: an entry ends where its element closed (c.closes).
result<list_page> parse_listing(std::string_view xml, const listing_shape& s, bool url_encoded) {
    TRIB_ASSIGN_OR_RETURN(auto c, collect(xml));
    if (c.leaves.empty() || !c.leaves.back().first.starts_with(s.root))
        return fail(errc::protocol_error, s.not_a_listing);
    list_page page;
    object_info cur;
    bool have_key = false;
    std::size_t next_close = 0;
    for (std::size_t i = 0; i < c.leaves.size(); ++i) {
        const auto& [path, text] = c.leaves[i];
        if (path == s.key) {
            cur.key = text;
            have_key = true;
        } else if (path == s.etag) {
            cur.etag = text;
        } else if (path == s.size) {
            std::uint64_t n = 0;
            auto [q, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
            if (ec != std::errc{} || q != text.data() + text.size())
                return fail(errc::protocol_error, s.bad_size);
            cur.size = n;
        } else if (!s.truncated.empty() && path == s.truncated) {
            page.truncated = text == "true";
        } else if (path == s.token) {
            // Tokens are opaque; S3 does not URL-encode them even with encoding-type=url.
            page.next_token = text;
            if (s.truncated.empty())
                page.truncated = !text.empty();
        }
        while (next_close < c.closes.size() && c.closes[next_close] == i + 1) {
            ++next_close;
            if (!have_key)
                return fail(errc::protocol_error, s.no_key);
            if (url_encoded) {
                auto k = percent_decode(cur.key, true);
                if (!k)
                    return fail(errc::protocol_error, "a listed key is not valid URL encoding");
                cur.key = std::move(*k);
            }
            page.objects.push_back(std::move(cur));
            cur = {};
            have_key = false;
        }
    }
    return page;
}

}  // namespace

result<list_page> parse_list_result(std::string_view xml, bool url_encoded) {
    static constexpr listing_shape s3{"ListBucketResult",
                                      "ListBucketResult/Contents/Key",
                                      "ListBucketResult/Contents/ETag",
                                      "ListBucketResult/Contents/Size",
                                      "ListBucketResult/IsTruncated",
                                      "ListBucketResult/NextContinuationToken",
                                      "the S3 answer is not a ListBucketResult",
                                      "an object's Size in the listing is not a number",
                                      "a listed object has no Key"};
    return parse_listing(xml, s3, url_encoded);
}

result<list_page> parse_azure_list(std::string_view xml) {
    static constexpr listing_shape azure{"EnumerationResults",
                                         "EnumerationResults/Blobs/Blob/Name",
                                         "EnumerationResults/Blobs/Blob/Properties/Etag",
                                         "EnumerationResults/Blobs/Blob/Properties/Content-Length",
                                         "",
                                         "EnumerationResults/NextMarker",
                                         "the Azure answer is not an EnumerationResults",
                                         "a blob's Content-Length in the listing is not a number",
                                         "a listed blob has no Name"};
    return parse_listing(xml, azure, false);
}

result<std::string> parse_upload_id(std::string_view xml) {
    TRIB_ASSIGN_OR_RETURN(auto c, collect(xml));
    for (const auto& [path, text] : c.leaves) {
        if (ends_with_path(path, "InitiateMultipartUploadResult/UploadId") && !text.empty())
            return text;
    }
    return fail(errc::protocol_error, "CreateMultipartUpload answered without an UploadId");
}

std::optional<s3_error_body> parse_error(std::string_view xml) {
    auto c = collect(xml);
    if (!c)
        return std::nullopt;
    s3_error_body e;
    bool is_error = false;
    for (const auto& [path, text] : c->leaves) {
        if (path == "Error/Code") {
            e.code = text.substr(0, 128);
            is_error = true;
        } else if (path == "Error/Message") {
            e.message = text.substr(0, 512);
            is_error = true;
        } else if (path == "Error") {
            is_error = true;
        }
    }
    if (!is_error)
        return std::nullopt;
    return e;
}

std::string complete_multipart_body(const std::vector<std::string>& etags) {
    std::string out = "<CompleteMultipartUpload>";
    for (std::size_t i = 0; i < etags.size(); ++i) {
        out += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>", i + 1);
        for (char ch : etags[i]) {
            switch (ch) {
                case '&':
                    out += "&amp;";
                    break;
                case '<':
                    out += "&lt;";
                    break;
                case '>':
                    out += "&gt;";
                    break;
                case '"':
                    out += "&quot;";
                    break;
                default:
                    out += ch;
            }
        }
        out += "</ETag></Part>";
    }
    out += "</CompleteMultipartUpload>";
    return out;
}

}  // namespace trib::connectors::s3_detail
