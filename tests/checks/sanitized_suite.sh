#!/bin/sh
# Runs one suite of the sanitizer build (scripts/test.sh builds it into <build dir>-asan)
# in a network namespace of its own: the suites bind fixed 127.x addresses, and the same
# cases of the ordinary build may be running on the host's loopback at the same time.
# Every ASan or UBSan finding aborts the run with its report. 77 (skipped) when the
# sanitizer build is missing, e.g. when ctest is run without scripts/test.sh.
suite=$1
[ -x "$suite" ] || { echo "no sanitizer build at $suite (scripts/test.sh makes it)"; exit 77; }
export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# Left to the ordinary build: this case takes every descriptor the process may open, and
# UBSan's check of a type it has not met yet opens a pipe, fails, and reports an invalid
# vptr (the case run alone, or after a shuffle, in this build).
export GTEST_FILTER='-ProbeFailures.OutOfDescriptorsIsLocalResourceNotTheBackendsFault'
exec unshare --net sh -c 'ip link set lo up && exec "$0"' "$suite"
