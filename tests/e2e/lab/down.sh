#!/usr/bin/env bash
# Stops every Dovecot instance of the lab by the pid in its master.pid (never by process
# name): SIGCONT first in case `fault.sh hang` stopped it, TERM, KILL after a bound.
# Idempotent.
#
#   down.sh [-d DIR] [-p]
#     -d DIR  lab directory (default /tmp/poolwatch-lab)
#     -p      also remove DIR
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_dir_option "$@"
set -- "${LAB_ARGS[@]+"${LAB_ARGS[@]}"}"
purge=0
while [ $# -gt 0 ]; do
  case "$1" in
  -p)
    purge=1
    shift
    ;;
  -h | --help)
    sed -n '2,8p' "$0"
    exit 0
    ;;
  *) die "unknown argument '$1' (usage: down.sh [-d DIR] [-p])" ;;
  esac
done

require_root
require_dovecot
if [ -d "$LAB_DIR" ]; then
  mapfile -t instances < <(lab_instances)
  [ "${#instances[@]}" -eq 0 ] || stop_instances "${instances[@]}"
  rm -f "$LAB_DIR"/faults/*.hung
fi
if [ "$purge" = 1 ] && [ -d "$LAB_DIR" ]; then
  # Only a directory that looks like a lab (or an empty one) is removed; owner.pid marks
  # a dir the C++ DovecotLab made, also when up.sh failed before writing anything.
  if [ -f "$LAB_DIR/lab.env" ] || [ -f "$LAB_DIR/etc/director.conf" ] ||
    [ -f "$LAB_DIR/owner.pid" ] || [ -z "$(ls -A "$LAB_DIR")" ]; then
    rm -rf "$LAB_DIR"
  else
    die "$LAB_DIR does not look like a lab directory; not removing it"
  fi
fi
exit 0
