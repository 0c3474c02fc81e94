//! The checks: each module turns the analysis' observations into findings
//! and carries the documentation `lockpath explain` prints.

pub mod conditional_locking;
pub mod double_lock;
pub mod fault_under_lock;
pub mod irq_unsafe_lock;
pub mod lock_imbalance;
pub mod lock_order_cycle;
pub mod sleep_in_atomic;
mod trace;

use crate::analysis::classes::ClassId;
use crate::analysis::dataflow::Observation;
use crate::analysis::Analysis;
use crate::finding::{Finding, Severity};
use crate::index::{FuncId, Program};
use crate::model::Model;

/// A check's stable identity.
pub struct CheckInfo {
    pub id: &'static str,
    pub severity: Severity,
    pub summary: &'static str,
    pub doc: &'static str,
}

/// Every check, once.
pub const CHECKS: &[&CheckInfo] = &[
    &conditional_locking::INFO,
    &double_lock::INFO,
    &fault_under_lock::INFO,
    &irq_unsafe_lock::INFO,
    &lock_imbalance::INFO,
    &lock_order_cycle::INFO,
    &sleep_in_atomic::INFO,
];

pub fn find(id: &str) -> Option<&'static CheckInfo> {
    CHECKS.iter().copied().find(|c| c.id == id)
}

/// All findings of all checks, in no particular order (the caller sorts).
pub fn run(prog: &Program, model: &Model, analysis: &Analysis) -> Vec<Finding> {
    run_counting_order_edges(prog, model, analysis).0
}

/// `run`, and how many edges the lock-order graph has (`--stats`): one
/// graph for both. The whole-program checks run beside the others, each
/// on its own thread; their findings are put together in one fixed order.
pub fn run_counting_order_edges(prog: &Program, model: &Model, analysis: &Analysis) -> (Vec<Finding>, usize) {
    let ((mut out, (cycles, order_edges)), irq) = rayon::join(
        || rayon::join(|| per_observation(prog, model, analysis), || lock_order_cycle::findings(prog, analysis)),
        || irq_unsafe_lock::findings(prog, analysis),
    );
    out.extend(cycles);
    out.extend(irq);
    for (func, cond) in &analysis.conditional {
        out.push(conditional_locking::finding(prog, analysis, *func, cond));
    }
    (out, order_edges)
}

/// The findings one observation makes on its own.
fn per_observation(prog: &Program, model: &Model, analysis: &Analysis) -> Vec<Finding> {
    let mut out = Vec::new();
    let double_locked: rustc_hash::FxHashSet<(FuncId, ClassId)> = analysis
        .observations
        .iter()
        .filter_map(|(f, o)| match o {
            Observation::AcquireWhileHeld { held, .. } => Some((*f, held.class)),
            _ => None,
        })
        .collect();
    let conditional: rustc_hash::FxHashSet<(FuncId, ClassId)> =
        analysis.conditional.iter().flat_map(|(f, c)| c.classes.iter().map(|class| (*f, *class))).collect();
    for (func, obs) in &analysis.observations {
        let finding = match obs {
            Observation::FaultWhileHeld { .. } => fault_under_lock::finding(prog, model, analysis, *func, obs),
            Observation::AcquireWhileHeld { .. } => double_lock::finding(prog, analysis, *func, obs),
            Observation::Ordered { .. } => None,
            Observation::SleepInAtomic { .. } => sleep_in_atomic::finding(prog, analysis, *func, obs),
            // A parameter-dependent state is conditional-locking's finding; a
            // lock left held by a double acquisition is double-lock's.
            Observation::Imbalance(imb)
                if conditional.contains(&(*func, imb.class)) || double_locked.contains(&(*func, imb.class)) =>
            {
                None
            }
            Observation::DoubleUnlock { .. } | Observation::Imbalance(_) => {
                lock_imbalance::finding(prog, analysis, *func, obs)
            }
        };
        out.extend(finding);
    }
    out
}
