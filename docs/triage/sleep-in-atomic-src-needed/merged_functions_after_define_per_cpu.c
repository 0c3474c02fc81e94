/*
 * SHOULD BE SILENT; lockpath reports "may sleep while inside
 * preempt_disable()" in a function it calls recalc_bh_state, at the call
 * recalc_bh_state() -> might_sleep() of lock_it().
 *
 * fs/buffer.c (6.12) lines ~3034-3100: `lockpath debug-ir` on this file lists
 * ONE function; recalc_bh_state(), free_buffer_head(), lock_it() and
 * bh_uptodate_or_lock() are merged into a single body named recalc_bh_state
 * (tree-sitter error recovery around `static DEFINE_PER_CPU(..) = {0, 0};`
 * followed by a `for_each_online_cpu(i) stmt;` body), so free_buffer_head()'s
 * preempt_disable() section "reaches" bh_uptodate_or_lock()'s lock_buffer().
 * Without the DEFINE_PER_CPU line, or without the for_each_online_cpu loop,
 * the four functions are found. Fix in src/extract/toplevel.rs (recover
 * function definitions after an ERROR node that starts at a
 * DEFINE_PER_CPU-style declaration with an initializer).
 */
struct bh_accounting { int nr; int ratelimit; };
static unsigned long max_buffer_heads;
int buffer_heads_over_limit;

static DEFINE_PER_CPU(struct bh_accounting, bh_accounting) = {0, 0};

static void recalc_bh_state(void)
{
	int i;
	int tot = 0;

	if (__this_cpu_inc_return(bh_accounting.ratelimit) - 1 < 4096)
		return;
	__this_cpu_write(bh_accounting.ratelimit, 0);
	for_each_online_cpu(i)
		tot += per_cpu(bh_accounting, i).nr;
	buffer_heads_over_limit = (tot > max_buffer_heads);
}

void free_buffer_head(struct buffer_head *bh)
{
	preempt_disable();
	__this_cpu_dec(bh_accounting.nr);
	recalc_bh_state();
	preempt_enable();
}

static void lock_it(struct buffer_head *bh)
{
	might_sleep();
}

int bh_uptodate_or_lock(struct buffer_head *bh)
{
	lock_it(bh);
	return 1;
}
