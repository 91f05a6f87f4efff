#!/usr/bin/env bash
# Installs everything, builds OAuth Desk and starts it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
npm run --prefix ui --silent build
cargo build --release --locked -p oauth-desk-app --features custom-protocol -p oauth-desk-cli
exec target/release/oauth-desk-app "$@"
