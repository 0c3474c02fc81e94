#!/usr/bin/env bash
# THE test command of lockpath:
#
#   ci/test.sh [cargo test args...]      e.g. ci/test.sh real_kernel
#
# Fetches the Linux 6.12 tree (ci/fetch-kernel.sh; cached after the first
# run), exports LOCKPATH_KERNEL=<tree> so the real-kernel tests in
# tests/real_kernel.rs run, and then runs `cargo test --release` with any
# extra arguments passed through.
#
# Set LOCKPATH_REQUIRE_KERNEL=1 to make the real-kernel tests fail (instead
# of being skipped) when no tree is found; CI does (see .ci/run).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

log() { echo "ci/test.sh: $*" >&2; }

# The seed-patch tests apply tests/seed/*.patch with patch(1).
if ! command -v patch >/dev/null 2>&1; then
    log "patch(1) not found; installing it with apt-get"
    if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo -n); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends patch >&2
fi

LOCKPATH_KERNEL="$(ci/fetch-kernel.sh 6.12)"   # honours a LOCKPATH_KERNEL tree you have
log "using LOCKPATH_KERNEL=$LOCKPATH_KERNEL"
export LOCKPATH_KERNEL

log "cargo test --release $*"
exec cargo test --release "$@"
