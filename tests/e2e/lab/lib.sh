# Shared helpers of the Dovecot test lab (sourced by up.sh, down.sh, fault.sh, status.sh).
# Layout: director on 127.0.0.10, or a ring of directors K on 127.0.0.(10+K) (up.sh -r);
# backend i on 127.0.1.i; see up.sh.
# shellcheck shell=bash

export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

LAB_SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_DEFAULT_DIR=/tmp/poolwatch-lab
LAB_DIRECTOR_IP=127.0.0.10
LAB_RING_PORT=9090
# shellcheck disable=SC2034 # used by up.sh
LAB_MAX_BACKENDS=50
# shellcheck disable=SC2034 # used by up.sh
LAB_MAX_DIRECTORS=9
# Bounds: how long an instance may take to answer after a start, and to exit after TERM.
LAB_START_TIMEOUT=15
LAB_STOP_TIMEOUT=10

die() {
  echo "lab: error: $*" >&2
  exit 1
}
note() { echo "lab: $*" >&2; }

require_root() { [ "$(id -u)" = 0 ] || die "must run as root (ports < 1024, mail uid switching)"; }

require_dovecot() {
  DOVECOT_BIN=$(command -v dovecot || true)
  [ -n "$DOVECOT_BIN" ] || die "dovecot not found: install dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd"
  DOVECOT_BIN=$(readlink -f "$DOVECOT_BIN")
  command -v doveadm >/dev/null || die "doveadm not found (dovecot-core)"
  local module
  for module in imap-login pop3-login imap pop3 lmtp director; do
    [ -x "/usr/lib/dovecot/$module" ] ||
      die "/usr/lib/dovecot/$module missing: install dovecot-imapd dovecot-pop3d dovecot-lmtpd"
  done
}

backend_ip() { echo "127.0.1.$1"; }
backend_name() { echo "backend$1"; }
# The lone director is "director"; the directors of a ring are director1..directorN.
director_name() { echo "director$1"; }
director_ip() {
  case "$1" in
  director) echo "$LAB_DIRECTOR_IP" ;;
  *) echo "127.0.0.$((10 + ${1#director}))" ;;
  esac
}

# Refuses paths that are not an absolute directory of our own, so that `rm -rf` in
# down.sh -p can never hit / or a system directory by a typo.
check_lab_dir() {
  case "$1" in
  /tmp/?* | /var/tmp/?* | /run/?* | /work/?* | /root/?*) ;;
  *) die "lab dir must be absolute and under /tmp, /var/tmp, /run, /work or /root: '$1'" ;;
  esac
  case "$1" in */../* | */.. | *//*) die "lab dir must be a normalised path: '$1'" ;; esac
}

# Number of backends of an existing lab (from lab.env), or empty.
lab_env_value() {
  local key=$1 file="$LAB_DIR/lab.env"
  [ -f "$file" ] || return 0
  sed -n "s/^$key=\"\\(.*\\)\"\$/\\1/p" "$file" | head -n1
}

# Instances that have a base_dir in LAB_DIR (directors first).
lab_instances() {
  local kind base
  for kind in director backend; do
    for base in "$LAB_DIR/$kind"*; do
      [ -d "$base" ] && basename "$base"
    done | sort -V
  done
}

