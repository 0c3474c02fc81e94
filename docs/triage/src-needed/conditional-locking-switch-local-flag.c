/*
 * src-needed (conditional-locking): a local flag set next to the lock inside a
 * `switch` (`default: mutex_lock(..); lock_acquired = true;`) and tested later
 * (`if (lock_acquired) mutex_unlock(..)`) is not correlated, so the callee's
 * summary says "may return holding ice_global_cfg_lock_sw" and any caller with
 * a parameter-guarded early return before the call is reported. Reduced from
 * drivers/net/ethernet/intel/ice/ice_common.c ice_aq_send_cmd() (6.12), which
 * made ice_nvm_set_pkg_data() (`length`) and ice_dpll_init_dpll() (`cgu`)
 * conditional-locking warnings. The same flag set in an `if` is handled
 * (fixtures/conditional-locking/silent_local_trylock_flag.c).
 */
struct mutex { int x; };
struct ice_aq_desc { unsigned short opcode; };
DEFINE_MUTEX(ice_global_cfg_lock_sw);

int ice_aq_send_cmd(struct ice_aq_desc *desc)
{
	bool lock_acquired = false;
	int status;

	switch (desc->opcode) {
	case 1:
	case 2:
		break;
	case 3:
		if (desc->opcode == 4)
			break;
		fallthrough;
	default:
		mutex_lock(&ice_global_cfg_lock_sw);
		lock_acquired = true;
		break;
	}

	status = send(desc);
	if (lock_acquired)
		mutex_unlock(&ice_global_cfg_lock_sw);
	return status;
}

/* expect: silent (today: conditional-locking on `length`) */
int ice_nvm_set_pkg_data(struct ice_aq_desc *desc, unsigned char *data, unsigned short length)
{
	if (length != 0 && !data)
		return -22;
	return ice_aq_send_cmd(desc);
}
