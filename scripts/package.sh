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
# The CLI's bundler wants the config beside the app crate's Cargo.toml; the config lives at the
# root. Give it a copy with its paths rewritten for src-tauri/, for this run only.
copy=src-tauri/tauri.conf.json
trap 'rm -f "$copy"' EXIT
node -e '
  const c = require("./tauri.conf.json");
  c.build = { frontendDist: "../ui/dist" };
  c.bundle.icon = c.bundle.icon.map((p) => "../" + p);
  require("fs").writeFileSync(process.argv[1], JSON.stringify(c, null, 2));
' "$copy"
(cd src-tauri && npx --yes @tauri-apps/cli@2.12.5 bundle --bundles deb --ci)
ls -1 target/release/bundle/deb/*.deb
