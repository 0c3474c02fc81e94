//! The call graph and what the summaries need of it: SCCs callees first,
//! their levels, the parameters a constant argument can specialise, and
//! which functions something else calls.

use super::dataflow::{self, ParamList};
use super::AnalysisStats;
use crate::index::{BareArg, FuncId, Program, Target};
use petgraph::graph::{DiGraph, NodeIndex};
use rayon::prelude::*;

/// The call graph, digested: everything the level-by-level analysis and an
/// incremental re-run need, with the graph itself dropped.
pub(super) struct Plan {
    /// Tarjan's SCCs, callees first, each with whether it recurses.
    pub sccs: Vec<(Vec<FuncId>, bool)>,
    /// SCC indices by level (a leaf SCC is level 0).
    pub levels: Vec<Vec<usize>>,
    pub tested: Vec<ParamList>,
    pub called: Vec<ParamList>,
    pub called_by_others: Vec<bool>,
    /// Per function, the distinct functions it calls (callbacks it passes
    /// to a parameter the callee calls included): kept only for a resident
    /// analysis.
    pub callees: Option<Vec<Vec<FuncId>>>,
    /// Per level, the functions whose summaries nothing reads once that
    /// level is done (`retirements`); empty for a resident analysis, which
    /// keeps every summary for the next edit.
    pub retire: Vec<Vec<FuncId>>,
}

/// Calls `edge` with each call-graph edge out of `id`, in call order: each
/// resolved callee, then the functions the call passes to a parameter the
/// callee calls (summarised first: they run below this caller).
pub(super) fn for_each_callee(
    prog: &Program,
    id: FuncId,
    called: &[ParamList],
    stats: &mut AnalysisStats,
    mut edge: impl FnMut(FuncId),
) {
    let def = &prog.funcs[id as usize];
    for (at, &sym) in def.calls.callees.iter().enumerate() {
        if def.func.params.iter().any(|p| p.name == sym) {
            continue;
        }
        match prog.resolve_call(sym, def.file) {
            Target::Functions(ids) => {
                for &callee in &ids {
                    edge(callee);
                    stats.call_edges += 1;
                    for (pos, arg) in def.calls.bare_args_of(at as u32) {
                        let BareArg::Global(g) = arg else { continue };
                        if !called[callee as usize].contains(&pos) {
                            continue;
                        }
                        if let Some(f) = dataflow::callback_function(prog, g, def.file) {
                            edge(f);
                        }
                    }
                }
            }
            Target::Unknown => stats.unresolved_calls += 1,
            Target::Primitive(_) => {}
        }
    }
}

/// The distinct callees of `id`, sorted.
pub(super) fn callees_of(prog: &Program, id: FuncId, called: &[ParamList]) -> Vec<FuncId> {
    let mut out = Vec::new();
    for_each_callee(prog, id, called, &mut AnalysisStats::default(), |c| out.push(c));
    out.sort_unstable();
    out.dedup();
    out
}

pub(super) fn plan(prog: &Program, stats: &mut AnalysisStats, keep_callees: bool) -> Plan {
    let n = prog.funcs.len();
    let mut graph: DiGraph<FuncId, ()> = DiGraph::with_capacity(n, n * 4);
    for id in 0..n {
        graph.add_node(id as FuncId);
    }
    let called: Vec<ParamList> = prog.funcs.iter().map(|def| def.calls.called_params.clone()).collect();
    // Calls are resolved in parallel (5 million on the whole tree); the
    // edges go in serially, in function and call order, so the graph and
    // its SCCs are the same for any number of threads.
    let out_edges: Vec<(Vec<FuncId>, AnalysisStats)> = (0..n)
        .into_par_iter()
        .map(|id| {
            let mut local = AnalysisStats::default();
            let mut out = Vec::new();
            for_each_callee(prog, id as FuncId, &called, &mut local, |callee| out.push(callee));
            (out, local)
        })
        .collect();
    for (id, (callees, local)) in out_edges.into_iter().enumerate() {
        stats.call_edges += local.call_edges;
        stats.unresolved_calls += local.unresolved_calls;
        for callee in callees {
            graph.add_edge(NodeIndex::new(id), NodeIndex::new(callee as usize), ());
        }
    }
    // Tarjan yields SCCs callees-first: every callee's summary is ready (or,
    // inside a recursive SCC, iterated) before its callers are analysed.
    let sccs = petgraph::algo::tarjan_scc(&graph);
    stats.sccs = sccs.len();
    let tested = specialisable_params(prog, &sccs);
    let levels = levels(&graph, &sccs);
    let retire = if keep_callees { Vec::new() } else { retirements(prog, &graph, &sccs, &levels, &tested, &called) };
    let sccs: Vec<(Vec<FuncId>, bool)> = sccs
        .into_iter()
        .map(|scc| {
            let recursive = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
            (scc.iter().map(|ix| graph[*ix]).collect(), recursive)
        })
        .collect();
    let called_by_others: Vec<bool> = (0..n)
        .map(|id| {
            let ix = NodeIndex::new(id);
            graph.neighbors_directed(ix, petgraph::Direction::Incoming).any(|c| c != ix)
        })
        .collect();
    let callees = keep_callees.then(|| {
        (0..n)
            .map(|id| {
                let mut out: Vec<FuncId> = graph.neighbors(NodeIndex::new(id)).map(|c| c.index() as FuncId).collect();
                out.sort_unstable();
                out.dedup();
                out
            })
            .collect()
    });
    Plan { sccs, levels, tested, called, called_by_others, callees, retire }
}

