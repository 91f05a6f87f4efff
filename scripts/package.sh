#!/usr/bin/env bash
# Builds the Debian package `oauth-desk`: the app (release, UI inside) and the `oauth-desk` CLI
# beside it, with bash, zsh and fish completions and a manual page. Prints the .deb's path.
#   scripts/package.sh && sudo apt install ./target/release/bundle/deb/oauth-desk_*.deb
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"
npm run --prefix ui --silent build
cargo build --release --locked -p oauth-desk-app --features custom-protocol -p oauth-desk-cli
dist=target/release/dist
mkdir -p "$dist"
target/release/oauth-desk completions bash > "$dist/oauth-desk.bash"
target/release/oauth-desk completions zsh > "$dist/_oauth-desk"
target/release/oauth-desk completions fish > "$dist/oauth-desk.fish"
target/release/oauth-desk manpage | gzip -9n > "$dist/oauth-desk.1.gz"
# The Tauri CLI's bundler wants the config beside the app crate's Cargo.toml; the config lives
# at the root. Give it a copy for this run, with its paths rewritten for src-tauri/, the
# package named `oauth-desk` (Tauri names it after productName, which would give
# `o-auth-desk`), the menu entry still "OAuth Desk", and the CLI's files added.
copy=src-tauri/tauri.conf.json
trap 'rm -f "$copy"' EXIT
node -e '
  const c = require("./tauri.conf.json");
  c.productName = "oauth-desk";
  c.build = { frontendDist: "../ui/dist" };
  c.bundle.icon = c.bundle.icon.map((p) => "../" + p);
  const d = "../target/release/dist/";
  Object.assign(c.bundle.linux.deb, {
    desktopTemplate: "../packaging/oauth-desk.desktop",
    conflicts: ["o-auth-desk"],
    replaces: ["o-auth-desk"],
    files: {
      "/usr/bin/oauth-desk": "../target/release/oauth-desk",
      "/usr/share/bash-completion/completions/oauth-desk": d + "oauth-desk.bash",
      "/usr/share/zsh/vendor-completions/_oauth-desk": d + "_oauth-desk",
      "/usr/share/fish/vendor_completions.d/oauth-desk.fish": d + "oauth-desk.fish",
      "/usr/share/man/man1/oauth-desk.1.gz": d + "oauth-desk.1.gz",
    },
  });
  require("fs").writeFileSync(process.argv[1], JSON.stringify(c, null, 2));
' "$copy"
(cd src-tauri && npx --yes @tauri-apps/cli@2.12.5 bundle --bundles deb --ci)
ls -1 target/release/bundle/deb/oauth-desk_*.deb
