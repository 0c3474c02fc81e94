//! Lowers one function body (or macro body) into a control-flow graph of
//! lock events. Statements are lowered recursively up to `MAX_DEPTH`; deeper
//! code is flattened by an iterative walk, so hostile nesting cannot overflow
//! the stack. Expressions are always walked iteratively.

mod cond;
mod expr;

use super::syntax::{
    callee_identifier, declarator_name, first_expr_child, is_if_zero, op_text, strip_parens, text, type_name,
};
use crate::extract::syntax::fid;
use crate::extract::syntax::KindName;
use crate::ir::Interner;
use crate::ir::{Arg, Block, BlockId, Call, Callee, Cond, Event, LockRef, Param, RetVal, Span, Terminator};
use cond::strip_not;
use rustc_hash::FxHashMap;
use tree_sitter::Node;

/// Statement nesting beyond which control flow is no longer tracked.
const MAX_DEPTH: u32 = 200;

pub(crate) struct BodyBuilder<'a> {
    src: &'a [u8],
    names: &'a mut Interner,
    /// Added to every span: macro bodies are parsed from a synthetic buffer.
    span_shift: i64,
    pub(crate) blocks: Vec<Block>,
    cur: BlockId,
    params: Vec<Param>,
    /// Declared locals per open scope, innermost last.
    locals: Vec<Vec<Local>>,
    /// Guards entered per open scope, innermost last.
    guards: Vec<Vec<(crate::ir::Sym, Option<LockRef>)>>,
    loops: Vec<Jump>,
    labels: FxHashMap<crate::ir::Sym, BlockId>,
    /// Locals last assigned a call's result: `locked = mutex_trylock(..)`.
    call_vars: FxHashMap<crate::ir::Sym, (BlockId, u32)>,
    depth: u32,
    pub(crate) flattened: bool,
    /// Functions stored into struct slots: `p->cb = foo`, `obj.cb = foo`.
    slots: Vec<SlotAssignment>,
    /// Locals holding a function (`hdlr = mal_int;`): the one function, or
    /// `None` once a second value (or anything else) was assigned. A call
    /// passing the local passes the function (`request_irq(.., hdlr, ..)`).
    fn_locals: FxHashMap<crate::ir::Sym, Option<crate::ir::Sym>>,
}

/// A function stored into a struct member by an assignment.
pub(crate) enum SlotAssignment {
    /// Into a member of a global object: (object, field, function).
    Global(crate::ir::Sym, crate::ir::Sym, crate::ir::Sym),
    /// Through the members of an object whose struct type is declared:
    /// (type, fields, function); `p->cb` has one field.
    Path(crate::ir::Sym, Vec<crate::ir::Sym>, crate::ir::Sym),
}

/// A lowered body.
pub(crate) struct Lowered {
    pub blocks: Vec<Block>,
    pub params: Vec<Param>,
    /// Nesting past `MAX_DEPTH` was flattened.
    pub flattened: bool,
    pub slots: Vec<SlotAssignment>,
}

/// A declared local: name, struct/typedef type, and whether it is a struct
/// object on the stack (not a pointer).
#[derive(Clone, Copy)]
pub(super) struct Local {
    pub(super) name: crate::ir::Sym,
    pub(super) ty: Option<crate::ir::Sym>,
    pub(super) on_stack: bool,
}

/// Where `break` and `continue` go, and how many scopes they leave.
struct Jump {
    brk: BlockId,
    cont: Option<BlockId>,
    scopes: usize,
}

impl<'a> BodyBuilder<'a> {
    pub(crate) fn new(src: &'a [u8], names: &'a mut Interner, span_shift: i64, params: Vec<Param>) -> Self {
        BodyBuilder {
            src,
            names,
            span_shift,
            blocks: vec![Block::default()],
            cur: 0,
            params,
            locals: Vec::new(),
            guards: Vec::new(),
            loops: Vec::new(),
            labels: FxHashMap::default(),
            call_vars: FxHashMap::default(),
            depth: 0,
            flattened: false,
            slots: Vec::new(),
            fn_locals: FxHashMap::default(),
        }
    }

