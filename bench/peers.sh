#!/usr/bin/env bash
# lockpath next to the peer tools that run on this machine, on the same
# directories of Linux 6.12: wall time, peak RSS and finding counts of each,
# as one markdown table (stdout and bench/out/peers-latest.md).
#
#   bench/peers.sh                    # sparse on mm/; spatch and lockpath on mm/ and kernel/
#   DIRS="mm" bench/peers.sh          # fewer directories for spatch and lockpath
#   SPARSE_DIRS="mm kernel" bench/peers.sh
#
# What runs (all timed with GNU time -v, page cache warmed first; every tool
# gets the machine's cores: make -j, spatch --jobs, lockpath's default):
#   sparse    Debian's sparse through kbuild on a defconfig build in
#             $PEERS_BUILD (default $PEERS_SCRATCH/build, outside the tree:
#             make O=...). The directory is compiled first, untimed; the timed
#             run is `make C=2 <dir>/`, which re-runs sparse on every file
#             kbuild would compile and compiles nothing (checked: no CC line).
#             A no-op `make <dir>/` is timed too: make's own share.
#   spatch    Debian's coccinelle with the tree's
#             scripts/coccinelle/locks/*.cocci in report mode, with the
#             flags scripts/coccicheck passes (plus each script's Options:
#             line and .cocciconfig's --timeout 200), one script after the
#             other, timed together.
#   lockpath  target/release/lockpath check --format json <tree>/<dir>, with
#             tree context (the default); and, for each sparse directory, on
#             exactly the .c files sparse checked.
# Installs sparse, coccinelle, GNU time and the kernel build dependencies
# with apt-get when they are missing (as root, or with sudo -n).
# LOCKPATH_KERNEL=<tree> uses a tree you have; else ci/fetch-kernel.sh 6.12.
# The kernel tree itself is only read.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dirs="${DIRS:-mm kernel}"
sparse_dirs="${SPARSE_DIRS:-mm}"
scratch="${PEERS_SCRATCH:-${TMPDIR:-/tmp}/lockpath-peers}"
build="${PEERS_BUILD:-$scratch/build}"
ncpu="$(nproc)"
log() { echo "peers: $*" >&2; }

# --- tools ------------------------------------------------------------------
need=()
command -v sparse >/dev/null || need+=(sparse)
command -v spatch >/dev/null || need+=(coccinelle)
[ -x /usr/bin/time ] || need+=(time)
for c in gcc make flex bison bc python3; do command -v "$c" >/dev/null || need+=("$c"); done
[ -f /usr/include/libelf.h ] || need+=(libelf-dev)
[ -f /usr/include/openssl/ssl.h ] || need+=(libssl-dev)
if [ "${#need[@]}" -gt 0 ]; then
    log "installing ${need[*]} with apt-get"
    if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo -n); fi
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

log "building lockpath (release)"
cargo build --release --bin lockpath >&2
lockpath="$(cd "${CARGO_TARGET_DIR:-target}/release" 2>/dev/null && pwd || echo "$root/target/release")/lockpath"

tree="$(ci/fetch-kernel.sh 6.12)"
tree="$(cd "$tree" && pwd)"

load_start="$(cut -d' ' -f1-3 /proc/loadavg)"
out="$root/bench/out"
work="$out/peers"
rm -rf "$work"
mkdir -p "$work" "$build"
rows="$work/rows.tsv"
: >"$rows"

# timed NAME CMD...: runs CMD under GNU time; stdout to $work/NAME.out,
# stderr to $work/NAME.err; sets $wall (s), $rss (MiB), $status.
timed() {
    local name="$1"; shift
    status=0
    /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.err" || status=$?
    wall="$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0;
        for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.1f", s }' "$work/$name.time")"
    rss="$(awk -F': ' '/Maximum resident set size/ { printf "%d", $2 / 1024 }' "$work/$name.time")"
}
# row DIR TOOL WHAT FILES FINDINGS DETAIL
row() { printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$wall" "$rss" "$4" "$5" "$6" >>"$rows"; }

# lockpath's JSON -> "total<TAB>check: n, check: n"
count_lockpath() {
    python3 - "$1" <<'PY'
import collections, json, sys
with open(sys.argv[1]) as f:
    report = json.load(f)
by = collections.Counter(x["check"] for x in report["findings"])
print(f'{sum(by.values())}\t' + ", ".join(f"{k} {v}" for k, v in sorted(by.items())))
PY
}
# lockpath's JSON -> files analysed (not counting context)
lockpath_files() {
    python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["summary"].get("files", "?"))' "$1"
}

