#!/usr/bin/env bash
# Run lockpath on a real kernel tree (Linux 6.12's mm/ and kernel/):
#
#   ci/check-kernel.sh                    # human-readable report
#   ci/check-kernel.sh --format json      # extra args go to `lockpath check`
#
# Fetches the tree with ci/fetch-kernel.sh (cached), builds the release
# binary, and runs  lockpath check "$tree/mm" "$tree/kernel" [args...].
# Exit status is lockpath's (0: no findings, 1: findings, other: error).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

tree="$(ci/fetch-kernel.sh 6.12)"

cargo build --release >&2
exec "${CARGO_TARGET_DIR:-target}/release/lockpath" check "$tree/mm" "$tree/kernel" "$@"
