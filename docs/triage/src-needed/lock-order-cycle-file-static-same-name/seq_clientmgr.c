/*
 * src-needed (lock-order-cycle, double-lock): two `static DEFINE_MUTEX(name)`
 * with the same name in different files are given one class. Reduced from
 * sound/core/seq/seq_clientmgr.c and sound/core/timer.c (6.12), both with a
 * file-static register_mutex: seq_free_client() (seq register_mutex) ->
 * queue_delete() (timer_mutex) and snd_seq_queue_use() (timer_mutex) ->
 * snd_timer_open() (timer.c's register_mutex) made the cycle
 * register_mutex -> snd_seq_queue::timer_mutex -> register_mutex. Same
 * pattern: lib/debugobjects.c pool_lock vs
 * drivers/net/wireless/ath/dfs_pri_detector.c pool_lock (cycle),
 * drivers/block/null_blk/main.c `lock` vs mm/swap.c `lock` and
 * sound/core/seq/seq_midi.c vs seq_clientmgr.c register_mutex (double-lock).
 * expect: silent (each file's register_mutex is its own class).
 */
struct mutex { int x; };
struct snd_seq_queue { struct mutex timer_mutex; };
static DEFINE_MUTEX(register_mutex);

void snd_timer_open_stub(void);

void seq_free_client(struct snd_seq_queue *q)
{
	mutex_lock(&register_mutex);
	mutex_lock(&q->timer_mutex);
	mutex_unlock(&q->timer_mutex);
	mutex_unlock(&register_mutex);
}

void snd_seq_queue_use(struct snd_seq_queue *q)
{
	mutex_lock(&q->timer_mutex);
	snd_timer_open();
	mutex_unlock(&q->timer_mutex);
}
