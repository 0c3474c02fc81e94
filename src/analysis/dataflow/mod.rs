//! Per-function forward dataflow over the lock-event CFG, with callee
//! summaries applied at calls. One run computes the function's own summary
//! and the observations the checks turn into findings.

use super::classes::{ClassId, LocalClasses};
use super::held::{same_instance, CondKey, HeldLock, Released, State};
use super::summary::{
    Acquisition, Effect, ExitLock, FunctionSummary, IrqUse, MAX_ACQUISITIONS, MAX_IRQ_USES, MAX_WITNESS_DEPTH,
};
use super::witness::{Chain, Hop};
use crate::index::{FuncDef, FuncId, Program, Target};
use crate::ir::{
    AnnotationKind, Arg, Base, Block, BlockId, Call, Callee, Cond, Event, LockRef, RetVal, Span, Sym, Terminator,
};
use crate::model::{LockPrim, Model, Primitive};
use smallvec::SmallVec;
use std::borrow::Cow;

mod calls;
pub(crate) use calls::specialized_entry;
mod exits;

pub use calls::{callback_arg, callback_function};
pub use exits::{ExitPart, ExitShape};

/// What the dataflow saw that a check may report.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    /// A user-memory access that may fault, directly (`chain` is None) or in
    /// the callee `callee` at `site`, while `held` is held.
    FaultWhileHeld { held: HeldLock, site: Span, callee: Sym, chain: Option<Chain> },
    /// `class` acquired (blocking) at `site`, directly or in `callee`, while
    /// `held`, of another class, is held: the lock-order edge held → class.
    Ordered { held: HeldLock, class: ClassId, site: Span, callee: Sym, chain: Option<Chain> },
    /// Something that may sleep, directly or in `callee`, in a context that
    /// must not sleep.
    SleepInAtomic { context: SleepContext, site: Span, callee: Sym, chain: Option<Chain> },
    /// `class` acquired (blocking) at `site` while `held`, of the same class, is held.
    AcquireWhileHeld { held: HeldLock, site: Span, callee: Sym, chain: Option<Chain>, same_instance: bool },
    /// `class`, released at `first` on some path, released again at `site`.
    DoubleUnlock { class: ClassId, first: Span, site: Span, callee: Sym },
    /// The function returns with a lock it took held on some paths and not
    /// on others, and nothing in its contract says so.
    Imbalance(Imbalance),
}

/// A lock-imbalance: `lock` (taken at `taken` by `taker`) is still held at
/// the return at `held_exit` but released before the return at `free_exit`
/// (`None`: the paths into `held_exit` itself disagree).
#[derive(Debug, Clone, PartialEq)]
pub struct Imbalance {
    pub class: ClassId,
    pub taken: Span,
    pub taker: Sym,
    pub held_exit: Span,
    pub free_exit: Option<Span>,
    pub held_value: RetVal,
}

/// Why sleeping is not allowed at a point.
#[derive(Debug, Clone, PartialEq)]
pub enum SleepContext {
    /// A spinlock, rwlock, or rcu_read_lock() is held.
    Lock(HeldLock),
    /// Inside preempt_disable()/local_irq_disable()/local_bh_disable(),
    /// entered at `site` by `by`.
    Section { site: Span, by: Sym },
}

pub struct Ctx<'a> {
    pub prog: &'a Program,
    pub model: &'a Model,
    pub summaries: &'a crate::analysis::summary::SummaryView<'a>,
    pub classes: &'a mut LocalClasses,
    /// Per function, the parameters its branches test (`if (try)`).
    pub tested_params: &'a [SmallVec<[u8; 2]>],
    /// Per function, the parameters it calls (`fn(root, flag)`).
    pub called_params: &'a [SmallVec<[u8; 2]>],
    /// Summaries of a function with one parameter fixed, for calls that pass
    /// a constant there (`futex_cleanup_begin(tsk, false)` locks plainly) or a
    /// function it calls back (`eeh_pe_dev_traverse(pe, eeh_rmv_device, NULL)`).
    pub specialized: &'a mut SpecCache,
    /// Specialisation nests at most this deep (recursion guard).
    pub specialize_depth: u8,
    /// The function whose calls get their lock state recorded (the editor's
    /// hover), and what was recorded.
    pub probe: Option<FuncId>,
    pub call_states: Vec<CallState>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        prog: &'a Program,
        model: &'a Model,
        summaries: &'a crate::analysis::summary::SummaryView<'a>,
        classes: &'a mut LocalClasses,
        params: (&'a [ParamList], &'a [ParamList]),
        specialized: &'a mut SpecCache,
    ) -> Ctx<'a> {
        let (tested_params, called_params) = params;
        Ctx {
            prog,
            model,
            summaries,
            classes,
            tested_params,
            called_params,
            specialized,
            specialize_depth: 0,
            probe: None,
            call_states: Vec::new(),
        }
    }
}

/// The lock state around one call, for the editor's hover: the locks held
/// on every path to it, and those the call itself leaves held.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct CallState {
    pub span: Span,
    pub callee: String,
    /// Held before the call, described (`mm_struct::mmap_lock (read)`).
    pub held: Vec<String>,
    /// Held after the call and not before: what it takes.
    pub taken: Vec<String>,
    /// Hard interrupts, softirqs disabled; preemption disabled (or an
    /// atomic section entered).
    pub irqs_off: bool,
    pub bh_off: bool,
    pub no_sleep: bool,
}

/// Parameter positions of one function (tested, or called).
pub type ParamList = SmallVec<[u8; 2]>;

/// A specialised summary, and what its run observed when the fixed
/// parameter is a callback (`walk_items()` calling `item_flush()` under its
/// lock is an ordering of `walk_items()`'s, seen only when a caller binds
/// the callback). The observations travel with the entry, so they are kept
/// once however many callers use it, and dropped with it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecEntry {
    pub summary: FunctionSummary,
    pub observations: Vec<Observation>,
    /// The specialisation depth it was computed at (deeper ones do not
    /// specialise their own calls), so that it can be computed again alike.
    pub depth: u8,
}

