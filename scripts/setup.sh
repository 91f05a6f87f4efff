#!/usr/bin/env bash
# Installs what OAuth Desk needs on Debian or Ubuntu: C libraries for the app and the keyring,
# the test tools (Xvfb, D-Bus, GNOME Keyring, WebKitWebDriver), Node.js 20+, Rust, and the npm
# packages the tests run (oidc-provider). Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=(build-essential pkg-config libssl-dev libdbus-1-dev curl ca-certificates)
APP=(libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev librsvg2-dev libxdo-dev)
TEST=(xvfb xauth webkit2gtk-driver gnome-keyring libsecret-tools dbus-x11 at-spi2-core fonts-dejavu-core fonts-noto-cjk fonts-noto-color-emoji imagemagick xdotool)

sudo_() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${BUILD[@]}" "${APP[@]}" "${TEST[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then missing+=(nodejs npm); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_ apt-get update -qq
  sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "setup: Node.js 20 or later is needed (found ${node_major}); install it from your distribution's backports or nodejs.org" >&2
  exit 1
fi

# Python `requests`: the tests run the "Copy as Python" snippets for real.
if ! python3 -c 'import requests' 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check requests 2>/dev/null \
    || sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-requests >/dev/null
  python3 -c 'import requests' || { echo "setup: Python's requests package is needed (pip install requests)" >&2; exit 1; }
fi

if ! command -v cargo >/dev/null; then
  [ -x "$HOME/.cargo/bin/cargo" ] || curl -fsSL https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
  export PATH="$HOME/.cargo/bin:$PATH"
fi

# npm packages: the UI's toolchain, the real OpenID Connect server the tests sign in to, and
# WebdriverIO for the end-to-end tests. `npm ci` only when the lock file is newer.
for dir in ui tests/oidc tests/e2e; do
  if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
  fi
done

# tauri-driver: the WebDriver bridge between WebdriverIO and WebKitWebDriver.
if ! command -v tauri-driver >/dev/null && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
  cargo install tauri-driver --locked --quiet
fi
