//! `sleep-in-atomic`: something that may sleep runs where sleeping is not
//! allowed. The text `lockpath explain` prints is [`DOC`].

use super::trace::{chain, fn_name, hop, lock_taken, mode_text, name_of};
use super::CheckInfo;
use crate::analysis::dataflow::{Observation, SleepContext};
use crate::analysis::Analysis;
use crate::finding::{Finding, Severity};
use crate::index::{FuncId, Program};

pub const DOC: &str = r#"sleep-in-atomic (error)

## What it catches
A call that may sleep — a sleeping lock (mutex_lock, down_read, ...),
msleep, schedule, wait_event, wait_for_completion, an allocation with a
blocking GFP mask (GFP_KERNEL, GFP_NOFS, GFP_NOIO), a user-memory access,
might_sleep(), or any function whose summary may sleep — while a spinlock,
raw_spinlock or rwlock is held (all _irq/_irqsave/_bh forms), inside
rcu_read_lock(), or between preempt_disable()/local_irq_disable()/
local_irq_save()/local_bh_disable() and their counterparts. The sleeping call
may be any number of calls down; lockpath shows the path.

## Why it is a bug
Sleeping with preemption disabled schedules away from a CPU that other code
expects to keep running: a spinlock holder that sleeps can deadlock with the
next task that spins on that lock on the same CPU, and the scheduler itself
reports "BUG: scheduling while atomic". Inside an RCU read-side section,
sleeping can stall grace periods or free memory still in use.
CONFIG_DEBUG_ATOMIC_SLEEP catches it only on the paths a test happens to run.

## Example
Bad:

    spin_lock_irqsave(&dev->lock, flags);
    buf = kmalloc(len, GFP_KERNEL);        /* may sleep */
    spin_unlock_irqrestore(&dev->lock, flags);

Fixed: allocate before taking the lock, or use a non-blocking mask:

    buf = kmalloc(len, GFP_KERNEL);
    spin_lock_irqsave(&dev->lock, flags);
    ...
    spin_unlock_irqrestore(&dev->lock, flags);

## References
Documentation/locking/locktypes.rst; include/linux/kernel.h might_sleep().
"#;

pub const INFO: CheckInfo = CheckInfo {
    id: "sleep-in-atomic",
    severity: Severity::Error,
    summary: "something that may sleep runs where sleeping is not allowed",
    doc: DOC,
};

pub(crate) fn finding(prog: &Program, analysis: &Analysis, func: FuncId, obs: &Observation) -> Option<Finding> {
    let Observation::SleepInAtomic { context, site, callee, chain: callee_chain } = obs else { return None };
    let callee_name = name_of(prog, *callee);
    let (what, mut trace) = match context {
        SleepContext::Lock(held) => {
            let class = analysis.classes.name(held.class).to_string();
            let trace = lock_taken(prog, func, held, &class, mode_text(held));
            (format!("{class} is held"), trace)
        }
        SleepContext::Section { site: at, by } => {
            let by = name_of(prog, *by).to_string();
            (format!("inside {by}()"), vec![hop(prog, func, *at, format!("{by}(): sleeping is not allowed from here"))])
        }
    };
    match callee_chain {
        None => trace.push(hop(prog, func, *site, format!("{callee_name}() may sleep"))),
        Some(c) => {
            trace.push(hop(prog, func, *site, format!("calls {callee_name}()")));
            trace.extend(chain(prog, c, |last| format!("{last}() may sleep")));
        }
    }
    let lock = match context {
        SleepContext::Lock(held) => Some(analysis.classes.name(held.class).to_string()),
        SleepContext::Section { .. } => None,
    };
    Some(Finding {
        check: INFO.id,
        severity: INFO.severity,
        message: format!("may sleep while {what}"),
        file: prog.funcs[func as usize].file,
        span: *site,
        function: fn_name(prog, func),
        lock,
        label: format!("may sleep while {what}"),
        trace,
        notes: vec!["a task that sleeps in atomic context can deadlock its CPU or stall RCU".into()],
        help: Some("move the sleeping call out of the section, or use a non-sleeping variant (GFP_ATOMIC, a spinning lock); see `lockpath explain sleep-in-atomic`".into()),
    })
}
