/*
 * Reduced from gpiochip_add_data_with_key() (drivers/gpio/gpiolib.c:1019,
 * `goto err_put_device` inside scoped_guard(mutex, &gpio_devices_lock)) and
 * snd_wavefront_midi_output_write() (sound/isa/wavefront/wavefront_midi.c:144,
 * `goto __second` out of a block holding guard(spinlock_irqsave)).
 * Pattern N: a goto that leaves a guard's scope must run the guard's release
 * (the cleanup attribute runs on every exit from the scope, goto included).
 */
struct mutex { int x; };
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
DEFINE_GUARD(mutex, struct mutex *, mutex_lock(_T), mutex_unlock(_T))
static struct mutex devices_lock;
int find_base(int n);
int add_to_list(int base);
void cleanup(void);

int chip_add(int base)
{
	int ret;

	scoped_guard(mutex, &devices_lock) {
		if (base < 0) {
			base = find_base(8);
			if (base < 0) {
				ret = base;
				goto err;
			}
		}
		ret = add_to_list(base);
		if (ret)
			goto err;
	}
	return 0;
err:
	cleanup();
	return ret;	/* expect: silent (today: lock-imbalance) */
}