/// Specialised summaries by callee and fixed parameters.
pub type SpecMap = rustc_hash::FxHashMap<(FuncId, Specialization), SpecEntry>;

/// Specialised summaries one parallel task sees: those of finished levels
/// (shared) and those it computed itself (merged in task order when its
/// level ends).
pub struct SpecCache {
    pub global: std::sync::Arc<SpecMap>,
    pub local: SpecMap,
}

impl SpecCache {
    pub fn get(&self, key: &(FuncId, Specialization)) -> Option<&FunctionSummary> {
        self.local.get(key).or_else(|| self.global.get(key)).map(|e| &e.summary)
    }

    pub fn insert(&mut self, key: (FuncId, Specialization), entry: SpecEntry) {
        self.local.insert(key, entry);
    }
}

/// A parameter fixed for one call's summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Specialization {
    /// The parameters in `mask` (bit i: parameter i) are the constants in
    /// `values` (non-zero where the bit is set).
    Const { mask: u16, values: u16 },
    /// Parameter `.0` is the function `.1`, which the callee calls.
    Callback(u8, FuncId),
}

pub struct Outcome {
    pub summary: FunctionSummary,
    pub observations: Vec<Observation>,
    pub exit_shape: ExitShape,
}

/// The latest state on each edge into a block, by (source block, successor index).
/// The latest state on each edge into one block. A `Vec`, not inline: a
/// `State` is ~900 bytes, and most blocks have one or two edges, so inline
/// storage made every function's per-block tables megabytes of copying.
type IncomingEdges = Vec<((BlockId, u16), State)>;

struct Analyzer<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    id: FuncId,
    def: &'a FuncDef,
    /// The body, decoded for this run (`Rc`: the transfer functions hold it
    /// while they update the analyser).
    blocks: std::rc::Rc<[Block]>,
    /// The places a witness hop can name (`witness::site_spans`).
    sites: Vec<Span>,
    /// Parameters assumed constant at every branch on them: bit i of
    /// `.0` fixes parameter i to bit i of `.1`.
    assume: (u16, u16),
    /// Parameter `.0` is the function `.1`: calls through it go there.
    bind: Option<(u8, FuncId)>,
    record: bool,
    observations: Vec<Observation>,
    fault: Option<Effect>,
    sleep: Option<Effect>,
    sleep_sections_left: u16,
    sleep_released_params: Vec<(ClassId, LockRef)>,
    acquires: Vec<Acquisition>,
    irq_uses: Vec<IrqUse>,
    /// Levels (hard, soft) an `assert-irqs-off` found on: the caller turned
    /// them off, so they count as off at the entry too.
    irqs_asserted: [bool; 2],
    exits: Vec<(RetVal, State)>,
    /// Where each of `exits` returns (byte offset of the return).
    exit_at: Vec<Span>,
    /// The local each of `exits` returns (`return ret;`), if any.
    exit_var: Vec<Option<Sym>>,
    /// Calls whose result a branch tests.
    tested_calls: rustc_hash::FxHashSet<(BlockId, u32)>,
}

pub fn analyze(ctx: &mut Ctx<'_>, id: FuncId, assume: Option<(u8, bool)>) -> Outcome {
    let fixed = assume
        .filter(|(p, _)| *p < 16)
        .map(|(p, v)| Specialization::Const { mask: 1 << p, values: if v { 1 << p } else { 0 } });
    analyze_specialized(ctx, id, fixed)
}

/// One run of the dataflow over `id`, with a parameter fixed or none.
pub fn analyze_specialized(ctx: &mut Ctx<'_>, id: FuncId, fixed: Option<Specialization>) -> Outcome {
    let def = &ctx.prog.funcs[id as usize];
    let blocks: std::rc::Rc<[Block]> = def.blocks().into();
    let (assume, bind) = match fixed {
        Some(Specialization::Const { mask, values }) => ((mask, values), None),
        Some(Specialization::Callback(p, f)) => ((0, 0), Some((p, f))),
        None => ((0, 0), None),
    };
    let mut a = Analyzer {
        ctx,
        id,
        def,
        assume,
        bind,
        record: false,
        observations: Vec::new(),
        fault: None,
        sleep: None,
        sleep_sections_left: 0,
        sleep_released_params: Vec::new(),
        acquires: Vec::new(),
        irq_uses: Vec::new(),
        irqs_asserted: [false; 2],
        exits: Vec::new(),
        exit_at: Vec::new(),
        exit_var: Vec::new(),
        tested_calls: blocks
            .iter()
            .filter_map(|b| match b.term {
                Terminator::Branch { cond: Cond::CallResult { block, event, .. }, .. } => Some((block, event)),
                _ => None,
            })
            .collect(),
        sites: crate::analysis::witness::site_spans(def.func.span, &blocks),
        blocks,
    };
    a.run();
    a.finish()
}

/// Scalar parameters some branch tests directly (`if (try)`). Pointer
/// parameters are left out: `if (ctx) raw_spin_lock(&ctx->lock)` guards
/// against a missing object, it does not choose a locking rule.
pub fn tested_params(def: &FuncDef) -> Vec<u8> {
    let mut out = def.calls.branch_params.to_vec();
    out.retain(|&i| def.func.params.get(i as usize).is_some_and(|p| !p.pointer));
    out
}

impl<'c, 'a> Analyzer<'c, 'a> {
    fn file(&self) -> u32 {
        self.def.file
    }

