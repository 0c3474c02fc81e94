//! A resident analysis: the whole program's summaries kept with the call
//! graph, so that after a file is replaced (an editor's buffer, a patch)
//! only what the change can reach is analysed again.
//!
//! An update analyses the dirty functions' SCCs, callees first, and then
//! each SCC whose callee's summary (or a specialised summary of it) came
//! out different: the callers of a function whose summary did not change
//! are left alone (early cut-off). Summaries compare with their witness
//! paths, so a hop that moved down a line is redone up the callers whose
//! paths show it.
//!
//! Invariant: an update gives what `analyze` on the new program gives, up
//! to the order of ties the checks break by class id or by observation
//! order (class ids of new classes come last). When it cannot keep that
//! promise — an edge that breaks the SCC order, a change in the parameters
//! callers specialise on, in the classes flagged per-object — it returns
//! `Err` and the caller analyses from scratch.

use super::classes::Classes;
use super::dataflow::{self, Observation, ParamList, SpecEntry, Specialization};
use super::graph::{self, Plan};
use super::{scc, Analysis, AnalysisStats, ConditionalLocking, Selection, Shared};
use crate::index::{FileUpdate, FuncId, Program};
use crate::model::Model;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;

/// Ranks of the SCCs in merge order are multiples of this, so that SCCs
/// of added functions fit between.
const RANK_GAP: u64 = 1 << 20;

