#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), build (dev: ASan+UBSan; fuzz: clang libFuzzer),
# format check, short fuzz runs, then ctest. Prints how long each phase took.
# Usage: scripts/test.sh [ctest arguments...]   e.g. scripts/test.sh -R iggy_codec
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${TRIB_JOBS:-$(nproc)}
# ccache (when installed) shares objects between clones: paths are hashed relative to the checkout.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
t_start=$(date +%s)
phase_times=()
phase() { phase_times+=("$1 $(( $(date +%s) - $2 )) s"); }
summary() {
  echo
  echo "== timings: ${phase_times[*]}; total $(( $(date +%s) - t_start )) s"
}
die() { echo "FAILED: $*" >&2; summary; exit 1; }

t=$(date +%s)
scripts/setup.sh || die "set-up"
phase set-up "$t"

t=$(date +%s)
# Configured every run (a few seconds) so that a changed preset reaches warm checkouts too.
cmake --preset dev > /dev/null || die "configure (dev)"
cmake --build build/dev -j "$JOBS" || die "build (dev)"
cmake --preset fuzz > /dev/null || die "configure (fuzz)"
cmake --build build/fuzz -j "$JOBS" --target fuzz_all || die "build (fuzz)"
phase build "$t"

t=$(date +%s)
failed=()
scripts/format.sh --check || failed+=("format check (run scripts/format.sh)")
# Fixed seed: a failure here reproduces with the same command. Crash inputs go to build/fuzz/.
# Each target runs for a fixed wall time, so $JOBS of them run side by side (one per core).
fuzz_one() {
  local f=$1 name corpus
  name=$(basename "$f")
  corpus=fuzz/corpus/$name
  mkdir -p "build/fuzz/corpus/$name"
  local dirs=("build/fuzz/corpus/$name")
  [ -d "$corpus" ] && dirs+=("$corpus")
  # Inputs up to 1 MiB (hostile sizes, issue 12); an input that takes over 10 s counts as a hang.
  "$f" -seed=1 -max_total_time="${TRIB_FUZZ_SECONDS:-5}" -max_len=1048576 -timeout=10 \
    -print_final_stats=0 -artifact_prefix="build/fuzz/$name-" "${dirs[@]}" \
    > "build/fuzz/$name.log" 2>&1
  echo $? > "build/fuzz/$name.rc"
}
fuzz_targets=()
for f in build/fuzz/fuzz/fuzz_*; do
  [ -x "$f" ] && fuzz_targets+=("$f")
done
for f in "${fuzz_targets[@]}"; do
  rm -f "build/fuzz/$(basename "$f").rc"
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
  fuzz_one "$f" &
done
wait
for f in "${fuzz_targets[@]}"; do
  name=$(basename "$f")
  if [ "$(cat "build/fuzz/$name.rc" 2>/dev/null)" = 0 ]; then
    echo "fuzz: $name ok ($(grep -c . "build/fuzz/$name.log") log lines)"
  else
    tail -40 "build/fuzz/$name.log"
    failed+=("fuzz target $name (crash input build/fuzz/$name-*)")
  fi
done
phase fuzz+format "$t"

t=$(date +%s)
ctest --test-dir build/dev --output-on-failure -j "$JOBS" "$@"
rc=$?
phase tests "$t"
for f in "${failed[@]}"; do echo "FAILED: $f" >&2; done
[ ${#failed[@]} -eq 0 ] || rc=1
summary
exit $rc
