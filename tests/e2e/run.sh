#!/usr/bin/env bash
# Runs the end-to-end tests in the real app window: a virtual display (Xvfb), a D-Bus session
# with an unlocked GNOME Keyring, tauri-driver with WebKitWebDriver. Everything it starts stops
# with it, also when a test fails or the run is interrupted: the tests run in a process group
# of their own, which is killed whole on exit, and the temporary homes are removed.
# Expects the app, the CLI and the emulator built (scripts/test.sh does that).
#   tests/e2e/run.sh [test files...]
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/webdriverio ] || npm ci --no-audit --no-fund --loglevel=error
files=("$@"); [ ${#files[@]} -gt 0 ] || files=(app.test.mjs)
display=99
while [ -e "/tmp/.X${display}-lock" ]; do display=$((display + 1)); done
xvfb=""; group=""
cleanup() {
  if [ -n "$group" ]; then
    kill -TERM -- "-$group" 2>/dev/null || true
    for _ in $(seq 1 20); do kill -0 -- "-$group" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$group" 2>/dev/null || true
  fi
  if [ -n "$xvfb" ]; then kill "$xvfb" 2>/dev/null || true; wait "$xvfb" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
Xvfb ":${display}" -screen 0 1280x820x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X${display}" ] && break; sleep 0.1; done
export DISPLAY=":${display}" WEBKIT_DISABLE_DMABUF_RENDERER=1 NO_AT_BRIDGE=1
# setsid: the tests, the keyring daemon, tauri-driver, WebKitWebDriver and the app share one
# process group, the one cleanup kills.
setsid ../../scripts/with-keyring.sh node --test --test-concurrency=1 --test-timeout=600000 "${files[@]}" &
group=$!
status=0
wait "$group" || status=$?
exit "$status"
