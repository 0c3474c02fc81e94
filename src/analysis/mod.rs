//! Analysis: call graph → bottom-up summaries over SCCs → per-function
//! dataflow with callee summaries → observations for the checks.
//!
//! Architecture invariant: analysis never does I/O and never prints; it
//! returns plain data.

pub mod classes;
pub mod dataflow;
pub mod held;
mod remap;
mod scc;
pub mod summary;
pub mod witness;

use crate::index::{BareArg, FuncId, Program, Target};
use crate::model::Model;
use classes::{ClassId, Classes};
use dataflow::Observation;
use petgraph::graph::{DiGraph, NodeIndex};
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
    pub observations: Vec<(FuncId, Observation)>,
    /// Functions nothing in the analysed code calls (system calls, ops
    /// callbacks, work handlers): where process context starts.
    pub entry_points: Vec<FuncId>,
    pub conditional: Vec<(FuncId, ConditionalLocking)>,
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
    let report = select.report;
    let n = prog.funcs.len();
    let started = std::time::Instant::now();
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
    let levels = levels(&graph, &sccs);
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
    stats.graph_time = started.elapsed();
    let mut summaries = Summaries::new(n);
    let mut specialized = std::sync::Arc::new(rustc_hash::FxHashMap::default());
    let mut classes = Classes::default();
    dataflow::flag_classes(prog, model, &mut classes);
    let mut classes = std::sync::Arc::new(classes);
    let mut observations = Vec::new();
    let mut conditional = Vec::new();
    let mut callback_observations = Vec::new();
    let mut call_states = Vec::new();
    // Level by level, callees first: the SCCs of one level do not call each
    // other, so they run in parallel against the frozen results of the
    // levels below; their outputs are merged in SCC order, which makes the
    // result (class ids included) the same for any number of threads.
    for level in &levels {
        let outputs: Vec<scc::SccOutput> = {
            let frozen = scc::Frozen {
                prog,
                model,
                summaries: &summaries,
                classes: classes.clone(),
                specialized: specialized.clone(),
                tested: &tested,
                called: &called,
                report,
                probe: select.probe,
            };
            level.par_iter().map(|&i| scc::analyse_scc(&frozen, &sccs[i].0, sccs[i].1)).collect()
        };
        let classes_mut = std::sync::Arc::make_mut(&mut classes);
        let specialized_mut = std::sync::Arc::make_mut(&mut specialized);
        for mut out in outputs {
            out.absorb_classes(classes_mut);
            for (id, summary) in out.summaries {
                summaries.set(id as usize, summary);
            }
            observations.append(&mut out.observations);
            conditional.append(&mut out.conditional);
            callback_observations.append(&mut out.callback_observations);
            call_states.append(&mut out.call_states);
            for (key, summary) in out.specialized {
                specialized_mut.entry(key).or_insert(summary);
            }
        }
    }
    let classes = std::sync::Arc::try_unwrap(classes).unwrap_or_else(|shared| Classes::clone(&shared));
    observations.extend(callback_observations.into_iter().filter(|(id, _)| report(*id)));
    stats.specialised = specialized.len();
    stats.observations = observations.len();
    let entry_points =
        (0..n).filter(|&id| report(id as FuncId)).filter(|&id| !called_by_others[id]).map(|id| id as FuncId).collect();
    Analysis { observations, entry_points, conditional, classes, summaries, stats, call_states }
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
