//! The dataflow state: locks held on every path to a point (must-held),
//! locks held or dropped on some path (may-held, for lock-imbalance), locks
//! the function released without taking them, and whether page faults are
//! disabled.

use super::classes::ClassId;
use super::witness::Chain;
use crate::ir::{Base, LockRef, RetVal, Span, Sym};
use crate::model::{IrqLevel, Mode};
use smallvec::SmallVec;

#[derive(Debug, Clone, PartialEq)]
pub struct HeldLock {
    pub class: ClassId,
    /// The instance, in this function's frame.
    pub lock: LockRef,
    pub mode: Mode,
    /// Readers of this kind may nest (`rwlock_t`, rcu).
    pub recursive_read: bool,
    pub trylock: bool,
    /// Taken with a nesting annotation (`inode_lock_nested(dir, I_MUTEX_PARENT)`):
    /// a lockdep subclass of its own, so another object of the class may follow.
    pub nested: bool,
    /// A spinning lock: holding it is atomic context.
    pub atomic: bool,
    /// Holding it forbids sleeping (spinlocks, rcu_read_lock).
    pub no_sleep: bool,
    /// Interrupts disabled while it is held (`spin_lock_irqsave`: hard).
    pub irq: Option<IrqLevel>,
    /// Where it was taken in this function.
    pub site: Span,
    /// The primitive or helper called at `site`.
    pub taker: Sym,
    /// When a helper took it: the helper's chain down to the primitive.
    pub via: Option<Chain>,
    /// False for locks the caller holds (annotations, re-taken after a
    /// release): those are not this function's exit effect.
    pub exported: bool,
}

/// Locks held at once beyond which more are not tracked: lockdep's own
/// limit (`MAX_LOCK_DEPTH`, include/linux/sched.h), past which the kernel
/// itself stops checking. Keeps generated or hostile code (a function taking
/// thousands of locks) from growing every state without bound.
const MAX_LOCK_DEPTH: usize = 48;

/// Copies of one lock instance held at once (nested read sections). A
/// deeper nesting only repeats what the first copies tell, while a chain of
/// helpers each returning with the lock held (a recursive cycle of them,
/// found by fuzzing) would otherwise add a copy per call.
const MAX_SAME_INSTANCE: usize = 4;

/// What a branch tested: the same key on two branches means the same value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CondKey {
    Param(u8),
    Var(Sym),
    Expr(u32),
}

/// A condition a path took: `(key, non-zero)`.
pub type Fact = (CondKey, bool);

/// At most this many facts are remembered per path or per lock.
const MAX_FACTS: usize = 16;

/// A lock this function took that is held (or, in `dropped`, was released)
/// on some path to a point, with the branch facts of the paths where it is.
#[derive(Debug, Clone)]
pub struct MayHeld {
    pub class: ClassId,
    pub lock: LockRef,
    /// Where it was taken (in `may_held`) or released (in `dropped`).
    pub site: Span,
    pub taker: Sym,
    /// Facts every path where this entry holds took: a later branch the
    /// other way cannot see it (`if (need) lock; ... if (need) unlock;`).
    pub when: SmallVec<[Fact; 2]>,
    /// A callee or primitive may have dropped it (and maybe re-taken it):
    /// whether it is held is not known, so no imbalance is claimed.
    pub uncertain: bool,
    /// Readers nest (rcu_read_lock): counting them is beyond this analysis.
    pub recursive: bool,
    /// In `dropped`: released on every path to here, not only some.
    pub everywhere: bool,
}

/// What a release found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Released {
    /// Held here on every path, or on some path (the others never took it).
    Held,
    /// Already released by this function on some path to here, at this site.
    Twice(Span),
    /// Not this function's lock: the caller's.
    CallersLock,
}

