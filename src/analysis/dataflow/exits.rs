//! Exits: turning the states at the function's returns into its summary,
//! and the exit shapes conditional-locking compares.

use super::*;
use crate::analysis::held::CondKey;
use crate::model::IrqLevel;

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
impl Analyzer<'_, '_> {
    pub(super) fn finish(mut self) -> Outcome {
        let imbalances = if self.assume.0 == 0 { self.imbalances() } else { Vec::new() };
        // A lock inside a stack object dies with the function: no caller sees it.
        let exported = |s: &State| -> Vec<HeldLock> {
            s.held.iter().filter(|h| h.exported && !matches!(h.lock.base, Base::Stack(_))).cloned().collect()
        };
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
        let zero = intersect(&mut self.exits.iter().filter(|(v, _)| !v.is_nonzero()).map(|(_, s)| exported(s)));
        let func = self.id;
        let sites = &self.sites;
        let site_of = |span| crate::analysis::witness::site_of(sites, span);
        let to_exit = |h: &HeldLock| ExitLock {
            class: h.class,
            lock: exportable(&h.lock),
            mode: h.mode,
            recursive_read: h.recursive_read,
            atomic: h.atomic,
            no_sleep: h.no_sleep,
            irq: h.irq,
            trylock: h.trylock,
            via: Some(Chain::new(Hop { func, site: site_of(h.site), callee: h.taker }, h.via.clone())),
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
            ExitShape { parts: [part(&|_| true), part(&|v| v == RetVal::Zero), part(&|v| v.is_nonzero())] };
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
        let may_release_if_zero = union_released(&|v| !v.is_nonzero());
        // Interrupt sections every return leaves open, relative to the entry
        // (an interrupt handler starts with its own level off).
        let prog = self.ctx.prog;
        let entry = prog.irq_roots.get(&self.id).map(|r| r.level).or(prog.irqs_off_entry.get(&self.id).copied());
        let exit_irqs_off = [IrqLevel::Hard, IrqLevel::Soft].map(|level| {
            let start = i32::from(entry == Some(level) || self.irqs_asserted[level as usize]);
            let least = self.exits.iter().map(|(_, s)| s.irq_balance(level) - start).min().unwrap_or(0);
            least.clamp(i8::MIN as i32, i8::MAX as i32) as i8
        });
        let mut summary = FunctionSummary {
            exit_irqs_off,
            fault: self.fault,
            sleep: self.sleep,
            sleep_sections_left: self.sleep_sections_left,
            sleep_released_params: std::mem::take(&mut self.sleep_released_params),
            acquires: self.acquires,
            irq_uses: self.irq_uses,
            exit_acquires: all.iter().map(to_exit).collect(),
            acquires_if_nonzero: if self.exits.iter().any(|(r, _)| *r == RetVal::Zero) {
                minus(&nonzero)
            } else {
                Vec::new()
            },
            acquires_if_zero: if self.exits.iter().any(|(r, _)| r.is_nonzero()) { minus(&zero) } else { Vec::new() },
            exit_releases: released.unwrap_or_default(),
            may_release_if_nonzero,
            may_release_if_zero,
        };
        apply_annotations(self.ctx, self.id, self.def, &mut summary);
        let mut observations = std::mem::take(&mut self.observations);
        observations.extend(imbalances.into_iter().map(Observation::Imbalance));
        // A tail run once per incoming edge may observe the same thing twice.
        let mut seen = rustc_hash::FxHashSet::default();
        observations.retain(|o| seen.insert(observation_key(o)));
        Outcome { summary, observations, exit_shape }
    }
}

/// How one return leaves a lock the function took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ExitHold {
    Held,
    /// Held on some paths into this return and not on others.
    Mixed,
    Free,
    /// A callee may have dropped it: nothing is claimed.
    Unknown,
}