    fn run(&mut self) {
        let blocks = self.blocks.clone();
        let n = blocks.len();
        // Boxed: the table is built and scanned per analysed function, and
        // an unboxed `Option<State>` is ~900 bytes a block.
        let mut inn: Vec<Option<Box<State>>> = (0..n).map(|_| None).collect();
        inn[0] = Some(Box::new(self.entry_state()));
        // Blocks are visited in reverse postorder, so a join sees all its
        // forward edges before its successors are visited.
        let rpo_index = reverse_postorder(&blocks);
        let mut work: std::collections::BTreeSet<(u32, BlockId)> = std::collections::BTreeSet::new();
        work.insert((rpo_index[0], 0));
        let mut queued = vec![false; n];
        queued[0] = true;
        let mut budget = n.saturating_mul(64) + 1024;
        // The latest state on each edge into a block: a block's entry state is
        // recomputed from all of them, so facts learnt late (a lock held only
        // when `locked` is false) are not lost to a stale earlier meet.
        let mut incoming: Vec<IncomingEdges> = (0..n).map(|_| Vec::new()).collect();
        // A block one edge of the CFG enters (most then- and else-blocks) has
        // that edge's latest state as its entry: kept in `inn` alone, with
        // the edge's key, until a second key shows up (a branch that gave
        // one edge and then two), when it joins `incoming` like any other.
        let single_entry = single_entry_blocks(&blocks);
        let mut single_key: Vec<Option<(BlockId, u16)>> = vec![None; n];
        while let Some((_, b)) = work.pop_first() {
            queued[b as usize] = false;
            budget = budget.saturating_sub(1);
            if budget == 0 {
                break;
            }
            let Some(mut state) = inn[b as usize].as_deref().cloned() else {
                continue;
            };
            self.transfer_block(b, &mut state);
            for (k, (succ, edge)) in self.successors(b, state).into_iter().enumerate() {
                let key = (b, k as u16);
                let edges = &mut incoming[succ as usize];
                let last = &mut single_key[succ as usize];
                let joined = if single_entry[succ as usize] && edges.is_empty() && last.is_none_or(|l| l == key) {
                    *last = Some(key);
                    edge
                } else {
                    if let (Some(old), Some(state)) = (last.take(), inn[succ as usize].as_deref()) {
                        edges.push((old, state.clone()));
                    }
                    match edges.iter_mut().find(|(e, _)| *e == key) {
                        Some((_, s)) => *s = edge,
                        None => edges.push((key, edge)),
                    }
                    let mut joined = edges[0].1.clone();
                    for (_, e) in edges.iter().skip(1) {
                        joined.meet(e);
                    }
                    joined
                };
                let slot = &mut inn[succ as usize];
                // Facts only refine; late in a long iteration they no longer
                // count as change, so oscillating facts cannot stall it.
                let refine = budget > n.saturating_mul(32);
                let changed = slot.as_ref().is_none_or(|old| old.signature(refine) != joined.signature(refine));
                match slot {
                    Some(old) => **old = joined,
                    None => *slot = Some(Box::new(joined)),
                }
                if changed && !queued[succ as usize] {
                    queued[succ as usize] = true;
                    work.insert((rpo_index[succ as usize], succ));
                }
            }
        }
        // Final pass over the fixed point: observations and summary effects.
        self.record = true;
        for (b, state) in inn.into_iter().enumerate() {
            let Some(mut state) = state.map(|s| *s) else { continue };
            self.transfer_block(b as BlockId, &mut state);
            let _ = self.successors(b as BlockId, state);
        }
    }

    fn record_call_state(&mut self, call: &crate::ir::Call, was: &State, now: &State) {
        let describe = |h: &crate::analysis::held::HeldLock| {
            let mut s = self.ctx.classes.name(h.class).to_string();
            if h.mode == crate::model::Mode::Shared {
                s.push_str(" (read)");
            }
            match h.irq {
                Some(crate::model::IrqLevel::Hard) => s.push_str(", interrupts off"),
                Some(crate::model::IrqLevel::Soft) => s.push_str(", softirqs off"),
                None => {}
            }
            s
        };
        let callee = match call.callee {
            crate::ir::Callee::Named(sym) => self.ctx.prog.name(sym).to_string(),
            crate::ir::Callee::Indirect => "(indirect call)".to_string(),
        };
        let state = CallState {
            span: call.span,
            callee,
            held: was.held.iter().map(describe).collect(),
            taken: now.held.iter().filter(|h| !was.held.iter().any(|w| w.class == h.class)).map(describe).collect(),
            irqs_off: was.irq_off > 0,
            bh_off: was.bh_off > 0,
            no_sleep: was.no_sleep > 0,
        };
        self.ctx.call_states.push(state);
    }

    fn entry_state(&mut self) -> State {
        let mut state = State::default();
        // An interrupt handler runs with its level of interrupts disabled.
        let prog: &'a Program = self.ctx.prog;
        let level = prog.irq_roots.get(&self.id).map(|r| r.level).or(prog.irqs_off_entry.get(&self.id).copied());
        match level {
            Some(crate::model::IrqLevel::Hard) => state.irq_off = 1,
            Some(crate::model::IrqLevel::Soft) => state.bh_off = 1,
            None => {}
        }
        let prog: &'a Program = self.ctx.prog;
        for (class, mode, slot) in prog.entry_locks.get(&self.id).into_iter().flatten() {
            let class = self.ctx.classes.intern(self.ctx.model.canonical_class(class), false);
            let lock = LockRef { base: Base::Unknown, base_ty: None, path: SmallVec::new() };
            state.add(self.held(class, lock, *mode, false, false, self.def.func.span, *slot, None, false));
        }
        for ann in &self.def.func.annotations {
            if ann.kind == AnnotationKind::MustHold {
                let (class, _) = self.class_of(None, Some(&ann.lock));
                state.add(self.held(
                    class,
                    ann.lock.clone(),
                    crate::model::Mode::Exclusive,
                    false,
                    false,
                    self.def.func.span,
                    self.def.func.name,
                    None,
                    false,
                ));
            }
        }
        state
    }

