#!/usr/bin/env bash
# Recall of lockpath on real lock-bug fixes from Debian's 6.12 stable updates.
#
# ci/real-bugs.tsv lists lock-bug fixes that landed between Debian's
# linux-source-6.12 6.12.107-1~deb12u1 (the buggy tree) and 6.12.117-1~deb12u1
# (the fixed tree), each verified by diffing the two trees. For every row this
# runs `lockpath check --format json` on the row's paths, from inside each tree,
# and decides:
#
#   FOUND                 a finding of the expected check in (or through) one of
#                         the row's functions on the buggy tree, none on the fixed
#   FOUND-BUT-NOT-SILENT  such a finding on both trees
#   MISSED                no such finding on the buggy tree
#   ERROR                 lockpath failed (exit status 2) on one of the trees
#
# "In one of the row's functions" means the finding's `function`, or the
# function of any hop of its `trace`, is listed in the row. Checks lockpath
# does not have yet (`lockpath explain CHECK` fails) are MISSED and marked.
#
# It is a measurement: the exit status is 0 whatever the recall (2 on usage
# errors or a missing tree).
#
# Usage: ci/real-bugs.sh [--markdown FILE] [--only ID[,ID...]] [--fetch]
#                        [--keep DIR]
#   --markdown FILE  also write the table and recall as markdown to FILE
#   --only IDS       run only these rows
#   --fetch          download and unpack the buggy tree if it is missing
#                    (apt-get download linux-source-6.12=$BUGGY_VERSION)
#   --keep DIR       keep lockpath's JSON output there (default: a temp dir)
# Environment:
#   LOCKPATH      lockpath binary (default: target/release/lockpath)
#   BUGGY_TREE    6.12.107 tree  (default: ~/.cache/kernels/linux-source-6.12.107)
#   FIXED_TREE    6.12.117 tree  (default: ~/.cache/kernels/linux-source-6.12)
#   BUGGY_VERSION Debian version of the buggy tree (default: 6.12.107-1~deb12u1)
set -u

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
TSV="$ROOT/ci/real-bugs.tsv"
LOCKPATH="${LOCKPATH:-$ROOT/target/release/lockpath}"
KDIR="${HOME:-/root}/.cache/kernels"
BUGGY_TREE="${BUGGY_TREE:-$KDIR/linux-source-6.12.107}"
FIXED_TREE="${FIXED_TREE:-$KDIR/linux-source-6.12}"
BUGGY_VERSION="${BUGGY_VERSION:-6.12.107-1~deb12u1}"

MARKDOWN=""
ONLY=""
FETCH=0
KEEP=""
while [ $# -gt 0 ]; do
    case "$1" in
        --markdown) MARKDOWN="$2"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        --fetch) FETCH=1; shift ;;
        --keep) KEEP="$2"; shift 2 ;;
        -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "real-bugs.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done

is_tree() { [ -f "$1/MAINTAINERS" ] && [ -d "$1/include/linux" ]; }

fetch_buggy() {
    # Debian keeps superseded security versions in its archive for a while;
    # if apt no longer offers this one, snapshot.debian.org has it.
    local tmp
    tmp="$(mktemp -d)" || return 1
    echo "real-bugs.sh: fetching linux-source-6.12=$BUGGY_VERSION into $BUGGY_TREE" >&2
    ( cd "$tmp" && apt-get download "linux-source-6.12=$BUGGY_VERSION" ) || { rm -rf "$tmp"; return 1; }
    dpkg-deb -x "$tmp"/linux-source-6.12_*.deb "$tmp/x" || { rm -rf "$tmp"; return 1; }
    mkdir -p "$tmp/src" && tar -C "$tmp/src" -xf "$tmp"/x/usr/src/linux-source-6.12.tar.xz || { rm -rf "$tmp"; return 1; }
    mkdir -p "$(dirname "$BUGGY_TREE")"
    mv "$tmp/src/linux-source-6.12" "$BUGGY_TREE"
    rm -rf "$tmp"
}

