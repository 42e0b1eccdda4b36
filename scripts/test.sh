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
[ -f build/dev/build.ninja ] || cmake --preset dev > /dev/null || die "configure (dev)"
cmake --build build/dev -j "$JOBS" || die "build (dev)"
[ -f build/fuzz/build.ninja ] || cmake --preset fuzz > /dev/null || die "configure (fuzz)"
cmake --build build/fuzz -j "$JOBS" --target fuzz_all || die "build (fuzz)"
phase build "$t"

t=$(date +%s)
failed=()
scripts/format.sh --check || failed+=("format check (run scripts/format.sh)")
# Fixed seed: a failure here reproduces with the same command. Crash inputs go to build/fuzz/.
for f in build/fuzz/fuzz/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  corpus=fuzz/corpus/$name
  mkdir -p "build/fuzz/corpus/$name"
  dirs=("build/fuzz/corpus/$name")
  [ -d "$corpus" ] && dirs+=("$corpus")
  # Inputs up to 1 MiB (hostile sizes, issue 12); an input that takes over 10 s counts as a hang.
  if "$f" -seed=1 -max_total_time="${TRIB_FUZZ_SECONDS:-5}" -max_len=1048576 -timeout=10 \
      -print_final_stats=0 \
      -artifact_prefix=build/fuzz/ "${dirs[@]}" > "build/fuzz/$name.log" 2>&1; then
    echo "fuzz: $name ok ($(grep -c . "build/fuzz/$name.log") log lines)"
  else
    tail -40 "build/fuzz/$name.log"
    failed+=("fuzz target $name (crash input under build/fuzz/)")
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
