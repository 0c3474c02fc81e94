/*
 * SHOULD BE SILENT; lockpath reports "may sleep while inside
 * local_bh_disable()" at rcu_cpu_kthread()'s call to rcu_do_batch().
 *
 * The callee leaves the caller's no-sleep section (local_bh_enable(),
 * preempt_enable(), local_irq_enable()) before it sleeps and re-enters it
 * after: rcu_do_batch() (kernel/rcu/tree.c, 6.12) in rcuc kthread context
 * does local_bh_enable(); cond_resched_tasks_rcu_qs(); local_bh_disable();
 * exit_to_user_mode_loop() (kernel/entry/common.c) enables interrupts
 * around schedule() (the model now makes that function a boundary).
 *
 * Cause: held locks have released_before (classes dropped before the sleep),
 * but no-sleep sections are a counter in the caller's State and a summary's
 * sleep Effect says nothing about sections. Fix: record in the Effect how
 * many no-sleep sections the callee had exited (net no-sleep-exit count, as a
 * saturating negative depth) before the sleep, and in check_sleep treat the
 * caller's section as left when its depth is <= that count.
 */
static void rcu_do_batch(int in_softirq)
{
	if (!in_softirq) {
		local_bh_enable();
		cond_resched();
		local_bh_disable();
	}
}

static int rcu_cpu_kthread(unsigned int cpu)
{
	local_bh_disable();
	rcu_do_batch(0);	/* false alarm reported here */
	local_bh_enable();
	return 0;
}
