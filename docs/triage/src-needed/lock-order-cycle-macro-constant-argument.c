/*
 * src-needed (lock-order-cycle, double-lock): a constant given by an
 * object-like macro (`#define CAN_NOT_SLEEP false`) is not recognised as a
 * constant argument, while the literal `false` is. Reduced from
 * drivers/net/ethernet/pensando/ionic/ionic_lif.c (6.12):
 * ionic_start_queues_reconfig() -> ionic_link_status_check_request(lif,
 * CAN_NOT_SLEEP), which calls ionic_link_status_check() (queue_lock) only
 * `if (can_sleep)`; this closed the cycle ionic_lif::queue_lock ->
 * ionic_phc::config_lock -> ionic_lif::queue_lock.
 */
struct mutex { int x; };
struct ionic_lif { struct mutex queue_lock; };
#define CAN_SLEEP true
#define CAN_NOT_SLEEP false

static void ionic_link_status_check(struct ionic_lif *lif)
{
	mutex_lock(&lif->queue_lock);
	start_queues(lif);
	mutex_unlock(&lif->queue_lock);
}

static void ionic_link_status_check_request(struct ionic_lif *lif, bool can_sleep)
{
	if (can_sleep)
		ionic_link_status_check(lif);
	else
		queue_deferred(lif);
}

void ionic_start_queues_reconfig(struct ionic_lif *lif)
{
	mutex_lock(&lif->queue_lock);
	ionic_link_status_check_request(lif, CAN_NOT_SLEEP); /* expect: silent (today: double-lock) */
	mutex_unlock(&lif->queue_lock);
}

void with_literal(struct ionic_lif *lif)
{
	mutex_lock(&lif->queue_lock);
	ionic_link_status_check_request(lif, false); /* silent today */
	mutex_unlock(&lif->queue_lock);
}
