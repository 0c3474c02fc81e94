/*
 * src-needed (lock-order-cycle, double-lock): a release guarded by a NULL test
 * of the pointer parameter (`if (bid) spin_unlock(&bid->busid_lock)`) is lost
 * from the callee's summary, so the caller still "holds" the lock. Reduced from
 * drivers/usb/usbip/stub_main.c (6.12): rebind_store() calls
 * put_busid_priv(bid) and then del_match_busid() (busid_table_lock, then a
 * busid_lock); the cycle bus_id_priv::busid_lock -> busid_table_lock ->
 * bus_id_priv::busid_lock does not exist. The caller has already tested
 * `bid` non-NULL, so the release happens.
 */
typedef struct { int x; } spinlock_t;
struct bus_id_priv { spinlock_t busid_lock; int status; };
static spinlock_t busid_table_lock;

void put_busid_priv(struct bus_id_priv *bid)
{
	if (bid)
		spin_unlock(&bid->busid_lock);
}

int rebind_store(struct bus_id_priv *bid)
{
	spin_lock(&bid->busid_lock);
	bid->status = 1;
	put_busid_priv(bid);
	spin_lock(&busid_table_lock);	/* expect: no edge bus_id_priv::busid_lock -> busid_table_lock */
	spin_unlock(&busid_table_lock);
	spin_lock(&bid->busid_lock);	/* expect: silent (today: double-lock) */
	spin_unlock(&bid->busid_lock);
	return 0;
}
