#!/bin/sh
# Regenerates the roff man pages in docs/ from their Markdown sources. poolwatch.yml(5)
# takes its key reference from docs/configuration.md, so the two cannot drift apart.
# Needs go-md2man (Debian: apt install go-md2man). The output is committed.
#   docs/man/build.sh [OUTDIR]    (default: docs/; tests/check-man-pages.sh uses a temp dir)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
docs=$(dirname "$here")
out=${1:-$docs}
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

go-md2man -in "$here/poolwatch.8.md" -out "$out/poolwatch.8"

# The head, then configuration.md from "Value syntax" up to (not including) "Command
# line", which poolwatch(8) covers. Sections move up one level for the man layout and
# each key table row becomes a definition-list entry, since roff tables cannot wrap.
{
  cat "$here/poolwatch.yml.5.head.md"
  echo
  awk '/^## Value syntax/{on=1} /^## Command line/{on=0} on' "$docs/configuration.md" |
    sed -e 's/^## \(.*\)/# \U\1/' -e 's/^### /## /' |
    awk '
      # Splits a table row on the pipes outside `code spans`.
      function cells(line, out,   n, i, c, code, cell) {
        n = 0; code = 0; cell = ""
        for (i = 2; i <= length(line); i++) {
          c = substr(line, i, 1)
          if (c == "`") code = !code
          if (c == "|" && !code) { out[++n] = cell; cell = "" } else cell = cell c
        }
        return n
      }
      function trim(t) { gsub(/^ +| +$/, "", t); return t }
      /^\| *key *\|/ || /^\|---/ { next }
      /^\| `/ {
        cells($0, f)
        printf "%s (%s; default: %s)\n:   %s\n\n", trim(f[1]), trim(f[2]), trim(f[3]), trim(f[4])
        next
      }
      { print }'
  cat <<'TAIL'

# SEE ALSO

**poolwatch**(8); */usr/share/doc/poolwatch/migration.md* for poolmon options and
dovemon keys.
TAIL
} >"$tmp"
go-md2man -in "$tmp" -out "$out/poolwatch.yml.5"
