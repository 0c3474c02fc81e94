/*
 * src-needed (double-lock, also lock-order-cycle): a constant flags argument
 * tested with `flags & BIT` in the callee is not used to specialise the
 * callee's summary. Reduced from drivers/net/ethernet/intel/ice/ice_sriov.c
 * __ice_set_vf_mac() -> ice_reset_vf(vf, ICE_VF_RESET_NOTIFY) (6.12), which
 * takes vf->cfg_lock only `if (flags & ICE_VF_RESET_LOCK)`. Same shape:
 * io_uring io_queue_iowq() -> io_assign_file(req, def, 0) ->
 * io_ring_submit_lock(ctx, 0) (`issue_flags & IO_URING_F_UNLOCKED`),
 * xe guc_exec_queue_try_add_msg() (`opcode | MSG_LOCKED`), drbd
 * conn_request_state(.., CS_HARD) -> _conn_request_state()
 * (`!(flags & (CS_LOCAL_ONLY | CS_HARD))`, a lock-order-cycle).
 * Plain literals (`reset_vf(vf, 1)` with `flags & 2`) are not specialised
 * either (checked on lockpath ca8cf36).
 */
struct mutex { int x; };
struct ice_vf { struct mutex cfg_lock; };
#define BIT(n) (1UL << (n))
#define ICE_VF_RESET_NOTIFY BIT(0)
#define ICE_VF_RESET_LOCK BIT(1)

static int ice_reset_vf(struct ice_vf *vf, unsigned int flags)
{
	if (flags & ICE_VF_RESET_LOCK)
		mutex_lock(&vf->cfg_lock);
	reset_hw(vf);
	if (flags & ICE_VF_RESET_LOCK)
		mutex_unlock(&vf->cfg_lock);
	return 0;
}

void __ice_set_vf_mac(struct ice_vf *vf)
{
	mutex_lock(&vf->cfg_lock);
	ice_reset_vf(vf, ICE_VF_RESET_NOTIFY); /* expect: silent (today: double-lock) */
	mutex_unlock(&vf->cfg_lock);
}

void ice_reset_vf_locked_twice(struct ice_vf *vf)
{
	mutex_lock(&vf->cfg_lock);
	ice_reset_vf(vf, ICE_VF_RESET_LOCK); /* expect: double-lock */
	mutex_unlock(&vf->cfg_lock);
}
