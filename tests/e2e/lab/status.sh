#!/usr/bin/env bash
# What the lab director thinks of its backends (doveadm director status).
#
#   status.sh [-d DIR]
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_dir_option "$@"
[ "${#LAB_ARGS[@]}" -eq 0 ] || die "unknown argument '${LAB_ARGS[0]}' (usage: status.sh [-d DIR])"
[ -f "$LAB_DIR/etc/director.conf" ] || die "no lab in $LAB_DIR (run up.sh)"
exec doveadm -c "$LAB_DIR/etc/director.conf" director status -a "$LAB_DIR/director/director-admin" </dev/null
