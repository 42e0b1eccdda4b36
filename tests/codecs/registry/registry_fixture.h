#pragma once
// A schema registry peer for tests: the stand-in of the Confluent REST API
// (ccompat_standin.py, run with the project's .venv Python) on a free loopback port, stopped by
// PID. Apicurio Registry 3.x could not be installed from Maven Central on this machine (see
// docs/connectors/schema-registry.md), so the stand-in is the peer: the client is
// contract-tested against the documented API, and confluent-kafka's own client and
// serializers talk to the same stand-in.

#include <filesystem>
#include <string>

#include "harness/peer.h"

namespace trib::test {

struct registry_peer_options {
    std::string user_info;  // require HTTP basic auth with this user:password
    std::string bearer;     // or this bearer token
    bool tls = false;       // HTTPS with a throw-away PKI in the peer's folder
    bool require_client_certificate = false;
    std::string prefix;  // a path prefix the API is served under ("/apis/ccompat/v7")
};

std::filesystem::path source_dir();
std::filesystem::path venv_python();

peer_spec ccompat_standin_spec(const registry_peer_options& o = {});
/// The base URL clients use for the peer ("http://127.0.0.1:PORT/prefix").
std::string registry_url(const peer& p, const registry_peer_options& o = {});

}  // namespace trib::test
