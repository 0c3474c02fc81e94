//! `lock-imbalance`: a function returns with a lock it took held on some
//! paths and not on others, or releases a lock it already released. The
//! text `lockpath explain` prints is [`DOC`].

use super::trace::{fn_name, hop, name_of};
use super::CheckInfo;
use crate::analysis::dataflow::{Imbalance, Observation};
use crate::analysis::Analysis;
use crate::finding::{Finding, Severity};
use crate::index::{FuncId, Program};
use crate::ir::RetVal;

pub const DOC: &str = r#"lock-imbalance (warning)

## What it catches
A function that takes a lock and returns with it held on some paths and
released on others — the classic missing unlock on an error path — and a
release of a lock the function already released on some path to that point
(a double unlock, usually an error path that unlocks and then jumps to a
label that unlocks again).

Helpers whose contract is to return with a lock held are not reported:
  * annotated ones (`__acquires`, `__releases`, `__cond_lock`);
  * ones whose return value tells the caller: the lock is held when the
    function succeeds (returns 0, true, an object) and released when it
    fails, as with trylock-style helpers and `lock_fb_info()`;
  * ones that acquire (or release) on every path (`futex_cleanup_begin`);
  * ones whose lock state depends on a parameter: that is
    `conditional-locking`'s finding.
A return is reported when it holds the lock and returns an error (`-EINVAL`,
`ERR_PTR()`), when it returns the same value as a return that does not hold
it, or when the function returns void, so the caller cannot tell. Branches
on the same condition are correlated (`if (need) lock(); ... if (need)
unlock();` is balanced), and locals that record the state (`locked = true`)
are followed.

## Why it is a bug
A lock left held deadlocks the next thread that takes it (often much later,
far from the bug, and only on the error path nobody tests). A double unlock
corrupts the lock: a mutex's owner check warns, a spinlock's count goes
wrong and mutual exclusion is lost. sparse's "context imbalance" warning
looks for the same bugs but cannot tell a helper from a bug.

## Example
Bad:

    mutex_lock(&dev->lock);
    buf = kmalloc(len, GFP_KERNEL);
    if (!buf)
            return -ENOMEM;        /* dev->lock still held */
    ...
    mutex_unlock(&dev->lock);
    return 0;

Fixed: leave through one unlock:

    mutex_lock(&dev->lock);
    buf = kmalloc(len, GFP_KERNEL);
    if (!buf) {
            ret = -ENOMEM;
            goto out_unlock;
    }
    ...
out_unlock:
    mutex_unlock(&dev->lock);
    return ret;

or let a guard release it on every return: `guard(mutex)(&dev->lock);`.

## References
Documentation/dev-tools/sparse.rst ("context imbalance");
include/linux/cleanup.h (guard(), scoped_guard()).
"#;

pub const INFO: CheckInfo = CheckInfo {
    id: "lock-imbalance",
    severity: Severity::Warning,
    summary: "lock held on some returns and not others, or released twice",
    doc: DOC,
};

pub(crate) fn finding(prog: &Program, analysis: &Analysis, func: FuncId, obs: &Observation) -> Option<Finding> {
    match obs {
        Observation::Imbalance(imb) => Some(held_on_some_returns(prog, analysis, func, imb)),
        Observation::DoubleUnlock { class, first, site, callee } => {
            let class = analysis.classes.name(*class);
            let callee = name_of(prog, *callee);
            let name = fn_name(prog, func);
            Some(Finding {
                check: INFO.id,
                severity: INFO.severity,
                message: format!("{class} may be released twice: {callee}() releases it again"),
                file: prog.funcs[func as usize].file,
                span: *site,
                function: name,
                lock: Some(class.to_string()),
                label: format!("{class} released again here"),
                trace: vec![
                    hop(prog, func, *first, format!("{class} released here on some path")),
                    hop(prog, func, *site, format!("{callee}() releases {class} again")),
                ],
                notes: vec!["a double unlock corrupts the lock: mutual exclusion is lost".into()],
                help: Some("release it once on every path; see `lockpath explain lock-imbalance`".into()),
            })
        }
        _ => None,
    }
}

fn held_on_some_returns(prog: &Program, analysis: &Analysis, func: FuncId, imb: &Imbalance) -> Finding {
    let class = analysis.classes.name(imb.class);
    let name = fn_name(prog, func);
    let taker = name_of(prog, imb.taker);
    let mut trace = vec![hop(prog, func, imb.taken, format!("{class} taken here by {taker}()"))];
    let (message, label) = match imb.free_exit {
        None if imb.held_value == RetVal::Error => (
            format!("{name}() may return an error with {class} still held"),
            format!("{class} still held here on an error path"),
        ),
        None => (
            format!("{name}() may return with {class} held: some paths to this return release it, others do not"),
            format!("{class} held here on some paths only"),
        ),
        Some(free) => {
            trace.push(hop(prog, func, free, format!("this return releases {class}")));
            let what = match imb.held_value {
                RetVal::Error => "an error",
                _ => "here",
            };
            (format!("{name}() returns {what} with {class} still held"), format!("{class} still held here"))
        }
    };
    trace.push(hop(prog, func, imb.held_exit, format!("returns with {class} held")));
    Finding {
        check: INFO.id,
        severity: INFO.severity,
        message,
        file: prog.funcs[func as usize].file,
        span: imb.held_exit,
        function: name,
        lock: Some(class.to_string()),
        label,
        trace,
        notes: vec!["the caller cannot tell from the return whether the lock is held".into()],
        help: Some(
            "release it before this return (goto the unlock label), or use guard(); see `lockpath explain lock-imbalance`"
                .into(),
        ),
    }
}
