//! Analysis: call graph → bottom-up summaries over SCCs → per-function
//! dataflow with callee summaries → observations for the checks.
//!
//! Architecture invariant: analysis never does I/O and never prints; it
//! returns plain data.

pub mod chunks;
pub mod classes;
pub mod dataflow;
mod graph;
pub mod held;
mod remap;
pub mod resident;
mod scc;
mod shift;
pub mod summary;
pub mod witness;

use crate::index::{FuncId, Program};
use crate::model::Model;
use chunks::Chunks;
use classes::{ClassId, Classes};
use dataflow::Observation;
use rayon::prelude::*;
use summary::Summaries;

/// A function whose lock state on return depends on a parameter's value.
#[derive(Debug, Clone)]
pub struct ConditionalLocking {
    pub param: u8,
    /// Classes held (or released) on return for one value and not the other.
    pub classes: Vec<ClassId>,
}

pub struct Analysis {
    /// What each SCC observed, in merge order, then what callback runs did.
    pub observations: Chunks<Observation>,
    /// Functions nothing in the analysed code calls (system calls, ops
    /// callbacks, work handlers): where process context starts.
    pub entry_points: Vec<FuncId>,
    pub conditional: Chunks<ConditionalLocking>,
    pub classes: Classes,
    pub summaries: Summaries,
    pub stats: AnalysisStats,
    /// The lock state at each call of the probed functions, in SCC order.
    pub call_states: Vec<(FuncId, dataflow::CallState)>,
}

#[derive(Debug, Default, Clone)]
pub struct AnalysisStats {
    pub call_edges: usize,
    pub unresolved_calls: usize,
    pub sccs: usize,
    /// Summaries computed for a call's constant or callback arguments.
    pub specialised: usize,
    pub observations: usize,
    /// Building the call graph, its SCCs and their levels (the rest of
    /// `analyze` is the summaries).
    pub graph_time: std::time::Duration,
}

/// Functions to report on, and functions whose calls get their lock state
/// recorded (the editor's open files; usually none).
pub struct Selection<'s> {
    pub report: &'s (dyn Fn(FuncId) -> bool + Sync),
    pub probe: &'s (dyn Fn(FuncId) -> bool + Sync),
}

pub fn analyze(prog: &Program, model: &Model, select: &Selection) -> Analysis {
    let started = std::time::Instant::now();
    let mut stats = AnalysisStats::default();
    let plan = graph::plan(prog, &mut stats, false);
    stats.graph_time = started.elapsed();
    let mut shared = Shared::new(prog, model);
    let (mut observations, mut conditional, mut call_states) = (Chunks::default(), Chunks::default(), Vec::new());
    let mut rank = 0;
    run_levels(prog, model, select, &plan, &mut shared, |_, mut out| {
        rank += 1;
        observations.replace(rank, out.observations);
        conditional.replace(rank, out.conditional);
        call_states.append(&mut out.call_states);
    });
    let entry_points = entry_points(select.report, &plan.called_by_others);
    shared.into_analysis(observations, conditional, entry_points, call_states, stats, select.report)
}

/// What the SCC tasks share, grown level by level: the summaries, the
/// specialised summaries and the lock classes.
pub(crate) struct Shared {
    pub summaries: Summaries,
    pub specialized: std::sync::Arc<dataflow::SpecMap>,
    pub classes: std::sync::Arc<Classes>,
}

impl Shared {
    fn new(prog: &Program, model: &Model) -> Shared {
        let mut classes = Classes::default();
        dataflow::flag_classes(prog, model, &mut classes);
        Shared {
            summaries: Summaries::new(prog.funcs.len()),
            specialized: std::sync::Arc::new(Default::default()),
            classes: std::sync::Arc::new(classes),
        }
    }

    /// The analysis the checks read, with the observations of callback runs
    /// (kept with their specialised summaries) after the others.
    fn into_analysis(
        self,
        mut observations: Chunks<Observation>,
        conditional: Chunks<ConditionalLocking>,
        entry_points: Vec<FuncId>,
        call_states: Vec<(FuncId, dataflow::CallState)>,
        mut stats: AnalysisStats,
        report: &(dyn Fn(FuncId) -> bool + Sync),
    ) -> Analysis {
        observations.replace(CALLBACK_RANK, callback_observations(&self.specialized, report).collect());
        stats.specialised = self.specialized.len();
        stats.observations = observations.len();
        let classes = std::sync::Arc::try_unwrap(self.classes).unwrap_or_else(|shared| Classes::clone(&shared));
        Analysis { observations, entry_points, conditional, classes, summaries: self.summaries, stats, call_states }
    }
}

