#!/usr/bin/env bash
# Builds the Debian package: the release binary with the UI inside, then the Tauri CLI's
# bundler (npm @tauri-apps/cli@2). Prints the .deb's path.
#   scripts/package.sh && sudo apt install ./target/release/bundle/deb/*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
npm run --prefix ui --silent build
cargo build --release --locked -p oauth-desk-app --features custom-protocol
# The config sits at the repository root, so the CLI runs from here; it bundles what cargo built.
npx --yes @tauri-apps/cli@2.12.5 bundle --bundles deb --ci
ls -1 target/release/bundle/deb/*.deb
