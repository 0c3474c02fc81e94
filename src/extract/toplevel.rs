//! The file-level walk: function definitions, struct layouts, typedefs,
//! static globals and function-like macros, found iteratively so that
//! `#ifdef` nesting and ERROR regions never stop the walk.

use super::attributes::FoundAnnotation;
use super::body::BodyBuilder;
use super::macros::MacroDef;
use super::syntax::{declarator_name, has_storage_static, is_if_zero, text, type_name};
use crate::extract::syntax::fid;
use crate::extract::syntax::KindName;
use crate::ir::Interner;
use crate::ir::{Annotation, Base, FileFacts, Function, GuardDef, LockRef, Param, Seg, StructDef};
use smallvec::SmallVec;
use tree_sitter::Node;

pub(crate) fn extract_toplevel(
    src: &[u8],
    root: Node,
    annotations: &[FoundAnnotation],
    names: &mut Interner,
    facts: &mut FileFacts,
) -> Vec<MacroDef> {
    let mut macros = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.is_error() {
            facts.error_nodes += 1;
        }
        match node.kind_name() {
            "function_definition" => {
                if let Some(func) = function(src, node, annotations, names, facts) {
                    facts.functions.push(func);
                }
                macros_in_body(src, node, &mut macros);
                if let Some(ty) = node.child_by_field_id(fid!("type")) {
                    structs_in(src, ty, None, names, facts);
                }
            }
            "declaration" => {
                if has_storage_static(node, src) {
                    static_names(src, node, names, facts);
                }
                global_types(src, node, names, facts);
                slot_bindings(src, node, names, facts);
                if let Some(ty) = node.child_by_field_id(fid!("type")) {
                    structs_in(src, ty, None, names, facts);
                }
            }
            "type_definition" => typedef(src, node, names, facts),
            "struct_specifier" | "union_specifier" => structs_in(src, node, None, names, facts),
            "preproc_function_def" => {
                if let Some(m) = MacroDef::from_node(src, node) {
                    macros.push(m);
                }
            }
            "ERROR" => {
                functions_in_error(src, node, annotations, names, facts);
                let mut cursor = node.walk();
                let children: Vec<Node> = node.named_children(&mut cursor).collect();
                stack.extend(children.into_iter().rev());
            }
            // Only the `#else` side of `#if 0` is code.
            "preproc_if" if is_if_zero(node, src) => {
                if let Some(alt) = node.child_by_field_id(fid!("alternative")) {
                    stack.push(alt);
                }
            }
            "translation_unit"
            | "preproc_if"
            | "preproc_ifdef"
            | "preproc_else"
            | "preproc_elif"
            | "preproc_elifdef"
            | "linkage_specification"
            | "declaration_list" => {
                let mut cursor = node.walk();
                let children: Vec<Node> = node.named_children(&mut cursor).collect();
                stack.extend(children.into_iter().rev());
            }
            _ => {}
        }
    }
    // The walk above is depth-first from the back; keep source order.
    facts.functions.sort_by_key(|f| f.span.start);
    macros.sort_by_key(|m| m.body_start);
    macros
}

