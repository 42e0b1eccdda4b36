#pragma once
// A throw-away PKI for TLS tests (made with the `openssl` command) and a helper that runs a
// program and returns its output. Shared by the fixtures of every TLS-capable peer (Mosquitto,
// Kafka, the schema registry...).

#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"

namespace trib::test {

/// Certificates and keys of a throw-away PKI (PEM files).
struct test_pki {
    std::filesystem::path ca_cert;
    std::filesystem::path server_cert;  // CN=localhost, SAN DNS:localhost, IP:127.0.0.1
    std::filesystem::path server_key;
    std::filesystem::path client_cert;  // CN=tributary-test-client
    std::filesystem::path client_key;
};

/// Runs a program with arguments (argv[0] looked up in PATH), returns its combined output, or an
/// error with that output when it exits non-zero.
result<std::string> run_command(const std::vector<std::string>& args,
                                const std::filesystem::path& cwd = {});

/// Makes a CA, a server certificate and a client certificate under `dir` with `openssl`
/// (EC P-256 keys, valid two days). `prefix` names the files, so one folder can hold two PKIs.
result<test_pki> make_test_pki(const std::filesystem::path& dir, const std::string& prefix = "");

}  // namespace trib::test
