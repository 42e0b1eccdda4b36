#pragma once
// HTTP connectors: the HTTP sink "http" (Iggy -> any HTTP endpoint, Iggy's http_sink options,
// plugin iggy_connector_http_sink), the polling source "http_poll" (calls an HTTP API on an
// interval, follows pagination, persists its cursor) and the webhook source "webhook" (an HTTP
// server whose routes write request bodies to Iggy topics and answer only after Iggy
// acknowledged them). See README.md in this folder.

#include "config/connector_face.h"

TRIB_CONNECTOR_FACE(http, sink);
TRIB_CONNECTOR_FACE(http_poll, source);
TRIB_CONNECTOR_FACE(webhook, source);