# Warm the page cache for every tool alike.
for d in $dirs $sparse_dirs include arch/x86/include; do
    find "$tree/$d" -type f \( -name '*.c' -o -name '*.h' \) -print0 | xargs -0 cat >/dev/null
done

# --- sparse -------------------------------------------------------------------
kmake=(make -C "$tree" O="$build" -j"$ncpu")
if [ ! -f "$build/.config" ]; then
    log "sparse: make defconfig in $build"
    "${kmake[@]}" defconfig >&2
fi
log "sparse: make prepare (untimed)"
"${kmake[@]}" prepare >"$work/prepare.log" 2>&1
for d in $sparse_dirs; do
    k="${d//\//_}"
    log "sparse: compiling $d/ (untimed)"
    "${kmake[@]}" "$d/" >"$work/compile-$k.log" 2>&1
    timed "make-noop-$k" "${kmake[@]}" "$d/"
    row "$d" "make (no-op)" "\`make $d/\`, nothing to do: make's own share of the sparse row" "" "" ""
    log "sparse: make C=2 $d/"
    timed "sparse-$k" "${kmake[@]}" C=2 "$d/"
    [ "$status" -eq 0 ] || { log "sparse run failed ($status), see $work/sparse-$k.err"; exit 1; }
    if grep -qE '^  (CC|LD|AR) ' "$work/sparse-$k.out"; then
        log "warning: make C=2 $d/ also compiled something; its time includes that"
    fi
    grep -E "^  CHECK   $tree/$d/.*\.c\$" "$work/sparse-$k.out" | awk '{ print $2 }' >"$work/sparse-$k.files"
    files="$(wc -l <"$work/sparse-$k.files")"
    warnings="$(grep -cE ': (warning|error): ' "$work/sparse-$k.err" || true)"
    # "context imbalance in 'f' - <kind>": the kinds, counted.
    detail="$(grep -oE 'context imbalance in .* - .*' "$work/sparse-$k.err" | sed 's/.* - //' | sort | uniq -c |
        sort -rn | awk '{ n = $1; $1 = ""; sub(/^ /, ""); printf "%s%s %d", (NR > 1 ? ", " : ""), $0, n }')"
    imbalance="$(grep -c 'context imbalance' "$work/sparse-$k.err" || true)"
    row "$d" "sparse $(sparse --version | awk '{ print $1 }')" "\`make C=2 $d/\` (defconfig, sparse only)" "$files .c" "$warnings" \
        "context imbalance $imbalance: $detail"

    log "lockpath on the $files files sparse checked in $d/"
    mapfile -t sparse_files <"$work/sparse-$k.files"
    timed "lockpath-sparsefiles-$k" "$lockpath" check --format json "${sparse_files[@]}"
    [ "$status" -le 1 ] || { log "lockpath failed ($status)"; exit 1; }
    IFS=$'\t' read -r total detail < <(count_lockpath "$work/lockpath-sparsefiles-$k.out")
    row "$d" "lockpath $(git rev-parse --short HEAD)" "the same $files .c files (+ tree context)" "$files .c" "$total" "$detail"
done

# --- coccinelle ---------------------------------------------------------------
cocci_inc=(-I "$tree/arch/x86/include" -I "$build/arch/x86/include/generated" -I "$tree/include"
    -I "$build/include" -I "$tree/arch/x86/include/uapi" -I "$build/arch/x86/include/generated/uapi"
    -I "$tree/include/uapi" -I "$build/include/generated/uapi"
    --include "$tree/include/linux/compiler-version.h" --include "$tree/include/linux/kconfig.h")
