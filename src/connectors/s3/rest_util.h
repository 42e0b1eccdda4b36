#pragma once
// What the GCS, Azure Blob and HDFS stores share: percent-encoding, the URL path of a request,
// and one request with the store's retries. Internal to connectors/s3.

#include <functional>
#include <string>
#include <string_view>

#include "connectors/s3/s3_store.h"
#include "core/error.h"
#include "core/net/http_client.h"

namespace trib::connectors::s3_detail {

/// RFC 3986 percent-encoding of everything but the unreserved characters (and '/' with
/// `keep_slash`).
std::string percent_encode(std::string_view s, bool keep_slash);

/// The path of an absolute URL ("/a/b" of "http://h:1/a/b?x=1"); "/" when it has none.
std::string_view url_path(std::string_view url);

/// Maps an answer that is not a success to an error (the store's own codes).
using classify_fn = std::function<error(const net::http_response&, std::string_view what)>;
/// Builds the request of one attempt (fresh dates and signatures on each).
using request_fn = std::function<result<net::http_request>()>;

/// One request with `s.retries` retries (doubling from `s.retry_delay`, at most 30 s) of
/// transport failures and of 5xx, 429 and 408 answers; returns the last answer otherwise.
/// errc::cancelled once `s.stop` is requested.
result<net::http_response> call_with_retries(net::http_client& http, const s3_settings& s,
                                             const request_fn& make, const classify_fn& classify,
                                             std::string_view what);

/// A client for a store: the settings' timeouts and TLS, object bytes as stored, no redirects.
net::http_client make_store_client(const s3_settings& s);

}  // namespace trib::connectors::s3_detail
