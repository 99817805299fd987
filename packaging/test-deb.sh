#!/bin/sh
# The package test (ctest label "package"): builds the .deb with build-deb.sh and checks
# that it ships the daemon, the unit, the conffile and the man pages, then runs lintian
# (if installed), failing on its errors. Slow (a full release build of the daemon): it
# builds at the lowest CPU priority, so that it takes only what the suites running
# beside it leave idle (the e2e suites mostly wait on timers).
set -eu
command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null || {
    echo "skip: dpkg-buildpackage or debhelper is not installed (scripts/deps.sh test)"
    exit 77
}
source_dir=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/poolwatch-deb-test.XXXXXX")
trap 'rm -rf "$out"' EXIT

nice -n 19 "$source_dir/packaging/build-deb.sh" "$out" >"$out/build.log" 2>&1 || {
    tail -50 "$out/build.log"
    echo "FAIL: package build"
    exit 1
}
deb=$(ls "$out"/poolwatch_*.deb | head -n 1)
echo "built $deb"

failures=0
contents=$(dpkg-deb -c "$deb")
for path in ./usr/sbin/poolwatch ./lib/systemd/system/poolwatch.service \
    ./usr/share/man/man8/poolwatch.8.gz ./usr/share/man/man5/poolwatch.yml.5.gz \
    ./etc/poolwatch/poolwatch.yml ./usr/share/doc/poolwatch/migration.md; do
    # dh_compress gzips documents larger than 4 KiB.
    if printf '%s\n' "$contents" | awk '{print $6}' | grep -qx -e "$path" -e "$path.gz"; then
        echo "ok: $path"
    else
        echo "FAIL: $path missing from the package"
        failures=$((failures + 1))
    fi
done

control=$(mktemp -d "$out/control.XXXXXX")
dpkg-deb -e "$deb" "$control"
if grep -qx /etc/poolwatch/poolwatch.yml "$control/conffiles"; then
    echo "ok: /etc/poolwatch/poolwatch.yml is a conffile"
else
    echo "FAIL: /etc/poolwatch/poolwatch.yml is not a conffile"
    failures=$((failures + 1))
fi
if grep -q "adduser --system" "$control/postinst" && grep -q "deb-systemd-helper" "$control/postinst"; then
    echo "ok: postinst creates the user and registers the unit"
else
    echo "FAIL: postinst lacks the user creation or the unit registration"
    failures=$((failures + 1))
fi

if command -v lintian >/dev/null 2>&1; then
    lintian --tag-display-limit 0 "$deb" >"$out/lintian.txt" 2>&1 || true
    cat "$out/lintian.txt"
    if grep -q '^E: ' "$out/lintian.txt"; then
        echo "FAIL: lintian errors"
        failures=$((failures + 1))
    else
        echo "ok: lintian reports no errors"
    fi
else
    echo "skip: lintian not installed"
fi

[ "$failures" -eq 0 ] && echo "PASS: package" || { echo "FAIL: $failures check(s)"; exit 1; }
