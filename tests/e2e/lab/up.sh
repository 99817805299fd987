#!/usr/bin/env bash
# Starts a real Dovecot director (127.0.0.10) and N real Dovecot backends (127.0.1.i) on
# loopback, all under DIR, and waits until every port answers. Prints the director's
# admin socket path as its last line. Running it on a running lab restarts it cleanly.
#
#   up.sh [-d DIR] [-n N] [-r R] [-F] [-P]
#     -d DIR  lab directory (default /tmp/poolwatch-lab)
#     -n N    number of backends, 1..50 (default 3)
#     -r R    a ring of R directors (2..9), directorK on 127.0.0.(10+K), instead of one;
#             the first one's socket is printed. Waits for every port, not for ring sync.
#     -F      fast auth failures: no auth_failure_delay and no anvil auth penalty
#     -P      the backends' imap-login and pop3-login in Dovecot's high-performance mode
#             (service_count = 0, process_min_avail = 1): one long-lived login process
#             each, whose TLS sessions therefore resume; the default is Dovecot's own,
#             a new login process per connection, in which no TLS session ever resumes
#     -x LIST more director_mail_servers that run no Dovecot (bench/director_host_list:
#             a large pool in one go, as HOST-SET one by one is quadratic in the
#             director); IPv4 addresses or A-B ranges in 127.66.0.0/16 only
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_dir_option "$@"
set -- "${LAB_ARGS[@]+"${LAB_ARGS[@]}"}"
backends=3
ring_size=0
fast_auth=0
reused_login=0
extra_mail_servers=""
while [ $# -gt 0 ]; do
  case "$1" in
  -n)
    [ $# -ge 2 ] || die "-n needs a number"
    backends=$2
    shift 2
    ;;
  -r)
    [ $# -ge 2 ] || die "-r needs a number"
    ring_size=$2
    shift 2
    ;;
  -F)
    fast_auth=1
    shift
    ;;
  -P)
    reused_login=1
    shift
    ;;
  -x)
    [ $# -ge 2 ] || die "-x needs a list of addresses"
    # Nothing may reach a shell or a config but addresses of the bench's own range.
    [[ "$2" =~ ^(127\.66\.[0-9]{1,3}\.[0-9]{1,3}(-127\.66\.[0-9]{1,3}\.[0-9]{1,3})?\ ?)+$ ]] ||
      die "-x takes addresses or A-B ranges in 127.66.0.0/16, got '$2'"
    extra_mail_servers=$2
    shift 2
    ;;
  -h | --help)
    sed -n '2,18p' "$0"
    exit 0
    ;;
  *) die "unknown argument '$1' (usage: up.sh [-d DIR] [-n N] [-r R] [-F] [-P] [-x LIST])" ;;
  esac
done
if ! [[ "$backends" =~ ^[0-9]+$ ]] || [ "$backends" -lt 1 ] || [ "$backends" -gt "$LAB_MAX_BACKENDS" ]; then
  die "-n must be 1..$LAB_MAX_BACKENDS, got '$backends'"
fi
if ! [[ "$ring_size" =~ ^[0-9]+$ ]] || [ "$ring_size" = 1 ] || [ "$ring_size" -gt "$LAB_MAX_DIRECTORS" ]; then
  die "-r must be 2..$LAB_MAX_DIRECTORS, got '$ring_size'"
fi

require_root
require_dovecot
command -v openssl >/dev/null || die "openssl not found"

# A lab already running in DIR is stopped first; generated state is rebuilt from scratch.
if [ -d "$LAB_DIR" ]; then
  mapfile -t running < <(lab_instances)
  if [ "${#running[@]}" -gt 0 ]; then
    note "stopping the lab already in $LAB_DIR"
    stop_instances "${running[@]}"
  fi
  for sub in etc ssl state log mail faults lab.env; do rm -rf "${LAB_DIR:?}/$sub"; done
  rm -rf "$LAB_DIR"/director* "$LAB_DIR"/backend*
fi

directors=(director)
if [ "$ring_size" -gt 0 ]; then
  directors=()
  for k in $(seq 1 "$ring_size"); do directors+=("$(director_name "$k")"); done
fi
names=("${directors[@]}")
for i in $(seq 1 "$backends"); do names+=("$(backend_name "$i")"); done
for name in "${names[@]}"; do instance_endpoints "$name"; done | check_endpoints_free

# Dovecot's unprivileged users (dovecot, dovenull, nobody) must reach their files here.
mkdir -p "$LAB_DIR"/{etc,ssl,state,log,mail,faults}
chmod 0755 "$LAB_DIR" "$LAB_DIR"/{etc,state,log,mail}
chmod 0700 "$LAB_DIR/ssl" "$LAB_DIR/faults"

# TLS: one lab CA; every backend gets a certificate for its IP and its lab.test name.
ssl=$LAB_DIR/ssl
openssl_out=$LAB_DIR/log/openssl.out
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
  -subj "/CN=poolwatch lab CA" -keyout "$ssl/ca.key" -out "$ssl/ca.pem" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
  >"$openssl_out" 2>&1 || die "CA generation failed: $(cat "$openssl_out")"
