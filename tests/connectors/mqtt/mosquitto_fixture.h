#pragma once
// A real Mosquitto broker for the MQTT connector's tests, on top of tests/harness/peer.h: the
// configuration file is written into the peer's temporary directory, with a plain listener and,
// on request, a TLS listener (test CA made with the openssl command) and a listener that requires
// a user name and password (password file made with mosquitto_passwd). The test PKI comes from
// harness/pki.h.

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"
#include "harness/peer.h"
#include "harness/pki.h"

namespace trib::test {

struct mosquitto_options {
    /// Keep sessions and queued messages on disk (persistence_location in the peer's folder),
    /// so that a restart of the broker loses nothing.
    bool persistence = false;
    /// Adds a TLS listener (port index 1) with a test PKI made in the peer's folder.
    bool tls = false;
    /// The TLS listener demands a client certificate signed by the test CA.
    bool require_client_certificate = false;
    /// Adds a listener (port index 2) that refuses anonymous clients and accepts these users.
    std::vector<std::pair<std::string, std::string>> users;
    /// More configuration lines (global section, before the listeners).
    std::vector<std::string> extra;
};

/// The peer spec of a Mosquitto broker (the `mosquitto` program). Port 0 is the plain anonymous
/// listener; with `tls`, port 1 is the TLS listener and pki() names its files; with `users`,
/// port 2 is the password listener. Limits on queued and in-flight messages are lifted so that
/// loss tests measure Tributary, not the broker's default queue limit (1000 per client).
peer_spec mosquitto_spec(const mosquitto_options& opts = {});

/// The PKI files the TLS listener of a peer started from mosquitto_spec uses.
test_pki mosquitto_pki(const peer& broker);

}  // namespace trib::test
