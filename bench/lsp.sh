#!/usr/bin/env bash
# `lockpath lsp` on Linux 6.12, as an editor feels it (examples/lsp_bench.rs):
# initial index time, and edit-to-diagnostic latency for an edit that adds
# a fault under mmap_lock to mm/oom_kill.c and one that takes it back.
#
#   bench/lsp.sh                      # the whole tree, 2 edits
#   PATHS=mm,kernel bench/lsp.sh      # only those sub-directories (initializationOptions.paths)
#   EDITS=5 FILE=kernel/fork.c bench/lsp.sh
#
# Prints a markdown table and keeps it in bench/out/<stamp>-lsp.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

tree="$(ci/fetch-kernel.sh 6.12)"

cargo build --release --bins --examples >&2
target="${CARGO_TARGET_DIR:-target}/release"
mkdir -p bench/out
report="bench/out/$(date -u +%Y%m%d-%H%M%S)-lsp.md"
"$target/examples/lsp_bench" --lockpath "$target/lockpath" --root "$tree" \
    --file "${FILE:-mm/oom_kill.c}" --paths "${PATHS:-}" --edits "${EDITS:-2}" | tee "$report"
echo "bench: kept in $report" >&2