    /// Lowers the function body and closes the CFG with a fall-off return.
    pub(crate) fn lower_body(mut self, body: Node) -> Lowered {
        self.stmt(body);
        let end = self.span(body).end;
        self.finish_return(RetVal::Unknown, Span { start: end.saturating_sub(1), end });
        self.lowered()
    }

    fn lowered(self) -> Lowered {
        Lowered { blocks: self.blocks, params: self.params, flattened: self.flattened, slots: self.slots }
    }

    /// Lowers a body tree-sitter could not wrap in a compound statement (a
    /// function inside an ERROR node): the statements between `{` and `}`.
    pub(crate) fn lower_statements(mut self, stmts: &[Node]) -> Lowered {
        self.locals.push(Vec::new());
        self.guards.push(Vec::new());
        for &s in stmts {
            self.stmt(s);
        }
        self.pop_scope();
        let end = stmts.last().map_or(Span::default(), |s| self.span(*s));
        self.finish_return(RetVal::Unknown, end);
        self.lowered()
    }

    pub(crate) fn span(&self, node: Node) -> Span {
        let shift = |b: usize| (b as i64 + self.span_shift).max(0) as u32;
        Span { start: shift(node.start_byte()), end: shift(node.end_byte()) }
    }

    pub(super) fn new_block(&mut self) -> BlockId {
        self.blocks.push(Block::default());
        (self.blocks.len() - 1) as BlockId
    }

    pub(super) fn finish(&mut self, term: Terminator) {
        if let Some(block) = self.blocks.get_mut(self.cur as usize) {
            if matches!(block.term, Terminator::Unreachable) {
                block.term = term;
            }
        }
    }

    /// Ends the current block with a return written at byte `at`.
    pub(super) fn finish_return(&mut self, value: RetVal, at: Span) {
        if let Some(block) = self.blocks.get_mut(self.cur as usize) {
            if matches!(block.term, Terminator::Unreachable) {
                block.term = Terminator::Return(value);
                block.at = at;
            }
        }
    }

    pub(super) fn goto(&mut self, target: BlockId) {
        self.finish(Terminator::Goto(target));
    }

    /// Continues in a fresh block nothing jumps to (after return/goto/break).
    pub(super) fn dead(&mut self) {
        self.cur = self.new_block();
    }

    pub(super) fn push_event(&mut self, event: Event) {
        if let Some(block) = self.blocks.get_mut(self.cur as usize) {
            block.events.push(event);
        }
    }

    /// Where the last call of the current block is (a `SetVar` for the
    /// assignment of its result may follow it).
    pub(super) fn last_event_pos(&self) -> Option<(BlockId, u32)> {
        let block = self.blocks.get(self.cur as usize)?;
        let i = block.events.iter().rposition(|e| matches!(e, Event::Call(_)))?;
        Some((self.cur, i as u32))
    }

    // ---- statements -------------------------------------------------------

    pub(super) fn stmt(&mut self, node: Node) {
        if self.depth >= MAX_DEPTH {
            self.flattened = true;
            self.emit_expr(node);
            return;
        }
        self.depth += 1;
        match node.kind_name() {
            "compound_statement" => self.compound(node),
            "expression_statement" => self.expr_stmt(node),
            "declaration" => self.declaration(node),
            "if_statement" => self.if_stmt(node),
            "while_statement" => self.while_stmt(node),
            "do_statement" => self.do_stmt(node),
            "for_statement" => self.for_stmt(node),
            "switch_statement" => self.switch_stmt(node),
            "return_statement" => self.return_stmt(node),
            "goto_statement" => {
                if let Some(label) = node.child_by_field_id(fid!("label")) {
                    let target = self.label_block(label);
                    // Kernel labels sit at the function's top level: a goto
                    // leaves every guard opened in a nested scope (the
                    // cleanup runs on any exit from its scope).
                    self.exit_guards_above(1);
                    self.goto(target);
                }
                self.dead();
            }
            "labeled_statement" => {
                if let Some(label) = node.child_by_field_id(fid!("label")) {
                    let target = self.label_block(label);
                    self.goto(target);
                    self.cur = target;
                }
                self.children_stmts(node, &["label"]);
            }
            "break_statement" => self.jump(|j| Some(j.brk)),
            "continue_statement" => self.jump(|j| j.cont),
            "case_statement" => self.children_stmts(node, &["value"]),
            "preproc_if" | "preproc_ifdef" | "preproc_elif" | "preproc_elifdef" => self.preproc(node),
            "preproc_else" => self.children_stmts(node, &[]),
            // A region tree-sitter could not parse still holds whole statements:
            // lower those as statements so labels, gotos and returns survive.
            "ERROR" => self.error_region(node),
            // `for_each_possible_cpu(cpu) { .. }` after a declaration parses as
            // an old-style function definition (`type (name) body`): it is an
            // iterator macro with one argument, a loop like any other.
            "function_definition" => self.misparsed_macro_block(node),
            "comment" | ";" | "{" | "}" => {}
            _ => self.emit_expr(node),
        }
        self.depth -= 1;
    }