#[derive(Debug, Clone, Default)]
/// A `State` is copied at every edge of every analysed function, so its
/// rarely non-empty parts (`released`, `may_held`, `dropped`) live on the
/// heap and only the common case (a lock or two held) is inline.
pub struct State {
    pub held: SmallVec<[HeldLock; 2]>,
    pub pagefault_disabled: u16,
    /// Depth of preempt_disable()/local_irq_disable() sections, and where
    /// the outermost was entered.
    pub no_sleep: u16,
    pub no_sleep_site: Option<(Span, Sym)>,
    /// Depth of local_irq_disable()/local_irq_save() sections (hard) and
    /// local_bh_disable() sections (soft); a hard-irq handler starts at 1.
    pub irq_off: u16,
    pub bh_off: u16,
    /// The caller's interrupt-off sections of each level this function has
    /// left with none of its own open (`netif_tx_unlock_bh()`'s
    /// local_bh_enable()): at a join, the larger count.
    pub irq_left: u16,
    pub bh_left: u16,
    /// The caller's no-sleep sections this function has left (a section
    /// exit with none of its own open): `local_bh_enable(); cond_resched();
    /// local_bh_disable();` inside a function called with BH disabled.
    pub caller_left: u16,
    /// Locks released that this function did not take: its caller held them.
    pub released: Vec<(ClassId, LockRef)>,
    /// Caller's lock classes released on some path to here (union at joins):
    /// an acquisition after that may be a re-take, not a double lock.
    pub may_released: SmallVec<[ClassId; 2]>,
    /// Locals known to be zero or non-zero here (`ret = -ENOMEM`, `locked = true`).
    pub vars: SmallVec<[(Sym, RetVal); 2]>,
    /// Branch conditions every path to here took.
    pub facts: SmallVec<[Fact; 2]>,
    /// Parameters known not to be NULL here (bit i: parameter i), because a
    /// lock was taken through them.
    pub nonnull_params: u16,
    /// A call that never returns ended this path (`BUG()`).
    pub dead: bool,
    /// This function's locks held on some path to here (union at joins).
    pub may_held: Vec<MayHeld>,
    /// This function's locks released on some path to here and not re-taken.
    pub dropped: Vec<MayHeld>,
}

pub fn same_instance(a: &LockRef, b: &LockRef) -> bool {
    a.base != Base::Unknown && a.base == b.base && a.path == b.path
}

fn same_lock(a: &HeldLock, b: &HeldLock) -> bool {
    a.class == b.class && a.lock.base == b.lock.base && a.lock.path == b.lock.path
}

impl State {
    /// Meet at a join: only what holds on both paths survives.
    pub fn meet(&mut self, other: &State) -> bool {
        let before = self.join_shape();
        let (mine, theirs) = (self.path_facts(), other.path_facts());
        union_may(&mut self.may_held, &other.may_held, &mine, &theirs);
        union_may(&mut self.dropped, &other.dropped, &mine, &theirs);
        self.facts.retain(|f| other.facts.contains(f));
        self.nonnull_params &= other.nonnull_params;
        self.vars.retain(|v| other.vars.contains(v));
        self.held.retain(|h| other.held.iter().any(|o| same_lock(h, o)));
        self.released.retain(|(c, l)| other.released.iter().any(|(oc, ol)| oc == c && ol == l));
        self.pagefault_disabled = self.pagefault_disabled.min(other.pagefault_disabled);
        self.no_sleep = self.no_sleep.min(other.no_sleep);
        self.irq_off = self.irq_off.min(other.irq_off);
        self.bh_off = self.bh_off.min(other.bh_off);
        self.irq_left = self.irq_left.max(other.irq_left);
        self.bh_left = self.bh_left.max(other.bh_left);
        self.caller_left = self.caller_left.min(other.caller_left);
        if self.no_sleep == 0 {
            self.no_sleep_site = None;
        }
        for c in &other.may_released {
            if !self.may_released.contains(c) {
                self.may_released.push(*c);
            }
        }
        before != self.join_shape()
    }

    /// What a meet can change, for `meet`'s result.
    fn join_shape(&self) -> (usize, usize, u16, [u16; 4], usize, usize, usize) {
        (
            self.held.len(),
            self.released.len(),
            self.pagefault_disabled,
            [self.irq_off, self.bh_off, self.irq_left, self.bh_left],
            self.may_released.len(),
            self.vars.len(),
            self.may_held.len() + self.dropped.len(),
        )
    }

