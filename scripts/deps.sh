#!/usr/bin/env bash
# Installs the Debian 12 packages poolwatch needs to build, test and demo, only those
# that are missing. Idempotent; needs root (or sudo) only when something is missing.
#   scripts/deps.sh          what the build, the tests and the demo need
#   scripts/deps.sh test     also the tools of the package, man page and format checks,
#                            nftables for the ring lab's faults (in its own netns), and
#                            chromium, which loads the status page headless in its e2e test
#   scripts/deps.sh fuzz     also clang and libFuzzer for the fuzz harnesses (scripts/fuzz.sh)
set -euo pipefail

PACKAGES=(
  cmake g++ make ninja-build pkg-config ccache
  libboost1.81-dev libssl-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev
  libgtest-dev libgmock-dev nlohmann-json3-dev
  dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd
  openssl socat netcat-openbsd iproute2 procps psmisc
)
if [ "${1:-}" = test ]; then
  PACKAGES+=(dpkg-dev debhelper lintian go-md2man clang-format nftables chromium)
fi
if [ "${1:-}" = fuzz ]; then
  PACKAGES+=(clang-14 libfuzzer-14-dev)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# Installing dovecot-core would start the system Dovecot on *:143 and friends and
# take the addresses the lab needs; a policy-rc.d that exits 101 forbids that.
# POLICY_RC_D exists for tests/checks/deps_script.sh, which runs this script with
# stand-ins for dpkg-query and apt-get on PATH.
policy=${POLICY_RC_D:-/usr/sbin/policy-rc.d}
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod 755 "$policy"
  added_policy=1
fi
# An if, not `[ ] && rm`: a trap's last status becomes the script's exit status, and
# `[ 0 = 1 ] && ...` is 1 when there was a policy before us (every Debian image has one).
cleanup() {
  if [ "$added_policy" = 1 ]; then $SUDO rm -f "$policy"; fi
}
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

# If the system Dovecot got started anyway (a policy-rc.d that allowed it), stop it.
if [ -f /run/dovecot/master.pid ] && kill -0 "$(cat /run/dovecot/master.pid)" 2>/dev/null; then
  $SUDO doveadm stop 2>/dev/null || $SUDO kill "$(cat /run/dovecot/master.pid)" || true
fi
