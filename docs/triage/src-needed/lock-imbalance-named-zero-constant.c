/*
 * Reduced from nfsd4_lock_ol_stateid() (fs/nfsd/nfs4state.c:5105-5114).
 * Pattern L: the function returns holding st_mutex exactly when
 * `ret == nfs_ok` (a named constant, cpu_to_be32(0)), and unlocks when
 * `ret != nfs_ok`. The one `return ret` is reached with the lock held and
 * with it free, but under opposite facts on `ret`: the caller can tell.
 * Either fold a macro constant that is 0 (or cpu_to_be32(0)) into
 * `ret != 0`, or treat a return of a local whose paths disagree only under
 * opposite comparisons of that local as two different values.
 */
struct mutex { int x; };
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
typedef unsigned int __be32;
#define nfs_ok ((__be32)0)
struct st { struct mutex st_mutex; int status; };
__be32 verify(struct st *s);

__be32 lock_stateid(struct st *stp)
{
	__be32 ret;

	mutex_lock(&stp->st_mutex);
	ret = verify(stp);
	if (ret != nfs_ok)
		mutex_unlock(&stp->st_mutex);
	return ret;	/* expect: silent (today: lock-imbalance) */
}
