#!/usr/bin/env bash
# Neovim (Debian's package, headless) with its built-in LSP client attached
# to `lockpath lsp` on the seed tree: prints the fault-under-lock diagnostic
# with its path, deletes the offending call in the buffer, prints again.
#
#   ci/nvim-lsp.sh                  # the seed tree (a copy in a temp dir)
#   ci/nvim-lsp.sh ROOT FILE        # any tree, FILE relative to ROOT
#   CLANGD=clangd ci/nvim-lsp.sh     # clangd attached beside it
#
# Installs neovim with apt-get when it is missing; exit status is the
# script's (0: the diagnostic arrived and the edit cleared it).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"

if ! command -v nvim >/dev/null; then
    apt-get install -y -q neovim >&2 || { apt-get update -q >&2 && apt-get install -y -q neovim >&2; }
fi
cargo build --release >&2

if [ $# -ge 2 ]; then
    root="$1"
    file="$2"
else
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    cp -r tests/lsp-seed/. "$tmp/"
    root="$tmp"
    file="mm/oom_kill.c"
fi

LOCKPATH="$here/${CARGO_TARGET_DIR:-target}/release/lockpath" ROOT="$root" FILE="$file" CLANGD="${CLANGD:-}" \
    timeout 600 nvim --headless --clean -c "luafile $here/ci/nvim-lsp.lua"