scripts=("$tree"/scripts/coccinelle/locks/*.cocci)
cat >"$work/spatch-all.sh" <<EOF
#!/usr/bin/env bash
# One spatch run per script, as scripts/coccicheck does (MODE=report).
set -uo pipefail
dir="\$1"; shift
for cocci in "\$@"; do
    opts="\$(grep '^// Options:' "\$cocci" | cut -d: -f2)"
    echo "### \$(basename "\$cocci")"
    # shellcheck disable=SC2086
    spatch -D report --no-show-diff --very-quiet --cocci-file "\$cocci" \$opts --timeout 200 \
        --dir "\$dir" ${cocci_inc[*]} --jobs $ncpu --chunksize 1
done
EOF
chmod +x "$work/spatch-all.sh"
for d in $dirs; do
    k="${d//\//_}"
    log "spatch: scripts/coccinelle/locks/*.cocci on $d/"
    timed "spatch-$k" "$work/spatch-all.sh" "$tree/$d" "${scripts[@]}"
    files="$(find "$tree/$d" \( -name '*.c' -o -name '*.h' \) | wc -l)"
    # A report is a line `file:line:col-col: message`.
    total="$(grep -cE '^/[^ ]+:[0-9]+:[0-9]+-[0-9]+: ' "$work/spatch-$k.out" || true)"
    detail="$(awk '/^### / { s = $2; sub(/\.cocci$/, "", s); order[++n] = s; c[s] = 0; next }
        /^\/[^ ]+:[0-9]+:[0-9]+-[0-9]+: / { c[s]++ }
        END { for (i = 1; i <= n; i++) printf "%s%s %d", (i > 1 ? ", " : ""), order[i], c[order[i]] }' "$work/spatch-$k.out")"
    # spatch gives up on a file after --timeout 200 s (kernel/bpf/verifier.c).
    timeouts="$(grep -c 'EXN: .*Timeout' "$work/spatch-$k.err" || true)"
    [ "$timeouts" -eq 0 ] || detail="$detail; $timeouts file runs timed out at 200 s"
    what="${#scripts[@]} scripts in locks/, report mode"
    [ "$status" -eq 0 ] || what="$what, exit $status"
    row "$d" "spatch $(spatch --version | awk 'NR == 1 { print $3 }')" "$what" "$files .c/.h" "$total" "$detail"
done

# --- lockpath -----------------------------------------------------------------
rev="$(git rev-parse --short HEAD)"
for d in $dirs; do
    k="${d//\//_}"
    log "lockpath check --format json $d/"
    timed "lockpath-$k" "$lockpath" check --format json "$tree/$d"
    [ "$status" -le 1 ] || { log "lockpath failed ($status)"; exit 1; }
    files="$(lockpath_files "$work/lockpath-$k.out")"
    IFS=$'\t' read -r total detail < <(count_lockpath "$work/lockpath-$k.out")
    row "$d" "lockpath $rev" "\`lockpath check --format json $d\` (tree context)" "$files .c/.h" "$total" "$detail"
    timed "lockpath-noctx-$k" "$lockpath" check --format json --no-tree-context "$tree/$d"
    [ "$status" -le 1 ] || { log "lockpath failed ($status)"; exit 1; }
    IFS=$'\t' read -r total detail < <(count_lockpath "$work/lockpath-noctx-$k.out")
    row "$d" "lockpath $rev" "same, \`--no-tree-context\`" "$files .c/.h" "$total" "$detail"
done

# --- table --------------------------------------------------------------------
{
    echo "bench/peers.sh, $(date -u +%Y-%m-%d), Linux 6.12 ($tree), $ncpu cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo
    echo "| directory | tool | what ran | wall | peak RSS | files | findings | of which |"
    echo "|---|---|---|---:|---:|---:|---:|---|"
    sort -s -t$'\t' -k1,1 "$rows" | awk -F'\t' '{ printf "| %s/ | %s | %s | %s s | %s MiB | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
} | tee "$out/peers-latest.md"
log "table in $out/peers-latest.md; raw output in $work/"
