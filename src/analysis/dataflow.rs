//! Per-function forward dataflow over the lock-event CFG, with callee
//! summaries applied at calls. One run computes the function's own summary
//! and the observations the checks turn into findings.

use super::classes::{ClassId, Classes};
use super::held::{same_instance, HeldLock, State};
use super::summary::{Acquisition, Effect, ExitLock, FunctionSummary, MAX_ACQUISITIONS, MAX_WITNESS_DEPTH};
use super::witness::{Chain, Hop};
use crate::index::{FuncDef, FuncId, Program, Target};
use crate::ir::{
    AnnotationKind, Arg, Base, BlockId, Call, Callee, Cond, Event, LockRef, RetVal, Span, Sym, Terminator,
};
use crate::model::{LockPrim, Model, Primitive};
use smallvec::SmallVec;
use std::borrow::Cow;

/// What the dataflow saw that a check may report.
#[derive(Debug, Clone)]
pub enum Observation {
    /// A user-memory access that may fault, directly (`chain` is None) or in
    /// the callee `callee` at `site`, while `held` is held.
    FaultWhileHeld { held: HeldLock, site: Span, callee: Sym, chain: Option<Chain> },
    /// `class` acquired (blocking) at `site` while `held`, of the same class, is held.
    AcquireWhileHeld { held: HeldLock, site: Span, callee: Sym, chain: Option<Chain>, same_instance: bool },
}

pub struct Ctx<'a> {
    pub prog: &'a Program,
    pub model: &'a Model,
    pub summaries: &'a [FunctionSummary],
    pub classes: &'a mut Classes,
    /// Per function, the parameters its branches test (`if (try)`).
    pub tested_params: &'a [SmallVec<[u8; 2]>],
    /// Summaries of a function with one parameter fixed, for calls that pass
    /// a constant there: `futex_cleanup_begin(tsk, false)` locks plainly.
    pub specialized: &'a mut rustc_hash::FxHashMap<(FuncId, u8, bool), FunctionSummary>,
    /// Specialisation nests at most this deep (recursion guard).
    pub specialize_depth: u8,
}

impl<'a> Ctx<'a> {
    pub fn new(
        prog: &'a Program,
        model: &'a Model,
        summaries: &'a [FunctionSummary],
        classes: &'a mut Classes,
        tested_params: &'a [SmallVec<[u8; 2]>],
        specialized: &'a mut rustc_hash::FxHashMap<(FuncId, u8, bool), FunctionSummary>,
    ) -> Ctx<'a> {
        Ctx { prog, model, summaries, classes, tested_params, specialized, specialize_depth: 0 }
    }
}

/// Locks held and released on return, by return value: every return, the
/// returns of zero, the returns of non-zero. `None` when there is no such
/// return. Compared under `param = true` and `param = false` for
/// conditional-locking.
#[derive(Debug, PartialEq, Eq, Default)]
pub struct ExitShape {
    pub parts: [Option<ExitPart>; 3],
}

#[derive(Debug, PartialEq, Eq, Default, Clone)]
pub struct ExitPart {
    pub held: Vec<(ClassId, bool)>,
    pub released: Vec<ClassId>,
}