# True if PID is alive and runs a Dovecot binary: pid files may be stale, and a stale pid
# can be reused by an unrelated process that must never be signalled.
is_dovecot_pid() {
  local pid=$1 exe
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  exe=${exe% (deleted)}
  [ "$exe" = "$DOVECOT_BIN" ] || [[ "$exe" == /usr/lib/dovecot/* ]]
}

# Master pid of a running instance, or nothing.
master_pid() {
  local file="$LAB_DIR/$1/master.pid" pid
  [ -f "$file" ] || return 0
  pid=$(head -n1 "$file" 2>/dev/null || true)
  if is_dovecot_pid "$pid" && [ "$(readlink "/proc/$pid/exe")" = "$DOVECOT_BIN" ]; then
    echo "$pid"
  fi
}

# All descendants of PID (children of the master: login, auth, anvil, log, ...).
descendant_pids() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2; pids[NR] = $1 }
    END {
      want[root] = 1
      changed = 1
      while (changed) {
        changed = 0
        for (i in pids) {
          p = pids[i]
          if (!(p in want) && (parent[p] in want)) { want[p] = 1; changed = 1 }
        }
      }
      for (p in want) if (p != root) print p
    }'
}

# Every listener an instance owns, as "ip port kind". kind: the banner's prefix ("_" for
# a space); "tls": connect only; "listen": listening, not connected to (a director logs
# every connection to its ring port that does not come from a listed director).
instance_endpoints() {
  local name=$1 ip
  if [[ "$name" == director* ]]; then
    ip=$(director_ip "$name")
    printf '%s 143 *_OK\n%s 110 +OK\n%s 24 220\n%s %s listen\n' "$ip" "$ip" "$ip" "$ip" "$LAB_RING_PORT"
  else
    ip=$(backend_ip "${name#backend}")
    printf '%s 143 *_OK\n%s 110 +OK\n%s 24 220\n%s 993 tls\n%s 995 tls\n' \
      "$ip" "$ip" "$ip" "$ip" "$ip"
  fi
}

# Fails with a list of every endpoint in use. Reads the listening sockets once: a
# wildcard listener (0.0.0.0 / [::]) blocks the port on every loopback address.
check_endpoints_free() {
  local listening busy="" ip port kind
  listening=$(ss -Hltn | awk '{print $4}')
  while read -r ip port kind; do
    if grep -qxF -e "$ip:$port" -e "0.0.0.0:$port" -e "*:$port" -e "[::]:$port" <<<"$listening"; then
      busy="$busy $ip:$port"
    fi
  done
  [ -z "$busy" ] || die "address already in use:$busy (another lab or a system dovecot? try: ss -ltnp; $LAB_SCRIPTS/down.sh -d DIR)"
}

# One probe of one endpoint; no subshell can outlive `timeout`.
endpoint_answers() {
  local ip=$1 port=$2 kind=$3
  case "$kind" in
  listen)
    ss -Hltn "src $ip:$port" | grep -q .
    ;;
  tls)
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$ip" "$port" 2>/dev/null
    ;;
  *)
    local expected=${kind//_/ } line
    # shellcheck disable=SC2016 # expanded by the inner bash
    line=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && IFS= read -r -t 2 line <&3 && printf "%s" "$line"' \
      "$ip" "$port" 2>/dev/null) || return 1
    [[ "$line" == "$expected"* ]] && [[ "$line" != *"Waiting for authentication"* ]]
    ;;
  esac
}

# Waits until every endpoint of the named instances answers, bounded.
wait_instances_ready() {
  # Instances start one after another and in parallel; many of them share two cores.
  local deadline=$((SECONDS + LAB_START_TIMEOUT + $# / 2)) name ip port kind pending
  for name in "$@"; do
    while read -r ip port kind; do
      until endpoint_answers "$ip" "$port" "$kind"; do
        if [ "$SECONDS" -ge "$deadline" ]; then
          die "$name: $ip:$port did not answer within ${LAB_START_TIMEOUT}s; see $LAB_DIR/log/$name.log and $LAB_DIR/log/$name.stderr"
        fi
        pending=$(master_pid "$name")
        [ -n "$pending" ] || die "$name exited during start; see $LAB_DIR/log/$name.stderr and $LAB_DIR/log/$name.log"
        sleep 0.1
      done
    done < <(instance_endpoints "$name")
  done
  for name in "$@"; do
    [[ "$name" == director* ]] || continue
    until [ -S "$LAB_DIR/$name/director-admin" ]; do
      [ "$SECONDS" -lt "$deadline" ] || die "$name: admin socket did not appear"
      sleep 0.1
    done
  done
}

# Starts one instance. The master keeps the stdout/stderr it is started with for its
# whole life, so neither may be the caller's (a piped caller would wait forever), and
# inherited descriptors of the caller are closed for the same reason.
start_instance() {
  local name=$1 fd
  [ -z "$(master_pid "$name")" ] || return 0
  # A pid file left by a KILLed master names a zombie or a reused pid; Dovecot would
  # refuse to start while that pid exists.
  rm -f "$LAB_DIR/$name/master.pid"
  mkdir -p "$LAB_DIR/log"
  (
    for fd in "/proc/$BASHPID/fd"/*; do
      fd=${fd##*/}
      [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null
    done
    exec "$DOVECOT_BIN" -c "$LAB_DIR/etc/$name.conf" </dev/null >/dev/null 2>>"$LAB_DIR/log/$name.stderr"
  ) || die "$name: dovecot -c $LAB_DIR/etc/$name.conf failed: $(tail -n 5 "$LAB_DIR/log/$name.stderr")"
  # Without the penalty socket the auth process disables the penalty (ENOENT is not
  # retried, unlike a listener with mode 0); it must go before auth first starts.
  if [ "$(lab_env_value LAB_FAST_AUTH)" = 1 ] || [ "${LAB_FAST_AUTH:-0}" = 1 ]; then
    rm -f "$LAB_DIR/$name/anvil-auth-penalty"
  fi
}

# Stops instances by their master pids: resumes stopped ones first (a stopped master
# never handles TERM), TERMs all masters at once, waits, then KILLs what is left.
stop_instances() {
  local name pid pids="" all="" deadline
  for name in "$@"; do
    pid=$(master_pid "$name")
    [ -n "$pid" ] || continue
    pids="$pids $pid"
    all="$all $pid $(descendant_pids "$pid" | tr '\n' ' ')"
  done
  for name in "$@"; do resume_pids_file "$name"; done
  [ -n "$pids" ] || return 0
  for pid in $all; do is_dovecot_pid "$pid" && kill -CONT "$pid" 2>/dev/null; done
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + LAB_STOP_TIMEOUT))
  while [ "$SECONDS" -lt "$deadline" ]; do
    local alive=""
    for pid in $pids; do is_dovecot_pid "$pid" && alive="$alive $pid"; done
    [ -n "$alive" ] || break
    sleep 0.1
  done
  for pid in $all; do
    if is_dovecot_pid "$pid"; then
      note "pid $pid still alive after ${LAB_STOP_TIMEOUT}s: KILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  return 0
}

