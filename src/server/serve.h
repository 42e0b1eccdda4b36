#pragma once
// `tributary serve`: runs the embedded Iggy-compatible server in the foreground until SIGINT or
// SIGTERM.

namespace trib::server {

/// Parses the serve options (`argv[0]` is the subcommand name, e.g. "serve") and runs the server:
///   --data-dir DIR [--address 127.0.0.1:8090] [--tls-cert PEM --tls-key PEM]
///   [--root-username U --root-password P | --with-default-root-credentials]
///   [--fsync always|interval|never] [--fsync-interval 1s] [--segment-size 1GiB]
///   [--heartbeat-interval 30s] [--threads N]
///   [--max-connections 1024] [--max-unauthenticated-connections 256] [--login-timeout 10s]
///   [--idle-timeout 0s] [--login-max-failures 5] [--login-lockout-max 5m]
/// Prints `listening on HOST:PORT` once the port accepts connections. Returns the exit code:
/// 0 after a clean stop, 2 for bad options or a data dir another process is serving, 1 when the
/// server cannot start.
int serve_main(int argc, char** argv);

}  // namespace trib::server
