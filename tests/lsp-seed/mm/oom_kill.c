// SPDX-License-Identifier: GPL-2.0
/* The OOM reaper's side of the seed patch (mm/oom_kill.c, Linux 6.12, reduced). */
#include <linux/futex.h>

static bool oom_reap_task_mm(struct task_struct *tsk, struct mm_struct *mm)
{
	bool ret = true;

	if (!mmap_read_trylock(mm)) {
		trace_skip_task_reaping(tsk->pid);
		return false;
	}
	if (test_bit(MMF_OOM_SKIP, &mm->flags))
		goto out_unlock;
	if (!try_futex_exit_release(tsk))
		goto out_unlock;
	ret = __oom_reap_task_mm(mm);
out_unlock:
	mmap_read_unlock(mm);
	return ret;
}