# SIGCONTs the processes a `fault.sh hang` stopped, and forgets them.
resume_pids_file() {
  local file="$LAB_DIR/faults/$1.hung" pid
  [ -f "$file" ] || return 0
  while read -r pid; do
    is_dovecot_pid "$pid" && kill -CONT "$pid" 2>/dev/null
  done <"$file"
  rm -f "$file"
}

# Writes the passdb, master passdb and userdb of backend i in one of three auth states.
# Dovecot re-reads a passwd-file only when its mtime (seconds) or size changed, so the
# three states have different sizes; files are replaced by rename, never rewritten.
write_auth_files() {
  local i=$1 mode=$2 ip name etc passdb master userdb suffix="" user
  ip=$(backend_ip "$i")
  name=$(backend_name "$i")
  etc="$LAB_DIR/etc"
  [ "$mode" = fail ] && suffix="-wrong"
  passdb="probe:{PLAIN}probepass$suffix"$'\n'
  for user in user1 user2 user3 user4 user5; do
    passdb="$passdb$user:{PLAIN}userpass$suffix"$'\n'
  done
  passdb="${passdb}probe-$ip:{PLAIN}probepass$suffix"$'\n'
  master="master:{PLAIN}masterpass$suffix"$'\n'
  if [ "$mode" = temp ]; then
    passdb="$passdb# unavailable"$'\n'
    master="$master# unavailable"$'\n'
  fi
  if [ ! -f "$etc/$name.userdb" ]; then
    userdb=""
    for user in probe user1 user2 user3 user4 user5 "probe-$ip"; do
      userdb="$userdb$user::65534:65534::$LAB_DIR/mail/$name/$user::"$'\n'
    done
    install_file "$etc/$name.userdb" 0640 "$userdb"
  fi
  local file_mode=0640
  [ "$mode" = temp ] && file_mode=0000
  install_file "$etc/$name.passdb" "$file_mode" "$passdb"
  install_file "$etc/$name.masterdb" "$file_mode" "$master"
  mkdir -p "$LAB_DIR/faults"
  echo "$mode" >"$LAB_DIR/faults/$name.auth"
}

install_file() {
  local path=$1 mode=$2 content=$3 tmp
  tmp=$(mktemp "$path.XXXXXX")
  printf '%s' "$content" >"$tmp"
  chgrp dovecot "$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$path"
}

# Parses the common "-d DIR" option; leaves the remaining arguments in LAB_ARGS.
parse_dir_option() {
  LAB_DIR=${LAB_DIR:-$LAB_DEFAULT_DIR}
  LAB_ARGS=()
  while [ $# -gt 0 ]; do
    case "$1" in
    -d)
      [ $# -ge 2 ] || die "-d needs a directory"
      LAB_DIR=$2
      shift 2
      ;;
    *)
      LAB_ARGS+=("$1")
      shift
      ;;
    esac
  done
  LAB_DIR=${LAB_DIR%/}
  check_lab_dir "$LAB_DIR"
}
