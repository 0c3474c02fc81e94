/*
 * Reduced from balance_level() (fs/btrfs/ctree.c:966-990), also
 * push_nodes_for_insert(), push_leaf_right/left(), btrfs_realloc_node()
 * (fs/btrfs/defrag.c) and replace_path(); the same out-parameter shape is
 * ocfs2_remove_btree_range() (fs/ocfs2/alloc.c:5722, ocfs2_lock_refcount_tree(..., &ref_tree)).
 * Pattern D: btrfs_cow_block(trans, root, buf, ..., &child) unlocks the old
 * buffer and stores a new, locked one in *cow_ret. lockpath applies the
 * release to `child` and then sees the caller unlock `child` again. Passing
 * `&child` to a callee that writes *param (or to any callee) must count as an
 * assignment of the local: locks reached through the old value are another
 * object from then on (State::assign), so the `dropped` entry through
 * `child` is forgotten. 26 of the 103 fs/ findings are btrfs ones of this shape.
 */
struct rw_semaphore { int x; };
struct eb { struct rw_semaphore lock; int n; };
void down_write(struct rw_semaphore *s);
void up_write(struct rw_semaphore *s);
static void tree_lock(struct eb *e) { down_write(&e->lock); }
static void tree_unlock(struct eb *e) { up_write(&e->lock); }
struct eb *alloc_locked(void);

static int cow_block(struct eb *buf, struct eb **cow_ret)
{
	struct eb *cow = alloc_locked();	/* returns a locked buffer */

	if (!cow)
		return -12;
	tree_unlock(buf);
	*cow_ret = cow;
	return 0;
}

int balance(struct eb *child)
{
	int ret;

	tree_lock(child);
	ret = cow_block(child, &child);
	if (ret) {
		tree_unlock(child);	/* cow_block() failed: it did not unlock; silent today */
		return ret;
	}
	if (child->n < 0) {
		tree_unlock(child);	/* expect: silent (today: lock-imbalance, "released twice") */
		return -5;
	}
	tree_unlock(child);	/* expect: silent (today: lock-imbalance, "released twice") */
	return 0;
}
