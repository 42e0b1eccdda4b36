#!/usr/bin/env bash
# The main job: set-up (build dependencies only), release build, then the quickstart pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS=${TRIB_JOBS:-$(nproc)}
# ccache (when installed) shares objects between clones: paths are hashed relative to the checkout.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
t0=$(date +%s)
scripts/setup.sh --build-only
t1=$(date +%s)
[ -f build/release/build.ninja ] || cmake --preset release > /dev/null
cmake --build build/release -j "$JOBS" --target tributary
t2=$(date +%s)
echo "[quickstart] set-up $((t1 - t0)) s, build $((t2 - t1)) s"
exec build/release/src/app/tributary quickstart "$@"
