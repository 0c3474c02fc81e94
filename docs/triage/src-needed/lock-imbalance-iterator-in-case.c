/*
 * Reduced from eeh_handle_special_event() (arch/powerpc/kernel/eeh_driver.c:1153-1165).
 * Pattern M: an iterator macro with a block body directly under a `case`
 * label is lowered as a call followed by a plain block, not a loop, so its
 * `continue` continues the enclosing do/while and skips the unlock. The same
 * macro outside a switch (walk_plain) is lowered correctly.
 */
typedef struct { int x; } spinlock_t;
void spin_lock(spinlock_t *l);
void spin_unlock(spinlock_t *l);
struct list_head { struct list_head *next, *prev; };
#define list_for_each_entry(pos, head, member) \
	for (pos = (void *)(head)->next; &pos->member != (head); pos = (void *)pos->member.next)
struct hose { struct list_head list_node; int pe; };
struct ctl { spinlock_t lock; struct list_head hoses; };
int next_error(void);
void mark(int pe);

void walk_plain(struct ctl *c)
{
	struct hose *hose;
	int rc;

	do {
		rc = next_error();
		spin_lock(&c->lock);
		list_for_each_entry(hose, &c->hoses, list_node) {
			if (!hose->pe)
				continue;
			mark(hose->pe);
		}
		spin_unlock(&c->lock);
	} while (rc);
}

void walk_case(struct ctl *c)
{
	struct hose *hose;
	int rc;

	do {
		rc = next_error();
		switch (rc) {
		case 1:
			spin_lock(&c->lock);
			list_for_each_entry(hose, &c->hoses, list_node) {
				if (!hose->pe)
					continue;
				mark(hose->pe);
			}
			spin_unlock(&c->lock);
			break;
		default:
			break;
		}
	} while (rc);
}	/* expect: silent (today: lock-imbalance on this line) */
