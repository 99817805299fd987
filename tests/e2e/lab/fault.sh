#!/usr/bin/env bash
# Injects a fault into (or repairs) backend I, or a director, of a running lab.
#
#   fault.sh [-d DIR] I|NAME ACTION
#     I         backend index, 1..N
#     NAME      a director: "director", or directorK of a ring (stop..resume, state only)
#     stop      SIGTERM the master and wait until it is gone (ports refuse)
#     kill      SIGKILL the master and all its children (ports refuse at once)
#     start     start it again and wait until every port answers
#     hang      SIGSTOP the master and its children (connect works, nothing answers)
#     resume    SIGCONT what hang stopped
#     authfail  passdb and master passdb hold wrong passwords (NO [AUTHENTICATIONFAILED])
#     authtemp  passdb and master passdb unreadable (NO [UNAVAILABLE])
#     authok    good passdb and master passdb back
#     state     print "NAME IP up|down|hung", and for a backend " auth=ok|fail|temp"
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_dir_option "$@"
set -- "${LAB_ARGS[@]+"${LAB_ARGS[@]}"}"
[ $# -eq 2 ] || die "usage: fault.sh [-d DIR] I|NAME stop|kill|start|hang|resume|authfail|authtemp|authok|state"
index=$1
action=$2
require_root
require_dovecot
[ -f "$LAB_DIR/lab.env" ] || die "no lab in $LAB_DIR (run up.sh)"
if [[ "$index" =~ ^director[0-9]*$ ]]; then
  [ -f "$LAB_DIR/etc/$index.conf" ] || die "no director $index in $LAB_DIR"
  case "$action" in auth*) die "$action is for backends, not $index" ;; esac
  name=$index
  ip=$(director_ip "$name")
else
  count=$(lab_env_value LAB_BACKEND_COUNT)
  if ! [[ "$index" =~ ^[0-9]+$ ]] || [ "$index" -lt 1 ] || [ "$index" -gt "$count" ]; then
    die "backend index must be 1..$count, got '$index'"
  fi
  name=$(backend_name "$index")
  ip=$(backend_ip "$index")
fi
hung_file="$LAB_DIR/faults/$name.hung"

# Dovecot looks at a passwd-file at most once a second; after this the swap is visible.
await_passwd_reread() { sleep 1.1; }

case "$action" in
stop)
  stop_instances "$name"
  ;;
kill)
  pid=$(master_pid "$name")
  if [ -n "$pid" ]; then
    # Stopped first, so that the master cannot spawn a child after the snapshot.
    kill -STOP "$pid"
    for child in $(descendant_pids "$pid"); do
      is_dovecot_pid "$child" && kill -KILL "$child" 2>/dev/null
    done
    kill -KILL "$pid"
    while is_dovecot_pid "$pid"; do sleep 0.05; done
    rm -f "$LAB_DIR/$name/master.pid"
    rm -f "$hung_file"
  fi
  ;;
start)
  if [ -n "$(master_pid "$name")" ]; then
    note "$name is already running"
  else
    rm -f "$hung_file"
    start_instance "$name"
    wait_instances_ready "$name"
  fi
  ;;
hang)
  pid=$(master_pid "$name")
  [ -n "$pid" ] || die "$name is not running"
  if [ ! -f "$hung_file" ]; then
    kill -STOP "$pid"
    {
      echo "$pid"
      for child in $(descendant_pids "$pid"); do
        is_dovecot_pid "$child" && kill -STOP "$child" 2>/dev/null && echo "$child"
      done
    } >"$hung_file"
  fi
  ;;
resume)
  resume_pids_file "$name"
  ;;
authfail)
  write_auth_files "$index" fail
  await_passwd_reread
  ;;
authtemp)
  write_auth_files "$index" temp
  await_passwd_reread
  ;;
authok)
  write_auth_files "$index" ok
  await_passwd_reread
  ;;
state)
  if [ -z "$(master_pid "$name")" ]; then
    run_state=down
  elif [ -f "$hung_file" ]; then
    run_state=hung
  else
    run_state=up
  fi
  auth=""
  if [[ "$name" == backend* ]]; then
    auth=" auth=$(cat "$LAB_DIR/faults/$name.auth" 2>/dev/null || echo ok)"
  fi
  echo "$name $ip $run_state$auth"
  ;;
*) die "unknown action '$action' (stop|kill|start|hang|resume|authfail|authtemp|authok|state)" ;;
esac