    #[allow(clippy::too_many_arguments)]
    fn held(
        &self,
        class: ClassId,
        lock: LockRef,
        mode: crate::model::Mode,
        recursive_read: bool,
        trylock: bool,
        site: Span,
        taker: Sym,
        via: Option<Chain>,
        exported: bool,
    ) -> HeldLock {
        HeldLock {
            class,
            lock,
            mode,
            recursive_read,
            trylock,
            nested: false,
            atomic: false,
            no_sleep: false,
            irq: None,
            site,
            taker,
            via,
            exported,
        }
    }

    fn transfer_block(&mut self, b: BlockId, state: &mut State) {
        let blocks = self.blocks.clone();
        for (i, event) in blocks[b as usize].events.iter().enumerate() {
            if state.dead {
                break;
            }
            match event {
                Event::Call(call) => {
                    let tested = self.tested_calls.contains(&(b, i as u32));
                    let probing = self.record && self.ctx.probe == Some(self.id) && self.ctx.specialize_depth == 0;
                    let before = probing.then(|| state.clone());
                    self.call(state, call, tested);
                    if let Some(before) = before {
                        self.record_call_state(call, &before, state);
                    }
                }
                Event::GuardEnter { guard, lock, span } => {
                    if let Some((sym, prim, lock)) = self.guard_primitive(*guard, lock.as_ref()) {
                        self.primitive(state, prim, sym, lock.as_ref(), *span, false);
                    }
                }
                Event::SetVar { var, value } => state.assign(*var, *value),
                Event::Assume { key, value } => state.learn(CondKey::Expr(*key), *value),
                Event::GuardExit { guard, lock, span } => {
                    if let Some((
                        _,
                        Primitive::Acquire(p)
                        | Primitive::AcquireIfZero(p)
                        | Primitive::TryLock(p)
                        | Primitive::TryLockIfZero(p),
                        lock,
                    )) = self.guard_primitive(*guard, lock.as_ref())
                    {
                        let (class, lock) = self.class_of(Some(p), lock.as_ref());
                        self.release(state, class, &lock, *span, *guard, true);
                    }
                }
            }
        }
    }

    /// The primitive a guard calls, and the lock it calls it on: the guarded
    /// value followed by the guard's field path.
    fn guard_primitive(&self, guard: Sym, lock: Option<&LockRef>) -> Option<(Sym, &'a Primitive, Option<LockRef>)> {
        let prog: &'a Program = self.ctx.prog;
        let model: &'a Model = self.ctx.model;
        let (prim_sym, path) = prog.guards.get(&guard)?;
        let lock = lock.map(|l| {
            let mut l = l.clone();
            l.path.extend(path.iter().copied());
            l
        });
        Some((*prim_sym, prog.primitive(model, *prim_sym)?, lock))
    }

    fn class_of(&mut self, prim: Option<&LockPrim>, lock: Option<&LockRef>) -> (ClassId, LockRef) {
        let (class, lock) = self.class_of_expr(prim, lock);
        if let Some(p) = prim {
            if self.ctx.model.per_object_kinds.contains(&p.kind) {
                self.ctx.classes.mark_per_object(class);
            }
            if self.ctx.model.backoff_kinds.contains(&p.kind) {
                self.ctx.classes.mark_backoff(class);
            }
        }
        (class, lock)
    }

    fn class_of_expr(&mut self, prim: Option<&LockPrim>, lock: Option<&LockRef>) -> (ClassId, LockRef) {
        let lock = lock.cloned().unwrap_or(LockRef { base: Base::Unknown, base_ty: None, path: SmallVec::new() });
        let (name, weak) = class_name_of(self.ctx.prog, self.ctx.model, self.file(), prim, &lock);
        (self.ctx.classes.intern(&name, weak), lock)
    }

