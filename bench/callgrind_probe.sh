#!/usr/bin/env bash
# poolwatch's user-space instructions per probe, counted by callgrind: exact where CPU time
# on a shared VM moves by +-20 % between runs, so a change to the probe path can be judged
# by one run of each binary. A wrapper for bench/probe_floor:
#   BENCH_WRAPPER=$PWD/bench/callgrind_probe.sh \
#     unshare --net sh -c 'ip link set lo up && exec build/bench/probe_floor 200'
# N = 200 (120 probes/s) is a rate poolwatch keeps up with under valgrind; the CPU figures
# probe_floor prints are then valgrind's and meaningless. The counters are zeroed after
# WARMUP seconds (9: one scan and the first probes) and dumped MEASURE seconds (8) later;
# the window holds probes, a scan or two and sometimes the bench's GET /metrics. The figure
# goes to $CALLGRIND_OUT.txt (/tmp/poolwatch-callgrind.txt), with a second figure that
# leaves out the renders of /metrics and the HOST-LIST parsing; the profile to
# $CALLGRIND_OUT.<pid>.1 for callgrind_annotate. POOLWATCH_BINARY replaces the bench's
# binary (to compare two builds in one session).
set -euo pipefail
# The bench stops poolwatch with a pkill that matches this script's command line too: the
# counting below must outlive that SIGTERM (a handler, not an ignored signal, so that
# valgrind and poolwatch do not inherit it).
trap 'true' TERM
out=${CALLGRIND_OUT:-/tmp/poolwatch-callgrind}
warmup=${WARMUP:-9}
measure=${MEASURE:-8}
binary=$1
shift
binary=${POOLWATCH_BINARY:-$binary}

valgrind --tool=callgrind --callgrind-out-file="$out.%p" "$binary" "$@" 2>"$out.valgrind.log" &
pid=$!
sleep "$warmup"
callgrind_control -z "$pid" >/dev/null
sleep "$measure"
callgrind_control -d "$pid" >/dev/null

# Instructions in the window (summary:, as callgrind_annotate counts them) and the probes
# that ended in it: the calls of PoolWatcher::after_probe, one per probe. callgrind names
# a function once, "(id) name", and by "(id)" alone from then on.
awk -v binary="$binary" '
  /^(c?fn)=\([0-9]+\) / {
    id = $0; sub(/^c?fn=/, "", id); name = id; sub(/\) .*/, ")", id); sub(/^\([0-9]+\) /, "", name)
    names[id] = name
  }
  /^cfn=/ { id = $0; sub(/^cfn=/, "", id); sub(/\) .*/, ")", id); callee = names[id] }
  /^calls=/ && callee ~ /PoolWatcher::after_probe\(/ { split($0, f, /[= ]/); probes += f[2] }
  /^summary:/ { total = $2 }
  END {
    if (probes == 0) { print "no probe ended in the window"; exit 1 }
    printf "%s: %d instructions, %d probes, %.0f instructions per probe\n", binary, total, probes,
           total / probes
  }' "$out.$pid.1" | tee -a "$out.txt" >&2

# The same without the window's GET /metrics renders and HOST-LIST parsing, which come in
# whole or not at all and moved the figure by up to 3k between runs of one binary.
callgrind_annotate --inclusive=yes --threshold=100 "$out.$pid.1" >"$out.$pid.inclusive" 2>/dev/null
inclusive() {
  awk -v name="$1" 'index($0, name) && $1 ~ /^[0-9,]+$/ { gsub(",", "", $1); print $1; exit }' \
    "$out.$pid.inclusive"
}
render=$(inclusive 'metrics::Registry::render_some(')
scan=$(inclusive 'director::HostListParser::feed_line(')
awk -v binary="$binary" -v render="${render:-0}" -v scan="${scan:-0}" '
  / probes, / && index($0, binary) == 1 { total = $2; probes = $4 }
  END {
    if (probes > 0)
      printf "%s: %.0f instructions per probe without the render (%d) and the scans (%d)\n",
             binary, (total - render - scan) / probes, render, scan
  }' "$out.txt" | tail -1 | tee -a "$out.txt" >&2
wait "$pid" || true
