#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked GNOME Keyring (Secret Service),
# so keyring code is tested for real without a desktop. Everything it starts ends with the
# session, and its throwaway keyring home is removed afterwards.
#   scripts/with-keyring.sh cargo test
#
# Each session's daemon is its own: its keyrings and its control socket live in the throwaway
# home, it runs in the foreground as a child of the session, it must own org.freedesktop.secrets
# before the command starts, and it is stopped with the session. If it dies during the run (GNOME
# Keyring aborts when a caller's first call is OpenSession, which our patched Secret Service
# client never sends first: vendor/dbus-secret-service/PATCHED.md), its log is printed.
set -euo pipefail
if [ "${OAUTH_DESK_IN_KEYRING_SESSION:-}" = 1 ]; then exec "$@"; fi
command -v dbus-run-session >/dev/null || { echo "with-keyring: dbus-run-session is missing (apt-get install dbus-x11)" >&2; exit 2; }
command -v gnome-keyring-daemon >/dev/null || { echo "with-keyring: gnome-keyring-daemon is missing (apt-get install gnome-keyring)" >&2; exit 2; }
# A throwaway keyring home, so tests never touch a real login keyring.
home="${OAUTH_DESK_KEYRING_HOME:-}"
if [ -z "$home" ]; then
  home=$(mktemp -d)
  trap 'rm -rf "$home"' EXIT
fi
mkdir -p "$home/run" && chmod 700 "$home/run"
export XDG_DATA_HOME="$home"
export OAUTH_DESK_IN_KEYRING_SESSION=1
export OAUTH_DESK_KEYRING_RUNTIME="$home/run"
status=0
dbus-run-session -- bash -c '
  set -u
  owner() {
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
      org.freedesktop.DBus.GetNameOwner string:org.freedesktop.secrets 2>/dev/null | sed -n "s/.*string \"\(.*\)\"/\1/p"
  }
  run="$OAUTH_DESK_KEYRING_RUNTIME"
  printf %s "oauth-desk-test" | XDG_RUNTIME_DIR="$run" gnome-keyring-daemon --unlock --foreground --components=secrets \
    >"$run/daemon.out" 2>"$run/daemon.log" &
  daemon=$!
  # Wait until the Secret Service answers on this bus.
  for i in $(seq 1 100); do [ -n "$(owner)" ] && break; sleep 0.1; done
  if [ -z "$(owner)" ]; then
    echo "with-keyring: the keyring daemon did not take org.freedesktop.secrets on the session bus; its log:" >&2
    tail -n 20 "$run/daemon.log" >&2 || true
    exit 2
  fi
  control=$(sed -n "s/^GNOME_KEYRING_CONTROL=//p" "$run/daemon.out")
  [ -n "$control" ] && export GNOME_KEYRING_CONTROL="$control"
  status=0
  "$@" || status=$?
  if ! kill -0 "$daemon" 2>/dev/null; then
    # Tests that failed for want of a keyring say why.
    echo "with-keyring: the keyring daemon (pid $daemon) exited during the run; its log:" >&2
    tail -n 20 "$run/daemon.log" >&2 || true
  fi
  kill "$daemon" 2>/dev/null || true
  wait "$daemon" 2>/dev/null || true
  exit "$status"
' with-keyring "$@" || status=$?
exit "$status"
