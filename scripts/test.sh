#!/usr/bin/env bash
# Installs everything and runs every test: formatting, lints, the UI's type check and unit tests,
# the Rust unit and integration tests (real keyring under D-Bus, the emulators and oidc-provider
# started by the tests), stale TypeScript bindings, and the end-to-end tests in the real app
# window under Xvfb.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH" CARGO_TERM_COLOR=never

echo "== UI: type check, unit tests, build"
npm run --prefix ui --silent check
npm run --prefix ui --silent test
npm run --prefix ui --silent build

echo "== format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings

echo "== unit and integration tests (real keyring under D-Bus)"
scripts/with-keyring.sh cargo test --workspace --locked

echo "== TypeScript bindings are up to date"
if [ -n "$(git status --porcelain -- ui/src/lib/bindings)" ]; then
  git status --porcelain -- ui/src/lib/bindings
  echo "ui/src/lib/bindings is stale: the tests regenerated it from the Rust types; commit the result" >&2
  exit 1
fi

echo "== end-to-end tests in the real window"
cargo build --locked -p oauth-desk-app --features custom-protocol -p oauth-desk-emulators -p oauth-desk-cli
tests/e2e/run.sh
