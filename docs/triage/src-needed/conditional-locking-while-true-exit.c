/*
 * src-needed (conditional-locking, double-lock): `while (true)` and
 * `while (1)` loops get an exit edge, as if the condition could be false, so
 * a callee whose only way out of the loop is a `return` after an unlock is
 * summarised as "returns with the lock held on some paths" and the release is
 * lost. `for (;;)` is handled (this file with `for (;;)` is silent).
 * Reduced from fs/fs-writeback.c locked_inode_to_wb_and_lock_list() (6.12,
 * CONFIG_CGROUP_WRITEBACK body), reached from every __mark_inode_dirty():
 * 10 of fs/'s 20 conditional-locking warnings (ext4_da_update_reserve_space,
 * f2fs_pin_file_control, __replace_atomic_write_block, hfs_get_block,
 * hfsplus_get_block, ...) and 2 double-locks. The model now states the release
 * (queries/locks.model, helper/order block); this reproducer uses another name
 * so it keeps showing the analysis bug. 2,770 `while (1)`/`while (true)`
 * loops in the 6.12 tree's .c files.
 * Fix: lower `while (C)` with C a non-zero integer constant, `true`, or an
 * enum/macro constant that evaluates to non-zero like `for (;;)`.
 */
typedef struct { int x; } spinlock_t;
struct bdi_writeback { spinlock_t list_lock; };
struct inode { spinlock_t i_lock; struct bdi_writeback *i_wb; };

static struct bdi_writeback *drop_i_lock_take_list_lock(struct inode *inode)
{
	while (true) {
		struct bdi_writeback *wb = inode->i_wb;

		spin_unlock(&inode->i_lock);
		spin_lock(&wb->list_lock);
		if (wb == inode->i_wb)
			return wb;
		spin_unlock(&wb->list_lock);
		spin_lock(&inode->i_lock);
	}
}

/* expect: no conditional-locking on mark_dirty (today: reported for `was_dirty`) */
void mark_dirty(struct inode *inode, int was_dirty)
{
	struct bdi_writeback *wb = 0;

	spin_lock(&inode->i_lock);
	if (!was_dirty) {
		wb = drop_i_lock_take_list_lock(inode);
		spin_lock(&inode->i_lock); /* expect: silent (today: double-lock) */
	}
	if (wb)
		spin_unlock(&wb->list_lock);
	spin_unlock(&inode->i_lock);
}

int get_block(struct inode *inode, int create)
{
	if (!create)
		return 0;
	mark_dirty(inode, 0);
	return 1;
}