impl ExitShape {
    /// The classes whose state on return differs between the two shapes.
    pub fn differing(&self, other: &ExitShape) -> Vec<ClassId> {
        let mut out = Vec::new();
        for (a, b) in self.parts.iter().zip(&other.parts) {
            let (Some(a), Some(b)) = (a, b) else { continue };
            for (c, t) in a.held.iter().chain(&b.held) {
                if !(a.held.contains(&(*c, *t)) && b.held.contains(&(*c, *t))) {
                    out.push(*c);
                }
            }
            for c in a.released.iter().chain(&b.released) {
                if !(a.released.contains(c) && b.released.contains(c)) {
                    out.push(*c);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

pub struct Outcome {
    pub summary: FunctionSummary,
    pub observations: Vec<Observation>,
    pub exit_shape: ExitShape,
}

struct Analyzer<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    id: FuncId,
    def: &'a FuncDef,
    /// Parameter `.0` is assumed to be `.1` at every branch on it.
    assume: Option<(u8, bool)>,
    record: bool,
    observations: Vec<Observation>,
    fault: Option<Effect>,
    sleep: Option<Effect>,
    acquires: Vec<Acquisition>,
    exits: Vec<(RetVal, State)>,
    /// Calls whose result a branch tests.
    tested_calls: rustc_hash::FxHashSet<(BlockId, u32)>,
}

pub fn analyze(ctx: &mut Ctx<'_>, id: FuncId, assume: Option<(u8, bool)>) -> Outcome {
    let def = &ctx.prog.funcs[id as usize];
    let mut a = Analyzer {
        ctx,
        id,
        def,
        assume,
        record: false,
        observations: Vec::new(),
        fault: None,
        sleep: None,
        acquires: Vec::new(),
        exits: Vec::new(),
        tested_calls: def
            .func
            .blocks
            .iter()
            .filter_map(|b| match b.term {
                Terminator::Branch { cond: Cond::CallResult { block, event }, .. } => Some((block, event)),
                _ => None,
            })
            .collect(),
    };
    a.run();
    a.finish()
}

/// Scalar parameters some branch tests directly (`if (try)`). Pointer
/// parameters are left out: `if (ctx) raw_spin_lock(&ctx->lock)` guards
/// against a missing object, it does not choose a locking rule.
pub fn tested_params(def: &FuncDef) -> Vec<u8> {
    let mut out: Vec<u8> = def
        .func
        .blocks
        .iter()
        .filter_map(|b| match b.term {
            Terminator::Branch { cond: Cond::Param(i), .. } => Some(i),
            _ => None,
        })
        .filter(|&i| def.func.params.get(i as usize).is_some_and(|p| !p.pointer))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

impl<'c, 'a> Analyzer<'c, 'a> {
    fn file(&self) -> u32 {
        self.def.file
    }

    fn run(&mut self) {
        let blocks = &self.def.func.blocks;
        let n = blocks.len();
        let mut inn: Vec<Option<State>> = vec![None; n];
        inn[0] = Some(self.entry_state());
        let mut work: Vec<BlockId> = vec![0];
        let mut queued = vec![false; n];
        queued[0] = true;
        let mut budget = n.saturating_mul(64) + 1024;
        while let Some(b) = work.pop() {
            queued[b as usize] = false;
            budget = budget.saturating_sub(1);
            if budget == 0 {
                break;
            }
            let Some(mut state) = inn[b as usize].clone() else {
                continue;
            };
            self.transfer_block(b, &mut state);
            for (succ, edge) in self.successors(b, state) {
                let slot = &mut inn[succ as usize];
                let changed = match slot {
                    None => {
                        *slot = Some(edge);
                        true
                    }
                    Some(s) => s.meet(&edge),
                };
                if changed && !queued[succ as usize] {
                    queued[succ as usize] = true;
                    work.push(succ);
                }
            }
        }
        // Final pass over the fixed point: observations and summary effects.
        self.record = true;
        for (b, state) in inn.into_iter().enumerate() {
            let Some(mut state) = state else { continue };
            self.transfer_block(b as BlockId, &mut state);
            let _ = self.successors(b as BlockId, state);
        }
    }

    fn entry_state(&mut self) -> State {
        let mut state = State::default();
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
        HeldLock { class, lock, mode, recursive_read, trylock, site, taker, via, exported }
    }

    fn transfer_block(&mut self, b: BlockId, state: &mut State) {
        let def = self.def;
        for (i, event) in def.func.blocks[b as usize].events.iter().enumerate() {
            match event {
                Event::Call(call) => {
                    let tested = self.tested_calls.contains(&(b, i as u32));
                    self.call(state, call, tested);
                }
                Event::GuardEnter { guard, lock, span } => {
                    if let Some((sym, prim)) = self.guard_primitive(*guard) {
                        self.primitive(state, prim, sym, lock.as_ref(), *span, false);
                    }
                }
                Event::GuardExit { guard, lock, .. } => {
                    if let Some((
                        _,
                        Primitive::Acquire(p)
                        | Primitive::AcquireIfZero(p)
                        | Primitive::TryLock(p)
                        | Primitive::TryLockIfZero(p),
                    )) = self.guard_primitive(*guard)
                    {
                        let (class, lock) = self.class_of(Some(p), lock.as_ref());
                        state.release(class, &lock);
                    }
                }
            }
        }
    }

    fn guard_primitive(&self, guard: Sym) -> Option<(Sym, &'a Primitive)> {
        let prog: &'a Program = self.ctx.prog;
        let model: &'a Model = self.ctx.model;
        let prim_sym = *prog.guards.get(&guard)?;
        Some((prim_sym, prog.primitive(model, prim_sym)?))
    }

    /// `tested`: a branch tests this call's result, so a conditional
    /// acquisition is applied on the branch's edge instead of here.
    fn call(&mut self, state: &mut State, call: &Call, tested: bool) {
        let Callee::Named(sym) = call.callee else {
            return;
        };
        let prog: &'a Program = self.ctx.prog;
        match prog.resolve_call(sym, self.file()) {
            Target::Primitive(p) => {
                let Some(prim) = prog.primitive(self.ctx.model, p) else {
                    return;
                };
                let arg = lock_arg(prim, call);
                self.primitive(state, prim, sym, arg, call.span, tested);
            }
            Target::Functions(ids) => {
                let summary = self.summary_for(&ids, call);
                self.apply_summary(state, &summary, call, sym, tested);
            }
            Target::Unknown => {}
        }
    }

    /// The callee's summary for this call: specialised when the call passes
    /// a constant to a parameter the callee branches on.
    fn summary_for(&mut self, ids: &[FuncId], call: &Call) -> Cow<'a, FunctionSummary> {
        if let [callee] = ids {
            let tested: &'a [SmallVec<[u8; 2]>] = self.ctx.tested_params;
            let fixed =
                tested.get(*callee as usize).into_iter().flatten().find_map(|&p| match call.args.get(p as usize) {
                    Some(Arg::Const(c)) => Some((p, *c != 0)),
                    _ => None,
                });
            if let Some((p, v)) = fixed.filter(|_| self.ctx.specialize_depth < 2 && *callee != self.id) {
                let key = (*callee, p, v);
                if let Some(s) = self.ctx.specialized.get(&key) {
                    return Cow::Owned(s.clone());
                }
                self.ctx.specialize_depth += 1;
                let summary = analyze(self.ctx, *callee, Some((p, v))).summary;
                self.ctx.specialize_depth -= 1;
                self.ctx.specialized.insert(key, summary.clone());
                return Cow::Owned(summary);
            }
        }
        self.merged(ids)
    }

    fn merged(&self, ids: &[FuncId]) -> Cow<'a, FunctionSummary> {
        let summaries: &'a [FunctionSummary] = self.ctx.summaries;
        match ids {
            [one] => Cow::Borrowed(&summaries[*one as usize]),
            many => {
                let mut s = FunctionSummary::default();
                for id in many {
                    s.merge(&summaries[*id as usize]);
                }
                Cow::Owned(s)
            }
        }
    }

    fn class_of(&mut self, prim: Option<&LockPrim>, lock: Option<&LockRef>) -> (ClassId, LockRef) {
        let (class, lock) = self.class_of_expr(prim, lock);
        if let Some(p) = prim {
            if self.ctx.model.atomic_kinds.contains(&p.kind) {
                self.ctx.classes.mark_atomic(class);
            }
            if self.ctx.model.per_object_kinds.contains(&p.kind) {
                self.ctx.classes.mark_per_object(class);
            }
        }
        (class, lock)
    }

    fn class_of_expr(&mut self, prim: Option<&LockPrim>, lock: Option<&LockRef>) -> (ClassId, LockRef) {
        let lock = lock.cloned().unwrap_or(LockRef { base: Base::Unknown, base_ty: None, path: SmallVec::new() });
        if let Some(fixed) = prim.and_then(|p| p.class.as_deref()) {
            let name = self.ctx.model.canonical_class(fixed).to_string();
            return (self.ctx.classes.intern(&name, false), lock);
        }
        let (name, weak) = self.ctx.prog.class_name(&lock, self.file());
        let name = self.ctx.model.canonical_class(&name).to_string();
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
                let (class, lock) = self.class_of(Some(p), arg);
                let recursive_read = self.ctx.model.recursive_read_kinds.contains(&p.kind);
                if self.record {
                    self.check_acquire(state, class, &lock, p.mode, recursive_read, p.nested, span, callee, None, &[]);
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
                    state.add(self.held(class, lock, p.mode, recursive_read, false, span, callee, None, true));
                }
            }
            Primitive::Release(p) | Primitive::MayRelease(p) => {
                let (class, lock) = self.class_of(Some(p), arg);
                state.release(class, &lock);
            }
            Primitive::AssertHeld(p) => {
                let (class, lock) = self.class_of(Some(p), arg);
                if !state.held.iter().any(|h| h.class == class) {
                    let recursive_read = self.ctx.model.recursive_read_kinds.contains(&p.kind);
                    state.add(self.held(class, lock, p.mode, recursive_read, false, span, callee, None, false));
                }
            }
            Primitive::Fault => {
                if state.pagefault_disabled == 0 && self.record {
                    self.check_fault(state, span, callee, None, &[]);
                    let effect = Effect {
                        chain: Chain::new(self.hop(span, callee), None),
                        released_before: state.released_classes(),
                    };
                    keep_first(&mut self.fault, effect);
                }
            }
            Primitive::Sleep => {
                if self.record {
                    let effect = Effect {
                        chain: Chain::new(self.hop(span, callee), None),
                        released_before: state.released_classes(),
                    };
                    keep_first(&mut self.sleep, effect);
                }
            }
            Primitive::PagefaultDisable => state.pagefault_disabled = state.pagefault_disabled.saturating_add(1),
            Primitive::PagefaultEnable => state.pagefault_disabled = state.pagefault_disabled.saturating_sub(1),
            Primitive::TryLock(_) | Primitive::TryLockIfZero(_) | Primitive::NoFault | Primitive::Neutral => {}
        }
    }

    fn hop(&self, span: Span, callee: Sym) -> Hop {
        Hop { func: self.id, span, callee }
    }

    /// `tested`: a branch tests the result, so releases that depend on it
    /// are applied on the branch's edges.
    fn apply_summary(&mut self, state: &mut State, summary: &FunctionSummary, call: &Call, callee: Sym, tested: bool) {
        if self.record {
            if let Some(fault) = summary.fault.as_ref().filter(|f| f.chain.len() < MAX_WITNESS_DEPTH) {
                if state.pagefault_disabled == 0 {
                    self.check_fault(state, call.span, callee, Some(&fault.chain), &fault.released_before);
                    let mut released_before = state.released_classes();
                    released_before.extend(fault.released_before.iter().copied());
                    let chain = Chain::new(self.hop(call.span, callee), Some(fault.chain.clone()));
                    keep_first(&mut self.fault, Effect { chain, released_before });
                }
            }
            if let Some(sleep) = summary.sleep.as_ref().filter(|f| f.chain.len() < MAX_WITNESS_DEPTH) {
                let chain = Chain::new(self.hop(call.span, callee), Some(sleep.chain.clone()));
                keep_first(&mut self.sleep, Effect { chain, released_before: state.released_classes() });
            }
            for acq in summary.acquires.iter().filter(|a| a.effect.chain.len() < MAX_WITNESS_DEPTH) {
                let (class, lock) = self.map_exit(acq.class, &acq.lock, call);
                self.check_acquire(
                    state,
                    class,
                    &lock,
                    acq.mode,
                    acq.recursive_read,
                    acq.nested,
                    call.span,
                    callee,
                    Some(&acq.effect.chain),
                    &acq.effect.released_before,
                );
                let mut released_before = state.released_classes();
                released_before.extend(acq.effect.released_before.iter().copied());
                let chain = Chain::new(self.hop(call.span, callee), Some(acq.effect.chain.clone()));
                self.record_acquisition(Acquisition {
                    class,
                    lock,
                    mode: acq.mode,
                    recursive_read: acq.recursive_read,
                    nested: acq.nested,
                    effect: Effect { chain, released_before },
                });
            }
        }
        let untested_may =
            if tested { None } else { Some(summary.may_release_if_nonzero.iter().chain(&summary.may_release_if_zero)) };
        for (class, lock) in summary.exit_releases.iter().chain(untested_may.into_iter().flatten()) {
            let (class, lock) = self.map_exit(*class, lock, call);
            state.release(class, &lock);
        }
        for exit in &summary.exit_acquires {
            self.add_exit_lock(state, exit, call, callee);
        }
    }

    fn add_exit_lock(&mut self, state: &mut State, exit: &ExitLock, call: &Call, callee: Sym) {
        let (class, lock) = self.map_exit(exit.class, &exit.lock, call);
        state.add(self.held(
            class,
            lock,
            exit.mode,
            exit.recursive_read,
            exit.trylock,
            call.span,
            callee,
            exit.via.clone(),
            true,
        ));
    }

    /// A callee's lock in the caller's frame: `Param(0)->lock` becomes the
    /// caller's first argument's `->lock`; weak classes are re-resolved with
    /// the caller's better type knowledge.
    fn map_exit(&mut self, class: ClassId, lock: &LockRef, call: &Call) -> (ClassId, LockRef) {
        let mapped = match lock.base {
            Base::Param(i) => match call.args.get(i as usize) {
                Some(Arg::Path(arg, addr_of)) => {
                    let mut m = arg.clone();
                    let start = m.path.len();
                    m.path.extend(lock.path.iter().copied());
                    if *addr_of && !arg.path.is_empty() {
                        if let Some(seg) = m.path.get_mut(start) {
                            seg.arrow = false;
                        }
                    }
                    m
                }
                _ => LockRef { base: Base::Unknown, base_ty: None, path: lock.path.clone() },
            },
            Base::Global(_) => lock.clone(),
            Base::Local(_) | Base::Unknown => LockRef { base: Base::Unknown, base_ty: None, path: lock.path.clone() },
        };
        // Through a parameter the caller names the object better: a callee's
        // `wait_queue_head::lock` is the caller's `foo_dev::wq.lock`, as
        // lockdep keys a lock by where its object is initialised.
        let through_param = matches!(lock.base, Base::Param(_)) && mapped.base != Base::Unknown;
        if !through_param && !self.ctx.classes.is_weak(class) {
            return (class, mapped);
        }
        let (name, weak) = self.ctx.prog.class_name(&mapped, self.file());
        if weak {
            return (class, mapped);
        }
        let name = self.ctx.model.canonical_class(&name).to_string();
        (self.ctx.classes.intern(&name, false), mapped)
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
        if state.held.iter().any(|h| self.ctx.classes.is_atomic(h.class) && !released_before.contains(&h.class)) {
            return;
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
        if nested || released_before.contains(&class) {
            return;
        }
        for held in &state.held {
            if held.class != class {
                continue;
            }
            let same = same_instance(&held.lock, lock);
            if (self.ctx.classes.is_weak(class) || self.ctx.classes.is_per_object(class)) && !same {
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
        let def = self.def;
        let mut out = SmallVec::new();
        match &def.func.blocks[b as usize].term {
            Terminator::Goto(t) => out.push((*t, state)),
            Terminator::Switch(ts) => {
                for t in ts {
                    out.push((*t, state.clone()));
                }
            }
            Terminator::Return(v) => {
                if self.record {
                    self.exits.push((*v, state));
                }
            }
            Terminator::Unreachable => {}
            Terminator::Branch { cond, then, otherwise } => match *cond {
                Cond::Param(i) if self.assume.is_some_and(|(p, _)| p == i) => {
                    let taken = if self.assume.is_some_and(|(_, v)| v) { *then } else { *otherwise };
                    out.push((taken, state));
                }
                Cond::CallResult { block, event } => {
                    let mut then_state = state.clone();
                    let mut else_state = state;
                    if let Some(Event::Call(call)) =
                        def.func.blocks.get(block as usize).and_then(|blk| blk.events.get(event as usize))
                    {
                        self.branch_on_call(call, &mut then_state, &mut else_state);
                    }
                    out.push((*then, then_state));
                    out.push((*otherwise, else_state));
                }
                _ => {
                    out.push((*then, state.clone()));
                    out.push((*otherwise, state));
                }
            },
        }
        out
    }

    fn branch_on_call(&mut self, call: &Call, nonzero: &mut State, zero: &mut State) {
        let Callee::Named(sym) = call.callee else {
            return;
        };
        let prog: &'a Program = self.ctx.prog;
        match prog.resolve_call(sym, self.file()) {
            Target::Primitive(p) => {
                let (tl, on_zero, trylock) = match prog.primitive(self.ctx.model, p) {
                    Some(Primitive::TryLock(tl)) => (tl, false, true),
                    Some(Primitive::TryLockIfZero(tl)) => (tl, true, true),
                    Some(Primitive::AcquireIfZero(tl)) => (tl, true, false),
                    _ => return,
                };
                let (class, lock) = self.class_of(Some(tl), lock_arg_of(tl, call));
                let recursive_read = self.ctx.model.recursive_read_kinds.contains(&tl.kind);
                let held = self.held(class, lock, tl.mode, recursive_read, trylock, call.span, sym, None, true);
                if on_zero {
                    zero.add(held);
                } else {
                    nonzero.add(held);
                }
            }
            Target::Functions(ids) => {
                let summary = self.summary_for(&ids, call);
                for exit in &summary.acquires_if_nonzero {
                    self.add_exit_lock(nonzero, exit, call, sym);
                }
                for exit in &summary.acquires_if_zero {
                    self.add_exit_lock(zero, exit, call, sym);
                }
                for (state, released) in
                    [(nonzero, &summary.may_release_if_nonzero), (zero, &summary.may_release_if_zero)]
                {
                    for (class, lock) in released {
                        let (class, lock) = self.map_exit(*class, lock, call);
                        state.release(class, &lock);
                    }
                }
            }
            Target::Unknown => {}
        }
    }

    fn finish(self) -> Outcome {
        let exported = |s: &State| -> Vec<HeldLock> { s.held.iter().filter(|h| h.exported).cloned().collect() };
        let intersect = |sets: &mut dyn Iterator<Item = Vec<HeldLock>>| -> Vec<HeldLock> {
            let mut acc: Option<Vec<HeldLock>> = None;
            for set in sets {
                acc = Some(match acc {
                    None => set,
                    Some(prev) => prev
                        .into_iter()
                        .filter(|h| set.iter().any(|o| o.class == h.class && o.lock == h.lock))
                        .collect(),
                });
            }
            acc.unwrap_or_default()
        };
        let all = intersect(&mut self.exits.iter().map(|(_, s)| exported(s)));
        let nonzero = intersect(&mut self.exits.iter().filter(|(v, _)| *v != RetVal::Zero).map(|(_, s)| exported(s)));
        let zero = intersect(&mut self.exits.iter().filter(|(v, _)| *v != RetVal::NonZero).map(|(_, s)| exported(s)));
        let has = |v: RetVal| self.exits.iter().any(|(r, _)| *r == v);
        let func = self.id;
        let to_exit = |h: &HeldLock| ExitLock {
            class: h.class,
            lock: exportable(&h.lock),
            mode: h.mode,
            recursive_read: h.recursive_read,
            trylock: h.trylock,
            via: Some(Chain::new(Hop { func, span: h.site, callee: h.taker }, h.via.clone())),
        };
        let minus = |set: &[HeldLock]| -> Vec<ExitLock> {
            set.iter().filter(|h| !all.iter().any(|a| a.class == h.class)).map(to_exit).collect()
        };
        let released_in = |filter: &dyn Fn(RetVal) -> bool| -> Option<Vec<(ClassId, LockRef)>> {
            let mut acc: Option<Vec<(ClassId, LockRef)>> = None;
            for (_, s) in self.exits.iter().filter(|(v, _)| filter(*v)) {
                let cur: Vec<_> = s.released.iter().map(|(c, l)| (*c, exportable(l))).collect();
                acc = Some(match acc {
                    None => cur,
                    Some(prev) => prev.into_iter().filter(|(c, _)| cur.iter().any(|(o, _)| o == c)).collect(),
                });
            }
            acc
        };
        let part = |filter: &dyn Fn(RetVal) -> bool| -> Option<ExitPart> {
            if !self.exits.iter().any(|(v, _)| filter(*v)) {
                return None;
            }
            let held = intersect(&mut self.exits.iter().filter(|(v, _)| filter(*v)).map(|(_, s)| exported(s)));
            let mut part = ExitPart {
                held: held.iter().map(|h| (h.class, h.trylock)).collect(),
                // Only a release of a lock the caller can name (a parameter's
                // or a global) is part of the function's locking contract.
                released: released_in(filter)
                    .into_iter()
                    .flatten()
                    .filter(|(_, l)| matches!(l.base, Base::Param(_) | Base::Global(_)))
                    .map(|(c, _)| c)
                    .collect(),
            };
            part.held.sort_unstable();
            part.held.dedup();
            part.released.sort_unstable();
            part.released.dedup();
            Some(part)
        };
        let exit_shape =
            ExitShape { parts: [part(&|_| true), part(&|v| v == RetVal::Zero), part(&|v| v == RetVal::NonZero)] };
        let released = released_in(&|_| true);
        let union_released = |filter: &dyn Fn(RetVal) -> bool| -> Vec<(ClassId, LockRef)> {
            let mut out: Vec<(ClassId, LockRef)> = Vec::new();
            for (_, s) in self.exits.iter().filter(|(v, _)| filter(*v)) {
                for (c, l) in &s.released {
                    let always = released.iter().flatten().any(|(r, _)| r == c);
                    if !always && !out.iter().any(|(o, _)| o == c) {
                        out.push((*c, exportable(l)));
                    }
                }
            }
            out
        };
        let may_release_if_nonzero = union_released(&|v| v != RetVal::Zero);
        let may_release_if_zero = union_released(&|v| v != RetVal::NonZero);
        let mut summary = FunctionSummary {
            fault: self.fault,
            sleep: self.sleep,
            acquires: self.acquires,
            exit_acquires: all.iter().map(to_exit).collect(),
            acquires_if_nonzero: if has(RetVal::Zero) { minus(&nonzero) } else { Vec::new() },
            acquires_if_zero: if has(RetVal::NonZero) { minus(&zero) } else { Vec::new() },
            exit_releases: released.unwrap_or_default(),
            may_release_if_nonzero,
            may_release_if_zero,
        };
        apply_annotations(self.ctx, self.def, &mut summary);
        Outcome { summary, observations: self.observations, exit_shape }
    }
}

/// `__acquires(x)` / `__releases(x)` state what the body may hide (asm,
/// unknown macros): trust them where the body analysis found nothing.
fn apply_annotations(ctx: &mut Ctx<'_>, def: &FuncDef, summary: &mut FunctionSummary) {
    for ann in &def.func.annotations {
        let (name, weak) = ctx.prog.class_name(&ann.lock, def.file);
        let class = ctx.classes.intern(ctx.model.canonical_class(&name), weak);
        match ann.kind {
            AnnotationKind::Acquires => {
                let known = summary
                    .exit_acquires
                    .iter()
                    .chain(&summary.acquires_if_nonzero)
                    .chain(&summary.acquires_if_zero)
                    .any(|e| e.class == class);
                if !known {
                    summary.exit_acquires.push(ExitLock {
                        class,
                        lock: exportable(&ann.lock),
                        mode: crate::model::Mode::Exclusive,
                        recursive_read: false,
                        trylock: false,
                        via: None,
                    });
                }
            }
            AnnotationKind::Releases => {
                if !summary.exit_releases.iter().any(|(c, _)| *c == class) {
                    summary.exit_releases.push((class, exportable(&ann.lock)));
                }
            }
            AnnotationKind::MustHold => {}
        }
    }
}

/// Only parameters and globals mean something to a caller.
fn exportable(lock: &LockRef) -> LockRef {
    match lock.base {
        Base::Param(_) | Base::Global(_) => lock.clone(),
        _ => LockRef { base: Base::Unknown, base_ty: None, path: lock.path.clone() },
    }
}

/// Keeps the effect that happens first in the function (by source
/// position): the witness a developer reads is the first place it goes wrong.
fn keep_first(slot: &mut Option<Effect>, candidate: Effect) {
    match slot {
        Some(s) if s.chain.first_site() <= candidate.chain.first_site() => {}
        _ => *slot = Some(candidate),
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