fn function(
    src: &[u8],
    node: Node,
    found: &[FoundAnnotation],
    names: &mut Interner,
    facts: &mut FileFacts,
) -> Option<Function> {
    let mut decl = node.child_by_field_id(fid!("declarator"))?;
    for _ in 0..16 {
        if decl.kind_name() == "function_declarator" {
            break;
        }
        decl = decl.child_by_field_id(fid!("declarator"))?;
    }
    if decl.kind_name() != "function_declarator" {
        return None;
    }
    let name_node = decl.child_by_field_id(fid!("declarator"))?;
    if name_node.kind_name() != "identifier" {
        return None;
    }
    let body = node.child_by_field_id(fid!("body"))?;
    // `static const struct mt76_driver_ops drv_ops = { .sta_remove = .. };`
    // written at the top of a probe function binds slots too.
    let mut cursor = body.walk();
    for decl in body.named_children(&mut cursor).filter(|d| d.kind_name() == "declaration") {
        slot_bindings(src, decl, names, facts);
    }
    // `void f(..)`, not `void *f(..)`: the declarator is the function itself.
    let returns_void = node.child_by_field_id(fid!("type")).is_some_and(|t| text(t, src) == "void")
        && node.child_by_field_id(fid!("declarator")).is_some_and(|d| d.kind_name() == "function_declarator");
    let params = decl.child_by_field_id(fid!("parameters")).map(|p| params(src, p, names)).unwrap_or_default();
    let (from, to) = (node.start_byte(), body.start_byte());
    let annotations = annotations_between(found, from..to, &params, names);
    let name = names.intern(text(name_node, src));
    let builder = BodyBuilder::new(src, names, 0, params);
    let span = builder.span(name_node);
    let super::body::Lowered { blocks, params, flattened, slots } = builder.lower_body(body);
    record_slots(facts, slots);
    if flattened {
        facts.problems.push(format!(
            "statements nested deeper than the analysis tracks in {}; inner control flow ignored",
            text(name_node, src)
        ));
    }
    Some(Function {
        name,
        span,
        is_static: has_storage_static(node, src),
        is_macro: false,
        returns_void,
        params,
        annotations,
        blocks,
    })
}

/// Recovers functions tree-sitter broke apart: inside an ERROR node, a
/// `function_declarator` followed by `{`, statements, and `}` as siblings.
fn functions_in_error(src: &[u8], node: Node, found: &[FoundAnnotation], names: &mut Interner, facts: &mut FileFacts) {
    let mut cursor = node.walk();
    let children: Vec<Node> = node.children(&mut cursor).collect();
    let mut i = 0;
    while i + 1 < children.len() {
        let decl = children[i];
        if decl.kind_name() != "function_declarator" || children[i + 1].kind_name() != "{" {
            i += 1;
            continue;
        }
        let Some(name_node) = decl.child_by_field_id(fid!("declarator")).filter(|n| n.kind_name() == "identifier")
        else {
            i += 1;
            continue;
        };
        let mut depth = 1;
        let mut j = i + 2;
        let mut stmts = Vec::new();
        while j < children.len() {
            // Kernel style indents bodies: anything at column 0 is the next
            // top-level item, so a lost `}` cannot swallow the rest of the file.
            if starts_a_line(children[j], src) && children[j].kind_name() != "}" {
                break;
            }
            match children[j].kind_name() {
                "{" => depth += 1,
                "}" => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ if children[j].is_named() => stmts.push(children[j]),
                _ => {}
            }
            j += 1;
        }
        let params = decl.child_by_field_id(fid!("parameters")).map(|p| params(src, p, names)).unwrap_or_default();
        let (from, to) = (decl.start_byte(), children[i + 1].start_byte());
        let annotations = annotations_between(found, from..to, &params, names);
        let name = names.intern(text(name_node, src));
        let builder = BodyBuilder::new(src, names, 0, params);
        let span = builder.span(name_node);
        let super::body::Lowered { blocks, params, slots, .. } = builder.lower_statements(&stmts);
        record_slots(facts, slots);
        let is_static =
            children[..i].iter().any(|c| c.kind_name() == "storage_class_specifier" && text(*c, src) == "static");
        let returns_void = i >= 1 && text(children[i - 1], src) == "void";
        facts.functions.push(Function {
            name,
            span,
            is_static,
            is_macro: false,
            returns_void,
            params,
            annotations,
            blocks,
        });
        i = j + 1;
    }
}

