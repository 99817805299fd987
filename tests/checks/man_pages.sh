#!/bin/sh
# The committed man pages must be what docs/man/build.sh makes of their Markdown
# sources (and of docs/configuration.md), so an edit to one cannot leave the other stale.
set -eu
command -v go-md2man >/dev/null || { echo "skip: go-md2man is not installed"; exit 77; }
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/poolwatch-man.XXXXXX")
trap 'rm -rf "$out"' EXIT
sh "$source_dir/docs/man/build.sh" "$out"
status=0
for page in poolwatch.8 poolwatch.yml.5; do
    if diff -u "$source_dir/docs/$page" "$out/$page"; then
        echo "ok: docs/$page is up to date"
    else
        echo "FAIL: docs/$page is stale: run docs/man/build.sh and commit the result"
        status=1
    fi
done
exit $status
