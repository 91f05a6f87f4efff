#!/usr/bin/env bash
# Installs everything and runs every test: formatting, lints, unit and integration tests. The
# tests start what they test against themselves: the Salesforce and WeChat emulators and the
# real oidc-provider on 127.0.0.1, inside a private D-Bus session with an unlocked GNOME Keyring.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH" CARGO_TERM_COLOR=never

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== unit and integration tests (real keyring under D-Bus)"
scripts/with-keyring.sh cargo test --workspace --locked