    /// Interrupts of `level` disabled once more (`local_irq_save()`, or a
    /// lock taken with them off released without turning them back on).
    pub fn irqs_disable(&mut self, level: IrqLevel) {
        let (off, left) = self.irq_counters(level);
        if *left > 0 {
            *left -= 1;
        } else {
            *off = off.saturating_add(1);
        }
    }

    /// Interrupts of `level` enabled once more: this function's section
    /// ends, or, with none open, the caller's.
    pub fn irqs_enable(&mut self, level: IrqLevel) {
        let (off, left) = self.irq_counters(level);
        if *off > 0 {
            *off -= 1;
        } else {
            *left = left.saturating_add(1);
        }
    }

    /// How many sections of `level` are open here, less the caller's ones
    /// left: what a caller's count changes by across a call that returns here.
    pub fn irq_balance(&self, level: IrqLevel) -> i32 {
        match level {
            IrqLevel::Hard => self.irq_off as i32 - self.irq_left as i32,
            IrqLevel::Soft => self.bh_off as i32 - self.bh_left as i32,
        }
    }

    /// Applies a callee's `irq_balance` change to this state.
    pub fn irqs_shift(&mut self, level: IrqLevel, by: i32) {
        let net = self.irq_balance(level) + by;
        let (off, left) = self.irq_counters(level);
        *off = net.clamp(0, u16::MAX as i32) as u16;
        *left = (-net).clamp(0, u16::MAX as i32) as u16;
    }

    fn irq_counters(&mut self, level: IrqLevel) -> (&mut u16, &mut u16) {
        match level {
            IrqLevel::Hard => (&mut self.irq_off, &mut self.irq_left),
            IrqLevel::Soft => (&mut self.bh_off, &mut self.bh_left),
        }
    }

    /// The held lock `release` would drop for `lock` (same instance, else
    /// same class): the interrupt level taking it turned off. `None` when
    /// it is not held here (the caller's lock, with the caller's level).
    pub fn held_irq(&self, class: ClassId, lock: &LockRef) -> Option<Option<IrqLevel>> {
        let pos = self
            .held
            .iter()
            .rposition(|h| same_instance(&h.lock, lock))
            .or_else(|| self.held.iter().rposition(|h| h.class == class))?;
        Some(self.held[pos].irq)
    }

    /// Hard interrupts can arrive here.
    pub fn hardirqs_on(&self) -> bool {
        self.irq_off == 0 && !self.held.iter().any(|h| h.irq == Some(IrqLevel::Hard))
    }

    /// Softirqs can run here (they run on the way out of a hard interrupt).
    pub fn softirqs_on(&self) -> bool {
        self.hardirqs_on() && self.bh_off == 0 && !self.held.iter().any(|h| h.irq == Some(IrqLevel::Soft))
    }

    /// A cheap fingerprint: two states of one point with the same
    /// fingerprint need not be propagated again.
    pub fn signature(&self, with_facts: bool) -> [usize; 8] {
        let facts = |n: usize| if with_facts { n } else { 0 };
        [
            self.held.len(),
            self.released.len(),
            self.pagefault_disabled as usize
                | (self.no_sleep as usize) << 16
                | (self.irq_off as usize) << 32
                | (self.bh_off as usize) << 48,
            self.may_released.len(),
            self.vars.len(),
            facts(self.facts.len()),
            self.may_held.len() + self.dropped.len(),
            facts(self.may_held.iter().chain(&self.dropped).map(|m| m.when.len() + m.uncertain as usize).sum()),
        ]
    }

    /// The facts of this path: the branches it took and the locals' values.
    fn path_facts(&self) -> SmallVec<[Fact; 4]> {
        // Locals first: they are the surest correlation (`if (locked)`).
        let mut out: SmallVec<[Fact; 4]> = self.vars.iter().map(|(v, k)| (CondKey::Var(*v), k.is_nonzero())).collect();
        for f in &self.facts {
            if !out.contains(f) {
                out.push(*f);
            }
        }
        out
    }

