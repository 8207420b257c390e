#!/bin/sh
# fuzz.sh - build the libFuzzer targets and run each one for a while.
#
#   scripts/fuzz.sh [seconds]       seconds per target, default 20
#   FUZZ_TARGETS="fuzz_host" scripts/fuzz.sh 60     only some targets
#
# Builds in build-fuzz/ with clang (BUILD_DIR overrides), seeds each corpus
# fuzz-corpus/<target>/ (gitignored) from the unit tests' vectors (the
# test_http1_* programs write every input they feed when
# HSTSPROXY_DUMP_VECTORS names a directory) and from tests/fuzz/seeds/
# <target>/ when present, then runs every target (some with extra flags:
# see target_flags below). Exits non-zero if any target fails to build or
# finds a crash, leak or timeout; the input is kept as
# fuzz-corpus/artifacts/<target>/crash-*.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-"$top/build-fuzz"}
corpus="$top/fuzz-corpus"
seconds=${1:-20}
all_targets="fuzz_http1_request fuzz_http1_response fuzz_http1_chunked
fuzz_sts_header fuzz_host fuzz_preload_import fuzz_tls_hello"
targets=${FUZZ_TARGETS:-$all_targets}
jobs=${JOBS:-2}

case "$seconds" in
  ''|*[!0-9]*) echo "fuzz.sh: seconds must be a number, got '$seconds'" >&2
               exit 2 ;;
esac
if ! command -v clang >/dev/null 2>&1; then
  echo "fuzz.sh: clang not found; libFuzzer needs clang" >&2
  exit 2
fi

CC=clang cmake -S "$top" -B "$build" -DHSTSPROXY_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null 2>&1 ||
  { echo "fuzz.sh: cmake configure of $build failed" >&2; exit 2; }

# Which unit test (of tests/unit/http1/) seeds which corpus.
seeder() {
  case "$1" in
    fuzz_http1_request) echo test_http1_request ;;
    fuzz_http1_response) echo test_http1_response ;;
    fuzz_http1_chunked) echo test_http1_chunked ;;
    *) echo "" ;;
  esac
}

# Extra libFuzzer flags per target. The preload importer goes through
# SQLite on every input, which is slow: keep its inputs short.
target_flags() {
  case "$1" in
    fuzz_preload_import) echo "-max_len=4096" ;;
    *) echo "" ;;
  esac
}

status=0
for t in $targets; do
  s=$(seeder "$t")
  mkdir -p "$corpus/$t" "$corpus/artifacts/$t"
  # shellcheck disable=SC2086
  if ! cmake --build "$build" -j "$jobs" --target "$t" $s \
      >"$corpus/artifacts/$t/build.log" 2>&1; then
    echo "fuzz.sh: $t: build failed; see $corpus/artifacts/$t/build.log" >&2
    grep -E 'error' "$corpus/artifacts/$t/build.log" | head -5 >&2 || true
    status=1
    continue
  fi
  if [ -n "$s" ]; then
    HSTSPROXY_DUMP_VECTORS="$corpus/$t" "$build/tests/unit/http1/$s" >/dev/null
  fi
  if [ -d "$top/tests/fuzz/seeds/$t" ]; then
    cp "$top/tests/fuzz/seeds/$t"/* "$corpus/$t"/ 2>/dev/null || true
  fi
  echo "fuzz.sh: $t for ${seconds}s ($(ls "$corpus/$t" | wc -l) corpus files)"
  log="$corpus/artifacts/$t/last-run.log"
  # shellcheck disable=SC2046
  if "$build/tests/fuzz/$t" -max_total_time="$seconds" -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 $(target_flags "$t") \
      -artifact_prefix="$corpus/artifacts/$t/" "$corpus/$t" >"$log" 2>&1; then
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec)' "$log" |
      sed "s/^/  /"
  else
    echo "fuzz.sh: $t FAILED; see $log and $corpus/artifacts/$t/" >&2
    grep -E 'ERROR|invariant violated|SUMMARY' "$log" | head -5 >&2 || true
    status=1
  fi
done
exit $status
