/*
 * SHOULD BE SILENT; lockpath reports a sleep-in-atomic at log_force()'s call
 * to wait_dropping().
 *
 * The caller passes its lock as a bare `spinlock_t *` and the callee drops it
 * before sleeping: xlog_wait(wq, lock) (fs/xfs/xfs_log_priv.h, 6.12, which
 * even says __releases(lock)), sleep_on_spinunlock() (jffs2), the jfs
 * __SLEEP_COND(.., lock_cmd, unlock_cmd) macros, wait_entry_unlocked(xas, ..)
 * in fs/dax.c. The model now names xlog_wait, sleep_on_spinunlock and
 * migration_entry_wait_on_locked as releases, but every other helper of this
 * shape still fires.
 *
 * Cause: the callee's sleep Effect records released_before as lock *classes*
 * in the callee's frame; a lock reached through a `spinlock_t *` parameter
 * has only the weak type class there ("spinlock"), not the caller's class
 * (log::lock). The exit-state release IS mapped through the argument
 * (map_exit), released_before is not. Fix: record released_before as
 * (class, LockRef) and map parameter-relative ones through the call's
 * arguments, as map_exit does for exit releases.
 */
struct log { spinlock_t lock; wait_queue_head_t wq; int state; };

static void wait_dropping(wait_queue_head_t *wq, spinlock_t *lock)
{
	DECLARE_WAITQUEUE(wait, current);

	add_wait_queue_exclusive(wq, &wait);
	__set_current_state(TASK_UNINTERRUPTIBLE);
	spin_unlock(lock);
	schedule();
	remove_wait_queue(wq, &wait);
}

static int log_force(struct log *log)
{
	spin_lock(&log->lock);
	if (log->state) {
		wait_dropping(&log->wq, &log->lock);	/* false alarm reported here */
		return -EAGAIN;
	}
	spin_unlock(&log->lock);
	return 0;
}
