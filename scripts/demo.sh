#!/usr/bin/env bash
# The main job on one machine, told by itself: installs what is missing, builds, starts a
# real Dovecot director with three real Dovecot backends on loopback (127.0.0.10,
# 127.0.1.1-3) and poolwatch against it, then
#   1. stops backend 2 and shows poolwatch finding it (failures, rapid round) and sending
#      the director HOST-DOWN and the flush (HOST-RESET-USERS), for real;
#   2. starts backend 2 again and shows the HOST-UP;
#   3. takes backend 3 down by hand, as an administrator would (doveadm director down),
#      and shows poolwatch leaving it alone;
# then stops everything it started and exits 0 (1 when a step did not happen in time).
# The story takes well under 90 s after the build. Needs root (apt, ports < 1024).
#
#   scripts/demo.sh                the scripted story above
#   scripts/demo.sh --interactive  poolwatch in dry-run until Ctrl-C, with the commands
#                                  to try in another terminal [poolwatch run options...]
# LAB_DIR (default /tmp/poolwatch-demo) is where the lab, the config, poolwatch's log
# (poolwatch.log) and its event log (events.jsonl) live; they stay for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=scripted
if [ "${1:-}" = --interactive ]; then
  mode=interactive
  shift
elif [ $# -gt 0 ]; then
  echo "usage: scripts/demo.sh [--interactive [poolwatch run options...]]" >&2
  exit 2
fi
# POOLWATCH: a poolwatch already built (the demo's e2e test passes its build's).
if [ -z "${POOLWATCH:-}" ]; then
  ./scripts/build.sh poolwatch >/dev/null
  POOLWATCH=${BUILD_DIR:-build}/src/poolwatch
fi

LAB_DIR=${LAB_DIR:-/tmp/poolwatch-demo}
LAB=tests/e2e/lab
HTTP=${DEMO_HTTP:-127.0.0.1:9167}
"$LAB/up.sh" -d "$LAB_DIR" -n 3 >/dev/null
poolwatch_pid=""
cleanup() {
  if [ -n "$poolwatch_pid" ]; then
    kill -TERM "$poolwatch_pid" 2>/dev/null || true
    wait "$poolwatch_pid" 2>/dev/null || true
  fi
  "$LAB/down.sh" -d "$LAB_DIR" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# A per-backend probe account (probe-<ip>, as Dovecot Pro's probe-%{backend_host}) and
# its password in a file only root can read: poolwatch refuses readable credentials.
install -m 0600 /dev/null "$LAB_DIR/probe.password"
echo probepass >"$LAB_DIR/probe.password"
# write_config DRY_RUN HEALTH_YAML
write_config() {
  cat >"$LAB_DIR/poolwatch.yml" <<YAML
director:
  socket: $LAB_DIR/director/director-admin
probe:
  ports: ["IMAP:143", "POP3:110", "LMTP:24"]
  tls:
    ca_file: $LAB_DIR/ssl/ca.pem
    verify_peer: true
credentials:
  default_user: "probe-%{backend_host}"
  default_password_file: $LAB_DIR/probe.password
health:
$2
log:
  level: info
http:
  listen: $HTTP
pidfile: $LAB_DIR/poolwatch.pid
state_file: $LAB_DIR/poolwatch.state
event_log: $LAB_DIR/events.jsonl
dry_run: $1
YAML
}

if [ "$mode" = interactive ]; then
  write_config true "  interval: 5
  timeout: 5"
  cat <<MSG
== poolwatch demo ==
director:  127.0.0.10 (admin socket $LAB_DIR/director/director-admin)
backends:  127.0.1.1 127.0.1.2 127.0.1.3 (IMAP 143/993, POP3 110/995, LMTP 24)
config:    $LAB_DIR/poolwatch.yml (dry-run: actions are logged, not sent)
status:    http://$HTTP/ (a page to open in a browser)
try, in another terminal:
  $LAB/fault.sh -d $LAB_DIR 2 stop      # backend 2 goes away; watch poolwatch decide
  $LAB/fault.sh -d $LAB_DIR 2 start
  $LAB/status.sh -d $LAB_DIR            # what the director thinks
  curl -s $HTTP/metrics | grep poolwatch_backend_state
Ctrl-C stops poolwatch and the lab.
MSG
  "$POOLWATCH" run --foreground --config "$LAB_DIR/poolwatch.yml" "$@"
  exit 0
fi

# Fast health settings, so that the story takes seconds: two failures make a check
# suspect, a rapid round of three polls 200 ms apart of which two fail makes it down.
write_config false "  interval: 1s
  timeout: 1s
  retry_count: 2
  rapid_rounds: 3
  rapid_fails_needed: 2
  rapid_interval: 200ms
  rapid_timeout: 1s
  jitter_percent: 0"
: >"$LAB_DIR/events.jsonl"
LOG=$LAB_DIR/poolwatch.log
: >"$LOG"
start=$(date +%s%N)
stamp() { printf '[%6.1fs]' "$(($(date +%s%N) - start))e-9"; }
say() { printf '\n%s == %s\n' "$(stamp)" "$*"; }
seen=0  # lines of the log already shown

# follow PATTERN SECONDS [FILTER]: shows the new log lines matching FILTER (default: all)
# as they come, until a line matches PATTERN; fails after SECONDS.
follow() {
  local pattern=$1 deadline=$(($(date +%s) + $2)) filter=${3:-.} total line
  while :; do
    total=$(wc -l <"$LOG")
    if [ "$total" -gt "$seen" ]; then
      while IFS= read -r line; do
        if grep -qE -- "$filter" <<<"$line"; then printf '%s   %s\n' "$(stamp)" "$line"; fi
        seen=$((seen + 1))
        if grep -qE -- "$pattern" <<<"$line"; then return 0; fi
      done < <(sed -n "$((seen + 1)),${total}p" "$LOG")
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      printf '%s demo: FAILED: no "%s" in poolwatch.log within %ss\n' "$(stamp)" "$pattern" "$2" >&2
      exit 1
    fi
    sleep 0.2
  done
}
# A moment to read each act; DEMO_PAUSE=0 for none.
pause() { sleep "${DEMO_PAUSE:-2}"; }
director_status() {
  "$LAB/status.sh" -d "$LAB_DIR" | sed "s/^/$(stamp)   director: /"
}

cat <<MSG
== poolwatch demo (scripted; --interactive for a lab to play with) ==
director:  127.0.0.10 (admin socket $LAB_DIR/director/director-admin)
backends:  127.0.1.1 127.0.1.2 127.0.1.3, each probed on IMAP 143, POP3 110 and LMTP 24
poolwatch: checks every 1 s; not dry-run: it acts on the lab's director for real
status:    http://$HTTP/ while the demo runs
MSG
"$POOLWATCH" run --foreground --config "$LAB_DIR/poolwatch.yml" >>"$LOG" 2>&1 &
poolwatch_pid=$!

say "poolwatch starts and probes the pool"
for _ in 1 2 3; do follow 'backend 127\.0\.1\.[1-3]: healthy' 20 'healthy|listening|error'; done
director_status
pause

say "backend 2 stops (fault.sh 2 stop): every connection to 127.0.1.2 is refused"
"$LAB/fault.sh" -d "$LAB_DIR" 2 stop >/dev/null
follow 'HOST-RESET-USERS 127\.0\.1\.2' 30 '127\.0\.1\.2'
say "the director now lists 127.0.1.2 down: new logins go to the other backends"
director_status
say "poolwatch's own view (poolwatch status; the same as a page at http://$HTTP/)"
"$POOLWATCH" status --url "http://$HTTP/status" | sed "s/^/$(stamp)   /" || true
pause

say "backend 2 starts again (fault.sh 2 start)"
"$LAB/fault.sh" -d "$LAB_DIR" 2 start >/dev/null
follow 'HOST-UP 127\.0\.1\.2' 30 '127\.0\.1\.2'
director_status
pause

say "an administrator takes backend 3 down by hand (doveadm director down 127.0.1.3)"
doveadm -c "$LAB_DIR/etc/director.conf" director down -a "$LAB_DIR/director/director-admin" \
  127.0.1.3 </dev/null
follow '127\.0\.1\.3: HOST-UP not sent' 30 '127\.0\.1\.3'
say "poolwatch leaves it alone: the host is healthy, but the down is the administrator's"
director_status

say "the event log ($LAB_DIR/events.jsonl): what poolwatch did and why"
grep -E '"event":"(action|suppressed)"' "$LAB_DIR/events.jsonl" | sed 's/^/    /'
say "done in $((($(date +%s%N) - start) / 1000000000)) s; stopping poolwatch and the lab"