/// The lock annotations written between the start of a definition and its body.
fn annotations_between(
    found: &[FoundAnnotation],
    range: std::ops::Range<usize>,
    params: &[Param],
    names: &mut Interner,
) -> Vec<Annotation> {
    found
        .iter()
        .filter(|a| range.contains(&a.offset))
        .filter_map(|a| Some(Annotation { kind: a.kind, lock: parse_lock_text(&a.arg, params, names)? }))
        .collect()
}

pub(crate) fn params(src: &[u8], list: Node, names: &mut Interner) -> Vec<Param> {
    let mut out = Vec::new();
    let mut cursor = list.walk();
    for p in list.named_children(&mut cursor) {
        if p.kind_name() != "parameter_declaration" {
            continue;
        }
        let ty = p.child_by_field_id(fid!("type")).and_then(|t| type_name(t, src)).map(|t| names.intern(t));
        let Some(name) = p.child_by_field_id(fid!("declarator")).and_then(declarator_name) else {
            // `void`, or an unnamed parameter: it still takes a position.
            if p.child_by_field_id(fid!("type")).is_some_and(|t| text(t, src) == "void") {
                continue;
            }
            out.push(Param { name: names.intern(""), ty, pointer: false, object_tested: false });
            continue;
        };
        let pointer = p
            .child_by_field_id(fid!("declarator"))
            .is_some_and(|d| matches!(d.kind_name(), "pointer_declarator" | "array_declarator"));
        out.push(Param { name: names.intern(text(name, src)), ty, pointer, object_tested: false });
    }
    out
}

/// Parses the text of a lock expression (`&f->lock`, `rq->lock`, `mm`) as written
/// in an annotation, where tree-sitter gives no usable tree.
pub(crate) fn parse_lock_text(t: &str, params: &[Param], names: &mut Interner) -> Option<LockRef> {
    let t: String = t.chars().filter(|c| !c.is_whitespace() && !matches!(c, '&' | '(' | ')' | '*')).collect();
    if t.is_empty() {
        return None;
    }
    let mut segs: SmallVec<[Seg; 3]> = SmallVec::new();
    let mut rest = t.as_str();
    let first_end = rest.find(['-', '.', '[']).unwrap_or(rest.len());
    let base_name = &rest[..first_end];
    rest = &rest[first_end..];
    while !rest.is_empty() {
        let (arrow, after) = if let Some(a) = rest.strip_prefix("->") {
            (true, a)
        } else if let Some(a) = rest.strip_prefix('.') {
            (false, a)
        } else if let Some(close) = rest.find(']') {
            rest = &rest[close + 1..];
            continue;
        } else {
            break;
        };
        let end = after.find(['-', '.', '[']).unwrap_or(after.len());
        segs.push(Seg { field: names.intern(&after[..end]), arrow });
        rest = &after[end..];
    }
    if !base_name.chars().all(|c| c.is_alphanumeric() || c == '_') || base_name.is_empty() {
        return None;
    }
    let sym = names.intern(base_name);
    let (base, base_ty) = match params.iter().position(|p| p.name == sym) {
        Some(i) => (Base::Param(i as u8), params.get(i).and_then(|p| p.ty)),
        None => (Base::Global(sym), None),
    };
    Some(LockRef { base, base_ty, path: segs })
}

fn static_names(src: &[u8], node: Node, names: &mut Interner, facts: &mut FileFacts) {
    let mut cursor = node.walk();
    let decls: Vec<Node> = node.children_by_field_name("declarator", &mut cursor).collect();
    for decl in decls {
        let target =
            if decl.kind_name() == "init_declarator" { decl.child_by_field_id(fid!("declarator")) } else { Some(decl) };
        if let Some(name) = target.and_then(declarator_name) {
            facts.static_globals.push(names.intern(text(name, src)));
        }
    }
}

