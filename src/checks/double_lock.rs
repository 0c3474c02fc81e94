//! `double-lock`: a lock class already held is acquired again on the same
//! path. The text `lockpath explain` prints is [`DOC`].

use super::trace::{chain, fn_name, hop, lock_taken, mode_text, name_of};
use super::CheckInfo;
use crate::analysis::dataflow::Observation;
use crate::analysis::witness::Chain;
use crate::analysis::Analysis;
use crate::finding::{Finding, Severity};
use crate::index::{FuncId, Program};

pub const DOC: &str = r#"double-lock (error)

## What it catches
A blocking acquisition of a lock class that is already held on every path
to that point, directly or in any callee: spin_lock() twice, mutex_lock()
in a helper the caller calls with the mutex held, mmap_read_lock() below an
mmap_read_trylock() that succeeded. Recursive readers are allowed where the
kernel allows them (rwlock_t read_lock, rcu_read_lock); rw_semaphore readers
are not. Annotated nesting (spin_lock_nested, mutex_lock_nested,
down_read_nested, ..._nest_lock) is not reported, nor are trylocks (they
cannot block).

When both acquisitions name the same object the deadlock is certain. When
they are two objects of one class the message says "possible recursive
locking", as lockdep does: either they can be the same object, or the code
needs a *_nested annotation to tell lockdep the order.

A path that enters the function holding the lock again (f() takes the
lock, calls g(), and g() calls f()) is a recursion, and kernel code closes
its recursions with values: a register number below a bound, a flag the
holder set before the call, a child that has none. When the second
acquisition is of the same object, such a path is not reported: taken, it
would hang every time, and on Linux 6.12 all but one of 26 were false
alarms. When it is another object of the class (a parent's lock, then its
child's, through the same function), it is reported as a warning: that is
how trees are locked, and on 6.12 one of 22 was real (a lockdep report)
and two plausible.

## Why it deadlocks
A spinlock or mutex is not recursive: the second acquisition waits for the
first to be released, by the same thread, forever. A second down_read() of
an rw_semaphore waits behind any writer that queued after the first.

## Example
Bad:

    mutex_lock(&dev->lock);
    dev_update(dev);               /* dev_update() takes dev->lock too */
    mutex_unlock(&dev->lock);

Fixed: call a variant that expects the lock held (and says so with
lockdep_assert_held()), or drop the lock first:

    mutex_lock(&dev->lock);
    __dev_update(dev);             /* lockdep_assert_held(&dev->lock) */
    mutex_unlock(&dev->lock);

## References
Documentation/locking/lockdep-design.rst ("Exception: Nested data
dependencies leading to nested locking").
"#;

pub const INFO: CheckInfo = CheckInfo {
    id: "double-lock",
    severity: Severity::Error,
    summary: "lock class acquired again while already held",
    doc: DOC,
};

pub(crate) fn finding(prog: &Program, analysis: &Analysis, func: FuncId, obs: &Observation) -> Option<Finding> {
    let Observation::AcquireWhileHeld { held, site, callee, chain: callee_chain, same_instance } = obs else {
        return None;
    };
    let recursive = callee_chain.as_ref().is_some_and(|c| reenters(c, func));
    if recursive && *same_instance {
        return None;
    }
    let class = analysis.classes.name(held.class);
    let callee_name = name_of(prog, *callee);
    let mut trace = lock_taken(prog, func, held, class, mode_text(held));
    let again = |taker: &str| format!("{taker}() takes {class} again");
    match callee_chain {
        None => trace.push(hop(prog, func, *site, again(callee_name))),
        Some(c) => {
            trace.push(hop(prog, func, *site, format!("calls {callee_name}() with {class} held")));
            trace.extend(chain(prog, c, again));
        }
    }
    let (message, note) = if *same_instance {
        (
            format!("{class} is acquired while already held"),
            "the second acquisition waits for this thread to release the first: self-deadlock",
        )
    } else {
        (
            format!("possible recursive locking: {class} is acquired while a lock of the same class is held"),
            "two objects of one class: a deadlock if they can be the same object; else annotate the nesting (*_nested) so lockdep knows the order",
        )
    };
    let mut notes = vec![note.to_string()];
    let severity = if recursive {
        notes.push(format!(
            "the path enters {}() again: a recursion over two objects of one class, such as a parent and its child",
            fn_name(prog, func)
        ));
        Severity::Warning
    } else {
        INFO.severity
    };
    Some(Finding {
        check: INFO.id,
        severity,
        message,
        file: prog.funcs[func as usize].file,
        span: *site,
        function: fn_name(prog, func),
        lock: Some(class.to_string()),
        label: format!("{class} taken again here"),
        trace,
        notes,
        help: Some("release the lock before this call, or call a variant that expects it held; see `lockpath explain double-lock`".into()),
    })
}

/// Whether the path from the holder's call down to the second acquisition
/// enters the holder again. Only the holder counts. A path through another
/// function twice (`walk()` calling itself before it calls `flush()`) still
/// reaches the lock with the loop dropped: the recursion is not what makes
/// it a double lock. A path back into the holder, with the loop dropped,
/// leaves the holder doing the rest itself: that is its first acquisition
/// (no double lock), or one it makes with the lock held anyway, reported as
/// its own finding.
fn reenters(path: &Chain, holder: FuncId) -> bool {
    path.hops().iter().any(|h| h.func == holder)
}
