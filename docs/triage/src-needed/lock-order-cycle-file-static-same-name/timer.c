/* sound/core/timer.c: a different file-static register_mutex. */
struct mutex { int x; };
static DEFINE_MUTEX(register_mutex);

void snd_timer_open(void)
{
	mutex_lock(&register_mutex);
	open_it();
	mutex_unlock(&register_mutex);
}
