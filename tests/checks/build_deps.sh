#!/bin/sh
# Every library CMakeLists.txt finds must be a build dependency of both packages.
# dpkg-buildpackage only checks the Build-Depends that are listed, and this machine has
# every library installed, so a missing entry would only show on a clean build host.
set -eu
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
control="$source_dir/packaging/debian/control"
spec="$source_dir/packaging/rpm/poolwatch.spec"

# CMake package, Debian package, Fedora package ("-": part of the C library).
table='
Boost libboost1.81-dev boost-devel
OpenSSL libssl-dev openssl-devel
yaml-cpp libyaml-cpp-dev yaml-cpp-devel
spdlog libspdlog-dev spdlog-devel
CLI11 libcli11-dev cli11-devel
nlohmann_json nlohmann-json3-dev json-devel
Threads - -
fmt libfmt-dev fmt-devel
'

# The Build-Depends field, one package name per line.
debian_deps=$(awk '/^Build-Depends:/ {on=1; sub(/^Build-Depends:/, "")}
    on && /^[A-Za-z-]+:/ && !/^Build-Depends:/ {on=0}
    on {print}' "$control" | tr ',' '\n' | sed 's/(.*)//; s/^[[:space:]]*//; s/[[:space:]]*$//' |
    grep -v '^$')
rpm_deps=$(sed -n 's/^BuildRequires:[[:space:]]*\([^[:space:]]*\).*/\1/p' "$spec")

failures=0
found=$(sed -n 's/^[[:space:]]*find_package(\([A-Za-z0-9_-]*\).*/\1/p' "$source_dir/CMakeLists.txt")
[ -n "$found" ] || { echo "FAIL: no find_package in CMakeLists.txt"; exit 1; }
for name in $found; do
    row=$(printf '%s\n' "$table" | awk -v n="$name" '$1 == n')
    if [ -z "$row" ]; then
        echo "FAIL: find_package($name) is new: add its packages to debian/control, the RPM spec and this table"
        failures=$((failures + 1))
        continue
    fi
    set -- $row
    before=$failures
    if [ "$2" != - ] && ! printf '%s\n' "$debian_deps" | grep -qx "$2"; then
        echo "FAIL: $name: $2 is not in Build-Depends of packaging/debian/control"
        failures=$((failures + 1))
    fi
    if [ "$3" != - ] && ! printf '%s\n' "$rpm_deps" | grep -qx "$3"; then
        echo "FAIL: $name: $3 is not a BuildRequires of packaging/rpm/poolwatch.spec"
        failures=$((failures + 1))
    fi
    [ "$failures" -eq "$before" ] && echo "ok: $name ($2, $3)"
done
[ "$failures" -eq 0 ] && echo "PASS: build dependencies" || { echo "FAIL: $failures check(s)"; exit 1; }