    /// This path took the branch `key` the `value` way: locks held or
    /// dropped only on paths that went the other way are not on this one.
    pub fn learn(&mut self, key: CondKey, value: bool) {
        let contradicts = |m: &MayHeld| m.when.contains(&(key, !value));
        self.may_held.retain(|m| !contradicts(m));
        self.dropped.retain(|m| !contradicts(m));
        self.facts.retain(|(k, _)| *k != key);
        if self.facts.len() < MAX_FACTS {
            self.facts.push((key, value));
        }
    }

    pub fn add(&mut self, lock: HeldLock) {
        // A lock the caller held and this function released comes back as the
        // caller's: it is not an exit effect of this function.
        self.may_released.retain(|c| *c != lock.class);
        self.dropped.retain(|d| d.class != lock.class);
        // Locking through a pointer proves it is not NULL.
        match lock.lock.base {
            Base::Local(v) => self.set_var(v, RetVal::NonZero),
            Base::Param(i) if !lock.lock.path.is_empty() => {
                self.nonnull_params |= 1u16.checked_shl(u32::from(i)).unwrap_or(0);
            }
            _ => {}
        }
        if lock.exported && !self.released.iter().any(|(c, _)| *c == lock.class) {
            self.may_held.retain(|m| !(m.class == lock.class && m.lock == lock.lock));
            self.may_held.push(MayHeld {
                class: lock.class,
                lock: lock.lock.clone(),
                site: lock.site,
                taker: lock.taker,
                when: SmallVec::new(),
                uncertain: false,
                recursive: lock.recursive_read,
                everywhere: false,
            });
        }
        let copies = self.held.iter().filter(|h| h.class == lock.class && h.lock == lock.lock).count();
        if self.held.len() >= MAX_LOCK_DEPTH || copies >= MAX_SAME_INSTANCE {
            return;
        }
        if let Some(pos) = self.released.iter().position(|(c, _)| *c == lock.class) {
            self.released.remove(pos);
            self.held.push(HeldLock { exported: false, ..lock });
            return;
        }
        self.held.push(lock);
    }

    /// Drops the held lock matching `lock` (same instance, else same class);
    /// a lock not held here was held by the caller. `certain`: a plain
    /// release, not a primitive that may drop and re-take the lock.
    pub fn release(&mut self, class: ClassId, lock: &LockRef, site: Span, certain: bool) -> Released {
        // A primitive that may drop and re-take the lock leaves the may-sets
        // alone (the lock is back when it returns).
        let outcome = if certain {
            self.release_may(class, lock, site)
        } else {
            for m in self.may_held.iter_mut().filter(|m| m.class == class) {
                m.uncertain = true;
            }
            Released::CallersLock
        };
        let pos = self
            .held
            .iter()
            .rposition(|h| same_instance(&h.lock, lock))
            .or_else(|| self.held.iter().rposition(|h| h.class == class));
        match pos {
            Some(p) => {
                // Dropping a lock the caller holds (asserted, annotated or
                // re-taken) is dropping the caller's lock.
                let dropped = self.held.remove(p);
                if !dropped.exported {
                    self.released.push((class, lock.clone()));
                    self.may_released.push(class);
                }
            }
            // Not held on every path: on some, the caller's lock.
            None => {
                self.released.push((class, lock.clone()));
                self.may_released.push(class);
            }
        }
        if certain {
            outcome
        } else {
            Released::Held
        }
    }

    /// The may-held side of a release: the lock moves to `dropped`, unless
    /// it was taken more than once (a double lock leaves one behind). A
    /// second release of the same instance is `Twice`.
    fn release_may(&mut self, class: ClassId, lock: &LockRef, site: Span) -> Released {
        let holding = self.held.iter().filter(|h| h.class == class).count();
        let exact = |set: &[MayHeld]| set.iter().position(|m| m.class == class && same_instance(&m.lock, lock));
        if holding >= 2 && exact(&self.may_held).is_none() {
            return Released::Held;
        }
        let twice = exact(&self.dropped).map(|i| self.dropped[i].site);
        // By class only when one side's object is unknown: a known other
        // object of the class (a callee unlocking its own pte lock) is not
        // this one.
        let unknown = |m: &MayHeld| lock.base == Base::Unknown || m.lock.base == Base::Unknown;
        let found = exact(&self.may_held).or_else(|| self.may_held.iter().position(|m| m.class == class && unknown(m)));
        match found {
            Some(i) => {
                let mut m = self.may_held.remove(i);
                m.site = site;
                m.everywhere = holding > 0;
                let recursive = m.recursive;
                self.dropped.retain(|d| d.class != class);
                self.dropped.push(m);
                match twice {
                    Some(at) if holding == 0 && !recursive => Released::Twice(at),
                    _ => Released::Held,
                }
            }
            None if holding == 1 => Released::Held,
            None if exact(&self.dropped).is_some_and(|i| self.dropped[i].recursive) => Released::Held,
            None => twice.map_or(Released::CallersLock, Released::Twice),
        }
    }

