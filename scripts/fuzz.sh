#!/usr/bin/env bash
# The libFuzzer harnesses of every parser of untrusted bytes (tests/fuzz), built with
# clang-14, ASan and UBSan into their own build directory (build-fuzz/).
#   scripts/fuzz.sh [build]              installs clang and libFuzzer when missing, builds
#   scripts/fuzz.sh smoke [NAME...]      builds, then runs each harness briefly (fixed seed,
#                                        bounded runs and time): what scripts/test.sh runs
#   scripts/fuzz.sh long [RUNS] [NAME...]  builds, then runs each harness for RUNS executions
#                                        (default 10000000), one after the other, and prints
#                                        execs, exec/s, coverage (cov, ft) and findings
#   scripts/fuzz.sh ledger [NAME...]     every long run's figures so far and each harness's
#                                        total executions without a finding
#   scripts/fuzz.sh smoke-one BINARY CORPUS FINDINGS   one smoke run (ctest's fuzz.NAME)
# Each run works on a copy of the checked-in seeds (tests/fuzz/corpus/NAME), which it
# never changes; what a long run adds is kept in build-fuzz/corpus/NAME for the next one.
# Findings (crash-*, leak-*, timeout-*, oom-* inputs) go to build-fuzz/findings/NAME/.
# Each long run appends a line to build-fuzz/findings/NAME.ledger, also when it is stopped
# early (libFuzzer prints its figures on SIGINT/SIGTERM), so runs spread over days add up.
# Environment: FUZZ_BUILD_DIR (build-fuzz), JOBS (2), SMOKE_RUNS (20000), SMOKE_SECONDS (4),
# LONG_SECONDS (0: no limit, else each long run stops after that many seconds),
# FUZZ_SEED (1; the long runs' seed only, the smoke's stays 1: long runs of one harness
# with different seeds can run side by side on two cores, each with its own log, both
# adding to the same ledger and corpus).
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir=$(pwd)
BUILD_DIR=${FUZZ_BUILD_DIR:-build-fuzz}
JOBS=${JOBS:-2}
SMOKE_RUNS=${SMOKE_RUNS:-20000}
SMOKE_SECONDS=${SMOKE_SECONDS:-4}
LONG_SECONDS=${LONG_SECONDS:-0}
FUZZ_SEED=${FUZZ_SEED:-1}
# -close_fd_mask=1: what the code under test logs to stdout is noise at a million runs.
COMMON_FLAGS=(-timeout=10 -rss_limit_mb=2048 -close_fd_mask=1 -print_final_stats=1)

build() {
  ./scripts/deps.sh fuzz
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    # Only the harnesses and the sans-io libraries they link are built (their target),
    # in batches (unity build) as the normal build does.
    cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
      -DCMAKE_CXX_COMPILER=clang++-14 -DPOOLWATCH_FUZZ=ON -DPOOLWATCH_BUILD_TESTS=OFF >/dev/null
  fi
  cmake --build "$BUILD_DIR" -j"$JOBS" --target poolwatch_fuzz
}