    pub(super) fn children_stmts(&mut self, node: Node, skip_fields: &[&str]) {
        // One cursor pass: the cursor knows each child's field, where
        // `field_name_for_child` would walk the children again per child.
        let mut children: Vec<Node> = Vec::new();
        let mut cursor = node.walk();
        if cursor.goto_first_child() {
            loop {
                let child = cursor.node();
                if child.is_named() && !cursor.field_name().is_some_and(|f| skip_fields.contains(&f)) {
                    children.push(child);
                }
                if !cursor.goto_next_sibling() {
                    break;
                }
            }
        }
        // Statements under a `case` label: an iterator macro with its block
        // is a loop here too.
        self.statements(&children);
    }

    /// A statement list, where `macro(args) { .. }` (an expression statement
    /// missing its `;`, then a block) is one macro block.
    fn statements(&mut self, children: &[Node]) {
        let mut i = 0;
        while i < children.len() {
            if let (Some(header), Some(&body)) = (macro_block_header(children[i]), children.get(i + 1)) {
                self.macro_block(header, body);
                i += 2;
                continue;
            }
            self.stmt(children[i]);
            i += 1;
        }
    }

    /// An ERROR region: whole statements are lowered as statements; where
    /// tree-sitter left only tokens, `name ( args ) ;` is still a call and
    /// `name :` still a label, so `out_unlock: mmap_write_unlock(mm);` counts.
    fn compound(&mut self, node: Node) {
        self.locals.push(Vec::new());
        self.guards.push(Vec::new());
        let mut cursor = node.walk();
        let children: Vec<Node> = node.named_children(&mut cursor).collect();
        self.statements(&children);
        self.pop_scope();
    }

    fn pop_scope(&mut self) {
        self.locals.pop();
        if let Some(guards) = self.guards.pop() {
            self.exit_guards(&guards);
        }
    }

    fn exit_guards(&mut self, guards: &[(crate::ir::Sym, Option<LockRef>)]) {
        for (guard, lock) in guards.iter().rev() {
            let span = Span::default();
            self.push_event(Event::GuardExit { guard: *guard, lock: lock.clone(), span });
        }
    }

    /// Guards of every scope deeper than `keep`, innermost first.
    fn exit_guards_above(&mut self, keep: usize) {
        let leaving: Vec<_> = self.guards.iter().skip(keep).rev().flatten().cloned().collect();
        for (guard, lock) in leaving {
            self.push_event(Event::GuardExit { guard, lock, span: Span::default() });
        }
    }

    /// `macro(arg) { .. }` that tree-sitter read as a function definition
    /// (type `macro`, declarator `(arg)`): the loop of `macro_block`, with
    /// the header call built from the two names.
    fn misparsed_macro_block(&mut self, node: Node) {
        let name = node.child_by_field_id(fid!("type")).filter(|t| t.kind_name() == "type_identifier");
        let arg = node
            .child_by_field_id(fid!("declarator"))
            .filter(|d| d.kind_name() == "parenthesized_declarator")
            .and_then(|d| d.named_child(0))
            .filter(|a| a.kind_name() == "identifier");
        let (Some(name), Some(arg), Some(body)) = (name, arg, node.child_by_field_id(fid!("body"))) else {
            self.emit_expr(node);
            return;
        };
        if text(name, self.src) == "scoped_guard" {
            // `scoped_guard(rcu) { .. }`: a guard without a lock argument.
            let guard = text(arg, self.src).to_string();
            self.guarded_scope(body, |b| b.guard_with_name(&guard, None, name));
            return;
        }
        self.iterator_loop(body, [arg], |b| {
            let callee = Callee::Named(b.names.intern(text(name, b.src)));
            let args: Box<[Arg]> = Box::new([b.arg(arg)]);
            let span = b.span(name);
            b.push_event(Event::Call(Call { callee, args, span }));
        });
    }

