//! Function summaries: what a call to a function does to its caller's locks,
//! computed bottom-up over the call graph.

use super::classes::ClassId;
use super::witness::Chain;
use crate::ir::LockRef;
use crate::model::Mode;
use smallvec::SmallVec;

/// An effect somewhere inside the call, with the path that shows it and the
/// caller's locks the callee is known to have dropped before it happens.
#[derive(Debug, Clone, PartialEq)]
pub struct Effect {
    pub chain: Chain,
    pub released_before: SmallVec<[ClassId; 2]>,
}

/// A blocking acquisition somewhere inside the call.
#[derive(Debug, Clone, PartialEq)]
pub struct Acquisition {
    pub class: ClassId,
    /// In the callee's frame; mapped to the caller's arguments at a call.
    pub lock: LockRef,
    pub mode: Mode,
    pub recursive_read: bool,
    pub nested: bool,
    pub effect: Effect,
}

/// A blocking acquisition made while interrupts of some level may arrive
/// (as seen from the function: its caller may still have them disabled).
#[derive(Debug, Clone, PartialEq)]
pub struct IrqUse {
    pub class: ClassId,
    pub mode: Mode,
    pub recursive_read: bool,
    /// Hard interrupts are enabled at the acquisition ...
    pub hard_on: bool,
    /// ... softirqs are (implies `hard_on`).
    pub soft_on: bool,
    /// A spinning lock (the only kind an interrupt handler may take).
    pub atomic: bool,
    pub chain: Chain,
}

/// At most this many interrupt-enabled acquisitions per summary.
pub const MAX_IRQ_USES: usize = 64;

/// A lock the function returns holding (or has released) on return.
#[derive(Debug, Clone, PartialEq)]
pub struct ExitLock {
    pub class: ClassId,
    pub lock: LockRef,
    pub mode: Mode,
    pub recursive_read: bool,
    pub trylock: bool,
    pub atomic: bool,
    pub no_sleep: bool,
    /// Interrupts disabled while it is held (`spin_lock_irqsave` in a helper).
    pub irq: Option<crate::model::IrqLevel>,
    /// How the function took it, for the witness of a later finding.
    pub via: Option<Chain>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct FunctionSummary {
    pub fault: Option<Effect>,
    pub sleep: Option<Effect>,
    /// How many of its caller's no-sleep sections the function had left
    /// (`local_bh_enable()` before `cond_resched()`) when it sleeps.
    pub sleep_sections_left: u16,
    /// Locks reached through a parameter that the function released before
    /// it sleeps (`spin_unlock(lock); schedule();` with `spinlock_t *lock`),
    /// in its own frame: a caller maps them through its arguments.
    pub sleep_released_params: Vec<(ClassId, LockRef)>,
    pub acquires: Vec<Acquisition>,
    /// Held on every return: an acquiring helper (`futex_cleanup_begin`).
    pub exit_acquires: Vec<ExitLock>,
    /// Held only when it returns non-zero (a trylock-style helper) ...
    pub acquires_if_nonzero: Vec<ExitLock>,
    /// ... or only when it returns zero.
    pub acquires_if_zero: Vec<ExitLock>,
    /// Released on return though the function did not take them.
    pub exit_releases: Vec<(ClassId, LockRef)>,
    /// Caller's locks released on some return that returns non-zero (or
    /// zero), but not on every return: after the call they are not known
    /// to be held. The usual shape is an error path that unlocks.
    pub may_release_if_nonzero: Vec<(ClassId, LockRef)>,
    pub may_release_if_zero: Vec<(ClassId, LockRef)>,
    /// Acquisitions with interrupts of some level enabled, for irq-unsafe-lock.
    pub irq_uses: Vec<IrqUse>,
    /// How many interrupt-off sections (hard, soft) every return leaves open
    /// beyond the entry's: 1 for `netif_tx_lock_bh()` (local_bh_disable()
    /// inside), -1 for `netif_tx_unlock_bh()`.
    pub exit_irqs_off: [i8; 2],
}

/// Every function's summary, by `FuncId`. Most functions do nothing a
/// caller must know (no lock, no sleep, no fault): those take no memory
/// beyond their slot, which matters on a tree of 800,000 functions.
#[derive(Default)]
pub struct Summaries(Vec<Option<Box<FunctionSummary>>>);

static EMPTY: FunctionSummary = FunctionSummary {
    fault: None,
    sleep: None,
    sleep_sections_left: 0,
    sleep_released_params: Vec::new(),
    acquires: Vec::new(),
    exit_acquires: Vec::new(),
    acquires_if_nonzero: Vec::new(),
    acquires_if_zero: Vec::new(),
    exit_releases: Vec::new(),
    may_release_if_nonzero: Vec::new(),
    may_release_if_zero: Vec::new(),
    irq_uses: Vec::new(),
    exit_irqs_off: [0, 0],
};

impl Summaries {
    pub fn new(n: usize) -> Summaries {
        Summaries((0..n).map(|_| None).collect())
    }

    /// Room for functions added since (their summaries empty).
    pub fn grow(&mut self, n: usize) {
        if self.0.len() < n {
            self.0.resize_with(n, || None);
        }
    }

    pub fn get(&self, id: usize) -> &FunctionSummary {
        self.0.get(id).and_then(Option::as_deref).unwrap_or(&EMPTY)
    }

    /// Drops a summary nothing will read again (`graph::retirements`); it
    /// reads as empty from now on.
    pub fn retire(&mut self, id: usize) {
        if let Some(slot) = self.0.get_mut(id) {
            *slot = None;
        }
    }