impl Analyzer<'_, '_> {
    /// Locks this function takes that are held at some returns and not at
    /// others, where neither the return value nor an annotation tells the
    /// caller which: the lock-imbalance check.
    fn imbalances(&self) -> Vec<Imbalance> {
        let func = &self.def.func;
        // A macro is pasted into its caller; an annotated function states
        // its contract (sparse's __acquires/__releases/__cond_lock).
        if func.is_macro || func.annotations.iter().any(|a| a.kind != AnnotationKind::MustHold) {
            return Vec::new();
        }
        let mut candidates: Vec<(ClassId, &LockRef, Span, Sym)> = Vec::new();
        for (_, st) in &self.exits {
            let owned = st.held.iter().filter(|h| h.exported).map(|h| (h.class, &h.lock, h.site, h.taker));
            let may = st
                .may_held
                .iter()
                .filter(|m| !m.uncertain && !m.recursive)
                .map(|m| (m.class, &m.lock, m.site, m.taker));
            for c in owned.chain(may) {
                // A lock whose object lockpath cannot name (one a callee
                // returned, `&get_obj()->lock`) has no identity to follow.
                // (An argument-less lock, `console_lock()`, is its class.)
                let named = match c.1.base {
                    Base::Stack(_) => false,
                    Base::Unknown => c.1.path.is_empty(),
                    _ => true,
                };
                if named && !candidates.iter().any(|o| o.0 == c.0 && o.1 == c.1) {
                    candidates.push(c);
                }
            }
        }
        let mut out: Vec<Imbalance> = Vec::new();
        for (class, lock, taken, taker) in candidates {
            // Per-object locks (the folio lock) move with the object through
            // loops; nested readers (rcu) are counted, not held.
            let classes = &self.ctx.classes;
            if out.iter().any(|o| o.class == class) || classes.is_weak(class) || classes.is_per_object(class) {
                continue;
            }
            if self.exits.iter().any(|(_, st)| st.held.iter().any(|h| h.class == class && h.recursive_read)) {
                continue;
            }
            if let Base::Param(i) = lock.base {
                if func.params.get(i as usize).is_some_and(|p| p.object_tested) {
                    continue;
                }
            }
            // A helper that only takes the lock (when it applies) is not
            // unbalanced: the function must release it on some path.
            let releases =
                self.exits.iter().any(|(_, st)| st.dropped.iter().any(|d| d.class == class && d.lock == *lock));
            if !releases {
                continue;
            }
            let holds: Vec<ExitHold> = self.exits.iter().map(|(_, st)| exit_hold(st, class, lock)).collect();
            let at = |i: usize| self.exit_at[i];
            let value = |i: usize| self.exits[i].0;
            // Paths that disagree meet at one return: the caller can tell
            // only by the value, which is an error or nothing.
            // A lock held only on paths that tested the returned local
            // and zero there (`if (ret) unlock(); return ret;`) is told by the
            // value: held on success. Held where it is non-zero is a leak.
            let told_by_value = |i: usize| {
                let Some(var) = self.exit_var[i] else { return false };
                self.exits[i]
                    .1
                    .may_held
                    .iter()
                    .any(|m| m.class == class && m.lock == *lock && m.when.contains(&(CondKey::Var(var), false)))
            };
            let mixed_reportable = |i: usize| {
                (func.returns_void || matches!(value(i), RetVal::Error | RetVal::ErrorOrZero)) && !told_by_value(i)
            };
            let mixed = (0..holds.len()).filter(|&i| holds[i] == ExitHold::Mixed).collect::<Vec<_>>();
            let found = if let Some(&i) = mixed.iter().filter(|&&i| mixed_reportable(i)).min_by_key(|&&i| at(i)) {
                Some((i, None))
            } else {
                let frees: Vec<usize> = (0..holds.len()).filter(|&i| holds[i] == ExitHold::Free).collect();
                let overlaps = |i: usize| {
                    let v = value(i);
                    func.returns_void
                        || matches!(v, RetVal::Error | RetVal::ErrorOrZero)
                        || (v.is_known() && frees.iter().any(|&f| value(f) == v))
                };
                let bad =
                    (0..holds.len()).filter(|&i| holds[i] == ExitHold::Held && overlaps(i)).min_by_key(|&i| at(i));
                bad.and_then(|i| {
                    let free = frees.iter().copied().find(|&f| value(f) == value(i)).or(frees.first().copied());
                    match free {
                        Some(f) => Some((i, Some(at(f)))),
                        // No return releases it on every path, but the
                        // function does release it: an error return that
                        // keeps it is the leak (`goto` past the unlock).
                        None if value(i) == RetVal::Error => Some((i, None)),
                        None => None,
                    }
                })
            };
            if let Some((i, free_exit)) = found {
                out.push(Imbalance { class, taken, taker, held_exit: at(i), free_exit, held_value: value(i) });
            }
        }
        out
    }
}