/// Per level, the functions whose summaries can be dropped once that level
/// is done: on the whole tree the summaries grow to most of the memory a
/// run peaks at, and four in ten are read by nothing after their callers.
///
/// A summary is read by its callers (at their levels; a callback passed
/// to a parameter the callee calls is an edge from the function passing
/// it), and again whenever a caller is re-run specialised for a constant
/// or callback argument, which may happen at any later level: so the
/// callees of a function with specialisable parameters are kept, as are
/// functions nothing else calls (entry points, which irq-unsafe-lock
/// reads) and interrupt handlers (read by the same check).
fn retirements(
    prog: &Program,
    graph: &DiGraph<FuncId, ()>,
    sccs: &[Vec<NodeIndex>],
    levels: &[Vec<usize>],
    tested: &[ParamList],
    called: &[ParamList],
) -> Vec<Vec<FuncId>> {
    let n = graph.node_count();
    let mut level_of = vec![0usize; n];
    for (l, list) in levels.iter().enumerate() {
        for &i in list {
            for ix in &sccs[i] {
                level_of[ix.index()] = l;
            }
        }
    }
    // The last level that reads each summary; `None`: no caller but itself.
    let mut last: Vec<Option<usize>> = vec![None; n];
    let mut keep = vec![false; n];
    for g in 0..n {
        let rerun = !tested[g].is_empty() || !called[g].is_empty();
        for h in graph.neighbors(NodeIndex::new(g)) {
            let h = h.index();
            keep[h] |= rerun;
            if h != g {
                last[h] = Some(last[h].map_or(level_of[g], |l: usize| l.max(level_of[g])));
            }
        }
    }
    let mut out = vec![Vec::new(); levels.len()];
    for f in 0..n {
        let Some(l) = last[f] else { continue };
        if !keep[f] && !prog.irq_roots.contains_key(&(f as FuncId)) {
            out[l].push(f as FuncId);
        }
    }
    out
}

/// Per function, the parameters a constant argument can specialise: those
/// its branches test, and those it passes on unchanged to such a parameter
/// of a callee (`dump_pins(pctldev, NULL, pin)` reaches `if (gname)` one
/// call down). Computed callees first, over the SCC order.
fn specialisable_params(prog: &Program, sccs: &[Vec<NodeIndex>]) -> Vec<ParamList> {
    let mut out: Vec<ParamList> = prog.funcs.iter().map(|def| def.calls.branch_params.clone()).collect();
    for scc in sccs {
        for ix in scc {
            let id = ix.index();
            let list = tested_params_of(prog, id as FuncId, &out);
            out[id] = list;
        }
    }
    out
}

/// `id`'s specialisable parameters (see `specialisable_params`), given its
/// callees' in `tested`.
pub(super) fn tested_params_of(prog: &Program, id: FuncId, tested: &[ParamList]) -> ParamList {
    let def = &prog.funcs[id as usize];
    let mut list = def.calls.branch_params.clone();
    let mut last_call = None;
    for &(at, pos, arg) in def.calls.bare_args.iter() {
        let BareArg::Param(a) = arg else { continue };
        // One resolution per call, however many parameters it forwards.
        if last_call.map(|(c, _)| c) != Some(at) {
            let sym = def.calls.callees[at as usize];
            let callee = match prog.resolve_call(sym, def.file) {
                Target::Functions(ids) if ids.len() == 1 => Some(ids[0]),
                _ => None,
            };
            last_call = Some((at, callee));
        }
        let Some((_, Some(callee))) = last_call else { continue };
        if tested.get(callee as usize).is_some_and(|t| t.contains(&pos)) && !list.contains(&a) {
            list.push(a);
        }
    }
    list
}

/// The SCCs (indices into Tarjan's callees-first list) by level: a leaf
/// SCC is level 0, any other one level above the highest SCC it calls.
fn levels(graph: &DiGraph<FuncId, ()>, sccs: &[Vec<NodeIndex>]) -> Vec<Vec<usize>> {
    let mut scc_of = vec![0usize; graph.node_count()];
    for (i, scc) in sccs.iter().enumerate() {
        for ix in scc {
            scc_of[ix.index()] = i;
        }
    }
    let mut level = vec![0usize; sccs.len()];
    let mut out: Vec<Vec<usize>> = Vec::new();
    for (i, scc) in sccs.iter().enumerate() {
        let mut l = 0;
        for ix in scc {
            for callee in graph.neighbors_directed(*ix, petgraph::Direction::Outgoing) {
                let j = scc_of[callee.index()];
                if j != i {
                    l = l.max(level[j] + 1);
                }
            }
        }
        level[i] = l;
        if out.len() <= l {
            out.resize_with(l + 1, Vec::new);
        }
        out[l].push(i);
    }
    out
}
