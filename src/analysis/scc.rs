//! One task of the parallel analysis: a strongly connected component of the
//! call graph, analysed against the frozen results of every lower level.
//!
//! A task reads only what finished levels produced (summaries, classes,
//! specialised summaries) and writes only its own output, so tasks of one
//! level run in any order on any thread and give the same result; the
//! caller merges the outputs in SCC order.

use super::classes::{Classes, LocalClasses, NewClasses};
use super::dataflow::{self, Ctx, Observation, ParamList, SpecCache, SpecEntry, SpecMap, Specialization};
use super::remap::MapClasses;
use super::summary::{FunctionSummary, Summaries, SummaryView};
use super::ConditionalLocking;
use crate::index::{FuncId, Program};
use crate::model::Model;
use std::sync::Arc;

/// Recursive SCCs are iterated at most this often; summaries only grow, and
/// in practice converge in two rounds.
const MAX_SCC_ROUNDS: usize = 4;

/// What every task of a level reads.
pub(super) struct Frozen<'g> {
    pub prog: &'g Program,
    pub model: &'g Model,
    pub summaries: &'g Summaries,
    pub classes: Arc<Classes>,
    pub specialized: Arc<SpecMap>,
    pub tested: &'g [ParamList],
    pub called: &'g [ParamList],
    pub report: &'g (dyn Fn(FuncId) -> bool + Sync),
    /// Functions whose calls get their lock state recorded (`CallState`).
    pub probe: &'g (dyn Fn(FuncId) -> bool + Sync),
}

/// What one task produced, with class ids still its own.
pub(super) struct SccOutput {
    pub summaries: Vec<(FuncId, FunctionSummary)>,
    pub observations: Vec<(FuncId, Observation)>,
    pub conditional: Vec<(FuncId, ConditionalLocking)>,
    /// Specialised summaries it computed, by key.
    pub specialized: Vec<((FuncId, Specialization), SpecEntry)>,
    /// The lock state at each call of the probed members (names, not ids).
    pub call_states: Vec<(FuncId, dataflow::CallState)>,
    pub classes: NewClasses,
}

impl SccOutput {
    /// Gives the task's classes their shared ids.
    pub fn absorb_classes(&mut self, classes: &mut Classes) {
        let new = std::mem::replace(&mut self.classes, LocalClasses::new(Arc::new(Classes::default())).into());
        let map = classes.absorb(new);
        if map.is_identity() {
            return;
        }
        self.summaries.map_classes(&map);
        self.observations.map_classes(&map);
        self.conditional.map_classes(&map);
        for (_, entry) in &mut self.specialized {
            entry.summary.map_classes(&map);
            entry.observations.map_classes(&map);
        }
    }
}

pub(super) fn analyse_scc(frozen: &Frozen, members: &[FuncId], recursive: bool) -> SccOutput {
    let mut classes = LocalClasses::new(frozen.classes.clone());
    let mut specialized = SpecCache { global: frozen.specialized.clone(), local: Default::default() };
    let mut view = SummaryView { global: frozen.summaries, local: Default::default() };
    let mut observations = Vec::new();
    let mut conditional = Vec::new();
    let params = (frozen.tested, frozen.called);
    let rounds = if recursive { MAX_SCC_ROUNDS } else { 1 };
    let mut last: Vec<(FuncId, Vec<Observation>)> = Vec::new();
    for round in 0..rounds {
        last.clear();
        let mut changed = false;
        // A specialised summary of a member was computed over the last
        // round's summaries: compute it again over this round's.
        if round > 0 {
            specialized.local.retain(|k, _| !members.contains(&k.0));
        }
        for &id in members {
            let out = {
                let mut ctx = Ctx::new(frozen.prog, frozen.model, &view, &mut classes, params, &mut specialized);
                dataflow::analyze(&mut ctx, id, None)
            };
            changed |= out.summary.shape() != view[id as usize].shape();
            view.local.insert(id, out.summary);
            last.push((id, out.observations));
        }
        if !changed {
            break;
        }
    }
    for (id, obs) in last {
        if (frozen.report)(id) {
            observations.extend(obs.into_iter().map(|o| (id, o)));
        }
    }
    // One more run of each probed member over the final summaries, which
    // records the lock state at its calls; what else it sees is known.
    let mut call_states = Vec::new();
    for &id in members.iter().filter(|&&id| (frozen.probe)(id)) {
        let mut ctx = Ctx::new(frozen.prog, frozen.model, &view, &mut classes, params, &mut specialized);
        ctx.probe = Some(id);
        dataflow::analyze(&mut ctx, id, None);
        call_states.extend(ctx.call_states.into_iter().map(|s| (id, s)));
    }
    for &id in members {
        if !(frozen.report)(id) {
            continue;
        }
        let def = &frozen.prog.funcs[id as usize];
        for param in dataflow::tested_params(def) {
            let mut ctx = Ctx::new(frozen.prog, frozen.model, &view, &mut classes, params, &mut specialized);
            let when_true = dataflow::analyze(&mut ctx, id, Some((param, true))).exit_shape;
            let when_false = dataflow::analyze(&mut ctx, id, Some((param, false))).exit_shape;
            let differ = when_true.differing(&when_false);
            if !differ.is_empty() {
                conditional.push((id, ConditionalLocking { param, classes: differ }));
                break;
            }
        }
    }
    let mut summaries: Vec<(FuncId, FunctionSummary)> = view.local.into_iter().collect();
    summaries.sort_unstable_by_key(|(id, _)| *id);
    // Members' specialised summaries saw the members' summaries before the
    // last round: callers above compute them over the final ones.
    let mut specialized: Vec<_> = specialized.local.into_iter().filter(|(k, _)| !members.contains(&k.0)).collect();
    specialized.sort_unstable_by_key(|(key, _)| *key);
    SccOutput { summaries, observations, conditional, specialized, call_states, classes: classes.into() }
}
