#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked GNOME Keyring (Secret Service),
# so keyring code is tested for real without a desktop. Everything it starts ends with the
# session, and its throwaway keyring home is removed afterwards.
#   scripts/with-keyring.sh cargo test
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
export XDG_DATA_HOME="$home"
export OAUTH_DESK_IN_KEYRING_SESSION=1
status=0
dbus-run-session -- bash -c '
  printf %s "oauth-desk-test" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  # Wait until the Secret Service answers on the bus.
  for i in $(seq 1 50); do
    if busctl --user status org.freedesktop.secrets >/dev/null 2>&1 || dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"; then break; fi
    sleep 0.1
  done
  exec "$@"
' with-keyring "$@" || status=$?
exit "$status"