/// Why an update fell back to a whole analysis.
#[derive(Debug)]
pub struct Reanalyse(pub &'static str);

/// What one SCC's analysis left for the checks.
#[derive(Default)]
struct Slot {
    observations: Vec<(FuncId, Observation)>,
    conditional: Vec<(FuncId, ConditionalLocking)>,
}

pub struct Resident {
    /// What the checks read. Its observations are each SCC's, by rank,
    /// then the callback runs'.
    pub analysis: Analysis,
    specialized: Arc<dataflow::SpecMap>,
    callees: Vec<Vec<FuncId>>,
    callers: Vec<Vec<FuncId>>,
    scc_of: Vec<u32>,
    sccs: Vec<(Vec<FuncId>, bool)>,
    /// Per SCC, its place in the merge order.
    rank: Vec<u64>,
    ranks: BTreeSet<u64>,
    tested: Vec<ParamList>,
    called: Vec<ParamList>,
}

/// What an update did.
#[derive(Debug, Default, Clone)]
pub struct UpdateStats {
    pub sccs_analysed: usize,
    pub functions_analysed: usize,
}

impl Resident {
    pub fn build(prog: &Program, model: &Model, report: &(dyn Fn(FuncId) -> bool + Sync)) -> Resident {
        let started = std::time::Instant::now();
        let mut stats = AnalysisStats::default();
        let plan = graph::plan(prog, &mut stats, true);
        stats.graph_time = started.elapsed();
        let Plan { ref sccs, ref levels, .. } = plan;
        let mut rank = vec![0u64; sccs.len()];
        for (pos, &i) in levels.iter().flatten().enumerate() {
            rank[i] = (pos as u64 + 1) * RANK_GAP;
        }
        let mut shared = Shared::new(prog, model);
        let mut found = BTreeMap::new();
        let never = |_: FuncId| false;
        run_levels_into(prog, model, report, &never, &plan, &mut shared, &rank, &mut found);
        let mut scc_of = vec![0u32; prog.funcs.len()];
        for (i, (members, _)) in plan.sccs.iter().enumerate() {
            for &f in members {
                scc_of[f as usize] = i as u32;
            }
        }
        let callees = plan.callees.unwrap_or_default();
        let mut callers: Vec<Vec<FuncId>> = vec![Vec::new(); prog.funcs.len()];
        for (f, list) in callees.iter().enumerate() {
            for &c in list {
                callers[c as usize].push(f as FuncId);
            }
        }
        let Shared { summaries, specialized, classes } = shared;
        let classes = Arc::try_unwrap(classes).unwrap_or_else(|c| Classes::clone(&c));
        let analysis = Analysis {
            observations: Default::default(),
            entry_points: Vec::new(),
            conditional: Default::default(),
            classes,
            summaries,
            stats,
            call_states: Vec::new(),
        };
        let mut resident = Resident {
            analysis,
            specialized,
            callees,
            callers,
            scc_of,
            ranks: rank.iter().copied().collect(),
            rank,
            sccs: plan.sccs,
            tested: plan.tested,
            called: plan.called,
        };
        resident.assemble(report, found, None);
        resident
    }

    /// Updates what the checks read: the observations of `replaced` SCCs
    /// (ranks not seen before included) instead of what they had, the
    /// callback observations, and whether each of `touched` (whose callers
    /// or liveness changed; `None`: every function) is an entry point.
    fn assemble(
        &mut self,
        report: &(dyn Fn(FuncId) -> bool + Sync),
        replaced: BTreeMap<u64, Slot>,
        touched: Option<&[FuncId]>,
    ) {
        let a = &mut self.analysis;
        for (rank, slot) in replaced {
            a.observations.replace(rank, slot.observations);
            a.conditional.replace(rank, slot.conditional);
        }
        let callback = super::callback_observations(&self.specialized, report).collect();
        a.observations.replace(super::CALLBACK_RANK, callback);
        let is_entry = |f: FuncId| report(f) && !self.callers[f as usize].iter().any(|&c| c != f);
        match touched {
            None => a.entry_points = (0..self.callers.len() as FuncId).filter(|&f| is_entry(f)).collect(),
            Some(touched) => {
                for &f in touched {
                    match (a.entry_points.binary_search(&f), is_entry(f)) {
                        (Ok(at), false) => drop(a.entry_points.remove(at)),
                        (Err(at), true) => a.entry_points.insert(at, f),
                        _ => {}
                    }
                }
            }
        }
        a.stats.specialised = self.specialized.len();
        a.stats.observations = a.observations.len();
    }

    /// Re-analyses after `prog.replace_file` returned `update`.
    pub fn update(
        &mut self,
        prog: &Program,
        model: &Model,
        report: &(dyn Fn(FuncId) -> bool + Sync),
        update: &FileUpdate,
    ) -> Result<UpdateStats, Reanalyse> {
        if update.own_classes_changed {
            return Err(Reanalyse("lockdep_set_class() paths changed"));
        }
        if flagged(prog, model, &update.old_flag_calls) != flagged(prog, model, &new_flag_calls(prog, &update.dirty)) {
            return Err(Reanalyse("the classes flagged per-object or backing-off changed"));
        }
        let touched = self.place(prog, update)?;
        self.move_observations(&update.moved, &update.dirty);
        let mut shared = Shared {
            summaries: std::mem::take(&mut self.analysis.summaries),
            specialized: std::mem::take(&mut self.specialized),
            classes: Arc::new(std::mem::take(&mut self.analysis.classes)),
        };
        let mut replaced = BTreeMap::new();
        let stats = self.redo(prog, model, report, &update.dirty, &mut shared, &mut replaced);
        let Shared { summaries, specialized, classes } = shared;
        self.analysis.summaries = summaries;
        self.specialized = specialized;
        self.analysis.classes = Arc::try_unwrap(classes).unwrap_or_else(|c| Classes::clone(&c));
        self.assemble(report, replaced, Some(&touched));
        Ok(stats)
    }

    /// The observations of functions that only moved in their file move
    /// with them (a dirty function's are computed again anyway).
    fn move_observations(&mut self, moved: &[(FuncId, i64)], dirty: &[FuncId]) {
        use super::shift::ShiftSpans;
        let moved: rustc_hash::FxHashMap<FuncId, i64> =
            moved.iter().filter(|(f, _)| dirty.binary_search(f).is_err()).copied().collect();
        if moved.is_empty() {
            return;
        }
        for (f, obs) in self.analysis.observations.iter_mut() {
            if let Some(&delta) = moved.get(f) {
                obs.shift_spans(delta);
            }
        }
        // Callback runs of a moved function observed it too.
        let specialized = Arc::make_mut(&mut self.specialized);
        for (key, entry) in specialized.iter_mut() {
            if let Some(&delta) = moved.get(&key.0) {
                entry.observations.iter_mut().for_each(|o| o.shift_spans(delta));
            }
        }
    }

    /// Fits the changed edges, parameters and added functions into the SCC
    /// order, or says why they do not fit. Returns the functions whose
    /// callers or liveness changed, sorted.
    fn place(&mut self, prog: &Program, update: &FileUpdate) -> Result<Vec<FuncId>, Reanalyse> {
        let n = prog.funcs.len();
        let old_n = self.callees.len();
        self.called.extend(prog.funcs[old_n..].iter().map(|d| d.calls.called_params.clone()));
        for &f in &update.dirty {
            self.called[f as usize] = prog.funcs[f as usize].calls.called_params.clone();
        }
        let new_callees: Vec<(FuncId, Vec<FuncId>)> =
            update.dirty.iter().map(|&f| (f, graph::callees_of(prog, f, &self.called))).collect();
        if new_callees.iter().any(|(f, cs)| *f as usize >= old_n && cs.iter().any(|&c| c as usize >= old_n)) {
            return Err(Reanalyse("an added function calls an added function"));
        }
        // Added functions: one SCC each, ranked above their callees and
        // below their callers.
        for (f, cs) in new_callees.iter().filter(|(f, _)| *f as usize >= old_n) {
            let lo = cs.iter().map(|&c| self.rank[self.scc_of[c as usize] as usize]).max().unwrap_or(0);
            let callers = new_callees.iter().filter(|(_, list)| list.contains(f)).map(|(c, _)| *c);
            let hi = callers
                .map(|c| self.rank[self.scc_of[c as usize] as usize])
                .chain(self.ranks.range(lo + 1..).next().copied())
                .min()
                .unwrap_or(lo + 2 * RANK_GAP);
            let mid = lo + (hi.saturating_sub(lo)) / 2;
            if mid <= lo || mid >= hi {
                return Err(Reanalyse("no room in the SCC order for an added function"));
            }
            self.scc_of.push(self.sccs.len() as u32);
            self.sccs.push((vec![*f], false));
            self.rank.push(mid);
            self.ranks.insert(mid);
        }
        self.callees.resize_with(n, Vec::new);
        self.callers.resize_with(n, Vec::new);
        self.analysis.summaries.grow(n);
        // Every changed edge must keep callees before callers; an edge
        // removed inside a cycle may split it.
        for (f, new) in &new_callees {
            let sf = self.scc_of[*f as usize] as usize;
            let old = &self.callees[*f as usize];
            for &c in new.iter().filter(|c| old.binary_search(c).is_err()) {
                let sc = self.scc_of[c as usize] as usize;
                if sc != sf && self.rank[sc] >= self.rank[sf] {
                    return Err(Reanalyse("a new call goes against the SCC order"));
                }
            }
            for &c in old.iter().filter(|c| new.binary_search(c).is_err()) {
                if self.scc_of[c as usize] as usize == sf && self.sccs[sf].0.len() > 1 {
                    return Err(Reanalyse("a call inside a recursive cycle went"));
                }
            }
        }
        let mut touched: Vec<FuncId> = Vec::new();
        for (f, new) in new_callees {
            touched.push(f);
            touched.extend(&new);
            let old = std::mem::replace(&mut self.callees[f as usize], new);
            touched.extend(&old);
            for &c in &old {
                self.callers[c as usize].retain(|&x| x != f);
            }
            for &c in &self.callees[f as usize] {
                self.callers[c as usize].push(f);
            }
            let sf = self.scc_of[f as usize] as usize;
            if self.sccs[sf].0.len() == 1 {
                self.sccs[sf].1 = self.callees[f as usize].contains(&f);
            }
        }
        // Specialisable parameters, callees first: a change that callers
        // outside the dirty set would specialise on is not followed.
        let mut order: Vec<FuncId> = update.dirty.clone();
        order.sort_by_key(|&f| self.rank[self.scc_of[f as usize] as usize]);
        self.tested.resize_with(n, ParamList::new);
        let dirty: rustc_hash::FxHashSet<FuncId> = update.dirty.iter().copied().collect();
        for f in order {
            let list = graph::tested_params_of(prog, f, &self.tested);
            if list != self.tested[f as usize] {
                if (f as usize) < old_n && self.callers[f as usize].iter().any(|c| !dirty.contains(c)) {
                    return Err(Reanalyse("the parameters callers specialise on changed"));
                }
                self.tested[f as usize] = list;
            }
        }
        touched.sort_unstable();
        touched.dedup();
        Ok(touched)
    }

    /// Analyses the dirty functions' SCCs and every SCC a changed summary
    /// reaches, in rank order.
    fn redo(
        &mut self,
        prog: &Program,
        model: &Model,
        report: &(dyn Fn(FuncId) -> bool + Sync),
        dirty: &[FuncId],
        shared: &mut Shared,
        replaced: &mut BTreeMap<u64, Slot>,
    ) -> UpdateStats {
        let mut stats = UpdateStats::default();

        let mut queue: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
        let mut queued: rustc_hash::FxHashSet<u32> = Default::default();
        for &f in dirty {
            let s = self.scc_of[f as usize];
            if queued.insert(s) {
                queue.push(Reverse((self.rank[s as usize], s)));
            }
        }
        let never = |_: FuncId| false;
        // The specialised summaries by function and by the callback they
        // bind. Entries added while the update runs are computed over
        // summaries already final, so these stay enough.
        let mut by_func: rustc_hash::FxHashMap<FuncId, Vec<Specialization>> = Default::default();
        let mut by_callback: rustc_hash::FxHashMap<FuncId, Vec<(FuncId, Specialization)>> = Default::default();
        for key in shared.specialized.keys() {
            by_func.entry(key.0).or_default().push(key.1);
            if let Specialization::Callback(_, f) = key.1 {
                by_callback.entry(f).or_default().push(*key);
            }
        }
        while let Some(Reverse((rank, s))) = queue.pop() {
            let members = self.sccs[s as usize].0.clone();
            stats.sccs_analysed += 1;
            stats.functions_analysed += members.len();
            // This SCC's specialised summaries are stale: set aside, to be
            // recomputed and compared once its plain summaries are.
            let specialized = Arc::make_mut(&mut shared.specialized);
            let mut old_specs: Vec<((FuncId, Specialization), SpecEntry)> = Vec::new();
            for &f in &members {
                for spec in by_func.remove(&f).unwrap_or_default() {
                    if let Some(e) = specialized.remove(&(f, spec)) {
                        old_specs.push(((f, spec), e));
                    }
                }
            }
            old_specs.sort_unstable_by_key(|(k, _)| *k);
            // A recursive SCC iterates from nothing, as in a whole run.
            let old: Vec<super::summary::FunctionSummary> =
                members.iter().map(|&f| shared.summaries.get(f as usize).clone()).collect();
            if self.sccs[s as usize].1 {
                for &f in &members {
                    shared.summaries.set(f as usize, Default::default());
                }
            }
            let out = {
                let select = Selection { report, probe: &never };
                let frozen = shared.frozen(prog, model, (&self.tested, &self.called), &select);
                scc::analyse_scc(&frozen, &members, self.sccs[s as usize].1)
            };
            let found = shared.absorb(out);
            let mut changed: Vec<FuncId> = members
                .iter()
                .zip(&old)
                .filter(|(f, o)| shared.summaries.get(**f as usize) != *o)
                .map(|(f, _)| *f)
                .collect();
            let mut specs_changed = false;
            for (key, old_entry) in old_specs {
                let entry = respecialise(prog, model, shared, &self.tested, &self.called, key, old_entry.depth);
                specs_changed |= entry != old_entry;
                Arc::make_mut(&mut shared.specialized).insert(key, entry);
            }
            replaced.insert(rank, Slot { observations: found.observations, conditional: found.conditional });
            if changed.is_empty() && !specs_changed {
                continue;
            }
            // Callback specialisations of the changed functions are stale
            // too; their callers, which pass them, are queued below.
            changed.sort_unstable();
            let specialized = Arc::make_mut(&mut shared.specialized);
            for f in &changed {
                for key in by_callback.remove(f).unwrap_or_default() {
                    specialized.remove(&key);
                }
            }
            for &f in &members {
                for &c in &self.callers[f as usize] {
                    let sc = self.scc_of[c as usize];
                    if sc != s && queued.insert(sc) {
                        queue.push(Reverse((self.rank[sc as usize], sc)));
                    }
                }
            }
        }
        stats
    }
}

impl Resident {
    /// The lock state at each call of `ids` (the editor's open files), over
    /// the current summaries.
    pub fn call_states(&self, prog: &Program, model: &Model, ids: &[FuncId]) -> Vec<(FuncId, dataflow::CallState)> {
        if ids.is_empty() {
            return Vec::new();
        }
        let mut classes = super::classes::LocalClasses::new(Arc::new(self.analysis.classes.clone()));
        let view = super::summary::SummaryView { global: &self.analysis.summaries, local: Default::default() };
        let mut cache = dataflow::SpecCache { global: self.specialized.clone(), local: Default::default() };
        let mut out = Vec::new();
        for &id in ids {
            let mut ctx =
                dataflow::Ctx::new(prog, model, &view, &mut classes, (&self.tested, &self.called), &mut cache);
            ctx.probe = Some(id);
            dataflow::analyze(&mut ctx, id, None);
            out.extend(ctx.call_states.into_iter().map(|s| (id, s)));
        }
        out
    }
}

/// Runs the levels of a whole analysis, keeping each SCC's observations in
/// its slot.
#[allow(clippy::too_many_arguments)]
fn run_levels_into(
    prog: &Program,
    model: &Model,
    report: &(dyn Fn(FuncId) -> bool + Sync),
    probe: &(dyn Fn(FuncId) -> bool + Sync),
    plan: &Plan,
    shared: &mut Shared,
    rank: &[u64],
    slots: &mut BTreeMap<u64, Slot>,
) {
    super::run_levels(prog, model, &Selection { report, probe }, plan, shared, |i, found| {
        if !found.observations.is_empty() || !found.conditional.is_empty() {
            slots.insert(rank[i], Slot { observations: found.observations, conditional: found.conditional });
        }
    });
}

/// A specialised summary computed again over the current summaries, at
/// the depth it was first computed at.
fn respecialise(
    prog: &Program,
    model: &Model,
    shared: &mut Shared,
    tested: &[ParamList],
    called: &[ParamList],
    key: (FuncId, Specialization),
    depth: u8,
) -> SpecEntry {
    let mut classes = super::classes::LocalClasses::new(shared.classes.clone());
    let view = super::summary::SummaryView { global: &shared.summaries, local: Default::default() };
    let mut cache = dataflow::SpecCache { global: shared.specialized.clone(), local: Default::default() };
    let mut entry = {
        let mut ctx = dataflow::Ctx::new(prog, model, &view, &mut classes, (tested, called), &mut cache);
        ctx.specialize_depth = depth;
        dataflow::specialized_entry(&mut ctx, key.0, key.1)
    };
    // Into the shared table only once this run's handle on it is gone:
    // `make_mut` would copy every class otherwise.
    let new: super::classes::NewClasses = classes.into();
    let map = Arc::make_mut(&mut shared.classes).absorb(new);
    if !map.is_identity() {
        use super::remap::MapClasses;
        entry.summary.map_classes(&map);
        entry.observations.map_classes(&map);
    }
    entry
}

/// The classes a list of class-flagging calls flags, by name.
fn flagged(prog: &Program, model: &Model, calls: &[(FuncId, crate::ir::Call)]) -> BTreeSet<(String, bool, bool)> {
    let mut classes = Classes::default();
    dataflow::flag_classes_of(prog, model, calls.iter(), &mut classes);
    classes.flagged()
}

fn new_flag_calls(prog: &Program, dirty: &[FuncId]) -> Vec<(FuncId, crate::ir::Call)> {
    prog.class_flag_calls().iter().filter(|(f, _)| dirty.binary_search(f).is_ok()).cloned().collect()
}
