//! `lock-order-cycle`: lock classes taken in orders that form a cycle, the
//! way lockdep reports "possible circular locking dependency". The text
//! `lockpath explain` prints is [`DOC`].

use super::trace::{chain, fn_name, hop, lock_taken, mode_text, name_of};
use super::CheckInfo;
use crate::analysis::classes::ClassId;
use crate::analysis::dataflow::Observation;
use crate::analysis::Analysis;
use crate::finding::{Finding, Severity, TraceHop};
use crate::index::{FuncId, Program};
use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

pub const DOC: &str = r#"lock-order-cycle (error)

## What it catches
Two (or more) lock classes taken in opposite orders somewhere in the code:
A then B on one path, B then A on another, each possibly many calls apart
and in different files. lockpath builds the lock-order graph over all the
code it reads — an edge A → B each time B is acquired, directly or in any
callee, while A is held on every path to that point — and reports each
cycle with the path that makes every edge. A user-memory access that may
fault counts as taking mm_struct::mmap_lock (read), as might_fault() tells
lockdep, so `mutex_lock(&dev->lock); copy_to_user(..)` is the edge
dev->lock → mmap_lock.

Trylocks add no edge to the lock they try (they cannot wait), nor do
readers that never wait (rcu_read_lock); page locks are not lock classes;
an inversion between wound/wait mutexes is resolved by the primitive
(-EDEADLK). Taking two objects of one class is double-lock's business, not
this check's.

## Why it deadlocks
Thread 1 holds A and waits for B; thread 2 holds B and waits for A. Neither
can go on. It needs no bad luck beyond the two paths running at once, which
on a busy machine is a matter of time.

## Example
Bad:

    /* path 1 */                     /* path 2 */
    mutex_lock(&dev->lock);          mmap_read_lock(mm);
    copy_to_user(buf, ..);           mutex_lock(&dev->lock);  /* e.g. in ->mmap */
    /* dev->lock -> mmap_lock */     /* mmap_lock -> dev->lock */

Fixed: pick one order and keep to it everywhere; here, copy to a kernel
buffer under dev->lock and copy_to_user() after dropping it, or take the
lock with a trylock on the path that goes against the order and back off
when it fails.

## References
Documentation/locking/lockdep-design.rst; Documentation/locking/mutex-design.rst.
"#;

pub const INFO: CheckInfo = CheckInfo {
    id: "lock-order-cycle",
    severity: Severity::Error,
    summary: "lock classes taken in an order that forms a cycle",
    doc: DOC,
};

/// One witness for an edge A → B: the function and the observation.
type Witness<'a> = (FuncId, &'a Observation);

/// One edge of the lock-order graph, for `--graph`.
#[derive(Debug, Clone)]
pub struct OrderEdge {
    pub from: String,
    pub to: String,
    /// The function whose path makes the edge (its first witness).
    pub function: String,
    /// Both ends lie on a cycle (one strongly connected component).
    pub in_cycle: bool,
}

/// The lock-order graph over classes, with one witness per edge.
struct OrderGraph<'a> {
    graph: DiGraph<ClassId, ()>,
    witness: FxHashMap<(ClassId, ClassId), Witness<'a>>,
}

/// Every edge of the lock-order graph, sorted, for `--graph`.
pub fn edges(prog: &Program, analysis: &Analysis) -> Vec<OrderEdge> {
    let OrderGraph { graph, witness } = build(analysis);
    let mut scc_of: FxHashMap<NodeIndex, usize> = FxHashMap::default();
    for (i, scc) in petgraph::algo::tarjan_scc(&graph).into_iter().enumerate() {
        if scc.len() > 1 {
            for n in scc {
                scc_of.insert(n, i);
            }
        }
    }
    let mut out: Vec<OrderEdge> = graph
        .edge_indices()
        .filter_map(|e| {
            let (a, b) = graph.edge_endpoints(e)?;
            let (ca, cb) = (graph[a], graph[b]);
            let func = witness.get(&(ca, cb)).map(|(f, _)| fn_name(prog, *f)).unwrap_or_default();
            let in_cycle = scc_of.get(&a).is_some_and(|s| scc_of.get(&b) == Some(s));
            Some(OrderEdge {
                from: analysis.classes.name(ca).to_string(),
                to: analysis.classes.name(cb).to_string(),
                function: func,
                in_cycle,
            })
        })
        .collect();
    out.sort_by(|x, y| (&x.from, &x.to).cmp(&(&y.from, &y.to)));
    out
}

/// How many edges the lock-order graph has, for `--stats`.
pub fn edge_count(analysis: &Analysis) -> usize {
    build(analysis).graph.edge_count()
}

fn build(analysis: &Analysis) -> OrderGraph<'_> {
    let classes = &analysis.classes;
    let mut graph: DiGraph<ClassId, ()> = DiGraph::new();
    // Class ids are dense: a node per id, made when first needed.
    let mut nodes: Vec<Option<NodeIndex>> = vec![None; classes.count()];
    let mut witness: FxHashMap<(ClassId, ClassId), Witness> = FxHashMap::default();
    for (func, obs) in &analysis.observations {
        let Observation::Ordered { held, class, .. } = obs else { continue };
        // Page locks are not lockdep classes; inversions among wound/wait
        // mutexes are backed off by the primitive.
        if classes.is_per_object(held.class) || classes.is_per_object(*class) {
            continue;
        }
        if classes.is_backoff(held.class) && classes.is_backoff(*class) {
            continue;
        }
        let std::collections::hash_map::Entry::Vacant(first) = witness.entry((held.class, *class)) else { continue };
        first.insert((*func, obs));
        let mut node = |c: ClassId| match nodes.get(c.0 as usize).copied().flatten() {
            Some(n) => n,
            None => {
                let n = graph.add_node(c);
                if let Some(slot) = nodes.get_mut(c.0 as usize) {
                    *slot = Some(n);
                }
                n
            }
        };
        let (a, b) = (node(held.class), node(*class));
        graph.add_edge(a, b, ());
    }
    OrderGraph { graph, witness }
}

