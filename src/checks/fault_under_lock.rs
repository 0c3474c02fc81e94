//! `fault-under-lock`: a user-memory access that may fault while
//! `mmap_lock` is held. The text `lockpath explain` prints is [`DOC`].

use super::trace::{chain, fn_name, hop, lock_taken, mode_text, name_of, short_lock};
use super::CheckInfo;
use crate::analysis::dataflow::Observation;
use crate::analysis::Analysis;
use crate::finding::{Finding, Severity};
use crate::index::{FuncId, Program};
use crate::model::{Mode, Model};

pub const DOC: &str = r#"fault-under-lock (error)

## What it catches
A user-memory access that may page-fault (get_user, copy_to_user,
copy_from_user, clear_user, fault_in_*, might_fault, ...) while a lock the
page-fault handler itself takes is held: mm_struct::mmap_lock, read or
write, taken by a lock or by a successful trylock. The access may be in the
function that holds the lock or any number of calls below it; lockpath shows
every hop.

## Why it deadlocks
The fault handler calls mmap_read_lock(mm) (lock_mm_and_find_vma). If this
thread already holds mmap_lock for write, that is a self-deadlock. If it
holds it for read, a writer that queued in between (mmap_write_lock from
another thread) blocks the second reader, and the writer waits for the
first: rw_semaphores are fair, so readers do not recurse.

## Example
Bad (the OOM reaper patch reviewed in
https://lore.kernel.org/all/87k0cknqyw.ffs@tglx/):

    if (!mmap_read_trylock(mm))
            return false;
    try_futex_exit_release(tsk);   /* ... -> fetch_robust_entry -> get_user() */
    mmap_read_unlock(mm);

Fixed: drop the lock before the access, or make the access non-faulting and
handle -EFAULT:

    pagefault_disable();
    ret = __get_user(val, uaddr);  /* or get_user_nofault(), copy_from_user_nofault() */
    pagefault_enable();

get_user_pages*(), pin_user_pages*() and fixup_user_fault() require
mmap_lock and are not faults.

## References
Documentation/mm/process_addrs.rst; mm/memory.c lock_mm_and_find_vma();
include/linux/uaccess.h pagefault_disable().
"#;

pub const INFO: CheckInfo = CheckInfo {
    id: "fault-under-lock",
    severity: Severity::Error,
    summary: "user-memory access that may fault while mmap_lock is held",
    doc: DOC,
};

pub(crate) fn finding(
    prog: &Program,
    model: &Model,
    analysis: &Analysis,
    func: FuncId,
    obs: &Observation,
) -> Option<Finding> {
    let Observation::FaultWhileHeld { held, site, callee, chain: callee_chain } = obs else {
        return None;
    };
    let class = analysis.classes.name(held.class);
    let short = short_lock(class);
    let fault_mode = match model.fault_mode(class) {
        Some(Mode::Exclusive) => "write",
        _ => "read",
    };
    let callee_name = name_of(prog, *callee);
    let fault_note = |access: &str| format!("{access}() may fault: the fault handler takes {class} ({fault_mode})");
    let mut trace = lock_taken(prog, func, held, class, mode_text(held));
    let label = match callee_chain {
        None => {
            trace.push(hop(prog, func, *site, fault_note(callee_name)));
            format!("may fault with {short} held")
        }
        Some(c) => {
            trace.push(hop(prog, func, *site, format!("calls {callee_name}() with {short} held")));
            trace.extend(chain(prog, c, |access| fault_note(access)));
            format!("called with {short} held; faults below")
        }
    };
    let deadlock = if held.mode == Mode::Exclusive {
        "the fault handler blocks on the lock this thread holds"
    } else {
        "a writer queued between the two readers deadlocks this thread"
    };
    Some(Finding {
        check: INFO.id,
        severity: INFO.severity,
        message: format!("user-memory access may fault while {class} is held"),
        file: prog.funcs[func as usize].file,
        span: *site,
        function: fn_name(prog, func),
        lock: Some(class.to_string()),
        label,
        trace,
        notes: vec![deadlock.to_string()],
        help: Some(format!(
            "drop {short} before the access, or use a *_nofault() copy / pagefault_disable() and handle -EFAULT; see `lockpath explain fault-under-lock`"
        )),
    })
}
