/*
 * SHOULD FIRE (recall, not precision); lockpath is silent on both.
 *
 * The dataflow treats a user access under a spinning lock or in a
 * preempt/irq-off section as "fails with -EFAULT, does not sleep"
 * (src/analysis/dataflow/mod.rs, Primitive::Fault: `atomic` suppresses
 * sleep_here). But copy_from_user()/get_user() call might_fault(), which is
 * __might_sleep() unless pagefault_disable() is in effect
 * (mm/memory.c __might_fault(), 6.12): CONFIG_DEBUG_ATOMIC_SLEEP prints
 * "BUG: sleeping function called from invalid context" under a spinlock.
 * With only interrupts off (local_irq_save(), preempt count 0) in_atomic() is
 * false, so the fault handler really runs and may sleep on mmap_lock.
 * The fix: in Primitive::Fault, call sleep_here() whenever
 * state.pagefault_disabled == 0, whatever `atomic` says (fault-under-lock
 * keeps its own rule). silent_user_access_pagefault_disabled.c stays silent.
 */
struct dev { spinlock_t lock; int val; };

static int dev_set(struct dev *d, int __user *uval)
{
	int v;

	spin_lock(&d->lock);
	if (get_user(v, uval)) {	/* should fire: sleep-in-atomic */
		spin_unlock(&d->lock);
		return -EFAULT;
	}
	d->val = v;
	spin_unlock(&d->lock);
	return 0;
}

static int dev_set_irqs_off(struct dev *d, const void __user *ubuf)
{
	unsigned long flags;
	int ret;

	local_irq_save(flags);
	ret = copy_from_user(&d->val, ubuf, sizeof(d->val));	/* should fire: sleep-in-atomic */
	local_irq_restore(flags);
	return ret ? -EFAULT : 0;
}