    /// `scoped_guard(..) { body }`: a `for` loop in the kernel, so `break`
    /// and `continue` in its body leave the guard, not an outer loop;
    /// `enter` registers the guard in the new scope.
    fn guarded_scope(&mut self, body: Node, enter: impl FnOnce(&mut Self)) {
        let after = self.new_block();
        self.loops.push(Jump { brk: after, cont: Some(after), scopes: self.guards.len() });
        self.guards.push(Vec::new());
        self.locals.push(Vec::new());
        enter(self);
        self.stmt(body);
        self.pop_scope();
        self.loops.pop();
        self.goto(after);
        self.cur = after;
    }

    /// An iterator macro's loop: `header` emits the macro call at the loop
    /// head, each round moves the cursor (a local among `cursors` holds
    /// another object), and the body may run again or not at all.
    fn iterator_loop<'n>(
        &mut self,
        body: Node,
        cursors: impl IntoIterator<Item = Node<'n>>,
        header: impl FnOnce(&mut Self),
    ) {
        let head = self.new_block();
        let body_b = self.new_block();
        let exit = self.new_block();
        self.goto(head);
        self.cur = head;
        header(self);
        for a in cursors {
            let var = self.names.intern(text(a, self.src));
            if self.local_shadowing(var) {
                self.push_event(Event::SetVar { var, value: RetVal::Unknown });
            }
        }
        self.finish(Terminator::Branch { cond: Cond::Opaque, then: body_b, otherwise: exit });
        self.cur = body_b;
        self.loops.push(Jump { brk: exit, cont: Some(head), scopes: self.guards.len() });
        self.stmt(body);
        self.loops.pop();
        self.goto(head);
        self.cur = exit;
    }

    /// `list_for_each_entry(pos, head, member) { .. }` is a loop with the macro
    /// call as its header; `scoped_guard(mutex, &l) { .. }` is a guarded scope.
    fn macro_block(&mut self, header: Node, body: Node) {
        if callee_identifier(header, self.src) == Some("scoped_guard") {
            self.guarded_scope(body, |b| b.enter_guard(header, 0));
            return;
        }
        // A local argument of the iterator (`list_for_each_entry(pos, ..)`)
        // is its cursor.
        let cursors: Vec<Node> = header
            .child_by_field_id(fid!("arguments"))
            .map(|args| {
                let mut cursor = args.walk();
                args.named_children(&mut cursor).filter(|a| a.kind_name() == "identifier").collect()
            })
            .unwrap_or_default();
        self.iterator_loop(body, cursors, |b| b.emit_expr(header));
    }

    /// Registers `guard(name)(lock)` / `scoped_guard(name, lock)` in the
    /// innermost scope; `first_lock_arg` is where the lock sits in `call`'s args.
    fn enter_guard(&mut self, call: Node, first_lock_arg: usize) {
        let Some(args) = call.child_by_field_id(fid!("arguments")) else {
            return;
        };
        let mut cursor = args.walk();
        let named: Vec<Node> = args.named_children(&mut cursor).filter(|n| n.kind_name() != "comment").collect();
        let (guard_node, lock_node) = if first_lock_arg == 0 {
            (named.first().copied(), named.get(1).copied())
        } else {
            (None, named.first().copied())
        };
        let guard_name = match guard_node {
            Some(n) => text(n, self.src).to_string(),
            None => return,
        };
        self.guard_with_name(&guard_name, lock_node, call);
    }

    fn guard_with_name(&mut self, guard_name: &str, lock_node: Option<Node>, at: Node) {
        let guard = self.names.intern(guard_name.trim());
        let lock = lock_node.and_then(|n| self.lock_ref(n));
        let span = self.span(at);
        self.push_event(Event::GuardEnter { guard, lock: lock.clone(), span });
        if let Some(scope) = self.guards.last_mut() {
            scope.push((guard, lock));
        }
    }

    fn expr_stmt(&mut self, node: Node) {
        let Some(expr) = first_expr_child(node) else {
            return;
        };
        // guard(mutex)(&lock);
        if expr.kind_name() == "call_expression" {
            if let Some(inner) = expr.child_by_field_id(fid!("function")) {
                if inner.kind_name() == "call_expression" && callee_identifier(inner, self.src) == Some("guard") {
                    let guard_name = inner
                        .child_by_field_id(fid!("arguments"))
                        .and_then(|a| a.named_child(0))
                        .map(|n| text(n, self.src).to_string());
                    if let Some(name) = guard_name {
                        let lock = expr.child_by_field_id(fid!("arguments")).and_then(|a| a.named_child(0));
                        self.guard_with_name(&name, lock, inner);
                        return;
                    }
                }
            }
        }
        self.emit_expr(expr);
        if expr.kind_name() == "assignment_expression" {
            self.remember_call_var(expr.child_by_field_id(fid!("left")), expr.child_by_field_id(fid!("right")));
        }
    }

    pub(super) fn remember_call_var(&mut self, var: Option<Node>, value: Option<Node>) {
        let (Some(var), Some(value)) = (var, value) else {
            return;
        };
        if var.kind_name() != "identifier" {
            return;
        }
        let sym = self.names.intern(text(var, self.src));
        if strip_parens(value).kind_name() == "call_expression" {
            if let Some(pos) = self.last_event_pos() {
                self.call_vars.insert(sym, pos);
                return;
            }
        }
        self.call_vars.remove(&sym);
    }

    fn declaration(&mut self, node: Node) {
        let ty = node.child_by_field_id(fid!("type")).and_then(|t| type_name(t, self.src)).map(str::to_string);
        let ty = ty.map(|t| self.names.intern(&t));
        let mut cursor = node.walk();
        let decls: Vec<Node> = node.children_by_field_name("declarator", &mut cursor).collect();
        for decl in decls {
            let (target, value) = if decl.kind_name() == "init_declarator" {
                (decl.child_by_field_id(fid!("declarator")), decl.child_by_field_id(fid!("value")))
            } else {
                (Some(decl), None)
            };
            if let Some(value) = value {
                self.emit_expr(value);
            }
            let Some(name_node) = target.and_then(declarator_name) else {
                continue;
            };
            let sym = self.names.intern(text(name_node, self.src));
            if let Some(value) = value {
                let held = self.function_named(value);
                self.note_fn_local(sym, held);
            }
            let value_kind = value.map_or(RetVal::Unknown, |v| ret_val(v, self.src));
            self.push_event(Event::SetVar { var: sym, value: value_kind });
            // `struct foo f;` (not `struct foo *f`, not `struct foo f[]`) lives on the stack.
            let on_stack = ty.is_some() && target.is_some_and(|t| t.kind_name() == "identifier");
            if let Some(scope) = self.locals.last_mut() {
                scope.push(Local { name: sym, ty, on_stack });
            }
            self.remember_call_var(Some(name_node), value);
        }
    }

    fn if_stmt(&mut self, node: Node) {
        let then_b = self.new_block();
        let else_b = self.new_block();
        let join = self.new_block();
        if let Some(cond) = node.child_by_field_id(fid!("condition")) {
            self.cond(cond, then_b, else_b, 0);
        } else {
            self.finish(Terminator::Branch { cond: Cond::Opaque, then: then_b, otherwise: else_b });
        }
        self.cur = then_b;
        if let Some(cons) = node.child_by_field_id(fid!("consequence")) {
            self.stmt(cons);
        }
        self.goto(join);
        self.cur = else_b;
        if let Some(alt) = node.child_by_field_id(fid!("alternative")) {
            // `else_clause` wraps the statement in newer grammars.
            if alt.kind_name() == "else_clause" {
                self.children_stmts(alt, &[]);
            } else {
                self.stmt(alt);
            }
        }
        self.goto(join);
        self.cur = join;
    }

    fn while_stmt(&mut self, node: Node) {
        let head = self.new_block();
        let (body, exit) = self.loop_head(node, head);
        self.loop_body(node.child_by_field_id(fid!("body")), body, exit, head);
        self.cur = exit;
    }

    /// Enters the loop header `head` and branches on the loop condition (no
    /// condition: always into the body). Returns (body, exit) blocks.
    fn loop_head(&mut self, node: Node, head: BlockId) -> (BlockId, BlockId) {
        let body = self.new_block();
        let exit = self.new_block();
        self.goto(head);
        self.cur = head;
        match node.child_by_field_id(fid!("condition")) {
            // `while (1)`, `while (true)`: only a break leaves.
            Some(cond) if is_always_true(cond, self.src) => self.goto(body),
            Some(cond) => self.cond(cond, body, exit, 0),
            None => self.goto(body),
        }
        (body, exit)
    }

    fn do_stmt(&mut self, node: Node) {
        let body = self.new_block();
        let test = self.new_block();
        let exit = self.new_block();
        self.goto(body);
        self.loop_body(node.child_by_field_id(fid!("body")), body, exit, test);
        self.cur = test;
        match node.child_by_field_id(fid!("condition")) {
            Some(cond) => self.cond(cond, body, exit, 0),
            None => self.goto(exit),
        }
        self.cur = exit;
    }

    fn for_stmt(&mut self, node: Node) {
        self.locals.push(Vec::new());
        if let Some(init) = node.child_by_field_id(fid!("initializer")) {
            if init.kind_name() == "declaration" {
                self.declaration(init);
            } else {
                self.emit_expr(init);
            }
        }
        let head = self.new_block();
        let step = self.new_block();
        let (body, exit) = self.loop_head(node, head);
        self.loop_body(node.child_by_field_id(fid!("body")), body, exit, step);
        self.cur = step;
        if let Some(update) = node.child_by_field_id(fid!("update")) {
            self.emit_expr(update);
        }
        self.goto(head);
        self.cur = exit;
        self.locals.pop();
    }

    fn loop_body(&mut self, body: Option<Node>, entry: BlockId, exit: BlockId, cont: BlockId) {
        self.cur = entry;
        self.loops.push(Jump { brk: exit, cont: Some(cont), scopes: self.guards.len() });
        if let Some(body) = body {
            self.stmt(body);
        }
        self.loops.pop();
        self.goto(cont);
    }

    fn switch_stmt(&mut self, node: Node) {
        if let Some(cond) = node.child_by_field_id(fid!("condition")) {
            self.emit_expr(cond);
        }
        let head = self.cur;
        let exit = self.new_block();
        let cont = self.loops.last().and_then(|j| j.cont);
        self.loops.push(Jump { brk: exit, cont, scopes: self.guards.len() });
        self.cur = self.new_block(); // code before the first case is dead
        let mut targets = Vec::new();
        let mut has_default = false;
        if let Some(body) = node.child_by_field_id(fid!("body")) {
            self.locals.push(Vec::new());
            self.guards.push(Vec::new());
            let mut cursor = body.walk();
            let children: Vec<Node> = body.named_children(&mut cursor).collect();
            for child in children {
                if child.kind_name() == "case_statement" {
                    let case = self.new_block();
                    self.goto(case); // fall through from the previous case
                    self.cur = case;
                    targets.push(case);
                    has_default |= child.child_by_field_id(fid!("value")).is_none();
                    self.children_stmts(child, &["value"]);
                } else {
                    self.stmt(child);
                }
            }
            self.pop_scope();
        }
        self.goto(exit);
        self.loops.pop();
        if !has_default {
            targets.push(exit);
        }
        if let Some(block) = self.blocks.get_mut(head as usize) {
            block.term = Terminator::Switch(targets);
        }
        self.cur = exit;
    }

    fn return_stmt(&mut self, node: Node) {
        let at = self.span(node);
        let value = first_expr_child(node);
        let Some(value) = value else {
            self.exit_guards_above(0);
            self.finish_return(RetVal::Unknown, at);
            self.dead();
            return;
        };
        let (inner, negated) = strip_not(value);
        let is_err_ptr = inner.kind_name() == "call_expression"
            && callee_identifier(inner, self.src).is_some_and(|n| matches!(n, "ERR_PTR" | "ERR_CAST"));
        if inner.kind_name() == "call_expression" && !is_err_ptr {
            // `return mutex_trylock(&m);` returns non-zero exactly when locked.
            self.emit_expr(value);
            if let Some((block, event)) = self.last_event_pos() {
                let nonzero = self.new_block();
                let zero = self.new_block();
                let (then, otherwise) = if negated { (zero, nonzero) } else { (nonzero, zero) };
                self.finish(Terminator::Branch {
                    cond: Cond::CallResult { block, event, var: None, text: None },
                    then,
                    otherwise,
                });
                for (b, v) in [(nonzero, RetVal::NonZero), (zero, RetVal::Zero)] {
                    self.cur = b;
                    self.exit_guards_above(0);
                    self.finish_return(v, at);
                }
                self.dead();
                return;
            }
        }
        self.emit_expr(value);
        let ret = match strip_parens(value) {
            v if v.kind_name() == "identifier" && text(v, self.src) != "NULL" => {
                RetVal::Var(self.names.intern(text(v, self.src)))
            }
            _ if is_err_ptr => RetVal::Error,
            _ => ret_val(value, self.src),
        };
        self.exit_guards_above(0);
        self.finish_return(ret, at);
        self.dead();
    }

    fn jump(&mut self, pick: impl Fn(&Jump) -> Option<BlockId>) {
        let Some((target, scopes)) = self.loops.last().and_then(|j| pick(j).map(|t| (t, j.scopes))) else {
            self.dead();
            return;
        };
        self.exit_guards_above(scopes);
        self.goto(target);
        self.dead();
    }

    pub(super) fn label_block(&mut self, label: Node) -> BlockId {
        let sym = self.names.intern(text(label, self.src));
        if let Some(&b) = self.labels.get(&sym) {
            return b;
        }
        let b = self.new_block();
        self.labels.insert(sym, b);
        b
    }

    /// `#ifdef A .. #else .. #endif` inside a body: either side may be compiled.
    fn preproc(&mut self, node: Node) {
        if is_if_zero(node, self.src) {
            if let Some(alt) = node.child_by_field_id(fid!("alternative")) {
                self.stmt(alt);
            }
            return;
        }
        let then_b = self.new_block();
        let else_b = self.new_block();
        let join = self.new_block();
        self.finish(Terminator::Branch { cond: Cond::Opaque, then: then_b, otherwise: else_b });
        self.cur = then_b;
        self.children_stmts(node, &["name", "condition", "alternative"]);
        self.goto(join);
        self.cur = else_b;
        if let Some(alt) = node.child_by_field_id(fid!("alternative")) {
            self.stmt(alt);
        }
        self.goto(join);
        self.cur = join;
    }
}