    pub fn set(&mut self, id: usize, mut summary: FunctionSummary) {
        let Some(slot) = self.0.get_mut(id) else { return };
        *slot = if summary.is_empty() {
            None
        } else {
            summary.shrink();
            Some(Box::new(summary))
        };
    }
}

impl std::ops::Index<usize> for Summaries {
    type Output = FunctionSummary;

    fn index(&self, id: usize) -> &FunctionSummary {
        self.get(id)
    }
}

/// The summaries one parallel task reads: every finished level's, and its
/// own SCC's as their rounds go.
pub struct SummaryView<'g> {
    pub global: &'g Summaries,
    pub local: rustc_hash::FxHashMap<crate::index::FuncId, FunctionSummary>,
}

impl std::ops::Index<usize> for SummaryView<'_> {
    type Output = FunctionSummary;

    fn index(&self, id: usize) -> &FunctionSummary {
        match self.local.get(&(id as crate::index::FuncId)) {
            Some(s) => s,
            None => self.global.get(id),
        }
    }
}

/// At most this many acquisitions are kept per summary; the shortest
/// witnesses win. Keeps summaries of top-level functions small.
pub const MAX_ACQUISITIONS: usize = 64;

/// Effects deeper than this many calls are not propagated further. Past a
/// handful of calls, a path is more likely an `#ifdef` variant, an error
/// path or a type confusion (`kfree` reaching the hugetlb freeing code) than
/// a path a developer needs to see; the seed's fault is five calls down.
pub const MAX_WITNESS_DEPTH: u32 = 8;

impl FunctionSummary {
    /// Nothing a caller must know.
    pub fn is_empty(&self) -> bool {
        self.fault.is_none()
            && self.sleep.is_none()
            && self.sleep_released_params.is_empty()
            && self.acquires.is_empty()
            && self.exit_acquires.is_empty()
            && self.acquires_if_nonzero.is_empty()
            && self.acquires_if_zero.is_empty()
            && self.exit_releases.is_empty()
            && self.may_release_if_nonzero.is_empty()
            && self.may_release_if_zero.is_empty()
            && self.irq_uses.is_empty()
            && self.exit_irqs_off == [0, 0]
    }

    /// Gives back the growth room of every list (summaries live to the end).
    pub fn shrink(&mut self) {
        self.sleep_released_params.shrink_to_fit();
        self.acquires.shrink_to_fit();
        self.exit_acquires.shrink_to_fit();
        self.acquires_if_nonzero.shrink_to_fit();
        self.acquires_if_zero.shrink_to_fit();
        self.exit_releases.shrink_to_fit();
        self.may_release_if_nonzero.shrink_to_fit();
        self.may_release_if_zero.shrink_to_fit();
        self.irq_uses.shrink_to_fit();
    }

    /// A cheap fingerprint to detect when iteration over a recursive SCC
    /// has converged.
    pub fn shape(&self) -> (bool, bool, [i8; 2], usize, usize, usize, usize, usize) {
        (
            self.fault.is_some(),
            self.sleep.is_some(),
            self.exit_irqs_off,
            self.acquires.len(),
            self.exit_acquires.len(),
            self.acquires_if_nonzero.len(),
            self.acquires_if_zero.len(),
            self.exit_releases.len() + self.may_release_if_nonzero.len() + self.may_release_if_zero.len(),
        )
    }

    /// Several definitions of one name (`#ifdef` variants): any may be the
    /// one compiled, so their effects are united.
    pub fn merge(&mut self, other: &FunctionSummary) {
        if let Some(f) = &other.fault {
            if self.fault.as_ref().is_none_or(|s| s.chain.len() > f.chain.len()) {
                self.fault = Some(f.clone());
            }
        }
        if let Some(f) = &other.sleep {
            if self.sleep.as_ref().is_none_or(|s| s.chain.len() > f.chain.len()) {
                self.sleep = Some(f.clone());
                self.sleep_sections_left = other.sleep_sections_left;
                self.sleep_released_params = other.sleep_released_params.clone();
            }
        }
        for a in &other.acquires {
            if !self.acquires.iter().any(|s| s.class == a.class) {
                self.acquires.push(a.clone());
            }
        }
        for u in &other.irq_uses {
            if !self.irq_uses.iter().any(|s| s.class == u.class && s.hard_on == u.hard_on && s.soft_on == u.soft_on) {
                self.irq_uses.push(u.clone());
            }
        }
        // Any variant may be the one compiled: only what both leave off is off.
        for (mine, theirs) in self.exit_irqs_off.iter_mut().zip(other.exit_irqs_off) {
            *mine = (*mine).min(theirs);
        }
        extend_unique(&mut self.exit_acquires, &other.exit_acquires);
        extend_unique(&mut self.acquires_if_nonzero, &other.acquires_if_nonzero);
        extend_unique(&mut self.acquires_if_zero, &other.acquires_if_zero);
        for (into, from) in [
            (&mut self.exit_releases, &other.exit_releases),
            (&mut self.may_release_if_nonzero, &other.may_release_if_nonzero),
            (&mut self.may_release_if_zero, &other.may_release_if_zero),
        ] {
            for r in from {
                if !into.iter().any(|s| s.0 == r.0) {
                    into.push(r.clone());
                }
            }
        }
    }
}

fn extend_unique(into: &mut Vec<ExitLock>, from: &[ExitLock]) {
    for e in from {
        if !into.iter().any(|s| s.class == e.class) {
            into.push(e.clone());
        }
    }
}