fn global_types(src: &[u8], node: Node, names: &mut Interner, facts: &mut FileFacts) {
    let Some(ty) = node.child_by_field_id(fid!("type")).and_then(|t| type_name(t, src)) else {
        return;
    };
    let mut cursor = node.walk();
    let decls: Vec<Node> = node.children_by_field_name("declarator", &mut cursor).collect();
    for decl in decls {
        if decl.kind_name() == "function_declarator" {
            continue;
        }
        let target =
            if decl.kind_name() == "init_declarator" { decl.child_by_field_id(fid!("declarator")) } else { Some(decl) };
        if let Some(name) = target.and_then(declarator_name) {
            let (n, t) = (names.intern(text(name, src)), names.intern(ty));
            facts.global_types.push((n, t));
        }
    }
}

/// Macros a function defines for itself to call what it is given
/// (`#define CALL_RXH(rxh) do { res = rxh(skb); .. } while (0)` inside
/// lowpan_invoke_rx_handlers()): analysed like the file's other macros, so
/// the functions passed to them have a caller. Only bodies whose text holds
/// a `#define` are walked, and only macros that call a parameter are kept
/// (the others are local shorthand the body's own lowering already reads).
fn macros_in_body(src: &[u8], func: Node, macros: &mut Vec<MacroDef>) {
    let Some(body) = func.child_by_field_id(fid!("body")) else { return };
    let bytes = src.get(body.start_byte()..body.end_byte()).unwrap_or_default();
    if !bytes.windows(7).any(|w| w == b"#define") {
        return;
    }
    let mut stack = vec![body];
    while let Some(node) = stack.pop() {
        if node.kind_name() == "preproc_function_def" {
            macros.extend(MacroDef::from_node(src, node).filter(|m| m.calls_a_parameter(src)));
            continue;
        }
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
    }
}

/// Slots a body fills at run time, into the file's facts.
fn record_slots(facts: &mut FileFacts, slots: Vec<super::body::SlotAssignment>) {
    for slot in slots {
        match slot {
            super::body::SlotAssignment::Global(g, f, v) => facts.global_slot_assignments.push((g, f, v)),
            super::body::SlotAssignment::Path(t, fs, v) => facts.slot_paths.push((t, fs, v)),
        }
    }
}

/// `static const struct file_operations fops = { .mmap = foo_mmap, };`
fn slot_bindings(src: &[u8], node: Node, names: &mut Interner, facts: &mut FileFacts) {
    let Some(ty) = node.child_by_field_id(fid!("type")).and_then(|t| type_name(t, src)) else { return };
    let mut cursor = node.walk();
    let decls: Vec<Node> = node.children_by_field_name("declarator", &mut cursor).collect();
    for decl in decls {
        let Some(list) = decl.child_by_field_id(fid!("value")).filter(|v| v.kind_name() == "initializer_list") else {
            continue;
        };
        let is_array = decl.child_by_field_id(fid!("declarator")).is_some_and(|d| d.kind_name() == "array_declarator");
        if !is_array {
            bind_initializer(src, list, ty, names, facts);
            continue;
        }
        // An array of ops (`icmp_pointers[] = { [ICMP_UNREACH] = { .handler =
        // icmp_unreach }, .. }`): each element's initializer binds slots.
        let mut c2 = list.walk();
        for elem in list.named_children(&mut c2) {
            let inner = match elem.kind_name() {
                "initializer_list" => Some(elem),
                "initializer_pair" => {
                    elem.child_by_field_id(fid!("value")).filter(|v| v.kind_name() == "initializer_list")
                }
                _ => None,
            };
            if let Some(inner) = inner {
                bind_initializer(src, inner, ty, names, facts);
            }
        }
    }
}

