#!/usr/bin/env bash
# Run one of lockpath's cargo-fuzz targets (fuzz/) for a while.
#
#   ci/fuzz.sh                 # target `extract`, 600 s
#   ci/fuzz.sh extract 3600    # an hour
#   ci/fuzz.sh patch 600       # the patch/mbox parser
#
# Installs cargo-fuzz from crates.io when it is missing. cargo-fuzz builds
# with nightly-only flags (sanitizer, coverage); RUSTC_BOOTSTRAP=1 lets the
# stable toolchain accept them. The corpus is seeded at run time into
# fuzz/corpus/<target>/ (not committed): every fixtures/**/*.c, the
# hostile inputs fuzz/hostile.py writes (deep nesting, long chains), and for
# `extract` also the small .c/.h files of Linux 6.12's mm/, kernel/ and
# include/linux/ (ci/fetch-kernel.sh; LOCKPATH_KERNEL=<tree> uses a tree you
# have; FUZZ_NO_KERNEL=1 skips them). Crashes, timeouts and OOMs land in
# fuzz/artifacts/<target>/; libFuzzer's own log is fuzz/fuzz-0.log.
# Options passed to libFuzzer: FUZZ_ARGS="-max_len=4096" adds to the defaults.
# No sanitizer by default (FUZZ_SANITIZER=address to change): lockpath
# forbids unsafe code, and AddressSanitizer instruments only Rust code, not
# tree-sitter's C, so it found nothing here while making each input about 4
# times slower and the process 14 times bigger.
set -euo pipefail

target="${1:-extract}"
seconds="${2:-600}"
root="$(cd "$(dirname "$0")/.." && pwd)"
fuzz="$root/fuzz"
corpus="$fuzz/corpus/$target"
artifacts="$fuzz/artifacts/$target"
log() { echo "fuzz: $*" >&2; }

case "$target" in
    extract) ;;
    patch)
        if ! grep -q '^name = "patch"' "$fuzz/Cargo.toml"; then
            log "the patch target is not wired yet (TODO in fuzz/fuzz_targets/patch.rs)"
            exit 2
        fi ;;
    *) log "unknown target '$target' (known: extract, patch)"; exit 2 ;;
esac
case "$seconds" in ''|*[!0-9]*) log "bad duration '$seconds' (seconds)"; exit 2 ;; esac

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    log "installing cargo-fuzz"
    cargo install --locked cargo-fuzz
fi
export RUSTC_BOOTSTRAP=1

mkdir -p "$corpus" "$artifacts"
case "$target" in
    extract)
        # Each seed under its content hash, so re-seeding does not pile up copies.
        seed() { while IFS= read -r -d '' f; do
            cp "$f" "$corpus/seed-$(sha1sum "$f" | cut -c1-16)"
        done; }
        find "$root/fixtures" -name '*.c' -print0 | seed
        # Deep nesting, long chains, wide fan-outs (fuzz/hostile.py).
        python3 "$fuzz/hostile.py" "$corpus"
        if [ -z "${FUZZ_NO_KERNEL:-}" ]; then
            tree="${LOCKPATH_KERNEL:-$("$root/ci/fetch-kernel.sh" 6.12)}"
            # Small files only: libFuzzer mutates and re-runs every seed, and
            # a 64 KiB input keeps a few hundred executions a second.
            find "$tree/mm" "$tree/kernel" "$tree/include/linux" \
                \( -name '*.c' -o -name '*.h' \) -size -32k -print0 | seed
        fi ;;
    patch)
        find "$root/tests" -name '*.patch' -print0 | while IFS= read -r -d '' f; do
            cp "$f" "$corpus/seed-$(sha1sum "$f" | cut -c1-16)"
        done ;;
esac
log "$target: $(find "$corpus" -type f | wc -l) corpus files, ${seconds} s"

cd "$fuzz"
# -jobs=1: one worker (the machine is small and shared), restarted after a
# crash so one bug does not end the run; its output is fuzz-0.log.
# -timeout=10: a single input taking 10 s is a bug (slow inputs count).
status=0
# shellcheck disable=SC2086
cargo fuzz run --sanitizer "${FUZZ_SANITIZER:-none}" "$target" "$corpus" -- \
    -max_total_time="$seconds" -jobs=1 -workers=1 -rss_limit_mb=4096 -timeout=10 \
    -max_len=65536 -dict="$fuzz/c.dict" \
    -print_final_stats=1 ${FUZZ_ARGS:-} || status=$?
found="$(find "$artifacts" -type f | wc -l)"
log "$target: done (exit $status); $found file(s) in $artifacts"
if [ "$found" -gt 0 ]; then
    ls -l "$artifacts" >&2
    exit 1
fi
exit "$status"
