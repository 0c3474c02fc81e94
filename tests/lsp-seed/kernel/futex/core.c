// SPDX-License-Identifier: GPL-2.0-or-later
/* The futex side of the seed patch (kernel/futex/core.c, Linux 6.12, reduced). */
#include <linux/futex.h>

static inline int fetch_robust_entry(struct robust_list __user **entry,
				     struct robust_list __user * __user *head, unsigned int *pi)
{
	unsigned long uentry;

	if (get_user(uentry, (unsigned long __user *)head))
		return -EFAULT;
	*entry = (void __user *)(uentry & ~1UL);
	*pi = uentry & 1;
	return 0;
}

/* handle_futex_death() and the list_op_pending handling are left out. */
static void exit_robust_list(struct task_struct *curr)
{
	struct robust_list_head __user *head = curr->robust_list;
	struct robust_list __user *entry, *next_entry;
	unsigned int limit = ROBUST_LIST_LIMIT, pi, next_pi;

	if (fetch_robust_entry(&entry, &head->list.next, &pi))
		return;
	while (entry != &head->list) {
		if (fetch_robust_entry(&next_entry, &entry->next, &next_pi))
			return;
		entry = next_entry;
		pi = next_pi;
		if (!--limit)
			break;
	}
}

static void futex_cleanup(struct task_struct *tsk)
{
	if (unlikely(tsk->robust_list)) {
		exit_robust_list(tsk);
		tsk->robust_list = NULL;
	}
}

bool try_futex_exit_release(struct task_struct *tsk)
{
	kthread_use_mm(tsk->mm);
	futex_cleanup(tsk);
	kthread_unuse_mm(tsk->mm);
	return true;
}
