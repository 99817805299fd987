#!/bin/sh
# scripts/deps.sh must exit 0 on its first run: with nothing missing, and when it
# installs something both with a policy-rc.d already there (every Debian container
# image has one) and without one. dpkg-query and apt-get are stand-ins on PATH, so
# nothing is installed; the policy path is a temporary file.
set -eu
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
deps="$source_dir/scripts/deps.sh"
[ "$(id -u)" = 0 ] || { echo "skip: deps.sh runs apt-get through sudo when not root"; exit 77; }
work=$(mktemp -d "${TMPDIR:-/tmp}/poolwatch-deps.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# 1. Nothing missing: the real dpkg-query, no apt-get.
if bash "$deps" test >"$work/out" 2>&1; then echo "ok: nothing missing: exit 0"; else
    fail "nothing missing: exit $?: $(cat "$work/out")"; fi

# Stand-ins: every package reads as missing; apt-get logs its arguments and the
# policy-rc.d it saw, so the test can tell the policy was in place during the install.
mkdir "$work/bin"
cat >"$work/bin/dpkg-query" <<'STUB'
#!/bin/sh
exit 1
STUB
cat >"$work/bin/apt-get" <<'STUB'
#!/bin/sh
echo "apt-get $1 policy:$(cat "$POLICY_RC_D" 2>/dev/null | tail -n 1)" >>"$APT_LOG"
STUB
chmod 755 "$work/bin/dpkg-query" "$work/bin/apt-get"
run_install() { # policy file, log
    PATH="$work/bin:$PATH" POLICY_RC_D="$1" APT_LOG="$2" bash "$deps" >"$work/out" 2>&1
}

# 2. A policy-rc.d that was there before: kept as it was, exit 0.
printf '#!/bin/sh\n# the image own\nexit 101\n' >"$work/policy-existing"
if run_install "$work/policy-existing" "$work/log2"; then echo "ok: existing policy: exit 0"; else
    fail "existing policy-rc.d: exit $?: $(cat "$work/out")"; fi
grep -q 'the image own' "$work/policy-existing" || fail "existing policy-rc.d was changed"
grep -q '^apt-get install policy:exit 101$' "$work/log2" || fail "existing policy: no install ran"

# 3. No policy-rc.d: one forbids service starts during the install, then it is removed.
if run_install "$work/policy-absent" "$work/log3"; then echo "ok: no policy: exit 0"; else
    fail "no policy-rc.d: exit $?: $(cat "$work/out")"; fi
grep -q '^apt-get install policy:exit 101$' "$work/log3" || fail "no policy: install ran without one"
[ ! -e "$work/policy-absent" ] || fail "the policy-rc.d deps.sh added was left behind"

[ "$failures" -eq 0 ] && echo "PASS: deps.sh" || { echo "FAIL: $failures check(s)"; exit 1; }
