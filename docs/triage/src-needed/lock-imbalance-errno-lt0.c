/*
 * Reduced from az6007_read() (drivers/media/usb/dvb-usb-v2/az6007.c:131),
 * ce6230_i2c_master_xfer(), lme2510_usb_talk(), dib9000_fw_get_channel(),
 * tpacpi_brightness_checkpoint_nvram(), key_instantiate_and_link().
 * Pattern A of docs/triage/lock-imbalance.md: an acquire-zero primitive (held
 * when it returns 0, -EINTR otherwise) tested with `< 0`. lockpath lowers
 * `f() < 0` as an opaque expression, so the lock is held on both edges and
 * the early error return is reported. `x < 0` (and `x >= 0`) of an
 * acquire-zero / trylock-zero call or of a local holding its result should
 * split like `x` / `!x`: an errno-returning lock primitive never returns > 0.
 * ~127 of the 409 whole-tree findings have this shape (85 in drivers/media).
 */
#define EAGAIN 11
struct mutex { int x; };
int mutex_lock_interruptible(struct mutex *m);
void mutex_unlock(struct mutex *m);
struct st { struct mutex mutex; int v; };
int io(struct st *st);

int read_direct(struct st *st)
{
	int ret;

	if (mutex_lock_interruptible(&st->mutex) < 0)
		return -EAGAIN;	/* expect: silent (today: lock-imbalance) */
	ret = io(st);
	mutex_unlock(&st->mutex);
	return ret;
}

int read_var(struct st *st)
{
	int ret;

	ret = mutex_lock_interruptible(&st->mutex);
	if (ret < 0)
		return -EAGAIN;	/* expect: silent (today: lock-imbalance) */
	ret = io(st);
	mutex_unlock(&st->mutex);
	return ret;
}