    /// What is known of a local's value: `Zero`, `NonZero` or `Unknown`.
    pub fn var(&self, var: Sym) -> RetVal {
        self.vars.iter().find(|(v, _)| *v == var).map_or(RetVal::Unknown, |(_, k)| *k)
    }

    /// A call was given `&param`: it may point the parameter elsewhere
    /// (`btrfs_cow_block(.., &child)` hands back a new locked buffer).
    pub fn reassigned(&mut self, base: Base) {
        let through = |m: &MayHeld| m.lock.base == base;
        self.dropped.retain(|m| !through(m));
        for m in self.may_held.iter_mut().filter(|m| through(m)) {
            m.uncertain = true;
        }
    }

    /// The local `var` is assigned: a lock reached through it is another
    /// object from now on.
    pub fn assign(&mut self, var: Sym, value: RetVal) {
        let through = |m: &MayHeld| m.lock.base == Base::Local(var);
        self.dropped.retain(|m| !through(m));
        for m in self.may_held.iter_mut().filter(|m| through(m)) {
            m.uncertain = true;
        }
        // What earlier branches learnt about the old value no longer holds.
        let stale = |f: &Fact| f.0 == CondKey::Var(var);
        self.facts.retain(|f| !stale(f));
        for m in self.may_held.iter_mut().chain(self.dropped.iter_mut()) {
            m.when.retain(|f| !stale(f));
        }
        self.set_var(var, value);
    }

    pub fn set_var(&mut self, var: Sym, value: RetVal) {
        self.vars.retain(|(v, _)| *v != var);
        if value.is_known() && self.vars.len() < 8 {
            self.vars.push((var, value));
        }
    }

    /// The caller's locks this function may have dropped by now.
    pub fn released_classes(&self) -> SmallVec<[ClassId; 2]> {
        self.may_released.clone()
    }
}

/// Union of may-sets at a join. An entry on one side only holds under that
/// side's facts; on both sides, under the facts both agree on.
fn union_may(mine: &mut Vec<MayHeld>, theirs: &[MayHeld], my_facts: &[Fact], their_facts: &[Fact]) {
    let same = |a: &MayHeld, b: &MayHeld| a.class == b.class && a.lock == b.lock;
    for m in mine.iter_mut() {
        match theirs.iter().find(|t| same(m, t)) {
            // Held on both sides: under what holds on every such path of
            // either side (its own facts and its side's path facts).
            Some(t) => {
                extend_facts(&mut m.when, my_facts);
                let mut theirs = t.when.clone();
                extend_facts(&mut theirs, their_facts);
                m.when.retain(|f| theirs.contains(f));
                m.uncertain |= t.uncertain;
                m.everywhere &= t.everywhere;
            }
            None => {
                extend_facts(&mut m.when, my_facts);
                m.everywhere = false;
            }
        }
    }
    for t in theirs {
        if !mine.iter().any(|m| same(m, t)) {
            let mut t = t.clone();
            t.everywhere = false;
            extend_facts(&mut t.when, their_facts);
            mine.push(t);
        }
    }
}

fn extend_facts(when: &mut SmallVec<[Fact; 2]>, facts: &[Fact]) {
    for f in facts {
        if when.len() >= MAX_FACTS {
            break;
        }
        if !when.iter().any(|(k, _)| *k == f.0) {
            when.push(*f);
        }
    }
}
