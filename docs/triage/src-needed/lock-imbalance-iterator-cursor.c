/*
 * Reduced from insert_inode_locked() (fs/inode.c:1762-1789); the same shape is
 * orangefs_devreq_read() (list_for_each_entry_safe, op->lock held past the
 * break), conn_connect() (drivers/block/drbd, idr_for_each_entry locking each
 * device's state_mutex), xfs_buf_delwri_submit_buffers() (fs/xfs/xfs_buf.c).
 * Pattern C: an iterator macro re-assigns its cursor on every iteration, but
 * the `dropped` set keeps the previous iteration's release of old->i_lock; the
 * unlock after the loop (reached only by `break` with the lock held) is then
 * called a double unlock. The cursor's step must be an assignment of `old`
 * (State::assign, as a plain `for` already is).
 */
typedef struct { int x; } spinlock_t;
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
struct hlist_node { struct hlist_node *next; };
struct hlist_head { struct hlist_node *first; };
#define hlist_for_each_entry(pos, head, member) \
	for (pos = (void *)(head)->first; pos; pos = (void *)pos->member.next)
struct inode { spinlock_t i_lock; int i_state; unsigned long i_ino; struct hlist_node i_hash; };
extern spinlock_t inode_hash_lock;

int insert_locked(struct hlist_head *head, unsigned long ino)
{
	struct inode *old;

	spin_lock(&inode_hash_lock);
	hlist_for_each_entry(old, head, i_hash) {
		if (old->i_ino != ino)
			continue;
		spin_lock(&old->i_lock);
		if (old->i_state & 1) {
			spin_unlock(&old->i_lock);
			continue;
		}
		break;
	}
	if (!old) {
		spin_unlock(&inode_hash_lock);
		return 0;
	}
	old->i_state |= 2;
	spin_unlock(&old->i_lock);	/* expect: silent (today: lock-imbalance, "released twice") */
	spin_unlock(&inode_hash_lock);
	return 1;
}
