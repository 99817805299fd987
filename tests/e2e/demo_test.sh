#!/bin/sh
# The README's first command must keep telling its story: runs scripts/demo.sh (the
# scripted demo, against its own real lab) and checks from poolwatch's event log that
# backend 2 went down with HOST-DOWN and a flush, came back with HOST-UP, and that
# backend 3, downed by an administrator, was left alone. Run by ctest in a network
# namespace of its own (e2e.demo), so the demo's fixed addresses and port are its own.
#   demo_test.sh POOLWATCH_BINARY
set -eu
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
poolwatch=${1:?usage: demo_test.sh POOLWATCH_BINARY}
[ "$(id -u)" = 0 ] || { echo "skip: the lab needs root"; exit 77; }
command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] ||
    { echo "skip: dovecot is not installed (scripts/deps.sh)"; exit 77; }

lab_dir=$(mktemp -d /tmp/poolwatch-demo-test.XXXXXX)
cleanup() { "$source_dir/tests/e2e/lab/down.sh" -d "$lab_dir" -p >/dev/null 2>&1 || true; }
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# The output goes to a file, never a pipe: a Dovecot master would hold a pipe open.
status=0
POOLWATCH=$poolwatch LAB_DIR=$lab_dir DEMO_PAUSE=0 timeout -k 10 150 \
    "$source_dir/scripts/demo.sh" >"$lab_dir/demo.out" 2>&1 </dev/null || status=$?
cat "$lab_dir/demo.out"
[ "$status" = 0 ] || fail "demo.sh exited $status"

events=$lab_dir/events.jsonl
# line_of TEXT: the first line of the event log holding TEXT, or 0.
line_of() { grep -nF -- "$1" "$events" | head -n 1 | cut -d: -f1 | grep . || echo 0; }
down=$(line_of '"event":"transition","backend":"127.0.1.2","from":"up","to":"down"')
host_down=$(line_of '"backend":"127.0.1.2","action":"HOST-DOWN","result":"ok"')
flush=$(line_of '"backend":"127.0.1.2","action":"HOST-RESET-USERS","result":"ok"')
back_up=$(line_of '"event":"transition","backend":"127.0.1.2","from":"down","to":"up"')
host_up=$(line_of '"backend":"127.0.1.2","action":"HOST-UP","result":"ok"')
left_alone=$(line_of '"event":"suppressed","backend":"127.0.1.3","action":"HOST-UP","reason":"manual_down')
[ "$down" -gt 0 ] || fail "no transition of backend 127.0.1.2 to down"
[ "$host_down" -gt "$down" ] || fail "no HOST-DOWN 127.0.1.2 after it went down"
[ "$flush" -gt "$host_down" ] || fail "no HOST-RESET-USERS 127.0.1.2 after its HOST-DOWN"
[ "$back_up" -gt "$flush" ] || fail "no transition of backend 127.0.1.2 back to up"
[ "$host_up" -gt "$back_up" ] || fail "no HOST-UP 127.0.1.2 after it came back"
[ "$left_alone" -gt "$host_up" ] || fail "the administrator's down of 127.0.1.3 not left alone"
if grep -F '"event":"action","backend":"127.0.1.3"' "$events"; then
    fail "poolwatch acted on 127.0.1.3, which an administrator took down"
fi
grep -q 'HOST-DOWN 127.0.1.2 sent' "$lab_dir/demo.out" || fail "the demo did not narrate the HOST-DOWN"
grep -q '127.0.1.3 *100 *down' "$lab_dir/demo.out" || fail "the demo did not show the director's status"

# Everything the demo started is gone: poolwatch and every Dovecot instance of its lab.
pid=$(cat "$lab_dir/poolwatch.pid" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then fail "poolwatch ($pid) still runs"; fi
for master in "$lab_dir"/*/master.pid; do
    [ -f "$master" ] || continue
    pid=$(head -n 1 "$master")
    if kill -0 "$pid" 2>/dev/null; then fail "a lab Dovecot ($master: $pid) still runs"; fi
done

if [ "$failures" -eq 0 ]; then echo "PASS: the scripted demo told its story"; else
    echo "--- events.jsonl"; cat "$events"; echo "FAIL: $failures check(s)"; exit 1; fi