if ! is_tree "$BUGGY_TREE"; then
    if [ "$FETCH" = 1 ]; then
        fetch_buggy || { echo "real-bugs.sh: fetching the buggy tree failed" >&2; exit 2; }
    else
        cat >&2 <<EOF
real-bugs.sh: the buggy tree (Debian linux-source-6.12 $BUGGY_VERSION) is not at
  $BUGGY_TREE
Get it with   ci/real-bugs.sh --fetch   or by hand:
  cd /tmp && apt-get download linux-source-6.12=$BUGGY_VERSION
  dpkg-deb -x linux-source-6.12_*.deb x && tar -C /tmp -xf x/usr/src/linux-source-6.12.tar.xz
  mv /tmp/linux-source-6.12 $BUGGY_TREE
or point BUGGY_TREE at an unpacked copy.
EOF
        exit 2
    fi
fi
if ! is_tree "$FIXED_TREE"; then
    cat >&2 <<EOF
real-bugs.sh: the fixed tree (Debian linux-source-6.12 6.12.117-1~deb12u1) is not at
  $FIXED_TREE
ci/fetch-kernel.sh unpacks the installed linux-source-6.12 there; or point FIXED_TREE at one.
EOF
    exit 2
fi
if [ ! -x "$LOCKPATH" ]; then
    echo "real-bugs.sh: no lockpath binary at $LOCKPATH (cargo build --release, or set LOCKPATH)" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "real-bugs.sh: needs python3 (apt-get install python3)" >&2; exit 2; }

if [ -n "$KEEP" ]; then
    OUT="$KEEP"; mkdir -p "$OUT"
else
    OUT="$(mktemp -d)"; trap 'rm -rf "$OUT"' EXIT
fi

# Which checks exist in this binary.
CHECKS=""
for c in fault-under-lock double-lock conditional-locking lock-order-cycle sleep-in-atomic lock-imbalance irq-unsafe-lock; do
    "$LOCKPATH" explain "$c" >/dev/null 2>&1 && CHECKS="$CHECKS $c"
done

