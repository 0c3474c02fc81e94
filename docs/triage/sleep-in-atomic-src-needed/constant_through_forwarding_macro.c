/*
 * SHOULD BE SILENT; lockpath reports a sleep-in-atomic at pll_enable()'s
 * call to pll_check_stable() (whose readl_poll_timeout() passes sleep_us 0).
 *
 * readl_poll_timeout(addr, val, cond, 0, timeout_us) -> readx_poll_timeout()
 * -> read_poll_timeout(op, val, cond, sleep_us, ...) (include/linux/iopoll.h,
 * 6.12), which sleeps only `if (__sleep_us)`. The constant 0 is passed to a
 * wrapper that does not test it but forwards it; specialisation happens only
 * when the constant goes straight to the parameter the callee branches on, so
 * the usleep_range() is reachable. Seen in ingenic_pll_check_stable()
 * (drivers/clk/ingenic/cgu.c) under cgu->lock, isp1760_hcd_clear_and_wait().
 * Fix: treat a parameter as tested when the function forwards it to a
 * callee's tested parameter (propagate `tested_params` bottom-up), so the
 * constant specialises the whole chain.
 */
struct cgu { spinlock_t lock; void __iomem *base; };

#define read_poll_timeout(op, val, cond, sleep_us, timeout_us, addr) \
({ \
	for (;;) { \
		(val) = op(addr); \
		if (cond) \
			break; \
		if (sleep_us) \
			usleep_range((sleep_us >> 2) + 1, sleep_us); \
	} \
	(cond) ? 0 : -ETIMEDOUT; \
})

#define readx_poll_timeout(op, addr, val, cond, sleep_us, timeout_us) \
	read_poll_timeout(op, val, cond, sleep_us, timeout_us, addr)

#define readl_poll_timeout(addr, val, cond, delay_us, timeout_us) \
	readx_poll_timeout(readl, addr, val, cond, delay_us, timeout_us)

static int pll_check_stable(struct cgu *cgu)
{
	u32 ctl;

	return readl_poll_timeout(cgu->base, ctl, ctl & 1, 0, 100000);
}

static int pll_enable(struct cgu *cgu)
{
	unsigned long flags;
	int ret;

	spin_lock_irqsave(&cgu->lock, flags);
	ret = pll_check_stable(cgu);	/* false alarm reported here */
	spin_unlock_irqrestore(&cgu->lock, flags);
	return ret;
}