    fn primitive(
        &mut self,
        state: &mut State,
        prim: &'a Primitive,
        callee: Sym,
        arg: Option<&LockRef>,
        span: Span,
        tested: bool,
    ) {
        match prim {
            Primitive::Acquire(p) | Primitive::AcquireIfZero(p) => {
                if self.ctx.model.sleeping_kinds.contains(&p.kind) {
                    self.sleep_here(state, span, callee);
                }
                let (class, lock) = self.class_of(Some(p), arg);
                let recursive_read = self.ctx.model.recursive_read_kinds.contains(&p.kind);
                if self.record {
                    self.check_acquire(state, class, &lock, p.mode, recursive_read, p.nested, span, callee, None, &[]);
                    let hard_on = state.hardirqs_on() && p.irq != Some(crate::model::IrqLevel::Hard);
                    let soft_on = hard_on && state.softirqs_on() && p.irq.is_none();
                    let chain = Chain::new(self.hop(span, callee), None);
                    let atomic = self.ctx.model.atomic_kinds.contains(&p.kind);
                    self.record_irq_use(IrqUse {
                        class,
                        mode: p.mode,
                        recursive_read,
                        hard_on,
                        soft_on,
                        atomic,
                        chain,
                    });
                    let effect = Effect {
                        chain: Chain::new(self.hop(span, callee), None),
                        released_before: state.released_classes(),
                    };
                    self.record_acquisition(Acquisition {
                        class,
                        lock: lock.clone(),
                        mode: p.mode,
                        recursive_read,
                        nested: p.nested,
                        effect,
                    });
                }
                if !(tested && matches!(prim, Primitive::AcquireIfZero(_))) {
                    let mut held = self.held(class, lock, p.mode, recursive_read, false, span, callee, None, true);
                    held.nested = p.nested;
                    held.atomic = self.ctx.model.atomic_kinds.contains(&p.kind);
                    held.no_sleep = self.ctx.model.no_sleep_kinds.contains(&p.kind);
                    held.irq = p.irq;
                    state.add(held);
                }
            }
            Primitive::Release(p) | Primitive::MayRelease(p) => {
                let (class, lock) = self.class_of(Some(p), arg);
                let certain = matches!(prim, Primitive::Release(_));
                let held = state.held_irq(class, &lock);
                self.release(state, class, &lock, span, callee, certain);
                // `spin_lock_irq(&a); .. spin_unlock(&a);` leaves interrupts
                // off; `spin_unlock_irqrestore(&b, flags)` of a lock taken
                // plainly turns back on what an earlier lock turned off.
                if let Some(was) = held.filter(|was| certain && *was != p.irq) {
                    if let Some(level) = was {
                        state.irqs_disable(level);
                    }
                    if let Some(level) = p.irq {
                        state.irqs_enable(level);
                    }
                }
            }
            Primitive::AssertHeld(p) => {
                let (class, lock) = self.class_of(Some(p), arg);
                if !state.held.iter().any(|h| h.class == class) {
                    let recursive_read = self.ctx.model.recursive_read_kinds.contains(&p.kind);
                    state.add(self.held(class, lock, p.mode, recursive_read, false, span, callee, None, false));
                }
            }
            Primitive::Fault | Primitive::FaultNoMightSleep => {
                // A user access calls might_fault(), which is might_sleep()
                // unless page faults are disabled: under a spinlock it is
                // "sleeping function called from invalid context" (and the
                // copy fails with -EFAULT whenever the page is not present).
                // Accessors without might_fault() only fail in atomic context.
                let atomic = state.no_sleep > 0 || state.held.iter().any(|h| h.atomic);
                let quiet = matches!(prim, Primitive::FaultNoMightSleep) && atomic;
                if state.pagefault_disabled == 0 && !quiet {
                    self.sleep_here(state, span, callee);
                }
                if state.pagefault_disabled == 0 && self.record {
                    self.check_fault(state, span, callee, None, &[]);
                    let effect = Effect {
                        chain: Chain::new(self.hop(span, callee), None),
                        released_before: state.released_classes(),
                    };
                    keep_first(&mut self.fault, effect);
                }
            }
            Primitive::Sleep => self.sleep_here(state, span, callee),
            Primitive::NoReturn => state.dead = true,
            // Decided in `call`, which sees every argument.
            Primitive::SleepIfGfp(_) => {}
            Primitive::NoSleepEnter(irq) => {
                if state.caller_left > 0 {
                    // Re-entering the caller's section it left.
                    state.caller_left -= 1;
                } else {
                    if state.no_sleep == 0 {
                        state.no_sleep_site = Some((span, callee));
                    }
                    state.no_sleep = state.no_sleep.saturating_add(1);
                }
                if let Some(level) = irq {
                    state.irqs_disable(*level);
                }
            }
            Primitive::NoSleepExit(irq) => {
                if let Some(level) = irq {
                    state.irqs_enable(*level);
                }
                if state.no_sleep == 0 {
                    state.caller_left = state.caller_left.saturating_add(1);
                }
                state.no_sleep = state.no_sleep.saturating_sub(1);
                if state.no_sleep == 0 {
                    state.no_sleep_site = None;
                }
            }
            Primitive::AssertIrqsOff(level) => {
                let on = match level {
                    crate::model::IrqLevel::Hard => state.hardirqs_on(),
                    crate::model::IrqLevel::Soft => state.softirqs_on(),
                };
                if on {
                    state.irqs_disable(*level);
                    self.irqs_asserted[*level as usize] = true;
                }
            }
            Primitive::PagefaultDisable => state.pagefault_disabled = state.pagefault_disabled.saturating_add(1),
            Primitive::PagefaultEnable => state.pagefault_disabled = state.pagefault_disabled.saturating_sub(1),
            Primitive::WaitsFor(_) => {
                let (class, _) = self.class_of_expr(None, arg);
                if self.record && !self.ctx.classes.is_weak(class) {
                    let name = crate::index::handler_class(self.ctx.classes.name(class));
                    let pseudo = self.ctx.classes.intern(&name, false);
                    let released = state.released_classes();
                    self.record_order(state, pseudo, false, span, callee, None, &released);
                    // Callers holding a lock around this function wait for
                    // the handler too: part of the summary, like a lock taken.
                    let effect =
                        Effect { chain: Chain::new(self.hop(span, callee), None), released_before: released.clone() };
                    let lock = LockRef { base: Base::Unknown, base_ty: None, path: SmallVec::new() };
                    let mode = crate::model::Mode::Exclusive;
                    self.record_acquisition(Acquisition {
                        class: pseudo,
                        lock,
                        mode,
                        recursive_read: false,
                        nested: false,
                        effect,
                    });
                }
            }
            Primitive::TryLock(_)
            | Primitive::TryLockIfZero(_)
            | Primitive::BindHandler { .. }
            | Primitive::SetClass(_)
            | Primitive::NoFault
            | Primitive::Neutral => {}
        }
    }

    /// Releases a lock; a release of a lock this function already released
    /// on some path to here is a double unlock.
    pub(super) fn release(
        &mut self,
        state: &mut State,
        class: ClassId,
        lock: &LockRef,
        site: Span,
        callee: Sym,
        certain: bool,
    ) {
        if let Released::Twice(first) = state.release(class, lock, site, certain) {
            if self.record && !self.ctx.classes.is_weak(class) {
                self.observations.push(Observation::DoubleUnlock { class, first, site, callee });
            }
        }
    }

    fn hop(&self, span: Span, callee: Sym) -> Hop {
        Hop { func: self.id, site: crate::analysis::witness::site_of(&self.sites, span), callee }
    }

    /// An acquisition with interrupts of some level enabled: one witness per
    /// class and level, the first in the function.
    pub(super) fn record_irq_use(&mut self, u: IrqUse) {
        if !(u.hard_on || u.soft_on) || !u.atomic || self.ctx.classes.is_weak(u.class) {
            return;
        }
        let same = |o: &IrqUse| o.class == u.class && o.hard_on == u.hard_on && o.soft_on == u.soft_on;
        match self.irq_uses.iter().position(same) {
            Some(i) if self.irq_uses[i].chain.first_site() > u.chain.first_site() => self.irq_uses[i] = u,
            Some(_) => {}
            None if self.irq_uses.len() < MAX_IRQ_USES => self.irq_uses.push(u),
            None => {}
        }
    }

