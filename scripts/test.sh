#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite (unit, integration,
# e2e against a real Dovecot director and backends on loopback, the unit and integration
# suites again built with ASan+UBSan, and the checks of the .deb package, the man pages
# and the code format) through ctest.
# Extra arguments go to ctest, e.g. ./scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh test
./scripts/build.sh
# The fuzz harnesses' smoke run (clang, its own build-fuzz/), unless arguments pick suites.
[ $# -gt 0 ] || ./scripts/fuzz.sh smoke
BUILD_DIR=${BUILD_DIR:-build}
# The sanitizer build (<build dir>-asan): only the unit and integration suites and the
# daemon they start; ctest's sanitize.* entries run them. Made when no arguments pick
# suites, or when they name the sanitize label.
if [ $# -eq 0 ] || [[ " $* " == *sanitize* ]]; then
  BUILD_DIR="$BUILD_DIR-asan" CMAKE_ARGS="-DPOOLWATCH_SANITIZE=ON" \
    ./scripts/build.sh unit_tests integration_tests
fi
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 600 -j2 "$@"