chmod 0644 "$ssl/ca.pem"
for i in $(seq 1 "$backends"); do
  name=$(backend_name "$i")
  ip=$(backend_ip "$i")
  printf 'subjectAltName = IP:%s, DNS:%s.lab.test\nextendedKeyUsage = serverAuth\nbasicConstraints = CA:FALSE\n' \
    "$ip" "$name" >"$ssl/$name.ext"
  {
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -subj "/CN=$name.lab.test" -keyout "$ssl/$name.key" -out "$ssl/$name.csr" &&
      openssl x509 -req -in "$ssl/$name.csr" -CA "$ssl/ca.pem" -CAkey "$ssl/ca.key" \
        -CAcreateserial -days 30 -extfile "$ssl/$name.ext" -out "$ssl/$name.pem"
  } >"$openssl_out" 2>&1 || die "certificate for $name failed: $(cat "$openssl_out")"
done

mail_servers=""
for i in $(seq 1 "$backends"); do mail_servers="$mail_servers $(backend_ip "$i")"; done
mail_servers=${mail_servers# }
[ -z "$extra_mail_servers" ] || mail_servers="$mail_servers $extra_mail_servers"
director_servers=""
for name in "${directors[@]}"; do
  director_servers="$director_servers $(director_ip "$name"):$LAB_RING_PORT"
done
director_servers=${director_servers# }

render() {
  sed -e "s|@LAB_DIR@|$LAB_DIR|g" -e "s|@DIRECTOR_SERVERS@|$director_servers|g" \
    -e "s|@RING_PORT@|$LAB_RING_PORT|g" \
    -e "s|@MAIL_SERVERS@|$mail_servers|g" -e "s|@INDEX@|${2:-}|g" -e "s|@NAME@|${3:-}|g" \
    -e "s|@IP@|${4:-}|g" -e "s|@FAST_AUTH@|$fast_auth_setting|g" \
    -e "s|@LOGIN_SERVICE_COUNT@|$login_service_count|g" \
    -e "s|@LOGIN_MIN_AVAIL@|$login_min_avail|g" "$LAB_SCRIPTS/$1"
}
fast_auth_setting=""
[ "$fast_auth" = 1 ] && fast_auth_setting="auth_failure_delay = 0"
# Dovecot's defaults for the login services, or its high-performance mode (-P).
login_service_count=1
login_min_avail=0
if [ "$reused_login" = 1 ]; then
  login_service_count=0
  login_min_avail=1
fi

for name in "${directors[@]}"; do
  render director.conf.in "" "$name" "$(director_ip "$name")" >"$LAB_DIR/etc/$name.conf"
  mkdir -p "$LAB_DIR/$name" "$LAB_DIR/state/$name"
done
for i in $(seq 1 "$backends"); do
  name=$(backend_name "$i")
  render backend.conf.in "$i" "$name" "$(backend_ip "$i")" >"$LAB_DIR/etc/$name.conf"
  mkdir -p "$LAB_DIR/$name" "$LAB_DIR/state/$name" "$LAB_DIR/mail/$name"
  chown nobody:nogroup "$LAB_DIR/mail/$name"
  write_auth_files "$i" ok
done
for name in "${names[@]}"; do
  doveconf -c "$LAB_DIR/etc/$name.conf" >/dev/null 2>"$LAB_DIR/log/$name.stderr" ||
    die "invalid generated $LAB_DIR/etc/$name.conf: $(cat "$LAB_DIR/log/$name.stderr")"
done

first_director=${directors[0]}
director_ips=""
for name in "${directors[@]}"; do director_ips="$director_ips $(director_ip "$name")"; done
# lab.env is written before the start so that start_instance sees LAB_FAST_AUTH.
# LAB_SOCKET and LAB_DIRECTOR name the first director of a ring.
{
  echo "LAB_DIR=\"$LAB_DIR\""
  echo "LAB_SOCKET=\"$LAB_DIR/$first_director/director-admin\""
  echo "LAB_CA=\"$ssl/ca.pem\""
  echo "LAB_DIRECTOR=\"$(director_ip "$first_director")\""
  echo "LAB_DIRECTORS=\"${director_ips# }\""
  echo "LAB_BACKENDS=\"$mail_servers\""
  echo "LAB_BACKEND_COUNT=\"$backends\""
  echo "LAB_FAST_AUTH=\"$fast_auth\""
} >"$LAB_DIR/lab.env"

started_ok=0
cleanup_on_failure() { [ "$started_ok" = 1 ] || stop_instances "${names[@]}"; }
trap cleanup_on_failure EXIT
for name in "${names[@]}"; do start_instance "$name"; done
wait_instances_ready "${names[@]}"
started_ok=1

note "director(s)${director_ips} and ${backends} backend(s) up in $LAB_DIR (env: $LAB_DIR/lab.env)"
echo "$LAB_DIR/$first_director/director-admin"
