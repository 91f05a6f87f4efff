#!/usr/bin/env bash
# Runs the end-to-end tests in the real app window: a virtual display (Xvfb), a D-Bus session
# with an unlocked GNOME Keyring, tauri-driver with WebKitWebDriver. Everything it starts stops
# with it. Expects the app and the emulator built (scripts/test.sh does that).
#   tests/e2e/run.sh [test files...]
set -euo pipefail
cd "$(dirname "$0")"
[ -d node_modules/webdriverio ] || npm ci --no-audit --no-fund --loglevel=error
files=("$@"); [ ${#files[@]} -gt 0 ] || files=(app.test.mjs)
display=99
while [ -e "/tmp/.X${display}-lock" ]; do display=$((display + 1)); done
Xvfb ":${display}" -screen 0 1280x820x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do [ -e "/tmp/.X11-unix/X${display}" ] && break; sleep 0.1; done
export DISPLAY=":${display}" WEBKIT_DISABLE_DMABUF_RENDERER=1 NO_AT_BRIDGE=1
../../scripts/with-keyring.sh node --test --test-concurrency=1 --test-timeout=600000 "${files[@]}"
