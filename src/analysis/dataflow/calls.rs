//! Calls: resolving a call to primitives or callee summaries (specialised
//! for constant arguments) and applying them in the caller's frame.

use super::*;

impl<'a> Analyzer<'_, 'a> {
    /// `tested`: a branch tests this call's result, so a conditional
    /// acquisition is applied on the branch's edge instead of here.
    pub(super) fn call(&mut self, state: &mut State, call: &Call, tested: bool) {
        let Callee::Named(sym) = call.callee else {
            return;
        };
        let prog: &'a Program = self.ctx.prog;
        let target = match self.def.func.params.iter().position(|p| p.name == sym) {
            // A call through a function-pointer parameter goes where the
            // caller's argument points, when this run knows it.
            Some(i) => match self.bind {
                Some((p, f)) if p as usize == i => Target::Functions(smallvec::smallvec![f]),
                _ => Target::Unknown,
            },
            None => prog.resolve_call(sym, self.file()),
        };
        match target {
            Target::Primitive(p) => {
                let Some(prim) = prog.primitive(self.ctx.model, p) else {
                    return;
                };
                if let Primitive::SleepIfGfp(n) = prim {
                    if gfp_may_sleep(self.ctx.prog, call.args.get(*n as usize)) {
                        self.sleep_here(state, call.span, sym);
                    }
                }
                let arg = lock_arg(prim, call);
                self.primitive(state, prim, sym, arg, call.span, tested);
            }
            Target::Functions(ids) => {
                let summary = self.summary_for(&ids, call, state.nonnull_params);
                self.apply_summary(state, &summary, call, sym, tested);
            }
            Target::Unknown => {}
        }
        forget_out_params(state, call);
    }

    /// The callee's summary for this call: specialised when the call passes
    /// a constant to a parameter the callee branches on.
    /// `nonnull`: the caller's parameters known not to be NULL here (bit i).
    fn summary_for(&mut self, ids: &[FuncId], call: &Call, nonnull: u16) -> Cow<'a, FunctionSummary> {
        if let [callee] = ids {
            let tested: &'a [SmallVec<[u8; 2]>] = self.ctx.tested_params;
            // Every constant passed to a parameter the callee can be
            // specialised on, together.
            let (mut mask, mut values) = (0u16, 0u16);
            for &p in tested.get(*callee as usize).into_iter().flatten() {
                let value = match call.args.get(p as usize) {
                    Some(Arg::Const(c)) => Some(*c != 0),
                    // `&freed` is never NULL.
                    Some(Arg::Path(_, true)) => Some(true),
                    // A parameter this run fixed, passed on.
                    Some(Arg::Path(l, false)) if l.path.is_empty() => match l.base {
                        Base::Param(a) => self.assumed(a).or_else(|| {
                            let bit = 1u16.checked_shl(u32::from(a))?;
                            (nonnull & bit != 0).then_some(true)
                        }),
                        _ => None,
                    },
                    _ => None,
                };
                if let (Some(v), Some(bit)) = (value, 1u16.checked_shl(u32::from(p))) {
                    mask |= bit;
                    if v {
                        values |= bit;
                    }
                }
            }
            let fixed = (mask != 0).then_some(Specialization::Const { mask, values });
            let called: &'a [SmallVec<[u8; 2]>] = self.ctx.called_params;
            let prog: &'a Program = self.ctx.prog;
            let callback = called
                .get(*callee as usize)
                .into_iter()
                .flatten()
                .find_map(|&p| Some(Specialization::Callback(p, callback_arg(prog, call, p, self.file())?)));
            let fixed = fixed.or(callback);
            if let Some(spec) = fixed.filter(|_| self.ctx.specialize_depth < 2 && *callee != self.id) {
                let key = (*callee, spec);
                if let Some(s) = self.ctx.specialized.get(&key) {
                    return Cow::Owned(s.clone());
                }
                self.ctx.specialize_depth += 1;
                let entry = specialized_entry(self.ctx, *callee, spec);
                self.ctx.specialize_depth -= 1;
                let summary = entry.summary.clone();
                self.ctx.specialized.insert(key, entry);
                return Cow::Owned(summary);
            }
        }
        self.merged(ids)
    }

    fn merged(&self, ids: &[FuncId]) -> Cow<'a, FunctionSummary> {
        let summaries: &'a crate::analysis::summary::SummaryView<'a> = self.ctx.summaries;
        match ids {
            [one] => Cow::Borrowed(&summaries[*one as usize]),
            many => {
                let mut s = summaries[many[0] as usize].clone();
                for id in &many[1..] {
                    s.merge(&summaries[*id as usize]);
                }
                Cow::Owned(s)
            }
        }
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
                let left = summary.sleep_sections_left;
                // Locks the callee dropped through a parameter, in this frame.
                let mapped: Vec<(ClassId, LockRef)> =
                    summary.sleep_released_params.iter().map(|(c, l)| self.map_exit(*c, l, call)).collect();
                let mut dropped = sleep.released_before.clone();
                dropped.extend(mapped.iter().map(|(c, _)| *c));
                self.check_sleep(state, call.span, callee, Some(&sleep.chain), &dropped, left);
                let chain = Chain::new(self.hop(call.span, callee), Some(sleep.chain.clone()));
                // The caller's locks the callee drops before it sleeps stay
                // dropped for the callers above, as for faults.
                let mut released_before = state.released_classes();
                released_before.extend(dropped.iter().copied());
                let left = left.saturating_sub(state.no_sleep).saturating_add(state.caller_left);
                let mut params = released_params(state);
                params.extend(mapped.into_iter().filter(|(_, l)| matches!(l.base, Base::Param(_))));
                self.keep_first_sleep(Effect { chain, released_before }, left, params);
            }
            let (hard_on, soft_on) = (state.hardirqs_on(), state.softirqs_on());
            for u in summary.irq_uses.iter().filter(|u| u.chain.len() < MAX_WITNESS_DEPTH) {
                let chain = Chain::new(self.hop(call.span, callee), Some(u.chain.clone()));
                self.record_irq_use(IrqUse {
                    hard_on: u.hard_on && hard_on,
                    soft_on: u.soft_on && soft_on,
                    chain,
                    ..u.clone()
                });
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
        for (class, lock) in &summary.exit_releases {
            // A callee that takes the lock itself may hand back a different
            // state than its summary can say: only a pure releasing helper
            // (`foo_unlock()`) releases for certain.
            let certain = !summary.acquires.iter().any(|a| a.class == *class);
            let (class, lock) = self.map_exit(*class, lock, call);
            self.release(state, class, &lock, call.span, callee, certain);
        }
        // Released on some returns, and the caller does not test which.
        if !tested {
            for (class, lock) in summary.may_release_if_nonzero.iter().chain(&summary.may_release_if_zero) {
                let (class, lock) = self.map_exit(*class, lock, call);
                self.release(state, class, &lock, call.span, callee, false);
            }
        }
        for exit in &summary.exit_acquires {
            self.add_exit_lock(state, exit, call, callee);
        }
        for (level, by) in
            [crate::model::IrqLevel::Hard, crate::model::IrqLevel::Soft].into_iter().zip(summary.exit_irqs_off)
        {
            if by != 0 {
                state.irqs_shift(level, i32::from(by));
            }
        }
    }

    fn add_exit_lock(&mut self, state: &mut State, exit: &ExitLock, call: &Call, callee: Sym) {
        let (class, lock) = self.map_exit(exit.class, &exit.lock, call);
        let mut held = self.held(
            class,
            lock,
            exit.mode,
            exit.recursive_read,
            exit.trylock,
            call.span,
            callee,
            exit.via.clone(),
            true,
        );
        held.atomic = exit.atomic;
        held.no_sleep = exit.no_sleep;
        held.irq = exit.irq;
        state.add(held);
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
            Base::Local(_) | Base::Stack(_) | Base::Unknown => {
                LockRef { base: Base::Unknown, base_ty: None, path: lock.path.clone() }
            }
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

    pub(super) fn branch_on_call(&mut self, call: &Call, nonzero: &mut State, zero: &mut State) {
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
                let mut held = self.held(class, lock, tl.mode, recursive_read, trylock, call.span, sym, None, true);
                held.atomic = self.ctx.model.atomic_kinds.contains(&tl.kind);
                held.no_sleep = self.ctx.model.no_sleep_kinds.contains(&tl.kind);
                held.irq = tl.irq;
                if on_zero {
                    zero.add(held);
                } else {
                    nonzero.add(held);
                }
            }
            Target::Functions(ids) => {
                let summary = self.summary_for(&ids, call, nonzero.nonnull_params & zero.nonnull_params);
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
                        self.release(state, class, &lock, call.span, sym, true);
                    }
                    forget_out_params(state, call);
                }
            }
            Target::Unknown => {}
        }
    }
}