harnesses() {
  if [ $# -gt 0 ]; then
    printf '%s\n' "$@"
  else
    find tests/fuzz -maxdepth 1 -name '*_fuzz.cpp' -printf '%f\n' | sed 's/_fuzz\.cpp$//' | sort
  fi
}

# The figures of a finished run from its log: "execs exec/s cov ft".
figures() {
  local log=$1 execs speed cov ft
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
  echo "${execs:-?} ${speed:-?} ${cov:-?} ${ft:-?}"
}

# run BINARY SEEDS FINDINGS LOG OUT FLAGS...: one run that reads the seeds and writes
# the inputs it adds to OUT; 0 without a finding.
run() {
  local binary=$1 seeds=$2 findings=$3 log=$4 out=$5
  shift 5
  mkdir -p "$findings"
  "$binary" "${COMMON_FLAGS[@]}" -artifact_prefix="$findings/" "$@" "$out" "$seeds" >"$log" 2>&1
}

smoke_one() {
  local binary=$1 seeds=$2 findings=$3 log scratch status=0
  log=$(mktemp "${TMPDIR:-/tmp}/poolwatch-fuzz-log.XXXXXX")
  scratch=$(mktemp -d "${TMPDIR:-/tmp}/poolwatch-fuzz.XXXXXX")
  run "$binary" "$seeds" "$findings" "$log" "$scratch" -seed=1 -runs="$SMOKE_RUNS" \
    -max_total_time="$SMOKE_SECONDS" || status=$?
  rm -rf "$scratch"
  if [ "$status" -eq 0 ]; then
    echo "ok: $(basename "$binary"): $(figures "$log" | awk '{print $1 " execs, cov " $3 ", ft " $4}')"
    rm -f "$log"
  else
    tail -n 60 "$log"
    echo "FAIL: $(basename "$binary"): a finding (exit $status), see $findings/ and $log"
    return 1
  fi
}

smoke() {
  local failures=0 name
  for name in $(harnesses "$@"); do
    smoke_one "$BUILD_DIR/tests/fuzz/$name" "tests/fuzz/corpus/$name" \
      "$BUILD_DIR/findings/$name" || failures=$((failures + 1))
  done
  [ "$failures" -eq 0 ] || { echo "FAIL: $failures harness(es) found something"; exit 1; }
}

long() {
  local runs=10000000 name status log kept failures=0
  if [ $# -gt 0 ] && [[ $1 =~ ^[0-9]+$ ]]; then runs=$1; shift; fi
  # ASan's malloc stack traces slow every allocation of a long run and help only after a
  # finding, which its input reproduces with them on.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=0}
  printf '%-20s %12s %9s %6s %7s  %s\n' harness execs exec/s cov ft finding
  for name in $(harnesses "$@"); do
    log="$BUILD_DIR/findings/$name.long.seed$FUZZ_SEED.log"
    kept="$BUILD_DIR/corpus/$name"
    mkdir -p "$kept" "$BUILD_DIR/findings/$name"
    status=0
    # The corpus of earlier long runs is where this one starts and adds to.
    # Killed from outside: count what the run did, then stop.
    trap 'record "$name" "$log" interrupted; exit 143' TERM INT
    run "$BUILD_DIR/tests/fuzz/$name" "tests/fuzz/corpus/$name" "$BUILD_DIR/findings/$name" \
      "$log" "$kept" -seed="$FUZZ_SEED" -runs="$runs" -max_total_time="$LONG_SECONDS" || status=$?
    trap - TERM INT
    local finding=none
    if [ "$status" -ne 0 ]; then
      finding=$(ls -t "$BUILD_DIR/findings/$name" | head -n 1)
      finding="exit-$status:${finding:-see-$log}"
      failures=$((failures + 1))
    fi
    record "$name" "$log" "$finding"
    # shellcheck disable=SC2046
    printf '%-20s %12s %9s %6s %7s  %s\n' "$name" $(figures "$log") "$finding"
  done
  [ "$failures" -eq 0 ] || exit 1
}

# A line per long run: "DATE COMMIT execs exec/s cov ft finding". Written by a trap too, so
# a run that is killed (to free the machine for a test run) still counts what it did.
record() {
  local name=$1 log=$2 finding=$3
  echo "$(date -u +%FT%TZ) $(git rev-parse --short HEAD 2>/dev/null || echo -) $(figures "$log") $finding" \
    >>"$BUILD_DIR/findings/$name.ledger"
}

ledger() {
  local name total
  printf '%-20s %5s %12s  %s\n' harness runs execs findings
  for name in $(harnesses "$@"); do
    local file="$BUILD_DIR/findings/$name.ledger"
    [ -f "$file" ] || { printf '%-20s %5s %12s  %s\n' "$name" 0 0 -; continue; }
    total=$(awk '$3 ~ /^[0-9]+$/ {s += $3} END {print s + 0}' "$file")
    printf '%-20s %5s %12s  %s\n' "$name" "$(wc -l <"$file")" "$total" \
      "$(awk '$7 != "none" && $7 != "interrupted" {n++} END {print (n ? n " run(s) with a finding" : "none")}' "$file")"
  done
}

mode=${1:-build}
[ $# -gt 0 ] && shift
case $mode in
build) build ;;
smoke) build && smoke "$@" ;;
long) build && long "$@" ;;
smoke-one) smoke_one "$@" ;;
ledger) ledger "$@" ;;
*) echo "usage: $0 [build | smoke [NAME...] | long [RUNS] [NAME...] | ledger [NAME...]]" >&2; exit 2 ;;
esac
