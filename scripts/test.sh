#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test suite (unit, integration,
# e2e against a real Dovecot director and backends on loopback) through ctest.
# Extra arguments go to ctest, e.g. ./scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
BUILD_DIR=${BUILD_DIR:-build}
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 600 -j2 "$@"