    fn record_acquisition(&mut self, acq: Acquisition) {
        if let Some(existing) = self.acquires.iter_mut().find(|a| a.class == acq.class) {
            if existing.effect.chain.first_site() > acq.effect.chain.first_site() {
                *existing = acq;
            }
            return;
        }
        if self.acquires.len() < MAX_ACQUISITIONS {
            self.acquires.push(acq);
        }
    }

    fn check_fault(
        &mut self,
        state: &State,
        site: Span,
        callee: Sym,
        chain: Option<&Chain>,
        released_before: &[ClassId],
    ) {
        // Under a spinlock a user fault does not enter the fault handler
        // (faulthandler_disabled() is true in atomic context): it fails with
        // -EFAULT instead. Sleeping there is another check's business.
        if state.held.iter().any(|h| h.atomic && !released_before.contains(&h.class)) {
            return;
        }
        // A fault takes the fault handler's locks, for ordering too: what
        // might_fault() tells lockdep.
        for (name, _) in &self.ctx.model.fault_takes {
            let class = self.ctx.classes.intern(name, false);
            self.record_order(state, class, false, site, callee, chain, released_before);
        }
        for held in &state.held {
            if released_before.contains(&held.class) {
                continue;
            }
            if self.ctx.model.fault_mode(self.ctx.classes.name(held.class)).is_none() {
                continue;
            }
            self.observations.push(Observation::FaultWhileHeld {
                held: held.clone(),
                site,
                callee,
                chain: chain.cloned(),
            });
        }
    }

    /// Lock-order edges from every other strong class held here to `class`.
    /// A lock taken with a nesting annotation is its class's subclass, as in
    /// lockdep (`kmemleak_object::lock/1`).
    #[allow(clippy::too_many_arguments)]
    fn record_order(
        &mut self,
        state: &State,
        class: ClassId,
        nested: bool,
        site: Span,
        callee: Sym,
        chain: Option<&Chain>,
        released_before: &[ClassId],
    ) {
        if self.ctx.classes.is_weak(class) {
            return;
        }
        let target = if nested { self.subclass(class) } else { class };
        for held in &state.held {
            if held.class == class || released_before.contains(&held.class) || self.ctx.classes.is_weak(held.class) {
                continue;
            }
            let mut held = held.clone();
            if held.nested {
                held.class = self.subclass(held.class);
            }
            self.observations.push(Observation::Ordered { held, class: target, site, callee, chain: chain.cloned() });
        }
    }

    /// A call at `span` may sleep: remember it for the summary and check it.
    fn sleep_here(&mut self, state: &State, span: Span, callee: Sym) {
        if !self.record {
            return;
        }
        self.check_sleep(state, span, callee, None, &[], 0);
        let effect =
            Effect { chain: Chain::new(self.hop(span, callee), None), released_before: state.released_classes() };
        self.keep_first_sleep(effect, state.caller_left, released_params(state));
    }