/// Where in `Analysis::observations` the callback runs' observations are:
/// after every SCC's.
const CALLBACK_RANK: u64 = u64::MAX;

/// What callback-specialised runs observed, by the function run, in the
/// order of their keys.
fn callback_observations<'m>(
    specialized: &'m dataflow::SpecMap,
    report: &'m (dyn Fn(FuncId) -> bool + Sync),
) -> impl Iterator<Item = (FuncId, Observation)> + 'm {
    let mut keys: Vec<&(FuncId, dataflow::Specialization)> =
        specialized.iter().filter(|(k, e)| !e.observations.is_empty() && report(k.0)).map(|(k, _)| k).collect();
    keys.sort_unstable();
    keys.into_iter().flat_map(move |k| specialized[k].observations.iter().map(move |o| (k.0, o.clone())))
}

/// Functions to report on that no other function calls.
fn entry_points(report: &(dyn Fn(FuncId) -> bool + Sync), called_by_others: &[bool]) -> Vec<FuncId> {
    (0..called_by_others.len() as FuncId).filter(|&id| report(id) && !called_by_others[id as usize]).collect()
}

/// What an SCC task leaves once its summaries and specialised summaries are
/// merged into `Shared`.
pub(crate) struct SccFindings {
    pub observations: Vec<(FuncId, Observation)>,
    pub conditional: Vec<(FuncId, ConditionalLocking)>,
    pub call_states: Vec<(FuncId, dataflow::CallState)>,
}

/// Level by level, callees first: the SCCs of one level do not call each
/// other, so they run in parallel against the frozen results of the levels
/// below; their outputs are merged in SCC order, which makes the result
/// (class ids included) the same for any number of threads. `sink` gets
/// each SCC's observations, by SCC index, in that order.
fn run_levels(
    prog: &Program,
    model: &Model,
    select: &Selection,
    plan: &graph::Plan,
    shared: &mut Shared,
    mut sink: impl FnMut(usize, SccFindings),
) {
    for (l, level) in plan.levels.iter().enumerate() {
        let outputs: Vec<scc::SccOutput> = {
            let frozen = shared.frozen(prog, model, (&plan.tested, &plan.called), select);
            level.par_iter().map(|&i| scc::analyse_scc(&frozen, &plan.sccs[i].0, plan.sccs[i].1)).collect()
        };
        for (&i, out) in level.iter().zip(outputs) {
            sink(i, shared.absorb(out));
        }
        for &f in plan.retire.get(l).into_iter().flatten() {
            shared.summaries.retire(f as usize);
        }
    }
}

impl Shared {
    /// What the tasks of one level read.
    fn frozen<'g>(
        &'g self,
        prog: &'g Program,
        model: &'g Model,
        params: (&'g [dataflow::ParamList], &'g [dataflow::ParamList]),
        select: &Selection<'g>,
    ) -> scc::Frozen<'g> {
        scc::Frozen {
            prog,
            model,
            summaries: &self.summaries,
            classes: self.classes.clone(),
            specialized: self.specialized.clone(),
            tested: params.0,
            called: params.1,
            report: select.report,
            probe: select.probe,
        }
    }

    /// Merges one task's output: its classes get shared ids, its summaries
    /// and specialised summaries join the shared ones (the first computed
    /// of a specialisation wins); the rest is returned.
    fn absorb(&mut self, mut out: scc::SccOutput) -> SccFindings {
        out.absorb_classes(std::sync::Arc::make_mut(&mut self.classes));
        for (id, summary) in out.summaries {
            self.summaries.set(id as usize, summary);
        }
        let specialized = std::sync::Arc::make_mut(&mut self.specialized);
        for (key, entry) in out.specialized {
            specialized.entry(key).or_insert(entry);
        }
        SccFindings { observations: out.observations, conditional: out.conditional, call_states: out.call_states }
    }
}
