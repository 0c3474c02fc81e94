//! `--graph FILE.dot`: the lock-order graph for Graphviz. Nodes are lock
//! classes, edges are labelled with the function whose path makes them;
//! edges on a cycle are drawn red.

use crate::checks::lock_order_cycle::OrderEdge;
use std::fmt::Write;

pub fn render(edges: &[OrderEdge], only_cycles: bool) -> String {
    let mut out = String::from("digraph lock_order {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\"];\n");
    for e in edges.iter().filter(|e| e.in_cycle || !only_cycles) {
        let colour = if e.in_cycle { ", color=red, fontcolor=red" } else { "" };
        let _ = writeln!(out, "  \"{}\" -> \"{}\" [label=\"{}\"{colour}];", esc(&e.from), esc(&e.to), esc(&e.function));
    }
    out.push_str("}\n");
    out
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
