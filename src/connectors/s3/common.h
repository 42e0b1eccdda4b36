#pragma once
// What the S3 sink and source share: the store settings from their options (credentials, region,
// endpoint, addressing, TLS). Internal to connectors/s3.

#include <vector>

#include "config/spec.h"
#include "connectors/s3/s3_store.h"

namespace trib::connectors::s3_detail {

/// The options both directions declare (endpoint, credentials, TLS), added to `out`.
void add_store_options(std::vector<config::option>& out, bool region_required);
/// The store settings from those options (credentials not resolved yet).
result<s3_settings> store_settings(const config::values& v);
/// Fills s.credentials from s.credential_source, the environment and the credentials file (at
/// open(); the error is fatal and names where it looked).
status resolve_store_credentials(s3_settings& s);
/// Cross-option checks of add_store_options (report with the option's name).
void check_store_options(const config::values& v, const config::check_report& report);

}  // namespace trib::connectors::s3_detail