/// The `.field = function` members of one struct initializer of type `ty`.
fn bind_initializer(src: &[u8], list: Node, ty: &str, names: &mut Interner, facts: &mut FileFacts) {
    let mut c2 = list.walk();
    for pair in list.named_children(&mut c2) {
        let (field, value) = match pair.kind_name() {
            "initializer_pair" => (
                pair.child_by_field_id(fid!("designator")).and_then(|d| d.named_child(0)),
                pair.child_by_field_id(fid!("value")),
            ),
            // A member under `#ifdef` inside the list: tree-sitter reads
            // `CONFIG_FOO` and `.ndo_poll_controller = foo_poll` as an
            // assignment to a field of `CONFIG_FOO`.
            "assignment_expression" => (
                pair.child_by_field_id(fid!("left"))
                    .filter(|l| l.kind_name() == "field_expression")
                    .and_then(|l| l.child_by_field_id(fid!("field"))),
                pair.child_by_field_id(fid!("right")),
            ),
            _ => continue,
        };
        let (Some(field), Some(value)) = (field, value) else { continue };
        if field.kind_name() != "field_identifier" || value.kind_name() != "identifier" {
            continue;
        }
        let (t, f, v) = (names.intern(ty), names.intern(text(field, src)), names.intern(text(value, src)));
        facts.slot_bindings.push((t, f, v));
    }
}

fn typedef(src: &[u8], node: Node, names: &mut Interner, facts: &mut FileFacts) {
    let Some(ty) = node.child_by_field_id(fid!("type")) else {
        return;
    };
    let mut cursor = node.walk();
    let decls: Vec<Node> = node.children_by_field_name("declarator", &mut cursor).collect();
    let alias = decls.first().and_then(|d| declarator_name(*d)).map(|n| text(n, src).to_string());
    if let Some(alias) = &alias {
        if let Some(target) = type_name(ty, src) {
            let (a, t) = (names.intern(alias), names.intern(target));
            if a != t {
                facts.typedefs.push((a, t));
            }
        }
    }
    structs_in(src, ty, alias.as_deref(), names, facts);
}

/// Records the layout of every struct defined in `ty` (and structs nested in
/// it). `alias` names an anonymous struct after its typedef.
fn structs_in(src: &[u8], ty: Node, alias: Option<&str>, names: &mut Interner, facts: &mut FileFacts) {
    let mut work: Vec<(Node, Option<String>)> = vec![(ty, alias.map(str::to_string))];
    while let Some((spec, fallback)) = work.pop() {
        if !matches!(spec.kind_name(), "struct_specifier" | "union_specifier") {
            continue;
        }
        let Some(body) = spec.child_by_field_id(fid!("body")) else {
            continue;
        };
        let Some(sname) = spec.child_by_field_id(fid!("name")).map(|n| text(n, src).to_string()).or(fallback) else {
            continue;
        };
        let mut fields = Vec::new();
        // Anonymous members' fields belong to the enclosing struct.
        let mut lists = vec![body];
        while let Some(list) = lists.pop() {
            let mut cursor = list.walk();
            for fd in list.named_children(&mut cursor) {
                // Fields under `#if IS_ENABLED(CONFIG_..)` are fields too.
                if matches!(
                    fd.kind_name(),
                    "preproc_if" | "preproc_ifdef" | "preproc_else" | "preproc_elif" | "preproc_elifdef"
                ) {
                    lists.push(fd);
                    continue;
                }
                if fd.kind_name() != "field_declaration" {
                    continue;
                }
                let fty = fd.child_by_field_id(fid!("type"));
                let mut c2 = fd.walk();
                let decls: Vec<Node> = fd.children_by_field_name("declarator", &mut c2).collect();
                let anon_struct = fty.filter(|t| {
                    matches!(t.kind_name(), "struct_specifier" | "union_specifier")
                        && t.child_by_field_id(fid!("name")).is_none()
                });
                if decls.is_empty() {
                    if let Some(inner) = anon_struct.and_then(|t| t.child_by_field_id(fid!("body"))) {
                        lists.push(inner);
                    }
                    continue;
                }
                for d in decls {
                    let Some(fname) = declarator_name(d).map(|n| text(n, src).to_string()) else {
                        continue;
                    };
                    let tname = match anon_struct {
                        Some(anon) => {
                            let synthetic = format!("{sname}.{fname}");
                            work.push((anon, Some(synthetic.clone())));
                            Some(synthetic)
                        }
                        None => {
                            if let Some(t) = fty.filter(|t| t.child_by_field_id(fid!("body")).is_some()) {
                                work.push((t, None));
                            }
                            fty.and_then(|t| type_name(t, src)).map(str::to_string)
                        }
                    };
                    fields.push((names.intern(&fname), tname.map(|t| names.intern(&t))));
                }
            }
        }
        facts.structs.push(StructDef { name: names.intern(&sname), fields });
    }
}

