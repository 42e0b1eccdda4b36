#pragma once
// HTTP connectors: the HTTP sink (Iggy -> any HTTP endpoint, Iggy's http_sink options), the
// polling source (calls an HTTP API on an interval, follows pagination, persists its cursor) and
// the webhook source (an HTTP server whose routes write request bodies to Iggy topics and answer
// only after Iggy acknowledged them). See README.md in this folder.

#include <memory>

#include "config/spec.h"
#include "core/connector.h"
#include "core/error.h"

namespace trib::connectors {

/// Sink "http" (Iggy plugin iggy_connector_http_sink).
config::spec http_sink_spec();
result<std::unique_ptr<sink>> make_http_sink(const config::values& v);

/// Source "http_poll".
config::spec http_poll_source_spec();
result<std::unique_ptr<source>> make_http_poll_source(const config::values& v);

/// Source "webhook".
config::spec webhook_source_spec();
result<std::unique_ptr<source>> make_webhook_source(const config::values& v);

}  // namespace trib::connectors
