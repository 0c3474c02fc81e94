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

/// A handler, how it is bound, and one of its acquisitions.
type HandlerSide<'a> = (FuncId, &'a IrqRoot, &'a Acquisition);

/// One finding per lock class and interrupt level: of the handlers that take
/// it and the process-context paths that take it with that level enabled,
/// the pair closest in the tree (same file, then same directory), else the
/// first handler by name against the first path.
pub(crate) fn findings(prog: &Program, analysis: &Analysis) -> Vec<Finding> {
    let uses = unsafe_uses(prog, analysis);
    let mut roots: Vec<(&FuncId, &IrqRoot)> = prog.irq_roots.iter().collect();
    roots.sort_by_cached_key(|(id, _)| (fn_name(prog, **id), **id));
    // Handler-side acquisitions by (class, level), in handler-name order.
    let mut keys: Vec<(ClassId, IrqLevel)> = Vec::new();
    let mut sides: FxHashMap<(ClassId, IrqLevel), Vec<HandlerSide>> = FxHashMap::default();
    for (handler, root) in roots {
        for acq in &analysis.summaries[*handler as usize].acquires {
            if analysis.classes.is_weak(acq.class) || analysis.classes.is_per_object(acq.class) {
                continue;
            }
            let list = sides.entry((acq.class, root.level)).or_default();
            if list.is_empty() {
                keys.push((acq.class, root.level));
            }
            if !list.iter().any(|(h, _, _)| h == handler) {
                list.push((*handler, root, acq));
            }
        }
    }
    let dirs = Dirs::new(prog);
    let mut out = Vec::new();
    for key in keys {
        let Some(uses) = uses.get(&key.0) else { continue };
        let mut best: Option<(u8, FuncId, &IrqRoot, &Acquisition, FuncId, &IrqUse)> = None;
        'pairs: for (i, &(handler, root, acq)) in sides[&key].iter().enumerate() {
            if i >= MAX_HANDLERS_PER_CLASS && best.is_some() {
                break;
            }
            for &(entry, use_) in uses.iter().filter(|(_, u)| unsafe_against(u, acq, key.1)) {
                let near = dirs.nearness(prog.funcs[handler as usize].file, prog.funcs[entry as usize].file);
                if best.as_ref().is_none_or(|b| near > b.0) {
                    best = Some((near, handler, root, acq, entry, use_));
                    if near == SAME_FILE {
                        break 'pairs;
                    }
                }
            }
        }
        if let Some((_, handler, root, acq, entry, use_)) = best {
            out.push(finding(prog, analysis, handler, root, acq, entry, use_));
        }
    }
    out
}

/// Handlers of one class and level searched for the nearest pair; past
/// this many (core locks that every driver's handler reaches) the first
/// ones by name stand for the rest once a pair is found.
const MAX_HANDLERS_PER_CLASS: usize = 64;
const SAME_FILE: u8 = 2;

/// Each file's directory, numbered, to compare where two functions live.
struct Dirs(Vec<u32>);

impl Dirs {
    fn new(prog: &Program) -> Dirs {
        let mut ids: FxHashMap<&str, u32> = FxHashMap::default();
        let dirs = prog
            .files
            .iter()
            .map(|f| {
                let dir = f.display.rsplit_once('/').map_or("", |(d, _)| d);
                let next = ids.len() as u32;
                *ids.entry(dir).or_insert(next)
            })
            .collect();
        Dirs(dirs)
    }

    fn nearness(&self, a: crate::index::FileId, b: crate::index::FileId) -> u8 {
        if a == b {
            SAME_FILE
        } else if self.0[a as usize] == self.0[b as usize] {
            1
        } else {
            0
        }
    }
}

/// Every interrupt-enabled acquisition of process-context entry points, by
/// class, in (file, site) order: built once, so the pairing is linear.
///
/// An architecture's definition of a function that generic code calls
/// (`__cpu_disable()` in arch/arm) has no caller of its own: generic calls
/// resolve to the context architecture's twin. It is not an entry point
/// when such a twin exists that something calls.
fn unsafe_uses<'a>(prog: &Program, analysis: &'a Analysis) -> FxHashMap<ClassId, Vec<(FuncId, &'a IrqUse)>> {
    // Entry points are sorted; most take nothing with interrupts enabled,
    // so those are passed over before anything costs more than a look.
    let is_entry = |f: &FuncId| analysis.entry_points.binary_search(f).is_ok();
    let mut by_class: FxHashMap<ClassId, Vec<(FuncId, &IrqUse)>> = FxHashMap::default();
    for &e in &analysis.entry_points {
        let uses = &analysis.summaries[e as usize].irq_uses;
        if uses.is_empty() || prog.irq_roots.contains_key(&e) {
            continue;
        }
        let def = &prog.funcs[e as usize];
        let is_arch = prog.files[def.file as usize].arch.is_some();
        if is_arch && prog.functions_named(def.func.name).iter().any(|f| !is_entry(f)) {
            continue;
        }
        for u in uses {
            by_class.entry(u.class).or_default().push((e, u));
        }
    }
    for list in by_class.values_mut() {
        // In file order: a chain starts in its own function, at a site
        // (sites are in source order).
        list.sort_by_key(|(e, u)| {
            let def = &prog.funcs[*e as usize];
            (def.file, def.func.span.start, u.chain.first_site(), *e)
        });
    }
    by_class
}

/// `u` takes the lock with interrupts of `level` enabled, and is not a
/// reader against a reader.
fn unsafe_against(u: &IrqUse, acq: &Acquisition, level: IrqLevel) -> bool {
    let enabled = match level {
        IrqLevel::Hard => u.hard_on,
        IrqLevel::Soft => u.soft_on,
    };
    // Readers of an rwlock do not wait for readers (only spinning locks
    // get here: rw_semaphores do not).
    let readers = u.mode == Mode::Shared && acq.mode == Mode::Shared;
    enabled && !readers
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
        Some(h) => (prog.funcs[h.func as usize].file, prog.site_span(h.func, h.site), fn_name(prog, h.func)),
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