/// Whether a GFP argument may block: a plain `GFP_KERNEL`-style mask. A mask
/// lockpath cannot read (an expression, a variable) is assumed not to.
fn gfp_may_sleep(prog: &Program, arg: Option<&Arg>) -> bool {
    let Some(Arg::Path(lock, _)) = arg else { return false };
    let (Base::Global(g), true) = (lock.base, lock.path.is_empty()) else { return false };
    matches!(
        prog.name(g),
        "GFP_KERNEL"
            | "GFP_NOFS"
            | "GFP_NOIO"
            | "GFP_USER"
            | "GFP_HIGHUSER"
            | "GFP_HIGHUSER_MOVABLE"
            | "GFP_KERNEL_ACCOUNT"
    )
}

/// The function a call passes as argument `p`, when it names exactly one.
pub fn callback_arg(prog: &Program, call: &Call, p: u8, file: crate::index::FileId) -> Option<FuncId> {
    let Some(Arg::Path(l, _)) = call.args.get(p as usize) else { return None };
    let (Base::Global(g), true) = (l.base, l.path.is_empty()) else { return None };
    callback_function(prog, g, file)
}

/// The one function a global name passed as an argument in `file` is.
pub fn callback_function(prog: &Program, g: crate::ir::Sym, file: crate::index::FileId) -> Option<FuncId> {
    match prog.resolve_call(g, file) {
        Target::Functions(fs) if fs.len() == 1 => Some(fs[0]),
        _ => None,
    }
}

/// `f(.., &p)` may store another object in `p`: what the caller knew about
/// locks through `p` is about the old one.
fn forget_out_params(state: &mut State, call: &Call) {
    for arg in call.args.iter() {
        if let Arg::Path(l, true) = arg {
            if l.path.is_empty() && matches!(l.base, Base::Local(_) | Base::Param(_)) {
                state.reassigned(l.base);
            }
        }
    }
}

/// The summary of `callee` with `spec` fixed, as the specialised-summary
/// cache keeps it (with what a callback run observed).
pub(crate) fn specialized_entry(ctx: &mut super::Ctx<'_>, callee: FuncId, spec: Specialization) -> super::SpecEntry {
    let out = analyze_specialized(ctx, callee, Some(spec));
    let observations = match spec {
        Specialization::Callback(..) => {
            out.observations.into_iter().filter(|o| !matches!(o, Observation::Imbalance(_))).collect()
        }
        Specialization::Const { .. } => Vec::new(),
    };
    let mut summary = out.summary;
    summary.shrink();
    super::SpecEntry { summary, observations, depth: ctx.specialize_depth }
}
