/*
 * Reduced from unapply_uprobe() and register_for_each_vma()
 * (kernel/events/uprobes.c:1128, 1300): remove_breakpoint() -> set_orig_insn()
 * -> uprobe_write_opcode() -> get_user_pages_remote(mm, ..., NULL).
 * Pattern B: `may-release` (drop and maybe re-take) in a callee becomes a
 * certain entry of the callee's `exit_releases` (the caller's lock lands in
 * State::released on every path), so two calls up the caller's own
 * mmap_write_unlock() is a "double unlock". A may-release must stay a
 * may-release in the summary (uncertain in the caller), as it is one level up.
 * (With locked == NULL GUP never drops the lock at all.)
 */
struct rw_semaphore { int x; };
struct mm_struct { struct rw_semaphore mmap_lock; };
void mmap_write_lock(struct mm_struct *mm);
void mmap_write_unlock(struct mm_struct *mm);
long get_user_pages_remote(struct mm_struct *mm, unsigned long start, unsigned long nr,
			   unsigned int flags, void **pages, int *locked);

static int write_opcode(struct mm_struct *mm, unsigned long vaddr)
{
	void *page;
	long ret = get_user_pages_remote(mm, vaddr, 1, 0, &page, (int *)0);

	return ret <= 0 ? -14 : 0;
}

static int remove_bp(struct mm_struct *mm, unsigned long vaddr)
{
	return write_opcode(mm, vaddr);
}

int unapply(struct mm_struct *mm, unsigned long vaddr)
{
	int err = 0;

	mmap_write_lock(mm);
	err |= remove_bp(mm, vaddr);
	mmap_write_unlock(mm);	/* expect: silent (today: lock-imbalance, "released twice") */
	return err;
}
