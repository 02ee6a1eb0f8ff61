#!/usr/bin/env bash
# The project's test command (README): every test of every crate in the workspace.
# Works on a fresh machine with only the Rust toolchain; installs what optional test
# fixtures need where it can (apt, as root), and those tests say when they are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -x scripts/test-deps.sh ]; then
  bash scripts/test-deps.sh
fi
cargo test --workspace --locked "$@"
