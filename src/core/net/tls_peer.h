#pragma once
// One place that tells OpenSSL whom a TLS client expects to talk to: the MQTT client and the Iggy
// client both call it, so that host names and IP literals are treated alike (SNI only for names,
// as RFC 6066 requires; IP literals checked against the certificate's iPAddress entries, names
// against its DNS entries without partial wildcards). OpenSSL's types are only forward-declared.

#include <string>
#include <string_view>

#include "core/error.h"

struct ssl_st;  // OpenSSL's SSL

namespace trib::net {

/// True when `host` is an IPv4 or IPv6 address literal (no brackets).
bool is_ip_literal(std::string_view host);

/// Prepares `ssl` (before SSL_connect) for a peer called `name`: sets SNI when `name` is a host
/// name, and with `verify` makes the handshake fail unless the certificate names `name` (host
/// name or IP literal). The chain itself is verified per the SSL_CTX's settings.
[[nodiscard]] status expect_tls_peer(ssl_st* ssl, const std::string& name, bool verify);

/// All queued OpenSSL errors of this thread as one line (and clears the queue).
std::string ssl_error_text();

}  // namespace trib::net
