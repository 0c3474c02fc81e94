//! Analysis: call graph → bottom-up summaries over SCCs → per-function
//! dataflow with callee summaries → observations for the checks.
//!
//! Architecture invariant: analysis never does I/O and never prints; it
//! returns plain data.

pub mod classes;
pub mod dataflow;
pub mod held;
pub mod summary;
pub mod witness;

use crate::index::{BareArg, FuncId, Program, Target};
use crate::model::Model;
use classes::{ClassId, Classes};
use dataflow::{Ctx, Observation};
use petgraph::graph::{DiGraph, NodeIndex};
use summary::Summaries;

/// A function whose lock state on return depends on a parameter's value.
#[derive(Debug, Clone)]
pub struct ConditionalLocking {
    pub param: u8,
    /// Classes held (or released) on return for one value and not the other.
    pub classes: Vec<ClassId>,
}

pub struct Analysis {
    pub observations: Vec<(FuncId, Observation)>,
    /// Functions nothing in the analysed code calls (system calls, ops
    /// callbacks, work handlers): where process context starts.
    pub entry_points: Vec<FuncId>,
    pub conditional: Vec<(FuncId, ConditionalLocking)>,
    pub classes: Classes,
    pub summaries: Summaries,
    pub stats: AnalysisStats,
}

#[derive(Debug, Default, Clone)]
pub struct AnalysisStats {
    pub call_edges: usize,
    pub unresolved_calls: usize,
    pub sccs: usize,
    /// Summaries computed for a call's constant or callback arguments.
    pub specialised: usize,
    pub observations: usize,
}

/// Recursive SCCs are iterated at most this often; summaries only grow, and
/// in practice converge in two rounds.
const MAX_SCC_ROUNDS: usize = 4;

pub fn analyze(prog: &Program, model: &Model, report: &dyn Fn(FuncId) -> bool) -> Analysis {
    let n = prog.funcs.len();
    let mut stats = AnalysisStats::default();
    let mut graph: DiGraph<FuncId, ()> = DiGraph::with_capacity(n, n * 4);
    for id in 0..n {
        graph.add_node(id as FuncId);
    }
    let called: Vec<smallvec::SmallVec<[u8; 2]>> =
        prog.funcs.iter().map(|def| def.calls.called_params.clone()).collect();
    for (id, def) in prog.funcs.iter().enumerate() {
        for (at, &sym) in def.calls.callees.iter().enumerate() {
            if def.func.params.iter().any(|p| p.name == sym) {
                continue;
            }
            match prog.resolve_call(sym, def.file) {
                Target::Functions(ids) => {
                    for &callee in &ids {
                        graph.add_edge(NodeIndex::new(id), NodeIndex::new(callee as usize), ());
                        stats.call_edges += 1;
                        // A function passed to a parameter the callee
                        // calls runs below this caller: summarise it first.
                        for (pos, arg) in def.calls.bare_args_of(at as u32) {
                            let BareArg::Global(g) = arg else { continue };
                            if !called[callee as usize].contains(&pos) {
                                continue;
                            }
                            if let Some(f) = dataflow::callback_function(prog, g, def.file) {
                                graph.add_edge(NodeIndex::new(id), NodeIndex::new(f as usize), ());
                            }
                        }
                    }
                }
                Target::Unknown => stats.unresolved_calls += 1,
                Target::Primitive(_) => {}
            }
        }
    }
    // Tarjan yields SCCs callees-first: every callee's summary is ready (or,
    // inside a recursive SCC, iterated) before its callers are analysed.
    let sccs = petgraph::algo::tarjan_scc(&graph);
    stats.sccs = sccs.len();
    let tested = specialisable_params(prog, &sccs);
    // What the rest needs of the graph, so that it is gone before the
    // summaries grow (its edges are a tenth of the peak on the whole tree).
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
    drop(graph);
    let mut summaries = Summaries::new(n);
    let mut specialized = rustc_hash::FxHashMap::default();
    let mut classes = Classes::default();
    let mut observations = Vec::new();
    let mut conditional = Vec::new();
    let mut callback_observations = Vec::new();
    for (members, recursive) in sccs {
        let rounds = if recursive { MAX_SCC_ROUNDS } else { 1 };
        let mut last: Vec<(FuncId, Vec<Observation>)> = Vec::new();
        for _ in 0..rounds {
            last.clear();
            let mut changed = false;
            for &id in &members {
                let mut ctx = Ctx::new(prog, model, &summaries, &mut classes, (&tested, &called), &mut specialized);
                let out = dataflow::analyze(&mut ctx, id, None);
                callback_observations.append(&mut ctx.callback_observations);
                changed |= out.summary.shape() != summaries[id as usize].shape();
                summaries.set(id as usize, out.summary);
                last.push((id, out.observations));
            }
            if !changed {
                break;
            }
        }
        for (id, obs) in last {
            if report(id) {
                observations.extend(obs.into_iter().map(|o| (id, o)));
            }
        }
        for &id in &members {
            if !report(id) {
                continue;
            }
            let def = &prog.funcs[id as usize];
            for param in dataflow::tested_params(def) {
                let mut ctx = Ctx::new(prog, model, &summaries, &mut classes, (&tested, &called), &mut specialized);
                let when_true = dataflow::analyze(&mut ctx, id, Some((param, true))).exit_shape;
                let when_false = dataflow::analyze(&mut ctx, id, Some((param, false))).exit_shape;
                callback_observations.append(&mut ctx.callback_observations);
                let differ = when_true.differing(&when_false);
                if !differ.is_empty() {
                    conditional.push((id, ConditionalLocking { param, classes: differ }));
                    break;
                }
            }
        }
    }
    observations.extend(callback_observations.into_iter().filter(|(id, _)| report(*id)));
    stats.specialised = specialized.len();
    stats.observations = observations.len();
    let entry_points =
        (0..n).filter(|&id| report(id as FuncId)).filter(|&id| !called_by_others[id]).map(|id| id as FuncId).collect();
    Analysis { observations, entry_points, conditional, classes, summaries, stats }
}

/// Per function, the parameters a constant argument can specialise: those
/// its branches test, and those it passes on unchanged to such a parameter
/// of a callee (`dump_pins(pctldev, NULL, pin)` reaches `if (gname)` one
/// call down). Computed callees first, over the SCC order.
fn specialisable_params(prog: &Program, sccs: &[Vec<NodeIndex>]) -> Vec<smallvec::SmallVec<[u8; 2]>> {
    let mut out: Vec<smallvec::SmallVec<[u8; 2]>> =
        prog.funcs.iter().map(|def| def.calls.branch_params.clone()).collect();
    for scc in sccs {
        for ix in scc {
            let id = ix.index();
            let def = &prog.funcs[id];
            let mut add: smallvec::SmallVec<[u8; 2]> = smallvec::SmallVec::new();
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
                if out[callee as usize].contains(&pos) {
                    add.push(a);
                }
            }
            let list = &mut out[id];
            for a in add {
                if !list.contains(&a) {
                    list.push(a);
                }
            }
        }
    }
    out
}
