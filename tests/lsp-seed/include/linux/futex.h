/*
 * The seed scenario for `lockpath lsp`'s tests and ci/nvim-lsp.lua: the OOM-reaper robust-futex
 * patch ([PATCH v5] "mm/oom_kill.c: futex: Close a race between do_exit and the oom_reaper",
 * LKML 2022-03, tglx review) on Linux 6.12, reduced to the files and functions the deadlock
 * path runs through (fixtures/fault-under-lock/fires_seed_oom_reaper.c in three files).
 */
struct mm_struct { struct rw_semaphore mmap_lock; unsigned long flags; };
struct robust_list { struct robust_list __user *next; };
struct robust_list_head { struct robust_list list; long futex_offset; struct robust_list __user *list_op_pending; };
struct task_struct { struct mm_struct *mm; struct robust_list_head __user *robust_list; int pid; };

bool try_futex_exit_release(struct task_struct *tsk);
