/*
 * SHOULD BE SILENT; lockpath reports "may sleep while rcu is held" at
 * walk_mm()'s cond_resched().
 *
 * Two #ifdef twins of a trylock-style helper: one takes the RCU read side
 * and returns true or drops it and returns false, the other always takes it
 * and returns true (mem_cgroup_trylock_pages(), include/linux/memcontrol.h,
 * 6.12). The merged summary applies both acquisitions on the success edge;
 * RCU is recursive-read, so two held entries are recorded and the single
 * release of the (also twin) unlock helper removes only one. The model now
 * names mem_cgroup_trylock_pages/mem_cgroup_unlock_pages, but any other
 * twin pair of this shape still fires. Fix: when merging the summaries of
 * several definitions of one name, take the union of their acquisitions per
 * (class, lock, condition), not the sum.
 */
struct mem_cgroup { atomic_t moving_account; };
struct walk { int seq; int batched; };

static inline bool helper_trylock(struct mem_cgroup *memcg)
{
	rcu_read_lock();

	if (mem_cgroup_disabled() || !atomic_read(&memcg->moving_account))
		return true;

	rcu_read_unlock();
	return false;
}

static inline void helper_unlock(void)
{
	rcu_read_unlock();
}

static inline bool helper_trylock(struct mem_cgroup *memcg)
{
	/* to match folio_memcg_rcu() */
	rcu_read_lock();
	return true;
}

static inline void helper_unlock(void)
{
	rcu_read_unlock();
}

static void walk_mm(struct mem_cgroup *memcg, struct walk *walk)
{
	int err = 0;

	do {
		if (walk->seq)
			break;
		if (!helper_trylock(memcg))
			break;
		err = 0;
		helper_unlock();
		cond_resched();
	} while (err == -EAGAIN);
}
