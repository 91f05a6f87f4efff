#!/usr/bin/env bash
# Query benchmark: builds release binaries, installs the peers (jsforce, the Salesforce CLI),
# and runs bench/query.py inside a D-Bus session with an unlocked keyring.
#   bench/run.sh            (BENCH_RUNS=5 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
command -v /usr/bin/time >/dev/null || { sudo apt-get install -y time 2>/dev/null || apt-get install -y time; }
cargo build --release --locked -p oauth-desk-cli -p oauth-desk-emulators --bins
npm ci --prefix bench --no-audit --no-fund --loglevel=error
scripts/with-keyring.sh python3 bench/query.py
