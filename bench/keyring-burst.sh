#!/usr/bin/env bash
# Bursts of short-lived CLI processes against a real GNOME Keyring, as parallel scripts make them:
# every process opens its own Secret Service connection and reads a secret. Reports how many
# processes ran and whether the daemon survived (GNOME Keyring aborts when a caller's first call
# is OpenSession; see vendor/dbus-secret-service/PATCHED.md).
#   bash bench/keyring-burst.sh            # 32 workers for 60 s, debug build of the CLI
#   PARALLEL=16 SECONDS_=30 CLI=target/release/oauth-desk bash bench/keyring-burst.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CLI=${CLI:-target/debug/oauth-desk}
[ -x "$CLI" ] || cargo build -q -p oauth-desk-cli
export PARALLEL=${PARALLEL:-32} DURATION=${SECONDS_:-60} CLI
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OAUTH_DESK_DATA_DIR="$work/data" WORK="$work"
scripts/with-keyring.sh bash -c '
  set -u
  printf "burst-secret\n" | "$CLI" profile add --kind oauth2 --client-id burst --token-url http://127.0.0.1:9/token --client-secret-stdin burst >/dev/null
  daemon=$(dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.GetConnectionUnixProcessID string:org.freedesktop.secrets | awk "/uint32/{print \$2}")
  end=$((SECONDS + DURATION))
  for w in $(seq 1 "$PARALLEL"); do
    ( n=0; while [ $SECONDS -lt $end ] && kill -0 "$daemon" 2>/dev/null; do
        "$CLI" token burst >/dev/null 2>&1 || true; n=$((n + 1)); done; echo $n >"$WORK/count.$w" ) &
  done
  wait
  total=$(cat "$WORK"/count.* | awk "{ n += \$1 } END { print n }")
  if kill -0 "$daemon" 2>/dev/null; then
    echo "keyring-burst: $total CLI processes in ${DURATION} s ($PARALLEL at a time); GNOME Keyring alive"
  else
    echo "keyring-burst: GNOME Keyring DIED after $total CLI processes" >&2; exit 1
  fi
' 2> >(grep -v "fd limit" >&2)
