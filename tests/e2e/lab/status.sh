#!/usr/bin/env bash
# What a lab director thinks of its backends (doveadm director status).
#
#   status.sh [-d DIR] [NAME]
#     NAME  the director: "director" (default) or directorK of a ring (up.sh -r)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_dir_option "$@"
set -- "${LAB_ARGS[@]+"${LAB_ARGS[@]}"}"
[ $# -le 1 ] || die "unknown argument '$2' (usage: status.sh [-d DIR] [NAME])"
name=${1:-director}
[[ "$name" =~ ^director[0-9]*$ ]] || die "not a director name: '$name'"
[ -f "$LAB_DIR/etc/$name.conf" ] || die "no director $name in $LAB_DIR (run up.sh)"
exec doveadm -c "$LAB_DIR/etc/$name.conf" director status -a "$LAB_DIR/$name/director-admin" </dev/null