/// `DEFINE_GUARD(name, type, lock, unlock)` and the `DEFINE_LOCK_GUARD_*`
/// family, found in the text so that the macro's own parse errors do not matter.
pub(crate) fn scan_guards(src: &[u8], names: &mut Interner, facts: &mut FileFacts) {
    let Ok(s) = std::str::from_utf8(src) else {
        return;
    };
    for (pos, _) in s.match_indices("DEFINE_") {
        let rest = &s[pos..];
        let Some(open) = rest.find('(') else { continue };
        let macro_name = &rest[..open];
        // (index of the guard name, index of the lock call, has an extension arg)
        let (lock_arg, cond) = match macro_name {
            "DEFINE_GUARD" | "DEFINE_LOCK_GUARD_1" => (2, false),
            "DEFINE_LOCK_GUARD_0" => (1, false),
            "DEFINE_GUARD_COND" | "DEFINE_LOCK_GUARD_1_COND" => (2, true),
            _ => continue,
        };
        let args = split_args(&rest[open + 1..]);
        let (Some(name), Some(lock)) = (args.first(), args.get(lock_arg)) else {
            continue;
        };
        let guard_name = if cond {
            match args.get(1) {
                Some(ext) => format!("{}{}", name.trim(), ext.trim()),
                None => continue,
            }
        } else {
            name.trim().to_string()
        };
        let callee: String = lock.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if callee.is_empty() || guard_name.contains(|c: char| !(c.is_alphanumeric() || c == '_')) {
            continue;
        }
        // DEFINE_GUARD's `_T` is the guarded value itself: `mutex_lock(&_T->lock)`
        // locks a field of it. DEFINE_LOCK_GUARD_*'s `_T->lock` is the value.
        let mut field_path: SmallVec<[Seg; 2]> = SmallVec::new();
        if macro_name.starts_with("DEFINE_GUARD") {
            let inner = lock.trim()[callee.len()..].trim().trim_start_matches('(');
            let inner = inner.split([',', ')']).next().unwrap_or("");
            let inner: String = inner.chars().filter(|c| !c.is_whitespace() && *c != '&' && *c != '(').collect();
            if let Some(rest) = inner.strip_prefix("_T") {
                for (i, part) in rest.split("->").enumerate() {
                    for (j, field) in part.split('.').enumerate() {
                        if field.is_empty() {
                            continue;
                        }
                        let arrow = i > 0 && j == 0;
                        field_path.push(Seg { field: names.intern(field), arrow });
                    }
                }
            }
        }
        let (name, primitive) = (names.intern(&guard_name), names.intern(&callee));
        facts.guards.push(GuardDef { name, primitive, field_path });
    }
}

/// Splits a macro argument list at top-level commas, up to its closing paren.
fn split_args(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, ch) in s.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' if depth == 0 => {
                out.push(&s[start..i]);
                return out;
            }
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            ';' | '{' if depth == 0 => return out,
            _ => {}
        }
        if i > 4096 {
            break;
        }
    }
    out
}

/// Whether `node` starts at column 0 (by bytes, as tree-sitter counts
/// columns; `Node::start_position` walks the tree to find its row).
fn starts_a_line(node: Node, src: &[u8]) -> bool {
    let at = node.start_byte();
    at == 0 || src.get(at - 1) == Some(&b'\n')
}
