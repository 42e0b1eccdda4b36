#pragma once
// Apache Iceberg's REST catalog server (RESTCatalogServer from the iceberg-open-api test
// fixtures, over a JDBC catalog on SQLite) for the Iceberg sink's tests, started through
// tests/harness/peer.h from the jars scripts/setup_iceberg_rest.sh put into .deps/iceberg-rest:
// the SQLite file and the warehouse live in the peer's temporary folder, so a restart keeps the
// tables.

#include <filesystem>
#include <map>
#include <string>

#include "harness/peer.h"

namespace trib::test {

/// The jars' folder (<source>/.deps/iceberg-rest/lib); empty when not installed.
std::filesystem::path iceberg_rest_lib(const std::filesystem::path& source_dir);

/// The peer spec: `java -cp <lib>/* org.apache.iceberg.rest.RESTCatalogServer` on {port}, the
/// warehouse in {dir}/warehouse.
peer_spec iceberg_rest_spec(const std::filesystem::path& lib);

/// "http://127.0.0.1:<port>".
std::string iceberg_rest_uri(const peer& p);

/// Runs `cmd` through the shell, its stdout and stderr into `out`; the exit status (-1: no exit).
int run_command(const std::string& cmd, std::string& out);

/// The key=value lines of check.py's output.
std::map<std::string, std::string> parse_kv(const std::string& out);

}  // namespace trib::test