    /// Sleeping while a no-sleep lock is held or inside a no-sleep section.
    /// `sections_left`: how many of this function's no-sleep sections the
    /// callee leaves before it sleeps.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn check_sleep(
        &mut self,
        state: &State,
        site: Span,
        callee: Sym,
        chain: Option<&Chain>,
        released_before: &[ClassId],
        sections_left: u16,
    ) {
        let held = state.held.iter().find(|h| h.no_sleep && !released_before.contains(&h.class));
        let context = match (held, state.no_sleep_site) {
            (Some(h), _) => SleepContext::Lock(h.clone()),
            (None, Some((at, by))) if state.no_sleep > sections_left => SleepContext::Section { site: at, by },
            _ => return,
        };
        self.observations.push(Observation::SleepInAtomic { context, site, callee, chain: chain.cloned() });
    }

    fn subclass(&mut self, class: ClassId) -> ClassId {
        let name = format!("{}/1", self.ctx.classes.name(class));
        let weak = self.ctx.classes.is_weak(class);
        let sub = self.ctx.classes.intern(&name, weak);
        if self.ctx.classes.is_per_object(class) {
            self.ctx.classes.mark_per_object(sub);
        }
        if self.ctx.classes.is_backoff(class) {
            self.ctx.classes.mark_backoff(sub);
        }
        sub
    }

    #[allow(clippy::too_many_arguments)]
    fn check_acquire(
        &mut self,
        state: &State,
        class: ClassId,
        lock: &LockRef,
        mode: crate::model::Mode,
        recursive_read: bool,
        nested: bool,
        site: Span,
        callee: Sym,
        chain: Option<&Chain>,
        released_before: &[ClassId],
    ) {
        if released_before.contains(&class) {
            return;
        }
        // A reader that never waits (rcu_read_lock) cannot close a cycle.
        if !(recursive_read && mode == crate::model::Mode::Shared) {
            self.record_order(state, class, nested, site, callee, chain, released_before);
        }
        if nested {
            return;
        }
        for held in &state.held {
            if held.class != class {
                continue;
            }
            let same = same_instance(&held.lock, lock);
            if held.nested && !same {
                continue;
            }
            // Work items of one class are many objects: a handler waiting
            // for another item's handler is no self-wait.
            let many =
                self.ctx.classes.is_per_object(class) || crate::index::is_handler_class(self.ctx.classes.name(class));
            if (self.ctx.classes.is_weak(class) || many) && !same {
                continue;
            }
            let shared = mode == crate::model::Mode::Shared && held.mode == crate::model::Mode::Shared;
            if shared && recursive_read && held.recursive_read {
                continue;
            }
            self.observations.push(Observation::AcquireWhileHeld {
                held: held.clone(),
                site,
                callee,
                chain: chain.cloned(),
                same_instance: same,
            });
            return;
        }
    }

    /// Successor blocks with the state on each edge; a trylock's (or a
    /// trylock-style helper's) lock is added on its success edge only.
    fn successors(&mut self, b: BlockId, state: State) -> SmallVec<[(BlockId, State); 2]> {
        let mut out = self.edges(b, state);
        // `out: return ret;` joins paths that differ in `ret`: run such a short
        // tail once per incoming edge instead of merging, so each path's
        // value of `ret` reaches the exit with its own locks.
        out.retain(|(succ, edge)| {
            if !self.is_var_return_tail(*succ) {
                return true;
            }
            if self.record {
                let mut st = edge.clone();
                self.transfer_block(*succ, &mut st);
                let _ = self.edges(*succ, st);
            }
            false
        });
        out
    }

    /// The constant this run fixed parameter `i` to, if any.
    pub(super) fn assumed(&self, i: u8) -> Option<bool> {
        let bit = 1u16.checked_shl(u32::from(i))?;
        (self.assume.0 & bit != 0).then_some(self.assume.1 & bit != 0)
    }

    /// What a local known to be non-zero holds: kernel code keeps errnos in
    /// `ret`, `err`, `rc`..., so `if (err) goto out;` leaves with an error.
    fn nonzero_value(&self, var: Sym) -> RetVal {
        match self.ctx.prog.name(var) {
            "ret" | "err" | "error" | "rc" | "retval" | "status" | "rv" | "res" | "result" => RetVal::Error,
            _ => RetVal::NonZero,
        }
    }

    /// Both edges of a branch on `key`, each remembering which way it went.
    fn branch_learning(
        &self,
        out: &mut SmallVec<[(BlockId, State); 2]>,
        key: CondKey,
        then: BlockId,
        otherwise: BlockId,
        state: State,
    ) {
        let mut then_state = state.clone();
        then_state.learn(key, true);
        let mut else_state = state;
        else_state.learn(key, false);
        out.push((then, then_state));
        out.push((otherwise, else_state));
    }

    fn is_var_return_tail(&self, b: BlockId) -> bool {
        let block = &self.blocks[b as usize];
        matches!(block.term, Terminator::Return(RetVal::Var(_))) && block.events.len() <= 8
    }

    fn edges(&mut self, b: BlockId, state: State) -> SmallVec<[(BlockId, State); 2]> {
        let blocks = self.blocks.clone();
        let mut out = SmallVec::new();
        if state.dead {
            return out;
        }
        match &blocks[b as usize].term {
            Terminator::Goto(t) => out.push((*t, state)),
            Terminator::Switch(ts) => {
                for t in ts {
                    out.push((*t, state.clone()));
                }
            }
            Terminator::Return(v) => {
                if self.record {
                    let v = match *v {
                        // An errno local of unknown value (`return err;`)
                        // returns an error when it is not zero.
                        RetVal::Var(var) => match state.var(var) {
                            RetVal::Unknown if self.nonzero_value(var) == RetVal::Error => RetVal::ErrorOrZero,
                            known => known,
                        },
                        other => other,
                    };
                    self.exits.push((v, state));
                    self.exit_at.push(blocks[b as usize].at);
                    self.exit_var.push(match blocks[b as usize].term {
                        Terminator::Return(RetVal::Var(var)) => Some(var),
                        _ => None,
                    });
                }
            }
            Terminator::Unreachable => {}
            Terminator::Branch { cond, then, otherwise } => match *cond {
                Cond::Param(i) if self.assumed(i).is_some() => {
                    let taken = if self.assumed(i) == Some(true) { *then } else { *otherwise };
                    out.push((taken, state));
                }
                Cond::CallResult { block, event, var, text } => {
                    let mut then_state = state.clone();
                    let mut else_state = state;
                    if let Some(h) = text {
                        then_state.learn(CondKey::Expr(h), true);
                        else_state.learn(CondKey::Expr(h), false);
                    }
                    if let Some(var) = var {
                        then_state.set_var(var, self.nonzero_value(var));
                        then_state.learn(CondKey::Var(var), true);
                        else_state.set_var(var, RetVal::Zero);
                        else_state.learn(CondKey::Var(var), false);
                    }
                    if let Some(Event::Call(call)) =
                        blocks.get(block as usize).and_then(|blk| blk.events.get(event as usize))
                    {
                        self.branch_on_call(call, &mut then_state, &mut else_state);
                    }
                    out.push((*then, then_state));
                    out.push((*otherwise, else_state));
                }
                // A local of known value takes one edge; otherwise each edge
                // learns the value.
                Cond::Var(var) => match state.var(var) {
                    RetVal::Zero => out.push((*otherwise, state)),
                    RetVal::NonZero | RetVal::Error => out.push((*then, state)),
                    _ => {
                        let mut then_state = state.clone();
                        then_state.set_var(var, self.nonzero_value(var));
                        then_state.learn(CondKey::Var(var), true);
                        let mut else_state = state;
                        else_state.set_var(var, RetVal::Zero);
                        else_state.learn(CondKey::Var(var), false);
                        out.push((*then, then_state));
                        out.push((*otherwise, else_state));
                    }
                },
                Cond::Param(i) => self.branch_learning(&mut out, CondKey::Param(i), *then, *otherwise, state),
                Cond::Expr(h) => self.branch_learning(&mut out, CondKey::Expr(h), *then, *otherwise, state),
                Cond::Opaque => {
                    out.push((*then, state.clone()));
                    out.push((*otherwise, state));
                }
            },
        }
        out
    }
}

/// Blocks exactly one CFG edge enters (block 0 has the function's entry).
fn single_entry_blocks(blocks: &[crate::ir::Block]) -> Vec<bool> {
    let mut entries = vec![0u8; blocks.len()];
    if let Some(first) = entries.first_mut() {
        *first = 1;
    }
    let mut enter = |t: BlockId| {
        if let Some(e) = entries.get_mut(t as usize) {
            *e = e.saturating_add(1);
        }
    };
    for block in blocks {
        match &block.term {
            Terminator::Goto(t) => enter(*t),
            Terminator::Branch { then, otherwise, .. } => {
                enter(*then);
                enter(*otherwise);
            }
            Terminator::Switch(ts) => ts.iter().for_each(|t| enter(*t)),
            Terminator::Return(_) | Terminator::Unreachable => {}
        }
    }
    entries.into_iter().map(|e| e == 1).collect()
}

