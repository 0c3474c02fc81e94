//! Branch conditions: `&&`, `||`, `!`, `likely()`, comparisons with zero,
//! a call's result, a parameter's value.

use super::parse_int;
use super::BodyBuilder;
use crate::extract::syntax::fid;
use crate::extract::syntax::KindName;
use crate::extract::syntax::{callee_identifier, op_text, strip_parens, text};
use crate::ir::{BlockId, Cond, Event, Terminator};
use std::hash::BuildHasher;
use tree_sitter::Node;

impl BodyBuilder<'_> {
    // ---- conditions -------------------------------------------------------

    /// Lowers a branch condition so that `&&`, `||`, `!`, `likely()` and
    /// comparisons with zero become control flow, and a call's result or a
    /// parameter's value decides which edge is which.
    pub(super) fn cond(&mut self, node: Node, then: BlockId, otherwise: BlockId, depth: u32) {
        let node = strip_parens(node);
        if depth > 64 {
            self.emit_expr(node);
            self.finish(Terminator::Branch { cond: Cond::Opaque, then, otherwise });
            return;
        }
        match node.kind_name() {
            "unary_expression" if op_text(node, self.src) == "!" => {
                if let Some(arg) = node.child_by_field_id(fid!("argument")) {
                    return self.cond(arg, otherwise, then, depth + 1);
                }
            }
            "binary_expression" => {
                let (left, right) = (node.child_by_field_id(fid!("left")), node.child_by_field_id(fid!("right")));
                if let (Some(left), Some(right)) = (left, right) {
                    let op = op_text(node, self.src);
                    if matches!(op, "&&" | "||") {
                        if let Some(key) = expr_key(node, self.src).filter(|_| depth == 0) {
                            // Split as control flow, then record on each side
                            // that the whole condition held or not, so that a
                            // repeated `if (a || b)` takes the same way.
                            let (t, e) = (self.new_block(), self.new_block());
                            self.cond(node, t, e, depth + 1);
                            for (b, value, target) in [(t, true, then), (e, false, otherwise)] {
                                self.cur = b;
                                self.push_event(Event::Assume { key, value });
                                self.goto(target);
                            }
                            return;
                        }
                    }
                    match op {
                        "&&" => {
                            let mid = self.new_block();
                            self.cond(left, mid, otherwise, depth + 1);
                            self.cur = mid;
                            return self.cond(right, then, otherwise, depth + 1);
                        }
                        "||" => {
                            let mid = self.new_block();
                            self.cond(left, then, mid, depth + 1);
                            self.cur = mid;
                            return self.cond(right, then, otherwise, depth + 1);
                        }
                        "==" | "!="
                            if [left, right]
                                .iter()
                                .all(|n| n.kind_name() == "identifier" && !is_zero(*n, self.src)) =>
                        {
                            for side in [left, right] {
                                self.mark_object_tested(side);
                            }
                        }
                        // `err < 0` / `err >= 0`: kernel errno values are never
                        // positive, so these are `err` / `!err` (an interruptible
                        // lock's result tested for failure).
                        "<" if is_zero(right, self.src) => return self.cond(left, then, otherwise, depth + 1),
                        ">=" if is_zero(right, self.src) => return self.cond(left, otherwise, then, depth + 1),
                        op @ ("==" | "!=") if is_zero(right, self.src) || is_zero(left, self.src) => {
                            let operand = if is_zero(right, self.src) { left } else { right };
                            return if op == "==" {
                                self.cond(operand, otherwise, then, depth + 1)
                            } else {
                                self.cond(operand, then, otherwise, depth + 1)
                            };
                        }
                        _ => {}
                    }
                }
            }
            "call_expression" => {
                if let Some(name) = callee_identifier(node, self.src) {
                    if matches!(name, "likely" | "unlikely" | "WARN_ON" | "WARN_ON_ONCE" | "data_race") {
                        if let Some(arg) = node.child_by_field_id(fid!("arguments")).and_then(|a| a.named_child(0)) {
                            return self.cond(arg, then, otherwise, depth + 1);
                        }
                    }
                }
                self.emit_expr(node);
                let text = node.child_by_field_id(fid!("arguments")).and_then(|a| expr_key(a, self.src)).map(|args| {
                    let name = callee_identifier(node, self.src).unwrap_or("");
                    args ^ (rustc_hash::FxBuildHasher.hash_one(name) as u32)
                });
                let cond = match self.last_event_pos() {
                    Some((block, event)) => Cond::CallResult { block, event, var: None, text },
                    None => Cond::Opaque,
                };
                return self.finish(Terminator::Branch { cond, then, otherwise });
            }
            "identifier" => {
                let sym = self.names.intern(text(node, self.src));
                let cond = if let Some(&(block, event)) = self.call_vars.get(&sym) {
                    let var = self.local_shadowing(sym).then_some(sym);
                    Cond::CallResult { block, event, var, text: None }
                } else if let Some(i) = if self.local_shadowing(sym) { None } else { self.param_index(sym) } {
                    self.mark_object_tested(node);
                    Cond::Param(i)
                } else if self.local_shadowing(sym) {
                    // Only locals: a global may change in any call.
                    Cond::Var(sym)
                } else {
                    expr_key(node, self.src).map_or(Cond::Opaque, Cond::Expr)
                };
                return self.finish(Terminator::Branch { cond, then, otherwise });
            }
            "assignment_expression" => {
                self.emit_expr(node);
                self.remember_call_var(node.child_by_field_id(fid!("left")), node.child_by_field_id(fid!("right")));
                let var = node
                    .child_by_field_id(fid!("left"))
                    .filter(|l| l.kind_name() == "identifier")
                    .map(|l| self.names.intern(text(l, self.src)))
                    .filter(|v| self.local_shadowing(*v));
                let cond = match node.child_by_field_id(fid!("right")).map(strip_parens) {
                    Some(r) if r.kind_name() == "call_expression" => match self.last_event_pos() {
                        Some((block, event)) => Cond::CallResult { block, event, var, text: None },
                        None => Cond::Opaque,
                    },
                    _ => Cond::Opaque,
                };
                return self.finish(Terminator::Branch { cond, then, otherwise });
            }
            _ => {}
        }
        self.emit_expr(node);
        let cond = expr_key(node, self.src).map_or(Cond::Opaque, Cond::Expr);
        self.finish(Terminator::Branch { cond, then, otherwise });
    }

    /// `node` names a pointer parameter a branch tests as an object.
    fn mark_object_tested(&mut self, node: Node) {
        let sym = self.names.intern(text(node, self.src));
        if self.local_shadowing(sym) {
            return;
        }
        if let Some(p) = self.param_index(sym).and_then(|i| self.params.get_mut(i as usize)) {
            p.object_tested |= p.pointer;
        }
    }

    pub(super) fn local_shadowing(&self, sym: crate::ir::Sym) -> bool {
        self.locals.iter().flatten().any(|l| l.name == sym)
    }

    pub(super) fn param_index(&self, sym: crate::ir::Sym) -> Option<u8> {
        self.params.iter().position(|p| p.name == sym).and_then(|i| u8::try_from(i).ok())
    }
}