# Run lockpath on each row, in both trees.
tail -n +2 "$TSV" | while IFS=$'\t' read -r id subject paths funcs check standard note; do
    [ -z "$id" ] && continue
    case "$id" in \#*) continue ;; esac
    if [ -n "$ONLY" ] && ! printf ',%s,' "$ONLY" | grep -q ",$id,"; then continue; fi
    for side in buggy fixed; do
        if [ "$side" = buggy ]; then tree="$BUGGY_TREE"; else tree="$FIXED_TREE"; fi
        args=()
        for p in $paths; do [ -e "$tree/$p" ] && args+=("$p"); done
        if [ ${#args[@]} -eq 0 ]; then
            echo 2 > "$OUT/$id.$side.rc"; echo "no path of the row exists in $tree" > "$OUT/$id.$side.err"
            continue
        fi
        ( cd "$tree" && "$LOCKPATH" check --format json -q "${args[@]}" ) \
            > "$OUT/$id.$side.json" 2> "$OUT/$id.$side.err"
        echo $? > "$OUT/$id.$side.rc"
    done
    echo "ran $id" >&2
done

python3 - "$TSV" "$OUT" "$ONLY" "$CHECKS" "$MARKDOWN" <<'PY'
import json, os, sys
tsv, out, only, checks, markdown = sys.argv[1:6]
only = set(x for x in only.split(",") if x)
checks = set(checks.split())
rows = []
for line in open(tsv, encoding="utf-8"):
    if line.startswith("#") or not line.strip():
        continue
    f = line.rstrip("\n").split("\t")
    rid, subject, paths, funcs, check, standard, note = f[:7]
    if only and rid not in only:
        continue
    rows.append(dict(id=rid, subject=subject, paths=paths, funcs=funcs.split(","),
                     check=check, standard=standard, note=note))

def matches(path, row):
    try:
        data = json.load(open(path, encoding="utf-8"))
    except Exception:
        return None
    hits = []
    for fd in data.get("findings", []):
        if fd.get("check") != row["check"]:
            continue
        fns = {fd.get("function")} | {h.get("function") for h in fd.get("trace", [])}
        if fns & set(row["funcs"]):
            hits.append(fd)
    return hits

results = []
for r in rows:
    rc = {}
    for side in ("buggy", "fixed"):
        try:
            rc[side] = int(open(os.path.join(out, f"{r['id']}.{side}.rc")).read().strip())
        except Exception:
            rc[side] = 2
    where = ""
    if rc["buggy"] >= 2 or rc["fixed"] >= 2:
        verdict = "ERROR"
    else:
        b = matches(os.path.join(out, f"{r['id']}.buggy.json"), r)
        fx = matches(os.path.join(out, f"{r['id']}.fixed.json"), r)
        if b is None or fx is None:
            verdict = "ERROR"
        elif not b:
            verdict = "MISSED"
        elif fx:
            verdict = "FOUND-BUT-NOT-SILENT"
        else:
            verdict = "FOUND"
        if b:
            where = f"{b[0]['file']}:{b[0]['line']} {b[0]['function']}"
    if r["check"] not in checks and verdict == "MISSED":
        where = "(check not implemented yet)"
    results.append((r, verdict, where))

w = max([len(r["id"]) for r, _, _ in results] + [2])
print(f"{'id':<{w}}  {'expected check':<19} {'std':<4} {'verdict':<21} where")
for r, v, where in results:
    print(f"{r['id']:<{w}}  {r['check']:<19} {r['standard']:<4} {v:<21} {where}")

order = ["fault-under-lock", "double-lock", "conditional-locking", "lock-order-cycle",
         "sleep-in-atomic", "lock-imbalance", "irq-unsafe-lock"]
seen = [c for c in order if any(r["check"] == c for r, _, _ in results)]
seen += sorted({r["check"] for r, _, _ in results} - set(seen))

def recall(sel):
    n = len(sel)
    k = sum(1 for _, v, _ in sel if v == "FOUND")
    return k, n

lines = []
for c in seen + ["all"]:
    sel = [x for x in results if c == "all" or x[0]["check"] == c]
    std = [x for x in sel if x[0]["standard"] == "yes"]
    k, n = recall(sel); ks, ns = recall(std)
    nns = sum(1 for _, v, _ in sel if v == "FOUND-BUT-NOT-SILENT")
    impl = "" if c == "all" or c in checks else " (check not implemented yet)"
    lines.append((c, k, n, ks, ns, nns, impl))
print()
print("recall (FOUND and silent on the fixed tree):")
for c, k, n, ks, ns, nns, impl in lines:
    pct = f"{100*ks//ns}%" if ns else "-"
    extra = f", {nns} found but not silent" if nns else ""
    print(f"  {c:<19} {k}/{n} all, {ks}/{ns} standard primitives ({pct}){extra}{impl}")

if markdown:
    with open(markdown, "w", encoding="utf-8") as m:
        m.write("| id | fix (upstream subject) | functions | expected check | standard | verdict |\n")
        m.write("|---|---|---|---|---|---|\n")
        for r, v, where in results:
            fn = ", ".join(f"`{x}`" for x in r["funcs"])
            vv = v + (f" ({where})" if where else "")
            m.write(f"| {r['id']} | {r['subject']} | {fn} | {r['check']} | {r['standard']} | {vv} |\n")
        m.write("\n| check | found / verified | standard primitives: found / verified |\n|---|---:|---:|\n")
        for c, k, n, ks, ns, nns, impl in lines:
            pct = f" ({100*ks//ns}%)" if ns else ""
            m.write(f"| {c}{impl} | {k} / {n} | {ks} / {ns}{pct} |\n")
PY
exit 0