fn exit_hold(st: &State, class: ClassId, lock: &LockRef) -> ExitHold {
    if st.held.iter().any(|h| h.exported && h.class == class && h.lock == *lock) {
        return ExitHold::Held;
    }
    let dropped = st.dropped.iter().find(|m| m.class == class && m.lock == *lock);
    match st.may_held.iter().find(|m| m.class == class && m.lock == *lock) {
        Some(m) if m.uncertain => ExitHold::Unknown,
        // Held on some paths in, not on others.
        Some(_) => ExitHold::Mixed,
        // Taken and released on every path in.
        None if dropped.is_some_and(|d| d.everywhere) => ExitHold::Free,
        // Never taken on some path: a helper that locks only when it applies.
        None => ExitHold::Unknown,
    }
}

/// `__acquires(x)` / `__releases(x)` state what the body may hide (asm,
/// unknown macros): trust them where the body analysis found nothing.
fn apply_annotations(ctx: &mut Ctx<'_>, id: FuncId, def: &FuncDef, summary: &mut FunctionSummary) {
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
                // An annotation naming a path the type index cannot follow
                // (`timer->base->lock`) says no more than the body already did.
                let body_acquires = !summary.exit_acquires.is_empty() || !summary.acquires_if_nonzero.is_empty();
                if !(known || body_acquires) {
                    summary.exit_acquires.push(ExitLock {
                        class,
                        lock: exportable(&ann.lock),
                        mode: crate::model::Mode::Exclusive,
                        recursive_read: false,
                        atomic: false,
                        no_sleep: false,
                        irq: None,
                        trylock: false,
                        via: None,
                    });
                    // Taking it is also a blocking acquisition, for the
                    // caller's double-lock and lock-order checks, unless the
                    // function drops the lock first (`__releases(x) __acquires(x)`:
                    // it re-takes the caller's lock).
                    let drops_first = def.func.annotations.iter().any(|a| {
                        a.kind == AnnotationKind::Releases && {
                            let (n, _) = ctx.prog.class_name(&a.lock, def.file);
                            ctx.model.canonical_class(&n) == ctx.classes.name(class)
                        }
                    }) || summary
                        .exit_releases
                        .iter()
                        .chain(&summary.may_release_if_nonzero)
                        .chain(&summary.may_release_if_zero)
                        .any(|(c, _)| *c == class);
                    // Site 0 is the function's name.
                    let hop = Hop { func: id, site: 0, callee: def.func.name };
                    if !drops_first {
                        summary.acquires.push(Acquisition {
                            class,
                            lock: exportable(&ann.lock),
                            mode: crate::model::Mode::Exclusive,
                            recursive_read: false,
                            nested: false,
                            effect: Effect { chain: Chain::new(hop, None), released_before: SmallVec::new() },
                        });
                    }
                }
            }
            AnnotationKind::Releases => {
                let known = summary.exit_releases.iter().any(|(c, _)| *c == class);
                let body_releases = !summary.exit_releases.is_empty();
                if !(known || weak && body_releases) {
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

fn observation_key(o: &Observation) -> (u8, u32, ClassId, ClassId) {
    match o {
        Observation::FaultWhileHeld { held, site, .. } => (0, site.start, held.class, held.class),
        Observation::AcquireWhileHeld { held, site, .. } => (1, site.start, held.class, held.class),
        Observation::Ordered { held, class, site, .. } => (2, site.start, held.class, *class),
        Observation::SleepInAtomic { site, .. } => (3, site.start, ClassId(0), ClassId(0)),
        Observation::DoubleUnlock { class, site, .. } => (4, site.start, *class, *class),
        Observation::Imbalance(i) => (5, i.held_exit.start, i.class, i.class),
    }
}
