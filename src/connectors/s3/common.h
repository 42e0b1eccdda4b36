#pragma once
// What the S3 sink and source share: the store settings from their options (credentials, region,
// endpoint, addressing, TLS). Internal to connectors/s3.

#include <memory>
#include <vector>

#include "config/spec.h"
#include "connectors/s3/s3_store.h"
#include "core/connector.h"

namespace trib::connectors::s3_detail {

/// The store settings from those options (credentials not resolved yet).
result<s3_settings> store_settings(const config::values& v);
/// Cross-option checks of the store options of `k` (spec.toml declares them).
void check_options_for(store_kind k, const config::values& v, const config::check_report& report);
/// The settings of a store of kind `k` from its options.
result<s3_settings> store_settings_for(store_kind k, const config::values& v);

/// The object sink's and source's specs over store `k` (S3's are s3_sink_spec/s3_source_spec).
config::spec object_sink_spec(store_kind k);
config::spec object_source_spec(store_kind k);
result<std::unique_ptr<sink>> make_object_sink(store_kind k, const config::values& v);
result<std::unique_ptr<source>> make_object_source(store_kind k, const config::values& v);
/// Fills s.credentials from s.credential_source, the environment and the credentials file (at
/// open(); the error is fatal and names where it looked).
status resolve_store_credentials(s3_settings& s);
/// Cross-option checks of S3's store options (report with the option's name).
void check_store_options(const config::values& v, const config::check_report& report);

}  // namespace trib::connectors::s3_detail
