#!/bin/sh
# Runs every codec benchmark that is already built (build/release/bench/codecs/bench_codecs_*,
# or BUILD_DIR) and every bench/codecs/*_ref.py with the project's .venv python, then prints a
# table (format, op, Tributary records/s and MB/s, the reference's records/s, ratio) and a JSON
# summary. Builds nothing.
#
#   bench/codecs/run.sh [--seconds N]          (run from anywhere; N per measurement, default 1)
#   BUILD_DIR=build/release bench/codecs/run.sh
#
# Goals (issue 13): each codec >= 3x its Python reference; JSON decode >= 0.5x simdjson's parse.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD_DIR:-$root/build/release}
python=${PYTHON:-$root/.venv/bin/python}
# The JSON Schema pair takes a schema path and the seconds as positional arguments.
seconds=1
if [ "${1:-}" = "--seconds" ] && [ -n "${2:-}" ]; then seconds=$2; fi
schema="$here/record20.schema.json"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

found=0
for b in "$build"/bench/codecs/bench_codecs_*; do
    [ -x "$b" ] || continue
    found=1
    # Not every program takes --seconds: the JSON Schema pair wants (schema, seconds), the bson
    # pair seconds alone, the avro pair a record count (its default).
    case "$(basename "$b")" in
    bench_codecs_json_schema) set -- "$schema" "$seconds" ;;
    bench_codecs_bson) set -- "$seconds" ;;
    bench_codecs_avro) set -- ;;
    *) set -- --seconds "$seconds" ;;
    esac
    echo "running $(basename "$b") $*" >&2
    "$b" "$@" >>"$out" || echo "$(basename "$b") failed (exit $?)" >&2
done
[ "$found" = 1 ] || echo "no bench_codecs_* in $build/bench/codecs (build them first)" >&2
for r in "$here"/*_ref.py; do
    [ -f "$r" ] || continue
    case "$(basename "$r")" in
    json_schema_ref.py) set -- "$schema" "$seconds" ;;
    bson_ref.py) set -- "$seconds" ;;
    avro_ref.py) set -- ;;
    *) set -- --seconds "$seconds" ;;
    esac
    echo "running $(basename "$r") $*" >&2
    "$python" "$r" "$@" >>"$out" || echo "$(basename "$r") failed (exit $?)" >&2
done

"$python" "$here/summarize.py" "$out"
