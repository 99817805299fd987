#!/bin/sh
# The daemon loads no C++ shared library (issue 15: each one's touched pages count in
# its RSS): libstdc++, fmt, spdlog and yaml-cpp are linked in; OpenSSL and glibc stay
# shared. Argument: the poolwatch binary.
set -eu
binary=$1
command -v readelf >/dev/null || { echo "skip: readelf is not installed"; exit 77; }
needed=$(readelf -d "$binary" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
[ -n "$needed" ] || { echo "FAIL: no NEEDED entries read from $binary"; exit 1; }
bad=$(echo "$needed" | grep -E '^lib(stdc\+\+|gcc_s|fmt|spdlog|yaml-cpp)\.so' || true)
if [ -n "$bad" ]; then
    echo "FAIL: $binary needs $(echo $bad)"
    exit 1
fi
echo "ok: $binary needs only $(echo $needed)"