/// Each block's position in a reverse postorder of the CFG from block 0
/// (unreachable blocks last). Iterative: bodies can be deeply nested.
fn reverse_postorder(blocks: &[crate::ir::Block]) -> Vec<u32> {
    let n = blocks.len();
    let targets = |b: usize| -> SmallVec<[BlockId; 2]> {
        match &blocks[b].term {
            Terminator::Goto(t) => smallvec::smallvec![*t],
            Terminator::Branch { then, otherwise, .. } => smallvec::smallvec![*then, *otherwise],
            Terminator::Switch(ts) => ts.iter().copied().collect(),
            Terminator::Return(_) | Terminator::Unreachable => SmallVec::new(),
        }
    };
    let mut post: Vec<usize> = Vec::with_capacity(n);
    let mut seen = vec![false; n];
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)];
    seen[0] = true;
    while let Some((b, i)) = stack.pop() {
        let succ = targets(b);
        if let Some(&t) = succ.get(i) {
            stack.push((b, i + 1));
            let t = t as usize;
            if t < n && !seen[t] {
                seen[t] = true;
                stack.push((t, 0));
            }
        } else {
            post.push(b);
        }
    }
    let mut index = vec![u32::MAX; n];
    for (i, b) in post.iter().rev().enumerate() {
        index[*b] = i as u32;
    }
    index
}

impl Analyzer<'_, '_> {
    /// `keep_first` for the sleep effect, with the sections it had left.
    pub(super) fn keep_first_sleep(
        &mut self,
        effect: Effect,
        sections_left: u16,
        released_params: Vec<(ClassId, LockRef)>,
    ) {
        let replaces = self.sleep.as_ref().is_none_or(|s| s.chain.first_site() > effect.chain.first_site());
        if replaces {
            self.sleep = Some(effect);
            self.sleep_sections_left = sections_left;
            self.sleep_released_params = released_params;
        }
    }
}

/// The caller's locks released so far that a caller can name through this
/// function's parameters.
pub(super) fn released_params(state: &State) -> Vec<(ClassId, LockRef)> {
    state.released.iter().filter(|(_, l)| matches!(l.base, Base::Param(_))).cloned().collect()
}

/// Keeps the effect that happens first in the function (by source
/// position): the witness a developer reads is the first place it goes wrong.
fn keep_first(slot: &mut Option<Effect>, candidate: Effect) {
    match slot {
        Some(s) if s.chain.first_site() <= candidate.chain.first_site() => {}
        _ => *slot = Some(candidate),
    }
}

/// The class a primitive's lock expression names in `file`, and whether it
/// is weak (the expression's type is unknown).
fn class_name_of(
    prog: &Program,
    model: &Model,
    file: crate::index::FileId,
    prim: Option<&LockPrim>,
    lock: &LockRef,
) -> (String, bool) {
    let (mut name, weak) = match prim.and_then(|p| p.class.as_deref()) {
        Some(fixed) => (model.canonical_class(fixed).to_string(), false),
        None => {
            let (name, weak) = prog.class_name(lock, file);
            (model.canonical_class(&name).to_string(), weak)
        }
    };
    // `init_mm.mmap_lock` is statically initialised: a class of its own.
    if let Base::Global(g) = lock.base {
        let object = prog.name(g);
        if model.own_class_objects.contains(object) {
            name = format!("{name}@{object}");
        }
    }
    (name, weak)
}

/// Classes whose objects are told apart (semaphores, page locks) or that
/// back off (ww_mutex), from every direct use of such a primitive in the
/// program, before any function is analysed: what a function concludes
/// about a class then does not depend on which other function happened to
/// be analysed first.
pub fn flag_classes(prog: &Program, model: &Model, classes: &mut super::classes::Classes) {
    flag_classes_of(prog, model, prog.class_flag_calls().iter(), classes);
}

/// `flag_classes` for some of the calls.
pub fn flag_classes_of<'c>(
    prog: &Program,
    model: &Model,
    calls: impl Iterator<Item = &'c (FuncId, Call)>,
    classes: &mut super::classes::Classes,
) {
    for (caller, call) in calls {
        let Callee::Named(sym) = call.callee else { continue };
        let Some(prim) = prog.primitive(model, sym) else { continue };
        let Some(p) = prim.lock_prim() else { continue };
        let lock = lock_arg(prim, call).cloned().unwrap_or(LockRef {
            base: Base::Unknown,
            base_ty: None,
            path: SmallVec::new(),
        });
        let (name, weak) = class_name_of(prog, model, prog.funcs[*caller as usize].file, Some(p), &lock);
        let class = classes.intern(&name, weak);
        if model.per_object_kinds.contains(&p.kind) {
            classes.mark_per_object(class);
        }
        if model.backoff_kinds.contains(&p.kind) {
            classes.mark_backoff(class);
        }
    }
}

fn lock_arg<'c>(prim: &Primitive, call: &'c Call) -> Option<&'c LockRef> {
    match prim {
        Primitive::Acquire(p)
        | Primitive::AcquireIfZero(p)
        | Primitive::TryLock(p)
        | Primitive::TryLockIfZero(p)
        | Primitive::Release(p)
        | Primitive::MayRelease(p)
        | Primitive::WaitsFor(p)
        | Primitive::AssertHeld(p) => lock_arg_of(p, call),
        _ => None,
    }
}

fn lock_arg_of<'c>(p: &LockPrim, call: &'c Call) -> Option<&'c LockRef> {
    match call.args.get(p.arg? as usize)? {
        Arg::Path(l, _) => Some(l),
        _ => None,
    }
}
