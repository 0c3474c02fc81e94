/*
 * Reduced from two functions that end a path in a noreturn call:
 * jffs2_garbage_collect_pass() (fs/jffs2/gc.c:303, spin_unlock(); BUG();
 * inside a while loop) and get_signal() (kernel/signal.c:2905, `fatal:`
 * spin_unlock_irq(&sighand->siglock); ... do_group_exit(); inside for (;;)).
 * Pattern "noreturn": BUG(), panic(), do_exit(), do_group_exit() (and any
 * __noreturn function) end the path; lockpath continues to the next loop
 * iteration and releases again. Needs a `noreturn` model effect (or reading
 * the __noreturn attribute before it is blanked) and a terminator for it.
 */
typedef struct { int x; } spinlock_t;
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
void BUG(void);
struct c { spinlock_t lock; int *raw; };
int next(int *r);

int gc_pass(struct c *c)
{
	int *raw = c->raw;

	spin_lock(&c->lock);
	while (next(raw)) {
		raw++;
		if (!raw) {
			spin_unlock(&c->lock);	/* expect: silent (today: lock-imbalance, "released twice") */
			BUG();
		}
	}
	spin_unlock(&c->lock);
	return 0;
}
