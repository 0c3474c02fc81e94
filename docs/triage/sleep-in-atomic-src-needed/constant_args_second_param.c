/*
 * SHOULD BE SILENT; lockpath reports a sleep-in-atomic at
 * drbd_req_state()'s call to thread_stop_nowait().
 *
 * drbd_thread_stop_nowait(thi) is _drbd_thread_stop(thi, false, false)
 * (drivers/block/drbd/drbd_int.h, 6.12); _drbd_thread_stop() tests both
 * `restart` and `wait` and only `if (wait) wait_for_completion(..)`.
 * The call passes constants to two tested parameters; summary_for()
 * (src/analysis/dataflow/calls.rs) specialises on the FIRST tested parameter
 * with a constant argument only (`restart` here), so `wait` stays unknown and
 * the wait is reachable. The model now names drbd_thread_stop_nowait, but the
 * shape is general (__sched_setscheduler(p, attr, false, false) in
 * normalize_rt_tasks() is specialised on `user`, not `pi`).
 * Fix: specialise on the set of all constant arguments to tested parameters
 * (key: callee + sorted (param, value) pairs), keeping the depth limit.
 */
struct drbd_thread { spinlock_t t_lock; struct completion stop; int t_state; };
struct drbd_device { spinlock_t req_lock; struct drbd_thread worker; };

static void _thread_stop(struct drbd_thread *thi, int restart, int wait)
{
	unsigned long flags;

	spin_lock_irqsave(&thi->t_lock, flags);
	if (restart)
		thi->t_state = 2;
	else
		thi->t_state = 1;
	spin_unlock_irqrestore(&thi->t_lock, flags);
	if (wait)
		wait_for_completion(&thi->stop);
}

static inline void thread_stop_nowait(struct drbd_thread *thi)
{
	_thread_stop(thi, false, false);
}

static void drbd_req_state(struct drbd_device *device)
{
	spin_lock_irq(&device->req_lock);
	thread_stop_nowait(&device->worker);	/* false alarm reported here */
	spin_unlock_irq(&device->req_lock);
}
