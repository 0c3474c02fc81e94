//! Expressions: calls in evaluation order, arguments, lock expressions, and
//! what can be recovered from regions tree-sitter could not parse.

use super::{parse_int, ret_val, BodyBuilder};
use crate::extract::syntax::fid;
use crate::extract::syntax::KindName;
use crate::extract::syntax::{op_text, strip_parens, text};
use crate::ir::{Arg, Base, Call, Callee, Event, LockRef, RetVal, Seg};
use smallvec::SmallVec;
use tree_sitter::Node;

impl BodyBuilder<'_> {
    pub(super) fn error_region(&mut self, node: Node) {
        let mut cursor = node.walk();
        let children: Vec<Node> = node.children(&mut cursor).collect();
        let mut i = 0;
        while i < children.len() {
            let child = children[i];
            let next = children.get(i + 1).map(|n| n.kind_name());
            if child.kind_name() == "identifier" && next == Some(":") {
                let target = self.label_block(child);
                self.goto(target);
                self.cur = target;
                i += 2;
                continue;
            }
            if child.kind_name() == "identifier" && next == Some("(") {
                let mut depth = 0;
                let mut j = i + 1;
                let mut args: Vec<Arg> = Vec::new();
                let mut arg_nodes: Vec<Node> = Vec::new();
                while j < children.len() {
                    match children[j].kind_name() {
                        "(" => depth += 1,
                        ")" => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        "," if depth == 1 => {
                            args.push(self.token_arg(&arg_nodes));
                            arg_nodes.clear();
                        }
                        _ => arg_nodes.push(children[j]),
                    }
                    j += 1;
                }
                if !arg_nodes.is_empty() {
                    args.push(self.token_arg(&arg_nodes));
                }
                let callee = Callee::Named(self.names.intern(text(child, self.src)));
                let span = self.span(child);
                self.push_event(Event::Call(Call { callee, args: args.into_iter().collect(), span }));
                i = j + 1;
                continue;
            }
            if child.is_named() {
                self.stmt(child);
            }
            i += 1;
        }
    }

    /// One argument of a call recovered from tokens: a lone name, else unknown.
    pub(super) fn token_arg(&mut self, tokens: &[Node]) -> Arg {
        match tokens {
            [one] if one.kind_name() == "identifier" => self.lock_ref(*one).map_or(Arg::Other, |l| Arg::Path(l, false)),
            [amp, one] if amp.kind_name() == "&" && one.kind_name() == "identifier" => {
                self.lock_ref(*one).map_or(Arg::Other, |l| Arg::Path(l, true))
            }
            [one] => self.arg(*one),
            _ => Arg::Other,
        }
    }

    // ---- expressions ------------------------------------------------------

    /// Emits a `Call` event for every call in `node`, arguments before the
    /// call that uses them: a post-order walk of its named nodes with one
    /// cursor (no recursion, no child lists: most of a body is expressions,
    /// and this walk was a tenth of a cold run's time when it built them).
    ///
    /// A subtree whose text has no `(`, `=`, `&`, `++` or `--` holds no
    /// call, assignment, update or address-of, the only nodes it emits for,
    /// so the walk does not go into it (`p->a.b[i] + 1`): stepping a cursor
    /// through tree-sitter's hidden repeat nodes costs more than the scan.
    pub(crate) fn emit_expr(&mut self, node: Node) {
        let src = self.src;
        let entered = |n: Node| {
            n.is_named()
                && !matches!(
                    n.kind_name(),
                    "sizeof_expression" | "alignof_expression" | "offsetof_expression" | "comment" | "string_literal"
                )
                && (n.child_count() == 0 || may_emit(src.get(n.byte_range()).unwrap_or_default()))
        };
        if !entered(node) {
            return;
        }
        let mut cursor = node.walk();
        'walk: loop {
            let n = cursor.node();
            let enter = entered(n);
            if enter && cursor.goto_first_child() {
                continue;
            }
            if enter {
                self.expr_done(n);
            }
            // Up until a next sibling; every parent left was entered.
            loop {
                if cursor.goto_next_sibling() {
                    continue 'walk;
                }
                if !cursor.goto_parent() {
                    break 'walk;
                }
                self.expr_done(cursor.node());
            }
        }
    }

    /// An expression node whose operands have all been emitted.
    ///
    /// (Only call, assignment, update and pointer expressions do anything:
    /// `may_emit` relies on it.)
    fn expr_done(&mut self, n: Node) {
        match n.kind_name() {
            "call_expression" => {
                let call = self.make_call(n);
                self.push_event(Event::Call(call));
            }
            "assignment_expression" | "update_expression" | "pointer_expression" => self.set_var(n),
            _ => {}
        }
    }

    /// Records what an assignment does to a local's known value: `ret = 0`
    /// sets it; `ret = f()`, `ret++`, `&ret` make it unknown.
    fn set_var(&mut self, n: Node) {
        let (target, value) = match n.kind_name() {
            "assignment_expression" => {
                let simple = op_text(n, self.src) == "=";
                let value = match n.child_by_field_id(fid!("right")) {
                    Some(r) if simple => ret_val(r, self.src),
                    _ => RetVal::Unknown,
                };
                if simple {
                    self.slot_assignment(n);
                    self.fn_local_assignment(n);
                }
                (n.child_by_field_id(fid!("left")), value)
            }
            "update_expression" => (n.child_by_field_id(fid!("argument")), RetVal::Unknown),
            _ if op_text(n, self.src) == "&" => (n.child_by_field_id(fid!("argument")), RetVal::Unknown),
            _ => return,
        };
        let Some(target) = target.map(strip_parens).filter(|t| t.kind_name() == "identifier") else { return };
        let var = self.names.intern(text(target, self.src));
        // Copying another variable's value is not tracked.
        let value = if matches!(value, RetVal::Var(_)) { RetVal::Unknown } else { value };
        self.push_event(Event::SetVar { var, value });
    }

    /// `p->cb = foo;` or `obj.cb = foo;` with `foo` no local or parameter
    /// (a function, if anything): a slot filled at run time, as an
    /// initializer's `.cb = foo` fills one at build time.
    fn slot_assignment(&mut self, n: Node) {
        let (Some(left), Some(right)) = (n.child_by_field_id(fid!("left")), n.child_by_field_id(fid!("right"))) else {
            return;
        };
        if strip_parens(left).kind_name() != "field_expression" {
            return;
        }
        // `po->prot_hook.func = ring ? tpacket_rcv : packet_rcv;`: either.
        let right = strip_parens(right);
        let values: SmallVec<[Node; 2]> = match right.kind_name() {
            "identifier" => SmallVec::from_iter([right]),
            "conditional_expression" => [fid!("consequence"), fid!("alternative")]
                .into_iter()
                .filter_map(|f| right.child_by_field_id(f).map(strip_parens))
                .filter(|v| v.kind_name() == "identifier")
                .collect(),
            _ => return,
        };
        for value in values {
            if let Some(func) = self.function_named(value) {
                self.slot_target(left, func);
            }
        }
    }

    /// `hdlr_serr = hdlr_txde = mal_int;`: each local on the left holds
    /// the function on the innermost right (or, after anything else, no
    /// known function).
    fn fn_local_assignment(&mut self, n: Node) {
        let mut value = n;
        let mut targets: SmallVec<[crate::ir::Sym; 2]> = SmallVec::new();
        for _ in 0..16 {
            if value.kind_name() != "assignment_expression" || op_text(value, self.src) != "=" {
                break;
            }
            if let Some(t) =
                value.child_by_field_id(fid!("left")).map(strip_parens).filter(|t| t.kind_name() == "identifier")
            {
                targets.push(self.names.intern(text(t, self.src)));
            }
            let Some(right) = value.child_by_field_id(fid!("right")) else { return };
            value = strip_parens(right);
        }
        let held = self.function_named(value);
        for t in targets {
            if matches!(self.resolve(t).0, Base::Local(_) | Base::Stack(_)) {
                self.note_fn_local(t, held);
            }
        }
    }

    /// The function an expression names, if it is a bare name that is no
    /// local or parameter.
    pub(super) fn function_named(&mut self, value: Node) -> Option<crate::ir::Sym> {
        let value = strip_parens(value);
        if value.kind_name() != "identifier" {
            return None;
        }
        let sym = self.names.intern(text(value, self.src));
        matches!(self.resolve(sym).0, Base::Global(_)).then_some(sym)
    }

    pub(super) fn note_fn_local(&mut self, local: crate::ir::Sym, value: Option<crate::ir::Sym>) {
        match self.fn_locals.get(&local) {
            None => {
                self.fn_locals.insert(local, value);
            }
            Some(v) if *v != value => {
                self.fn_locals.insert(local, None);
            }
            Some(_) => {}
        }
    }

    fn slot_target(&mut self, left: Node, func: crate::ir::Sym) {
        let Some(target) = self.lock_ref(left) else { return };
        match (target.path.as_slice(), target.base, target.base_ty) {
            ([seg], Base::Global(g), None) if !seg.arrow => {
                self.slots.push(super::SlotAssignment::Global(g, seg.field, func))
            }
            // `p->cb = f`, or `rth->dst.input = f`: a member's member, by value.
            ([first, rest @ ..], _, Some(ty)) if rest.len() <= 3 && rest.iter().all(|s| !s.arrow) => {
                let fields = std::iter::once(first).chain(rest).map(|s| s.field).collect();
                self.slots.push(super::SlotAssignment::Path(ty, fields, func));
            }
            _ => {}
        }
    }

    pub(super) fn make_call(&mut self, node: Node) -> Call {
        let function = node.child_by_field_id(fid!("function"));
        let callee = match function {
            Some(f) if f.kind_name() == "identifier" => Callee::Named(self.names.intern(text(f, self.src))),
            _ => Callee::Indirect,
        };
        let span = self.span(function.unwrap_or(node));
        let mut args = Vec::new();
        if let Some(list) = node.child_by_field_id(fid!("arguments")) {
            let mut cursor = list.walk();
            let arg_nodes: Vec<Node> =
                list.named_children(&mut cursor).filter(|n| n.kind_name() != "comment").collect();
            for a in arg_nodes {
                args.push(self.arg(a));
            }
        }
        // Trailing arguments lockpath cannot use cost memory in millions of
        // calls; a missing argument reads as one it cannot use.
        while matches!(args.last(), Some(Arg::Other)) {
            args.pop();
        }
        Call { callee, args: args.into_boxed_slice(), span }
    }

    pub(super) fn arg(&mut self, node: Node) -> Arg {
        let node = strip_parens(node);
        match node.kind_name() {
            "number_literal" => parse_int(text(node, self.src)).map_or(Arg::Other, Arg::Const),
            "true" => Arg::Const(1),
            "false" | "null" => Arg::Const(0),
            "identifier" if text(node, self.src) == "NULL" => Arg::Const(0),
            _ => {
                let addr_of = node.kind_name() == "pointer_expression" && op_text(node, self.src) == "&";
                let Some(l) = self.lock_ref(node) else { return Arg::Other };
                // A local holding one function passes that function.
                if let (Base::Local(s) | Base::Stack(s), true, false) = (l.base, l.path.is_empty(), addr_of) {
                    if let Some(Some(f)) = self.fn_locals.get(&s) {
                        let f = *f;
                        return Arg::Path(
                            LockRef { base: Base::Global(f), base_ty: None, path: SmallVec::new() },
                            false,
                        );
                    }
                }
                Arg::Path(l, addr_of)
            }
        }
    }

    /// Interner a lock expression relative to a parameter, local or global.
    pub(crate) fn lock_ref(&mut self, node: Node) -> Option<LockRef> {
        let mut segs: SmallVec<[Seg; 3]> = SmallVec::new();
        let mut n = strip_parens(node);
        for _ in 0..64 {
            match n.kind_name() {
                "field_expression" => {
                    let field = n.child_by_field_id(fid!("field"))?;
                    let arrow = n.child_by_field_id(fid!("operator")).is_some_and(|o| text(o, self.src) == "->");
                    segs.push(Seg { field: self.names.intern(text(field, self.src)), arrow });
                    n = strip_parens(n.child_by_field_id(fid!("argument"))?);
                }
                "subscript_expression" | "pointer_expression" => {
                    n = strip_parens(n.child_by_field_id(fid!("argument"))?);
                }
                "identifier" => {
                    segs.reverse();
                    let sym = self.names.intern(text(n, self.src));
                    let (base, base_ty) = self.resolve(sym);
                    return Some(LockRef { base, base_ty, path: segs });
                }
                _ => {
                    if segs.is_empty() {
                        return None;
                    }
                    segs.reverse();
                    return Some(LockRef { base: Base::Unknown, base_ty: None, path: segs });
                }
            }
        }
        None
    }

    pub(super) fn resolve(&self, sym: crate::ir::Sym) -> (Base, Option<crate::ir::Sym>) {
        for scope in self.locals.iter().rev() {
            if let Some(local) = scope.iter().rev().find(|l| l.name == sym) {
                let base = if local.on_stack { Base::Stack(sym) } else { Base::Local(sym) };
                return (base, local.ty);
            }
        }
        if let Some(i) = self.param_index(sym) {
            return (Base::Param(i), self.params.get(i as usize).and_then(|p| p.ty));
        }
        (Base::Global(sym), None)
    }
}

/// Whether an expression's text can hold a node `expr_done` acts on: a call
/// (`(`), an assignment (`=`), an update (`++`, `--`), an address-of (`&`).
fn may_emit(text: &[u8]) -> bool {
    memchr::memchr3(b'(', b'=', b'&', text).is_some()
        || memchr::memmem::find(text, b"++").is_some()
        || memchr::memmem::find(text, b"--").is_some()
}
