#!/usr/bin/env bash
# The whole test suite: set-up (idempotent), build (dev: ASan+UBSan; fuzz: clang libFuzzer),
# format check, short fuzz runs, then ctest. Prints how long each phase took.
# Usage: scripts/test.sh [ctest arguments...]   e.g. scripts/test.sh -R iggy_codec
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${TRIB_JOBS:-$(nproc)}
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
[ -f build/dev/build.ninja ] || cmake --preset dev > /dev/null || die "configure (dev)"
cmake --build build/dev -j "$JOBS" || die "build (dev)"
[ -f build/fuzz/build.ninja ] || cmake --preset fuzz > /dev/null || die "configure (fuzz)"
cmake --build build/fuzz -j "$JOBS" --target fuzz_all || die "build (fuzz)"
phase build "$t"

t=$(date +%s)
scripts/format.sh --check || die "format check (run scripts/format.sh)"
for f in build/fuzz/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  corpus=fuzz/corpus/$(basename "$f")
  mkdir -p build/fuzz/corpus/$(basename "$f")
  dirs=(build/fuzz/corpus/$(basename "$f"))
  [ -d "$corpus" ] && dirs+=("$corpus")
  "$f" -max_total_time="${TRIB_FUZZ_SECONDS:-5}" -print_final_stats=0 "${dirs[@]}" \
    > "build/fuzz/$(basename "$f").log" 2>&1 \
    || { tail -40 "build/fuzz/$(basename "$f").log"; die "fuzz target $(basename "$f")"; }
  echo "fuzz: $(basename "$f") ok ($(grep -c . "build/fuzz/$(basename "$f").log") log lines)"
done
phase fuzz+format "$t"

t=$(date +%s)
ctest --test-dir build/dev --output-on-failure -j "$JOBS" "$@"
rc=$?
phase tests "$t"
summary
exit $rc
