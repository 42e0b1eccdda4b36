#pragma once
// The Azure Blob Storage object_store (azure_store.cpp). Internal to connectors/s3.

#include <memory>
#include <string_view>

#include "connectors/s3/s3_store.h"

namespace trib::connectors::s3_detail {

/// `s.bucket` is the container; `s.endpoint` the account's blob endpoint
/// (`http://127.0.0.1:10000/devstoreaccount1` for Azurite; empty: the public cloud's).
std::unique_ptr<object_store> make_azure_store(s3_settings s);

/// An Azure answer that is not a success as an error: 503/429/ServerBusy throttled, other 5xx
/// retryable, AuthenticationFailed (401/403) unauthenticated, ContainerNotFound and other 4xx
/// fatal. The message names the store, what was done, the status and Azure's code, never a key.
error classify_azure_response(const net::http_response& r, std::string_view what,
                              std::string_view container);

}  // namespace trib::connectors::s3_detail
