#!/usr/bin/env bash
# Series mode on the whole Linux 6.12 tree: a 1-patch and a 10-patch series
# (each patch adds a function returning an error with its struct's mutex held,
# a lock-imbalance warning, to a different
# subsystem), timed with /usr/bin/time -v.
#
#   bench/series.sh            # 1 round of each
#   REPEATS=3 bench/series.sh  # median of 3
#
# "cold" runs with --no-cache: every file of every state is parsed. "warm"
# runs with a cache directory one untimed run of the same series filled
# (the index cached, as after a first run on the tree): per-file facts come
# from it, the analysis of each state runs. The page cache is warmed by
# that untimed pass, so "cold" means "lockpath recomputes everything", not
# "the disk is read".
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tree=$("$here/ci/fetch-kernel.sh" 6.12)
repeats=${REPEATS:-1}
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null
(cd "$here" && cargo build --release --quiet)
lockpath=$here/target/release/lockpath
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

files=(mm/oom_kill.c kernel/futex/core.c fs/ext4/super.c drivers/tty/tty_io.c net/core/sock.c
	kernel/sched/core.c block/blk-core.c ipc/sem.c lib/idr.c sound/core/pcm.c)
mkdir -p "$work/series10" "$work/series1"
n=0
for f in "${files[@]}"; do
	n=$((n + 1))
	cp "$tree/$f" "$work/new.c"
	cat >> "$work/new.c" <<C

struct lockpath_bench_$n { struct mutex lock; };

static int lockpath_bench_$n(struct lockpath_bench_$n *b, void *p)
{
	mutex_lock(&b->lock);
	if (!kmalloc(16, GFP_KERNEL))
		return -ENOMEM;
	mutex_unlock(&b->lock);
	return 0;
}
C
	name=$(printf '%04d-bench-%s.patch' "$n" "$(echo "$f" | tr '/.' '--')")
	{
		printf 'From: bench <bench@example.org>\nSubject: [PATCH %d/10] %s: bench\n\n---\n' "$n" "$f"
		printf 'diff --git a/%s b/%s\n' "$f" "$f"
		diff -u --label "a/$f" --label "b/$f" "$tree/$f" "$work/new.c" || true
	} > "$work/series10/$name"
	[ "$n" = 1 ] && cp "$work/series10/$name" "$work/series1/"
done

run() { # label, cache option, patches...
	local label=$1 cache=$2
	shift 2
	# Whole reports are cached too (an unchanged state is answered from
	# one); forget them so each state is analysed, as for a new series.
	rm -rf "$work"/cache/analysis-v1
	/usr/bin/time -v "$lockpath" check -q $cache --tree "$tree" --format json "$@" > "$work/$label.json" 2> "$work/$label.time" || [ $? = 1 ]
	local wall rss found
	wall=$(awk -F': ' '/Elapsed/ {print $2}' "$work/$label.time")
	rss=$(awk -F': ' '/Maximum resident/ {printf "%d", $2/1024}' "$work/$label.time")
	found=$(grep -c '"status": "new"' "$work/$label.json" || true)
	echo "| $label | $wall | $rss MiB | $found new findings |"
}

warm="--cache-dir $work/cache"
"$lockpath" check -q $warm --tree "$tree" --format json "$work"/series1/*.patch > /dev/null || true
"$lockpath" check -q $warm --tree "$tree" --format json "$work"/series10/*.patch > /dev/null || true
echo "| series | wall (m:ss) | peak RSS | result |"
echo "|---|---:|---:|---|"
for _ in $(seq "$repeats"); do
	run "1-patch-cold" --no-cache "$work"/series1/*.patch
	run "1-patch-warm" "$warm" "$work"/series1/*.patch
	run "10-patch-cold" --no-cache "$work"/series10/*.patch
	run "10-patch-warm" "$warm" "$work"/series10/*.patch
done
