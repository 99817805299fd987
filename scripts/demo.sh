#!/usr/bin/env bash
# The main job on one machine: installs what is missing, builds, starts a real Dovecot
# director with three real Dovecot backends on loopback (127.0.0.10, 127.0.1.1-3) and
# runs poolwatch in the foreground against it, in dry-run. Ctrl-C stops everything
# this script started. Needs root (apt, ports < 1024).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh poolwatch >/dev/null

LAB_DIR=${LAB_DIR:-/tmp/poolwatch-demo}
LAB=tests/e2e/lab
"$LAB/up.sh" -d "$LAB_DIR" -n 3 >/dev/null
stop_lab() { "$LAB/down.sh" -d "$LAB_DIR" >/dev/null 2>&1 || true; }
trap stop_lab EXIT
trap 'exit 0' INT TERM

# A per-backend probe account (probe-<ip>, as Dovecot Pro's probe-%{backend_host}) and
# its password in a file only root can read: poolwatch refuses readable credentials.
install -m 0600 /dev/null "$LAB_DIR/probe.password"
echo probepass >"$LAB_DIR/probe.password"
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
  interval: 5
  timeout: 5
log:
  level: info
http:
  listen: 127.0.0.1:9167
pidfile: $LAB_DIR/poolwatch.pid
state_file: $LAB_DIR/poolwatch.state
dry_run: true
YAML

cat <<MSG
== poolwatch demo ==
director:  127.0.0.10 (admin socket $LAB_DIR/director/director-admin)
backends:  127.0.1.1 127.0.1.2 127.0.1.3 (IMAP 143/993, POP3 110/995, LMTP 24)
config:    $LAB_DIR/poolwatch.yml (dry-run: actions are logged, not sent)
try, in another terminal:
  $LAB/fault.sh -d $LAB_DIR 2 stop      # backend 2 goes away; watch poolwatch decide
  $LAB/fault.sh -d $LAB_DIR 2 start
  $LAB/status.sh -d $LAB_DIR            # what the director thinks
  curl -s 127.0.0.1:9167/metrics | grep poolwatch_backend_state
Ctrl-C stops poolwatch and the lab.
MSG
build/poolwatch run --foreground --config "$LAB_DIR/poolwatch.yml" "$@"
