#!/usr/bin/env bash
# A newcomer's first `make test`, checked in a few seconds without installing
# anything: as an unprivileged user on a PATH without Chromium, the install
# script stops before building and says what to install and how; CHROMIUM=/path
# and a browser on PATH are honoured; scripts/with-postgres.sh works without
# root; `make help` lists every target of the Makefile.
# Run as root (CI), the checks run as `nobody` through runuser or setpriv;
# run as anyone else, as that user.
#   scripts/test-newcomer.sh
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

failures=0
pass() { printf '  ok    %s\n' "$1"; }
fail() {
  printf '  FAIL  %s\n' "$1"
  [ -z "${2:-}" ] || printf '%s\n' "$2" | sed 's/^/        | /'
  failures=$((failures + 1))
}

# How to run a command as an unprivileged user.
if [ "$(id -u)" != 0 ]; then
  as_user=()
  user=$(id -un)
elif command -v runuser >/dev/null; then
  as_user=(runuser -u nobody --)
  user=nobody
elif command -v setpriv >/dev/null; then
  as_user=(setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups --)
  user=nobody
else
  echo "==> newcomer checks skipped: running as root, and neither runuser nor setpriv is here to drop to an unprivileged user"
  exit 0
fi
echo "==> a newcomer's first make test, as $user"

# Everything the unprivileged user runs lives in a folder it can read (the
# clone may sit in root's home): a copy of the scripts, a fake browser, and a
# PATH of links to every program of the system's PATH except the browsers.
tmp=$(mktemp -d /tmp/latchkey-newcomer.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/scripts" "$tmp/nochromium" "$tmp/browser" "$tmp/home"
cp scripts/install-tools.sh scripts/with-postgres.sh "$tmp/scripts/"
printf '#!/bin/sh\necho "Fake Chromium 1.0"\n' >"$tmp/browser/chromium-browser"
chmod -R a+rX "$tmp"
chmod a+x "$tmp/browser/chromium-browser"
chmod a+rwx "$tmp/home"
for dir in /sbin /bin /usr/sbin /usr/bin /usr/local/sbin /usr/local/bin; do
  [ -d "$dir" ] || continue
  find "$dir/" -maxdepth 1 \( -type f -o -type l \) \
    ! -name 'chromium*' ! -name 'google-chrome*' -exec ln -sf -t "$tmp/nochromium" {} +
done
bare_path=$tmp/nochromium

# run NAME=VALUE... -- COMMAND...: as the unprivileged user, in a clean
# environment on the PATH without browsers; sets $out (stdout and stderr) and $rc.
run() {
  local env=(HOME="$tmp/home" PATH="$bare_path" LANG=C.UTF-8)
  while [ "$1" != -- ]; do env+=("$1"); shift; done
  shift
  rc=0
  out=$(cd "$tmp" && "${as_user[@]}" env -i "${env[@]}" "$@" 2>&1) || rc=$?
}

run -- bash scripts/install-tools.sh check-chromium
if [ "$rc" != 0 ] && grep -q 'apt-get install chromium' <<<"$out" && grep -q 'CHROMIUM=/path/to/chromium make test' <<<"$out"; then
  pass "no Chromium, CHROMIUM unset: check-chromium fails and says what to install and how"
else
  fail "no Chromium, CHROMIUM unset: expected a non-zero exit naming apt-get install chromium and CHROMIUM= (exit $rc)" "$out"
fi

run -- bash scripts/install-tools.sh test
if [ "$rc" != 0 ] && grep -q 'apt-get install chromium' <<<"$out" && ! grep -q '^==> installing' <<<"$out"; then
  pass "no Chromium: install-tools.sh test (what make test runs first) stops before installing anything"
else
  fail "no Chromium: expected install-tools.sh test to stop with the message, installing nothing (exit $rc)" "$out"
fi
if [ "$user" != root ] && grep -q 'sudo apt-get' <<<"$out"; then
  pass "the message tells a user who is not root to use sudo"
else
  fail "expected 'sudo apt-get' in the message to $user" "$out"
fi

run CHROMIUM="$tmp/browser/chromium-browser" -- bash scripts/install-tools.sh check-chromium
if [ "$rc" = 0 ] && [ "$out" = "$tmp/browser/chromium-browser" ]; then
  pass "CHROMIUM=/path is honoured"
else
  fail "CHROMIUM=$tmp/browser/chromium-browser: expected exit 0 and that path (exit $rc)" "$out"
fi

run CHROMIUM="$tmp/browser/missing" -- bash scripts/install-tools.sh check-chromium
if [ "$rc" != 0 ] && grep -q "CHROMIUM=$tmp/browser/missing is not an executable" <<<"$out"; then
  pass "a CHROMIUM that is not a program is refused by name"
else
  fail "CHROMIUM=$tmp/browser/missing: expected a non-zero exit naming it (exit $rc)" "$out"
fi

run PATH="$tmp/browser:$bare_path" -- bash scripts/install-tools.sh check-chromium
if [ "$rc" = 0 ] && [ "$out" = "$tmp/browser/chromium-browser" ]; then
  pass "a chromium-browser on PATH is found"
else
  fail "chromium-browser on PATH: expected exit 0 and its path (exit $rc)" "$out"
fi

run PG_BIN="$tmp/no-postgres" -- bash scripts/with-postgres.sh true
if [ "$rc" != 0 ] && grep -q 'apt-get install postgresql' <<<"$out"; then
  pass "no PostgreSQL: with-postgres.sh says what to install"
else
  fail "PG_BIN=$tmp/no-postgres: expected a non-zero exit naming apt-get install postgresql (exit $rc)" "$out"
fi

if ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1 || [ -n "${PG_BIN:-}" ]; then
  run ${PG_BIN:+PG_BIN="$PG_BIN"} -- bash scripts/with-postgres.sh sh -c 'echo "url=$LATCHKEY_TEST_POSTGRES_URL"'
  if [ "$rc" = 0 ] && grep -q '^url=postgres://' <<<"$out"; then
    pass "with-postgres.sh starts a throwaway PostgreSQL as $user"
  else
    fail "with-postgres.sh as $user: expected it to run the command against a cluster (exit $rc)" "$out"
  fi
else
  echo "  skip  with-postgres.sh as $user: no PostgreSQL server installed here"
fi

# Every target of the Makefile has a `## ` comment, so `make help` lists it.
targets=$(grep -E '^[a-z][a-z0-9_-]*:([^=]|$)' Makefile | cut -d: -f1 | sort -u)
listed=$(make -s -C "$repo" help | awk '$1 == "make" { print $2 }' | sort -u)
unlisted=$(comm -23 <(printf '%s\n' "$targets") <(printf '%s\n' "$listed"))
if [ -z "$unlisted" ] && [ -n "$listed" ]; then
  pass "make help lists every target ($(wc -l <<<"$targets"))"
else
  fail "make help leaves out targets (give each a '## what it does' comment):" "$unlisted"
fi

if [ "$failures" != 0 ]; then
  echo "==> $failures newcomer check(s) failed"
  exit 1
fi
