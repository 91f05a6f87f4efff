#!/usr/bin/env bash
# App benchmark: release builds of OAuth Desk and a bare Tauri app (same versions), then
# bench/app.mjs under Xvfb with an unlocked keyring.
#   bench/app.sh            (BENCH_RUNS=5 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
npm run --prefix ui --silent build
cargo build --release --locked -p oauth-desk-app --features custom-protocol
cargo build --release --locked -p hello-tauri -p oauth-desk-cli -p oauth-desk-emulators
npm ci --prefix bench --no-audit --no-fund --loglevel=error
display=120
while [ -e "/tmp/.X${display}-lock" ]; do display=$((display + 1)); done
Xvfb ":${display}" -screen 0 1280x820x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
sleep 0.5
DISPLAY=":${display}" WEBKIT_DISABLE_DMABUF_RENDERER=1 NO_AT_BRIDGE=1 scripts/with-keyring.sh node bench/app.mjs