/// An expression statement missing its `;` and followed by a statement is a
/// macro with a block (`list_for_each_entry(..) { }`, `scoped_guard(..) { }`).
fn macro_block_header(node: Node) -> Option<Node> {
    if node.kind_name() != "expression_statement" {
        return None;
    }
    let last = node.child(node.child_count().checked_sub(1)?)?;
    let missing_semi = last.is_missing() || last.kind_name() != ";";
    let call = node.named_child(0)?;
    (missing_semi && call.kind_name() == "call_expression").then_some(call)
}

/// A loop condition that is a non-zero constant: `1`, `true`.
fn is_always_true(cond: Node, src: &[u8]) -> bool {
    let c = strip_parens(cond);
    match c.kind_name() {
        "number_literal" => parse_int(text(c, src)).is_some_and(|v| v != 0),
        "true" => true,
        _ => false,
    }
}

pub(super) fn ret_val(node: Node, src: &[u8]) -> RetVal {
    let node = strip_parens(node);
    match node.kind_name() {
        "number_literal" => match parse_int(text(node, src)) {
            Some(0) => RetVal::Zero,
            Some(_) => RetVal::NonZero,
            None => RetVal::Unknown,
        },
        "true" => RetVal::NonZero,
        "false" | "null" => RetVal::Zero,
        "identifier" if text(node, src) == "NULL" => RetVal::Zero,
        // `-EAGAIN`: an errno; `-1`
        "unary_expression" if op_text(node, src) == "-" => match node.child_by_field_id(fid!("argument")) {
            Some(a) if a.kind_name() == "identifier" && text(a, src).starts_with('E') => RetVal::Error,
            _ => RetVal::NonZero,
        },
        _ => RetVal::Unknown,
    }
}

pub(super) fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim_end_matches(['u', 'U', 'l', 'L']);
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()
    } else {
        s.parse().ok()
    }
}
