#!/usr/bin/env bash
# lockpath's first benchmark: `lockpath check` against the parse-only floor
# (examples/parse_floor.rs) on Linux 6.12's mm/ and kernel/.
#
#   bench/run.sh              # 3 rounds (REPEATS=5 bench/run.sh for more)
#   JOBS=1 bench/run.sh       # pass -j 1 to both programs
#
# Four configurations, each timed with /usr/bin/time -v:
#   floor    (tree context)   parse_floor      $tree/mm $tree/kernel
#   lockpath (tree context)   lockpath check --format json $tree/mm $tree/kernel > /dev/null
#   floor    (no context)     parse_floor      --no-tree-context $tree/mm $tree/kernel
#   lockpath (no context)     lockpath check --format json --no-tree-context $tree/mm $tree/kernel > /dev/null
# run in that order, round after round, so drift (thermal, other load) hits
# every configuration alike.  Reports the median wall time, the median peak
# RSS and lockpath/floor for each pair as a markdown table on stdout, and
# keeps it (plus every raw measurement) in bench/out/.  See bench/README.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

repeats="${REPEATS:-3}"
case "$repeats" in ''|*[!0-9]*|0) echo "bench: REPEATS must be a positive integer" >&2; exit 2 ;; esac
jobs=()
if [ -n "${JOBS:-}" ]; then
    case "$JOBS" in *[!0-9]*) echo "bench: JOBS must be a number" >&2; exit 2 ;; esac
    jobs=(-j "$JOBS")
fi

log() { echo "bench: $*" >&2; }

# GNU time, for -v (wall clock and maximum resident set size).
if [ ! -x /usr/bin/time ]; then
    log "/usr/bin/time not found; installing GNU time with apt-get"
    if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo -n); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends time >&2
fi

log "building (release, binary and examples)"
cargo build --release --bins --examples >&2
target="${CARGO_TARGET_DIR:-target}/release"
lockpath="$target/lockpath"
floor="$target/examples/parse_floor"
[ -x "$lockpath" ] && [ -x "$floor" ] || { log "build did not produce $lockpath and $floor"; exit 1; }

tree="$(ci/fetch-kernel.sh 6.12)"
[ -d "$tree/mm" ] && [ -d "$tree/kernel" ] || { log "$tree has no mm/ or kernel/"; exit 1; }

out="bench/out"
mkdir -p "$out"
stamp="$(date -u +%Y%m%d-%H%M%S)"
raw="$out/$stamp-raw.tsv"
errlog="$out/$stamp-stderr.log"
report="$out/$stamp.md"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf 'round\tconfig\twall_s\tmaxrss_kb\texit\n' >"$raw"
: >"$errlog"

# Config name -> command (in the array `cmd`); lockpath exits 1 when it has
# findings, which is expected here; anything else aborts the benchmark.
configs=(floor-ctx lockpath-ctx floor-noctx lockpath-noctx)
cmd=()
set_cmd() {
    case "$1" in
        floor-ctx)      cmd=("$floor" ${jobs[@]+"${jobs[@]}"} "$tree/mm" "$tree/kernel") ;;
        lockpath-ctx)   cmd=("$lockpath" check --format json ${jobs[@]+"${jobs[@]}"} "$tree/mm" "$tree/kernel") ;;
        floor-noctx)    cmd=("$floor" --no-tree-context ${jobs[@]+"${jobs[@]}"} "$tree/mm" "$tree/kernel") ;;
        lockpath-noctx) cmd=("$lockpath" check --format json --no-tree-context ${jobs[@]+"${jobs[@]}"} "$tree/mm" "$tree/kernel") ;;
    esac
}
ok_status() {
    case "$1" in lockpath-*) [ "$2" -eq 0 ] || [ "$2" -eq 1 ] ;; *) [ "$2" -eq 0 ] ;; esac
}

# h:mm:ss or m:ss.cc -> seconds
to_seconds() { awk -F: '{ s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; printf "%.2f\n", s }'; }

# One timed run: appends a row to $raw.
measure() {
    local round="$1" config="$2" tv="$tmp/time.txt" status=0 stdout=/dev/null
    # The floor's own summary (files, bytes) goes into the report.
    case "$config" in floor-*) stdout="$tmp/$config.out" ;; esac
    set_cmd "$config"
    /usr/bin/time -v -o "$tv" "${cmd[@]}" >"$stdout" 2>>"$errlog" || status=$?
    if ! ok_status "$config" "$status"; then
        log "$config exited with status $status; see $errlog"
        exit 1
    fi
    local wall rss
    wall="$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time.*): //p' "$tv" | to_seconds)"
    rss="$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$tv")"
    [ -n "$wall" ] && [ -n "$rss" ] || { log "could not read /usr/bin/time output:"; cat "$tv" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\t%s\n' "$round" "$config" "$wall" "$rss" "$status" >>"$raw"
    log "round $round $config: ${wall}s, $((rss / 1024)) MiB"
}

# Warm the page cache so that round 1 does not pay for the disk alone.
log "warming the page cache"
"$floor" "$tree/mm" "$tree/kernel" >/dev/null

for round in $(seq 1 "$repeats"); do
    for config in "${configs[@]}"; do
        measure "$round" "$config"
    done
done

# Median of a column for one config.
median() {
    awk -F'\t' -v c="$1" -v col="$2" 'NR > 1 && $2 == c { print $col }' "$raw" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

row() {
    local label="$1" f="$2" l="$3"
    local fw lw fr lr
    fw="$(median "$f" 3)"; lw="$(median "$l" 3)"
    fr="$(median "$f" 4)"; lr="$(median "$l" 4)"
    printf '| %s | %.2f | %.2f | **%s** | %s | %s | %s |\n' \
        "$label" "$fw" "$lw" "$(ratio "$lw" "$fw")" "$(mib "$fr")" "$(mib "$lr")" "$(ratio "$lr" "$fr")"
}

files_line() { sed -n 's/^parse_floor: files \([0-9]*\).*/\1/p' "$tmp/$1.out"; }
bytes_line() { sed -n 's/^parse_floor: bytes [0-9]* (\([0-9.]* MB\)).*/\1/p' "$tmp/$1.out"; }

rev="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]; then rev="$rev+dirty"; fi

{
    echo "## lockpath vs parse floor — $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "lockpath $rev; Linux tree \`$tree\` (mm/ + kernel/); $(nproc) CPUs${JOBS:+, -j $JOBS};" \
        "median of $repeats rounds; wall time in seconds, peak RSS in MiB."
    echo
    echo "| configuration | floor wall | lockpath wall | wall ratio | floor RSS | lockpath RSS | RSS ratio |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    row "tree context: $(files_line floor-ctx) files, $(bytes_line floor-ctx)" floor-ctx lockpath-ctx
    row "\`--no-tree-context\`: $(files_line floor-noctx) files, $(bytes_line floor-noctx)" floor-noctx lockpath-noctx
    echo
    echo "Ratio = lockpath / floor (1.00 would be analysis for free). Raw runs: \`$raw\`."
} | tee "$report"
cp "$report" "$out/latest.md"
log "written $report (and $out/latest.md)"
