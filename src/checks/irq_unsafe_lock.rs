//! `irq-unsafe-lock`: a spinlock taken in an interrupt handler and, in
//! process context, with that interrupt enabled. The text `lockpath explain`
//! prints is [`DOC`].

use super::trace::{chain, fn_name, hop, name_of};
use super::CheckInfo;
use crate::analysis::classes::ClassId;
use crate::analysis::summary::{Acquisition, IrqUse};
use crate::analysis::Analysis;
use crate::finding::{Finding, Severity, TraceHop};
use crate::index::{FuncId, IrqRoot, Program};
use crate::model::{IrqLevel, Mode};
use rustc_hash::FxHashMap;

pub const DOC: &str = r#"irq-unsafe-lock (error)

## What it catches
A spinlock (or rwlock) that an interrupt handler takes, and that process
context takes elsewhere with that interrupt still enabled: plain
spin_lock() where the handler is a hard-irq handler, or spin_lock() /
spin_lock_bh()-less code where the handler is a softirq (timer, tasklet,
NAPI poll, RCU callback). Lockdep calls it "inconsistent lock state"
({HARDIRQ-ON-W} -> {IN-HARDIRQ-W}).

Handlers come from where they are registered (the model's `bind-handler
... context=` lines): request_irq(), devm_request_irq() and the primary
handler of request_threaded_irq() run in hard-irq context; the thread
function does not. timer_setup(), tasklets, NAPI poll and call_rcu()
callbacks run in softirq context. Everything a handler calls runs there too.

Process context is every function nothing in the analysed code calls
(system calls, ops callbacks, work items, kthreads, threaded irq functions)
and everything it calls. An acquisition is safe when interrupts of that
level are off: inside spin_lock_irq()/_irqsave() (or _bh for softirqs),
local_irq_save()/local_irq_disable(), local_bh_disable(), or in a handler
of that level itself. Reader-reader use of an rwlock (read_lock in both
places) is fine, as lockdep allows.

## Why it deadlocks
The process-context path holds the lock with interrupts on. The interrupt
arrives on the same CPU and its handler spins on the lock, which can only
be released when the interrupted code resumes — which it never does.

## Example
Bad:

    static irqreturn_t foo_isr(int irq, void *data)
    {
            spin_lock(&foo->lock);          /* hard-irq context */
            ...
    }

    static void foo_reset(struct foo *foo)
    {
            spin_lock(&foo->lock);          /* irqs on: foo_isr can spin here */
            ...
    }

Fixed: disable the interrupt while holding the lock in process context:

            spin_lock_irqsave(&foo->lock, flags);
            ...
            spin_unlock_irqrestore(&foo->lock, flags);

## References
Documentation/locking/lockdep-design.rst ("Single-lock state rules");
Documentation/kernel-hacking/locking.rst ("Hard IRQ Context").
"#;

pub const INFO: CheckInfo = CheckInfo {
    id: "irq-unsafe-lock",
    severity: Severity::Error,
    summary: "lock taken in an interrupt handler and elsewhere with that interrupt enabled",
    doc: DOC,
};

/// One finding per lock class and interrupt level: the first handler (by
/// name) that takes it, against the first process-context path that takes
/// it with that level enabled.
pub(crate) fn findings(prog: &Program, analysis: &Analysis) -> Vec<Finding> {
    let uses = unsafe_uses(prog, analysis);
    let mut roots: Vec<(&FuncId, &IrqRoot)> = prog.irq_roots.iter().collect();
    roots.sort_by_key(|(id, _)| (fn_name(prog, **id), **id));
    let mut out = Vec::new();
    let mut reported: rustc_hash::FxHashSet<(ClassId, IrqLevel)> = rustc_hash::FxHashSet::default();
    for (handler, root) in roots {
        let summary = &analysis.summaries[*handler as usize];
        for acq in &summary.acquires {
            let key = (acq.class, root.level);
            if reported.contains(&key)
                || analysis.classes.is_weak(acq.class)
                || analysis.classes.is_per_object(acq.class)
            {
                continue;
            }
            let Some((entry, use_)) = first_unsafe_use(&uses, acq, root.level) else { continue };
            reported.insert(key);
            out.push(finding(prog, analysis, *handler, root, acq, entry, use_));
        }
    }
    out
}

/// Every interrupt-enabled acquisition of process-context entry points, by
/// class, in (file, site) order: built once, so the pairing is linear.
fn unsafe_uses<'a>(prog: &Program, analysis: &'a Analysis) -> FxHashMap<ClassId, Vec<(FuncId, &'a IrqUse)>> {
    let mut by_class: FxHashMap<ClassId, Vec<(FuncId, &IrqUse)>> = FxHashMap::default();
    for &e in analysis.entry_points.iter().filter(|e| !prog.irq_roots.contains_key(e)) {
        for u in &analysis.summaries[e as usize].irq_uses {
            by_class.entry(u.class).or_default().push((e, u));
        }
    }
    for list in by_class.values_mut() {
        list.sort_by_key(|(e, u)| (prog.funcs[*e as usize].file, u.chain.first_site(), *e));
    }
    by_class
}

/// The first entry point that takes `acq`'s class with interrupts of
/// `level` enabled.
fn first_unsafe_use<'a>(
    uses: &FxHashMap<ClassId, Vec<(FuncId, &'a IrqUse)>>,
    acq: &Acquisition,
    level: IrqLevel,
) -> Option<(FuncId, &'a IrqUse)> {
    uses.get(&acq.class)?.iter().copied().find(|(_, u)| {
        let enabled = match level {
            IrqLevel::Hard => u.hard_on,
            IrqLevel::Soft => u.soft_on,
        };
        // Readers of an rwlock do not wait for readers (only spinning locks
        // get here: rw_semaphores do not).
        let readers = u.mode == Mode::Shared && acq.mode == Mode::Shared;
        enabled && !readers
    })
}

fn finding(
    prog: &Program,
    analysis: &Analysis,
    handler: FuncId,
    root: &IrqRoot,
    acq: &Acquisition,
    entry: FuncId,
    use_: &IrqUse,
) -> Finding {
    let class = analysis.classes.name(acq.class);
    let (context, enabled) = match root.level {
        IrqLevel::Hard => ("hard-irq", "interrupts enabled"),
        IrqLevel::Soft => ("softirq", "softirqs enabled"),
    };
    let handler_name = fn_name(prog, handler);
    let binder = name_of(prog, root.binder);
    let mut trace: Vec<TraceHop> = vec![hop(
        prog,
        root.func,
        root.span,
        format!("{handler_name}() registered by {binder}(): runs in {context} context"),
    )];
    trace.extend(chain(prog, &acq.effect.chain, |c| format!("{c}() takes {class} in {context} context")));
    trace.extend(chain(prog, &use_.chain, |c| format!("{c}() takes {class} with {enabled}")));
    let last = use_.chain.hops().last().copied();
    let (file, span, function) = match last {
        Some(h) => (prog.funcs[h.func as usize].file, h.span, fn_name(prog, h.func)),
        None => (prog.funcs[entry as usize].file, prog.funcs[entry as usize].func.span, fn_name(prog, entry)),
    };
    let fix = match root.level {
        IrqLevel::Hard => "take it with spin_lock_irqsave() (or _irq) here",
        IrqLevel::Soft => "take it with spin_lock_bh() (or _irqsave) here",
    };
    Finding {
        check: INFO.id,
        severity: INFO.severity,
        message: format!("{class} is taken in {context} context ({handler_name}) and here with {enabled}"),
        file,
        span,
        function,
        lock: Some(class.to_string()),
        label: format!("{class} taken with {enabled}"),
        trace,
        notes: vec![format!(
            "if {handler_name}() interrupts this CPU while {class} is held here, it spins on it forever"
        )],
        help: Some(format!("{fix}; see `lockpath explain irq-unsafe-lock`")),
    }
}