pub(super) fn strip_not(node: Node) -> (Node, bool) {
    let mut n = strip_parens(node);
    let mut negated = false;
    for _ in 0..8 {
        if n.kind_name() == "unary_expression" && n.child(0).is_some_and(|o| o.kind_name() == "!") {
            match n.child_by_field_id(fid!("argument")) {
                Some(arg) => {
                    n = strip_parens(arg);
                    negated = !negated;
                }
                None => break,
            }
        } else {
            break;
        }
    }
    (n, negated)
}

fn is_zero(node: Node, src: &[u8]) -> bool {
    let node = strip_parens(node);
    match node.kind_name() {
        "number_literal" => parse_int(text(node, src)) == Some(0),
        "false" | "null" => true,
        "identifier" => text(node, src) == "NULL",
        _ => false,
    }
}

/// A key for a condition without side effects (no call, assignment or
/// increment), so that two branches on the same text can be correlated:
/// `if (dev->locked) ... if (dev->locked)`. The hash is of the text without
/// blanks and comments.
fn expr_key(node: Node, src: &[u8]) -> Option<u32> {
    use std::hash::Hasher;
    let mut stack = vec![node];
    let mut visited = 0u32;
    let mut hasher = rustc_hash::FxHasher::default();
    while let Some(n) = stack.pop() {
        visited += 1;
        if visited > 256 {
            return None;
        }
        match n.kind_name() {
            "call_expression" | "assignment_expression" | "update_expression" | "comma_expression" => return None,
            "comment" => continue,
            _ => {}
        }
        if n.child_count() == 0 {
            hasher.write(text(n, src).as_bytes());
            hasher.write_u8(0);
            continue;
        }
        let mut cursor = n.walk();
        let children: Vec<Node> = n.children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    Some(hasher.finish() as u32)
}
