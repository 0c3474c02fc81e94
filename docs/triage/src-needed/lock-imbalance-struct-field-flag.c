/*
 * Reduced from btrfs_remove_chunk() (fs/btrfs/volumes.c:3434-3510).
 * Pattern I: the lock state is recorded in a field of a parameter
 * (`trans->removing_chunk = true` before mutex_lock, `= false` after
 * mutex_unlock) and the exit label unlocks `if (trans->removing_chunk)`.
 * State::vars follows locals only; a field path of a parameter (no call
 * between the store and the test can change it, or no call that gets `trans`)
 * would correlate the same way.
 */
struct mutex { int x; };
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
struct fs { struct mutex chunk_mutex; };
struct trans { int removing_chunk; };
int step(struct fs *f);

int remove_chunk(struct trans *trans, struct fs *fs_info)
{
	int ret;

	trans->removing_chunk = 1;
	mutex_lock(&fs_info->chunk_mutex);
	ret = step(fs_info);
	if (ret)
		goto out;
	mutex_unlock(&fs_info->chunk_mutex);
	trans->removing_chunk = 0;
	ret = step(fs_info);
	if (ret)
		goto out;
out:
	if (trans->removing_chunk) {
		mutex_unlock(&fs_info->chunk_mutex);	/* expect: silent (today: lock-imbalance, "released twice") */
		trans->removing_chunk = 0;
	}
	return ret;	/* expect: silent (today: lock-imbalance) */
}
