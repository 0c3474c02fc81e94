/*
 * src-needed (lock-order-cycle, double-lock): NULL passed to a pointer
 * parameter the callee tests (`if (gname)`) is not used to specialise the
 * callee, even one call deep. Reduced from drivers/pinctrl/pinconf.c and
 * pinconf-generic.c (6.12): pinconf_pins_show() holds pctldev->mutex and calls
 * pinconf_dump_pin() -> pinconf_generic_dump_pins(pctldev, s, NULL, pin) ->
 * pinconf_generic_dump_one(.., gname, ..), which calls pin_config_group_get()
 * (takes pinctrldev_list_mutex) only `if (gname)`: the edge
 * pinctrl_dev::mutex -> pinctrldev_list_mutex, and the cycle with
 * pinctrl_ready_for_gpio_range(), do not exist.
 */
struct mutex { int x; };
struct pinctrl_dev { struct mutex mutex; };
static struct mutex pinctrldev_list_mutex;
#define NULL ((void *)0)

static int pin_config_group_get(const char *gname)
{
	mutex_lock(&pinctrldev_list_mutex);
	lookup(gname);
	mutex_unlock(&pinctrldev_list_mutex);
	return 0;
}

static void pinconf_generic_dump_one(struct pinctrl_dev *pctldev, const char *gname, unsigned int pin)
{
	if (gname)
		pin_config_group_get(gname);
	else
		pin_config_get_for_pin(pctldev, pin);
}

static void pinconf_generic_dump_pins(struct pinctrl_dev *pctldev, const char *gname, unsigned int pin)
{
	pinconf_generic_dump_one(pctldev, gname, pin);
}

void pinconf_pins_show(struct pinctrl_dev *pctldev, unsigned int pin)
{
	mutex_lock(&pctldev->mutex);
	pinconf_generic_dump_pins(pctldev, NULL, pin); /* expect: no edge pinctrl_dev::mutex -> pinctrldev_list_mutex */
	mutex_unlock(&pctldev->mutex);
}

void pinctrl_ready_for_gpio_range(struct pinctrl_dev *pctldev)
{
	mutex_lock(&pinctrldev_list_mutex);
	mutex_lock(&pctldev->mutex);
	check_ranges(pctldev);
	mutex_unlock(&pctldev->mutex);
	mutex_unlock(&pinctrldev_list_mutex);
}
/* expect: no lock-order-cycle in this file (today: pinctrl_dev::mutex -> pinctrldev_list_mutex -> pinctrl_dev::mutex) */