/// A huge SCC (hundreds of classes tied together by a few generic helpers)
/// is reported through its first classes only.
const MAX_CYCLE_STARTS: usize = 8;

/// Cycles after the first of an SCC are reported only up to this length.
const MAX_EXTRA_CYCLE_LEN: usize = 3;

/// The findings, and how many edges the graph has (`--stats`).
pub(crate) fn findings(prog: &Program, analysis: &Analysis) -> (Vec<Finding>, usize) {
    let OrderGraph { graph, witness } = build(analysis);
    let mut out = Vec::new();
    for scc in petgraph::algo::tarjan_scc(&graph) {
        if scc.len() < 2 {
            continue;
        }
        // Every class of the SCC lies on some reported cycle: the shortest
        // cycle through each class no earlier cycle went through. Real locks
        // first, by name, so the reports land on code that holds a lock and
        // are the same whatever order the edges were found in.
        let mut order = scc.clone();
        order.sort_by_key(|n| {
            let name = analysis.classes.name(graph[*n]);
            (name.starts_with("(handler)"), name)
        });
        let mut covered: Vec<ClassId> = Vec::new();
        for start in order.into_iter().take(MAX_CYCLE_STARTS) {
            if covered.contains(&graph[start]) {
                continue;
            }
            let Some(cycle) = shortest_cycle(&graph, start, &scc) else { continue };
            // Past the first, only short cycles: long ones through a big SCC
            // are mostly the same few edges again.
            if !covered.is_empty() && cycle.len() > MAX_EXTRA_CYCLE_LEN {
                continue;
            }
            covered.extend(cycle.iter().copied());
            out.push(finding(prog, analysis, &cycle, &witness));
        }
    }
    (out, graph.edge_count())
}

/// The shortest cycle through `start` inside its SCC, as a list of classes
/// (the first is not repeated at the end).
fn shortest_cycle(graph: &DiGraph<ClassId, ()>, start: NodeIndex, scc: &[NodeIndex]) -> Option<Vec<ClassId>> {
    let mut prev: FxHashMap<NodeIndex, NodeIndex> = FxHashMap::default();
    let mut queue = VecDeque::from([start]);
    let in_scc: rustc_hash::FxHashSet<NodeIndex> = scc.iter().copied().collect();
    let succs = |n: NodeIndex| {
        let mut v: Vec<NodeIndex> = graph.neighbors(n).filter(|m| in_scc.contains(m)).collect();
        v.sort_by_key(|m| graph[*m]);
        v
    };
    while let Some(n) = queue.pop_front() {
        for m in succs(n) {
            if m == start {
                let mut path = vec![graph[n]];
                let mut cur = n;
                while cur != start {
                    cur = *prev.get(&cur)?;
                    path.push(graph[cur]);
                }
                path.reverse();
                return Some(path);
            }
            if m != start && !prev.contains_key(&m) {
                prev.insert(m, n);
                queue.push_back(m);
            }
        }
    }
    None
}

fn finding(
    prog: &Program,
    analysis: &Analysis,
    cycle: &[ClassId],
    witness: &FxHashMap<(ClassId, ClassId), Witness>,
) -> Finding {
    let names: Vec<&str> = cycle.iter().map(|c| analysis.classes.name(*c)).collect();
    let mut order = names.join(" → ");
    order.push_str(" → ");
    order.push_str(names[0]);
    let mut trace: Vec<TraceHop> = Vec::new();
    let mut primary = None;
    for (i, &a) in cycle.iter().enumerate() {
        let b = cycle[(i + 1) % cycle.len()];
        let Some(&(func, Observation::Ordered { held, site, callee, chain: callee_chain, .. })) = witness.get(&(a, b))
        else {
            continue;
        };
        let (a_name, b_name) = (analysis.classes.name(a), analysis.classes.name(b));
        primary.get_or_insert((func, *site));
        trace.extend(lock_taken(prog, func, held, a_name, mode_text(held)));
        let callee_name = name_of(prog, *callee);
        match callee_chain {
            None => {
                trace.push(hop(prog, func, *site, format!("{callee_name}() takes {b_name} while {a_name} is held")))
            }
            Some(c) => {
                trace.push(hop(prog, func, *site, format!("calls {callee_name}() with {a_name} held")));
                trace.extend(chain(prog, c, |last| format!("{last}() takes {b_name}")));
            }
        }
    }
    let (func, site) = primary.unwrap_or((0, crate::ir::Span::default()));
    Finding {
        check: INFO.id,
        severity: INFO.severity,
        message: format!("possible circular locking dependency: {order}"),
        file: prog.funcs.get(func as usize).map_or(0, |f| f.file),
        span: site,
        function: fn_name(prog, func),
        lock: Some(order.clone()),
        label: format!("{} taken here while {} is held", names[1 % names.len()], names[0]),
        trace,
        notes: vec![format!(
            "{} edges: each is a path where the first lock is held while the next is taken; two threads on two of them deadlock",
            cycle.len()
        )],
        help: Some("take these locks in one order everywhere, or back off with a trylock on the path that goes against it; see `lockpath explain lock-order-cycle`".into()),
    }
}
