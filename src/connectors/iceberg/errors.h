#pragma once
// The REST catalog's error answers mapped to errc and a retry class, in one place.

#include <string_view>

#include "core/error.h"
#include "core/net/http_client.h"

namespace trib::connectors::iceberg {

/// A non-2xx catalog answer as an error: 401/403 unauthenticated/permission_denied (fatal), 404
/// not_found (fatal), 409 already_exists (a commit conflict: reload and retry), 400/406/422
/// invalid_argument (fatal), 429 and 503 throttled, 5xx unavailable (retryable: for a commit the
/// outcome is unknown, and the replay finds out from the snapshot summaries). The message holds
/// the catalog's own error text.
error catalog_error(const net::http_response& r, std::string_view what);

}  // namespace trib::connectors::iceberg
