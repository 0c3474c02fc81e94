/*
 * src-needed (lock-order-cycle, double-lock): two locks in two different
 * fields of one outer struct, both of an inner struct type, are named by the
 * inner struct (`_MPT_MGMT::mutex`), so they are one class. Lockdep gives
 * each mutex_init() call site its own class, and here they are initialised at
 * two sites. Reduced from drivers/message/fusion/mptsas.c and mptbase.c (6.12):
 * mptsas_not_responding_devices() holds sas_topology_mutex and mpt_config()
 * takes ioc->mptbase_cmds.mutex; mptsas_smp_handler() holds ioc->sas_mgmt.mutex
 * and takes sas_topology_mutex. Same: mpt3sas (ioc->config_cmds.mutex vs
 * ioc->tm_cmds.mutex, `_internal_cmd::mutex`), hns3 hclge_comm_cmd_init()
 * (cmdq->csq.lock then cmdq->crq.lock, double-lock).
 * Fix: name the class by the init site (or by the outer field path when the
 * inner struct is initialised field by field), as the f2fs wrapper does by hand.
 */
struct mutex { int x; };
struct _MPT_MGMT { struct mutex mutex; int status; };
struct _MPT_ADAPTER {
	struct mutex sas_topology_mutex;
	struct _MPT_MGMT sas_mgmt;
	struct _MPT_MGMT mptbase_cmds;
};

void mpt_attach(struct _MPT_ADAPTER *ioc)
{
	mutex_init(&ioc->sas_mgmt.mutex);
	mutex_init(&ioc->mptbase_cmds.mutex);
}

static int mpt_config(struct _MPT_ADAPTER *ioc)
{
	mutex_lock(&ioc->mptbase_cmds.mutex);
	send_config(ioc);
	mutex_unlock(&ioc->mptbase_cmds.mutex);
	return 0;
}

void mptsas_not_responding_devices(struct _MPT_ADAPTER *ioc)
{
	mutex_lock(&ioc->sas_topology_mutex);
	mpt_config(ioc);
	mutex_unlock(&ioc->sas_topology_mutex);
}

void mptsas_smp_handler(struct _MPT_ADAPTER *ioc)
{
	mutex_lock(&ioc->sas_mgmt.mutex);
	mutex_lock(&ioc->sas_topology_mutex);
	mutex_unlock(&ioc->sas_topology_mutex);
	mutex_unlock(&ioc->sas_mgmt.mutex);
}
/* expect: no lock-order-cycle (today: _MPT_ADAPTER::sas_topology_mutex -> _MPT_MGMT::mutex -> _MPT_ADAPTER::sas_topology_mutex) */
