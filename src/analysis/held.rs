//! The dataflow state: locks held on every path to a point (must-held),
//! locks the function released without taking them, and whether page faults
//! are disabled.

use super::classes::ClassId;
use super::witness::Chain;
use crate::ir::{Base, LockRef, RetVal, Span, Sym};
use crate::model::Mode;
use smallvec::SmallVec;

#[derive(Debug, Clone)]
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

#[derive(Debug, Clone, Default)]
pub struct State {
    pub held: SmallVec<[HeldLock; 4]>,
    pub pagefault_disabled: u16,
    /// Depth of preempt_disable()/local_irq_disable() sections, and where
    /// the outermost was entered.
    pub no_sleep: u16,
    pub no_sleep_site: Option<(Span, Sym)>,
    /// Locks released that this function did not take: its caller held them.
    pub released: SmallVec<[(ClassId, LockRef); 2]>,
    /// Caller's lock classes released on some path to here (union at joins):
    /// an acquisition after that may be a re-take, not a double lock.
    pub may_released: SmallVec<[ClassId; 2]>,
    /// Locals known to be zero or non-zero here (`ret = -ENOMEM`, `locked = true`).
    pub vars: SmallVec<[(Sym, RetVal); 2]>,
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
        let before =
            (self.held.len(), self.released.len(), self.pagefault_disabled, self.may_released.len(), self.vars.len());
        self.vars.retain(|v| other.vars.contains(v));
        self.held.retain(|h| other.held.iter().any(|o| same_lock(h, o)));
        self.released.retain(|(c, l)| other.released.iter().any(|(oc, ol)| oc == c && ol == l));
        self.pagefault_disabled = self.pagefault_disabled.min(other.pagefault_disabled);
        self.no_sleep = self.no_sleep.min(other.no_sleep);
        if self.no_sleep == 0 {
            self.no_sleep_site = None;
        }
        for c in &other.may_released {
            if !self.may_released.contains(c) {
                self.may_released.push(*c);
            }
        }
        before
            != (self.held.len(), self.released.len(), self.pagefault_disabled, self.may_released.len(), self.vars.len())
    }

    pub fn add(&mut self, lock: HeldLock) {
        // A lock the caller held and this function released comes back as the
        // caller's: it is not an exit effect of this function.
        self.may_released.retain(|c| *c != lock.class);
        if let Some(pos) = self.released.iter().position(|(c, _)| *c == lock.class) {
            self.released.remove(pos);
            self.held.push(HeldLock { exported: false, ..lock });
            return;
        }
        self.held.push(lock);
    }

    /// Drops the held lock matching `lock` (same instance, else same class);
    /// a lock not held here was held by the caller.
    pub fn release(&mut self, class: ClassId, lock: &LockRef) {
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
            None => {
                self.released.push((class, lock.clone()));
                self.may_released.push(class);
            }
        }
    }

    /// What is known of a local's value: `Zero`, `NonZero` or `Unknown`.
    pub fn var(&self, var: Sym) -> RetVal {
        self.vars.iter().find(|(v, _)| *v == var).map_or(RetVal::Unknown, |(_, k)| *k)
    }

    pub fn set_var(&mut self, var: Sym, value: RetVal) {
        self.vars.retain(|(v, _)| *v != var);
        if matches!(value, RetVal::Zero | RetVal::NonZero) && self.vars.len() < 8 {
            self.vars.push((var, value));
        }
    }

    /// The caller's locks this function may have dropped by now.
    pub fn released_classes(&self) -> SmallVec<[ClassId; 2]> {
        self.may_released.clone()
    }
}
