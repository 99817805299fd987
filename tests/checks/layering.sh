#!/bin/sh
# Each folder includes only the folders docs/architecture.md allows it; the CMake targets
# link the same. A new include across folders must change this table and the doc.
set -eu
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
cd "$source_dir"

# folder: the folders its files may include (itself always).
allowed() {
    case $1 in
    common) echo "" ;;
    probe) echo "common config" ;;
    config) echo "common probe" ;;
    director) echo "common config" ;;
    health) echo "common config director probe" ;;
    ring) echo "common config director probe health" ;;
    passive) echo "common" ;;
    http) echo "common config director probe health" ;;
    peer) echo "common config director probe health ring http" ;;
    service) echo "common config director probe health ring http peer passive" ;;
    cli) echo "common config director probe health ring http peer service passive" ;;
    third_party) echo "" ;;
    *) echo "?" ;;
    esac
}

failures=0
for dir in src/* include/poolwatch/*; do
    [ -d "$dir" ] || continue
    folder=$(basename "$dir")
    ok=$(allowed "$folder")
    if [ "$ok" = "?" ]; then
        echo "FAIL: $dir is a folder docs/architecture.md and this check do not know"
        failures=$((failures + 1))
        continue
    fi
    for used in $(grep -rhoE '#include "poolwatch/[a-z_]+/' "$dir" | sed 's|.*poolwatch/||; s|/$||' | sort -u); do
        [ "$used" = "$folder" ] && continue
        case " $ok " in *" $used "*) continue ;; esac
        echo "FAIL: $folder/ includes $used/:"
        grep -rn "#include \"poolwatch/$used/" "$dir" | sed 's/^/    /'
        failures=$((failures + 1))
    done
done
[ "$failures" -eq 0 ] && echo "PASS: every folder includes only what it may" || exit 1
