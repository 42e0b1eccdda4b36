#!/usr/bin/env bash
# Builds librdkafka (C library only) from the source that the crate rdkafka-sys vendors, into
# DEST (default .deps/librdkafka): lib/librdkafka.so*, include/librdkafka/rdkafka.h,
# lib/pkgconfig/rdkafka.pc. Idempotent: DEST/VERSION names the built version; when it matches,
# nothing is fetched or rebuilt.
#
# Why not Debian's librdkafka-dev: Debian 12 ships 2.0.2, whose SCRAM client proof Kafka 4.x
# refuses (confluentinc/librdkafka#4895, fixed in 2.6.1). crates.io is the offline-friendly source:
# cargo fetches it with a project-local CARGO_HOME (.deps/cargo/home), nothing lands in ~/.cargo.
#
# Built in: OpenSSL (TLS, SASL PLAIN/SCRAM-SHA-256/-512, OAUTHBEARER without OIDC), zlib, zstd,
# lz4 and snappy (both bundled in librdkafka's source). Left out: GSSAPI/Kerberos (Cyrus libsasl2),
# libcurl (OIDC token fetching and the AWS/Azure metadata helpers), the C++ wrapper, examples.
#
# Exit codes: 0 already there, 10 built now, 1 failure.
# Usage: scripts/setup_librdkafka.sh [DEST]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEST=${1:-$ROOT/.deps/librdkafka}
CRATE_VERSION=4.10.0
RDKAFKA_VERSION=2.12.1
WANT="librdkafka $RDKAFKA_VERSION (rdkafka-sys $CRATE_VERSION)"

log() { printf '[setup_librdkafka] %s\n' "$*"; }

if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$WANT" ] \
  && [ -f "$DEST/lib/pkgconfig/rdkafka.pc" ] && [ -e "$DEST/lib/librdkafka.so" ]; then
  exit 0
fi

# Another clone on this machine built the same version: copy it (seconds, not minutes). The .pc
# file is relocatable (below), so the copy works where it lands.
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/tributary/librdkafka-$RDKAFKA_VERSION
if [ -f "$CACHE/VERSION" ] && [ "$(cat "$CACHE/VERSION")" = "$WANT" ] \
  && [ -f "$CACHE/lib/pkgconfig/rdkafka.pc" ] && [ -e "$CACHE/lib/librdkafka.so" ]; then
  rm -rf "$DEST"
  mkdir -p "$(dirname "$DEST")"
  cp -a "$CACHE" "$DEST"
  log "copied $WANT from $CACHE"
  exit 10
fi

CARGO=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
if [ ! -x "$CARGO" ]; then
  echo "[setup_librdkafka] cargo not found; install Rust (rustup) to fetch librdkafka's source" >&2
  exit 1
fi

t0=$(date +%s)
export CARGO_HOME=$ROOT/.deps/cargo/home
work=$(mktemp -d "${TMPDIR:-/tmp}/trib-librdkafka.XXXXXX")
trap 'rm -rf "$work"' EXIT

# A throw-away Cargo project whose only dependency is the crate; `cargo fetch` puts the crate's
# source (librdkafka included) under $CARGO_HOME/registry/src.
mkdir -p "$work/fetch/src"
cat > "$work/fetch/Cargo.toml" <<EOF
[package]
name = "trib-fetch-librdkafka"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
rdkafka-sys = { version = "=$CRATE_VERSION", default-features = false }
EOF
echo 'fn main() {}' > "$work/fetch/src/main.rs"
log "cargo fetch rdkafka-sys $CRATE_VERSION (librdkafka $RDKAFKA_VERSION source)"
(cd "$work/fetch" && "$CARGO" fetch -q) > "$work/fetch.log" 2>&1 \
  || { tail -30 "$work/fetch.log" >&2; exit 1; }
src=$(ls -d "$CARGO_HOME"/registry/src/*/"rdkafka-sys-$CRATE_VERSION+$RDKAFKA_VERSION"/librdkafka \
  2>/dev/null | head -1)
if [ -z "$src" ] || [ ! -x "$src/configure" ]; then
  echo "[setup_librdkafka] librdkafka source not found after cargo fetch" >&2
  exit 1
fi

# mklove's configure builds in the source tree: work on a copy.
cp -a "$src" "$work/librdkafka"
cd "$work/librdkafka"
log "configure + make -j2 (about 3 minutes on 2 free cores)"
# --disable-lz4-ext: the bundled lz4 (1.9.4, same as Debian's), so no liblz4-dev is needed.
./configure --prefix="$DEST" --libdir="$DEST/lib" \
  --enable-ssl --enable-zlib --enable-zstd --disable-lz4-ext \
  --disable-gssapi --disable-curl > "$work/configure.log" 2>&1 \
  || { tail -40 "$work/configure.log" >&2; exit 1; }
for feature in WITH_SSL WITH_ZLIB WITH_ZSTD WITH_SASL_SCRAM WITH_SNAPPY; do
  grep -q "^#define $feature 1" config.h || {
    echo "[setup_librdkafka] configure left out $feature (see below)" >&2
    tail -40 "$work/configure.log" >&2
    exit 1
  }
done
rm -rf "$DEST"
make -j2 -C src > "$work/make.log" 2>&1 && make -C src install > "$work/install.log" 2>&1 \
  || { tail -40 "$work/make.log" "$work/install.log" >&2; exit 1; }
# Only the shared library is wanted: the static archives would let a link pick them silently.
rm -f "$DEST"/lib/librdkafka*.a "$DEST"/lib/pkgconfig/rdkafka-static.pc
# Relocatable: .deps may be reached through a symbolic link (a git worktree's .deps pointing at the
# main checkout's), so the paths come from where the .pc file is found, not from the build.
sed -i -e 's|^prefix=.*|prefix=${pcfiledir}/../..|' -e 's|^libdir=.*|libdir=${prefix}/lib|' \
  -e 's|^includedir=.*|includedir=${prefix}/include|' "$DEST/lib/pkgconfig/rdkafka.pc"
echo "$WANT" > "$DEST/VERSION"
log "built $WANT into $DEST in $(( $(date +%s) - t0 )) s"
# Kept for the next clone (a failure here only costs the next clone a build).
mkdir -p "$(dirname "$CACHE")" && rm -rf "$CACHE.tmp" && cp -a "$DEST" "$CACHE.tmp" \
  && rm -rf "$CACHE" && mv "$CACHE.tmp" "$CACHE" || log "could not keep a copy in $CACHE"
exit 10
